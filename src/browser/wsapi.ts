/**
 * The dialog's calls to our own wsapi (same origin, so the session cookie goes along; the page's CSP has
 * connect-src 'self'). POSTs carry the CSRF token from session_context.
 */

export class WsapiError extends Error {
  readonly status: number;
  /** The start of the answer's body (the reason, for the wsapi's plain-text errors). */
  readonly body: string;
  constructor(status: number, message: string, body = '') {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export interface SessionContext {
  readonly csrf: string;
  /** Signed in to Persona (at any level), and whether the account has a password. */
  readonly authenticated: boolean;
  readonly authLevel: string | undefined;
  readonly hasPassword: boolean;
  /** The server's clock now, in ms, from session_context's server_time plus the time elapsed here. */
  serverNow(): number;
}

/** Waits before each retry of a 503 (load shedding, SPEC §6): then the caller offers "Try again". */
export const RETRY_DELAYS_MS = [500, 1500, 3000];
/** A Retry-After longer than this is not waited for here: the person decides. */
export const MAX_RETRY_AFTER_MS = 5000;

function retryDelay(response: Response, attempt: number): number | undefined {
  const base = RETRY_DELAYS_MS[attempt];
  if (base === undefined) return undefined;
  const after = Number(response.headers.get('retry-after'));
  const asked = Number.isFinite(after) && after > 0 ? after * 1000 : 0;
  if (asked > MAX_RETRY_AFTER_MS) return undefined;
  // Jitter, so the dialogs a busy moment turned away do not all come back at once.
  return Math.max(base, asked) * (0.75 + Math.random() * 0.5);
}

async function call(path: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(`/wsapi/${path}`, { credentials: 'same-origin', ...init });
    } catch {
      throw new WsapiError(0, 'Persona could not be reached. Check your connection and try again.');
    }
    // Shedding and full queues answer 503 before the op runs; the ops the pages call are safe to repeat
    // otherwise too (a second stage_* at worst meets the 60 s mail throttle, which says so).
    const delay = response.status === 503 ? retryDelay(response, attempt) : undefined;
    if (delay === undefined) break;
    await response.body?.cancel().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 200);
    throw new WsapiError(
      response.status,
      `Persona answered ${response.status}${text ? `: ${text}` : ''}`,
      text,
    );
  }
  return response;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

export async function getJson(
  path: string,
  query?: Record<string, string>,
): Promise<Record<string, unknown>> {
  const search = query === undefined ? '' : `?${new URLSearchParams(query).toString()}`;
  return record(await (await call(`${path}${search}`)).json());
}

async function post(path: string, context: SessionContext, body: Record<string, unknown>): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, csrf: context.csrf }),
  });
}

export async function postJson(
  path: string,
  context: SessionContext,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return record(await (await post(path, context, body)).json());
}

export async function postText(path: string, context: SessionContext, body: Record<string, unknown>) {
  return (await post(path, context, body)).text();
}

export async function sessionContext(): Promise<SessionContext> {
  const data = await getJson('session_context');
  const receivedAt = performance.now();
  const { csrf_token: csrf, server_time: serverTime, auth_level: authLevel } = data;
  if (typeof csrf !== 'string' || typeof serverTime !== 'number')
    throw new WsapiError(200, 'Persona sent an unexpected session context');
  return {
    csrf,
    authenticated: data.authenticated === true,
    authLevel: typeof authLevel === 'string' ? authLevel : undefined,
    hasPassword: data.has_password === true,
    serverNow: () => serverTime + (performance.now() - receivedAt),
  };
}
