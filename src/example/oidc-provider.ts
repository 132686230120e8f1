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
import { createServer, type RequestListener, type Server } from 'node:http';
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
    features: { devInteractions: { enabled: true } },
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
  listener.handle = (req, res) => {
    void callback(req, res);
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
