/**
 * A development-only OpenID Connect provider (oidc-provider, a dev dependency loaded lazily): the "big
 * mail provider" behind the bridge's demo domain in `npm start`, and the outside provider in the bridge's
 * tests (docs/bridge.md). Its login page is oidc-provider's own development page: any name signs in,
 * without a password. The name decides what it claims, so every case of the bridge can be tried by hand:
 *   `ann`                    → ann@<domain>, email_verified true
 *   `unverified-ann`         → unverified-ann@<domain>, email_verified false
 *   `other@<domain>` (an @)  → that address, verified (an alias: not what the dialog was given)
 * Consent is granted without asking: the bridge is its only client.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DevelopmentProviderOptions {
  /** The mail domain whose users it signs in. */
  readonly domain: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The bridge's callback URL, the only redirect URI allowed. */
  readonly redirectUri: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
}

export interface DevelopmentProvider {
  /** The issuer URL (http://host:port). */
  readonly issuer: string;
  close(): Promise<void>;
}

/** What a login name claims (see the module comment). */
export function claimsFor(login: string, domain: string): { email: string; email_verified: boolean } {
  const name = login.trim().toLowerCase();
  const email = name.includes('@') ? name : `${name}@${domain}`;
  return { email, email_verified: !name.startsWith('unverified') };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(domain: string, action: string, hint: string): string {
  const d = escapeHtml(domain);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to ${d}</title>
<style>
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #202124; background: #f1f3f4; }
main { background: #fff; max-width: 400px; margin: 32px auto; padding: 28px; border-radius: 12px;
  border: 1px solid #dadce0; }
.logo { font-weight: 700; font-size: 20px; color: #137333; margin: 0 0 16px; }
h1 { font-size: 22px; font-weight: 500; margin: 0 0 8px; }
p { margin: 0 0 16px; color: #3c4043; }
label { display: block; font-weight: 500; margin: 12px 0 4px; }
input { font: inherit; width: 100%; padding: 10px 12px; border: 1px solid #80868b; border-radius: 6px; }
button { font: inherit; font-weight: 600; margin-top: 20px; padding: 10px 22px; border: 0; border-radius: 6px;
  background: #137333; color: #fff; cursor: pointer; }
:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.note { font-size: 14px; color: #5f6368; border-top: 1px solid #e8eaed; padding-top: 12px; margin-top: 24px; }
</style>
</head>
<body>
<main>
<p class="logo">${d} mail</p>
<h1>Sign in</h1>
<p>to continue to Persona</p>
<form method="post" action="${escapeHtml(action)}">
<label for="login">Email</label>
<input id="login" name="login" type="email" autocomplete="username" required value="${escapeHtml(hint)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="note">A development provider: any password works. A name starting with <code>unverified</code> is not verified; another address at ${d} acts as an alias of the one Persona asked for.</p>
</main>
</body>
</html>
`;
}

/** Its own login page: GET /interaction/:uid shows it, POST /interaction/:uid signs in. False: not ours. */
function interactionPages(
  provider: InstanceType<(typeof import('oidc-provider'))['default']>,
  domain: string,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const fail = (res: ServerResponse, err: unknown) => {
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`This sign-in cannot go on: ${err instanceof Error ? err.message : 'unknown error'}`);
  };
  return (req, res) => {
    const match = /^\/interaction\/([\w-]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match) return false;
    if (req.method === 'GET') {
      provider.interactionDetails(req, res).then(
        (details) => {
          const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          res.end(loginPage(domain, `/interaction/${details.uid}`, hint));
        },
        (err: unknown) => {
          fail(res, err);
        },
      );
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const login = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('login')?.trim() ?? '';
      if (login === '') {
        fail(res, new Error('no login given'));
        return;
      }
      provider
        .interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false })
        .catch((err: unknown) => {
          fail(res, err);
        });
    });
    return true;
  };
}

export async function startDevelopmentProvider(
  options: DevelopmentProviderOptions,
): Promise<DevelopmentProvider> {
  const { default: Provider } = await import('oidc-provider');
  type Grant = InstanceType<InstanceType<typeof Provider>['Grant']>;
  const host = options.host ?? '127.0.0.1';
  // Listen first: the issuer must name the port.
  const listener: { handle?: RequestListener } = {};
  const server: Server = createServer((req, res) => {
    if (listener.handle) listener.handle(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}`;
  const provider: InstanceType<typeof Provider> = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    // Its own login page (below) instead of oidc-provider's debugging one.
    features: { devInteractions: { enabled: false } },
    findAccount(_ctx, sub) {
      return { accountId: sub, claims: () => ({ sub, ...claimsFor(sub, options.domain) }) };
    },
    async loadExistingGrant(ctx): Promise<Grant | undefined> {
      const session = ctx.oidc.session;
      const client = ctx.oidc.client;
      if (!session?.accountId || !client) return undefined;
      const grant: Grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid email');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  const interactions = interactionPages(provider, options.domain);
  listener.handle = (req, res) => {
    if (!interactions(req, res)) void callback(req, res);
  };
  return {
    issuer,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
