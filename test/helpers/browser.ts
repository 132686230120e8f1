/** A browser as the wsapi sees it: one cookie jar, the CSRF token, JSON in and out, over real HTTP. */
import { request, type Dispatcher } from 'undici';

/** An HTTP answer read whole: status, headers, text, and the text as a JSON object. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): Record<string, unknown>;
}

export async function answerOf(res: Dispatcher.ResponseData): Promise<Answer> {
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

export interface Browser {
  get(path: string, query?: Record<string, string>): Promise<Answer>;
  /** POSTs JSON with the session's CSRF token added (fetching it first when needed). */
  post(path: string, body?: Record<string, unknown>, options?: { csrf?: boolean }): Promise<Answer>;
  /** GET /wsapi/session_context, keeping its token. */
  sessionContext(): Promise<Record<string, unknown>>;
  readonly cookies: Map<string, string>;
}

export function browser(base: string): Browser {
  const cookies = new Map<string, string>();
  let csrf: string | undefined;
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  async function send(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    const res = await request(`${base}${path}`, {
      method,
      headers: {
        cookie: cookieHeader(),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body,
    });
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return answerOf(res);
  }

  const self: Browser = {
    cookies,
    get: (path, query) => send('GET', query ? `${path}?${new URLSearchParams(query).toString()}` : path),
    async sessionContext() {
      const context = (await send('GET', '/wsapi/session_context')).json();
      csrf = String(context.csrf_token);
      return context;
    },
    async post(path, body = {}, options = {}) {
      if (options.csrf !== false && csrf === undefined) await self.sessionContext();
      return send('POST', path, JSON.stringify(options.csrf === false ? body : { csrf, ...body }));
    },
  };
  return self;
}

/** The token in a verification link. */
export function tokenOf(text: string | undefined): string {
  const match = /[?&]token=([A-Za-z0-9]{48})/.exec(text ?? '');
  if (!match?.[1]) throw new Error(`no token in: ${String(text).slice(0, 200)}`);
  return match[1];
}
