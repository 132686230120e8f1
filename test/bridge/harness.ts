/**
 * The bridge's test bed: the whole stack as processes with the bridge and its signer, the development
 * OpenID Connect provider (oidc-provider) as the outside provider for `mail.localhost`, an SMTP sink for the
 * alias codes, a provider that is down (a closed port) and one that never answers (a socket held open).
 * Plus a cookie-jar HTTP client that signs in at the provider's development login page.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { request } from 'undici';
import { startDevelopmentProvider, type DevelopmentProvider } from '../../src/example/oidc-provider.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { freePort, startStack, type Stack } from '../helpers/stack.ts';

export const DOMAIN = 'mail.localhost';
export const DOWN = 'down.localhost';
export const HANGING = 'hanging.localhost';
export const BRIDGE_ISSUER = 'bridge.localhost';

export interface Bed {
  readonly stack: Stack;
  readonly bridge: string;
  readonly provider: DevelopmentProvider;
  readonly smtp: SmtpSink;
  readonly killSwitchFile: string;
  close(): Promise<void>;
}

/** A TCP server that accepts and never answers. */
async function hangingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function startBed(): Promise<Bed> {
  const [bridgePort, signerPort, closedPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const bridge = `http://127.0.0.1:${bridgePort}`;
  const client = { clientId: 'persona-bridge', clientSecret: 'a-client-secret-for-tests-only' };
  const provider = await startDevelopmentProvider({
    domain: DOMAIN,
    ...client,
    redirectUri: `${bridge}/oidc/callback`,
  });
  const hanging = await hangingServer();
  const smtp = await startSmtpSink();
  const provide = (issuer: string) => ({ issuer, ...client });
  let stack: Stack;
  try {
    stack = await startStack({
      env: {
        PERSONA_SMTP_URL: smtp.url,
        PERSONA_BRIDGE_PORT: String(bridgePort),
        PERSONA_BRIDGESIGNER_PORT: String(signerPort),
        PERSONA_BRIDGE_ISSUER: BRIDGE_ISSUER,
        PERSONA_BRIDGE_PUBLIC_URL: bridge,
        PERSONA_BRIDGE_PROVIDERS: JSON.stringify({
          [DOMAIN]: provide(provider.issuer),
          [DOWN]: provide(`http://127.0.0.1:${closedPort}`),
          [HANGING]: provide(`http://127.0.0.1:${hanging.port}`),
        }),
        PERSONA_PROXY_IDPS: JSON.stringify({
          [DOMAIN]: BRIDGE_ISSUER,
          [DOWN]: BRIDGE_ISSUER,
          [HANGING]: BRIDGE_ISSUER,
        }),
        PERSONA_SHIMMED_PRIMARIES: JSON.stringify({ [BRIDGE_ISSUER]: bridge }),
        // The bridge's document is kept 10 s; 2 s here so the kill switch is seen sooner.
        PERSONA_DISCOVERY_MAX_CACHE_MS: '2000',
        PERSONA_LOG_LEVEL: process.env.BRIDGE_TEST_LOG ?? 'warn',
      },
    });
  } catch (err) {
    await Promise.all([provider.close(), hanging.close(), smtp.close()]);
    throw err;
  }
  return {
    stack,
    bridge,
    provider,
    smtp,
    killSwitchFile: `${stack.config.dataDir}/bridge-kill-switch`,
    async close() {
      await stack.stop();
      await Promise.all([provider.close(), hanging.close(), smtp.close()]);
    },
  };
}

// ---- a cookie-jar client over plain HTTP -------------------------------------------------------------

export interface Hop {
  readonly status: number;
  readonly url: string;
  readonly location: string | undefined;
  readonly text: string;
}

/** One browser's cookies for 127.0.0.1 (cookies ignore ports, as a browser's do). */
export function jar() {
  const cookies = new Map<string, string>();
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  async function send(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<Hop> {
    const res = await request(url, {
      method,
      headers: {
        cookie: header(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) cookies.delete(pair.slice(0, eq));
      else cookies.set(pair.slice(0, eq), value);
    }
    const location = res.headers.location;
    return {
      status: res.statusCode,
      url,
      location: typeof location === 'string' ? new URL(location, url).href : undefined,
      text: await res.body.text(),
    };
  }
  return {
    cookies,
    get: (url: string) => send('GET', url),
    post: (url: string, form: Record<string, string>) => send('POST', url, form),
  };
}
export type Jar = ReturnType<typeof jar>;

/**
 * From the provider's authorization URL to the redirect back to the bridge: its development login page
 * is filled with `login`. Returns the callback URL the provider sent the browser to (not followed).
 */
export async function loginAtProvider(
  browser: Jar,
  authorizationUrl: string,
  login: string,
): Promise<string> {
  let hop = await browser.get(authorizationUrl);
  for (let i = 0; i < 10; i++) {
    if (hop.location !== undefined) {
      if (hop.location.includes('/oidc/callback')) return hop.location;
      hop = await browser.get(hop.location);
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(hop.text)?.[1];
    if (hop.status !== 200 || action === undefined)
      throw new Error(`unexpected provider answer ${hop.status}: ${hop.text.slice(0, 300)}`);
    const hidden = Object.fromEntries(
      [...hop.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    hop = await browser.post(new URL(action, hop.url).href, { ...hidden, login, password: 'anything' });
  }
  throw new Error('the provider never sent the browser back');
}
