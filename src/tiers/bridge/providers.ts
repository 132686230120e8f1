/**
 * The OpenID Connect side of the bridge (openid-client): one provider per mail domain, its metadata
 * discovered once and cached, every call bounded in time and sent through the egress dispatcher (the
 * forward proxy when set). Authorization code with PKCE, `state` and `nonce` checked, the ID token
 * validated by openid-client; the address comes from the ID token and userinfo together.
 */
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';

export interface ProviderSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  /** The claim holding the address (default `email`). */
  readonly emailClaim: string;
  /** The claim that must be exactly `true` (default `email_verified`). */
  readonly verifiedClaim: string;
  /** The kill switch in the configuration: the domain goes back to the fallback IdP. */
  readonly disabled: boolean;
}

/** What one sign-in at the provider needs to remember until it comes back (sealed in a cookie). */
export interface Transaction {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** What the provider proved: its address claim and whether it said the address is verified. */
export interface ProvenClaims {
  readonly email: string | undefined;
  readonly verified: boolean;
}

export type ProviderErrorCode = 'provider-unavailable' | 'sign-in-refused';

/** A provider failure for the person: unavailable (outage, timeout) or the response did not check out. */
export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  /** For our logs only: may name the provider's own words. */
  readonly detail: string;
  constructor(code: ProviderErrorCode, detail: string) {
    super(code);
    this.code = code;
    this.detail = detail;
  }
}

export interface Provider {
  readonly domain: string;
  readonly settings: ProviderSettings;
  /** Where to send the person, and what to remember. Rejects with `provider-unavailable`. */
  begin(redirectUri: string, loginHint: string): Promise<{ url: string; transaction: Transaction }>;
  /** Checks the provider's answer (the callback URL as received) and reads the claims. */
  finish(callbackUrl: URL, transaction: Transaction): Promise<ProvenClaims>;
}

export interface ProviderOptions {
  /** Dispatcher for https providers (the egress one: proxy and SSRF rules). */
  readonly egress: Dispatcher;
  /** Bound on each call to the provider, ms. */
  readonly timeoutMs: number;
  /** How long discovered metadata is reused, ms. */
  readonly metadataCacheMs: number;
  readonly now?: () => number;
}

const why = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** openid-client wants the platform's Response; undici's own is turned into one. */
function fetchThrough(dispatcher: Dispatcher): oidc.CustomFetch {
  return async (url, options) => {
    const res = await undiciFetch(url, {
      method: options.method,
      headers: options.headers,
      body: options.body as string | undefined,
      redirect: 'manual',
      signal: options.signal,
      dispatcher,
    });
    return new Response(res.status === 204 ? null : await res.arrayBuffer(), {
      status: res.status,
      headers: Object.fromEntries(res.headers),
    });
  };
}

export function createProvider(
  domain: string,
  settings: ProviderSettings,
  options: ProviderOptions,
): Provider & { close(): Promise<void> } {
  const now = options.now ?? Date.now;
  const issuer = new URL(settings.issuer);
  // An http issuer is a development provider on this machine (refused in production by the bridge's
  // wiring): fetched directly, as the shimmed primaries are.
  const insecure = issuer.protocol === 'http:';
  const local = insecure ? new Agent({ connect: { timeout: options.timeoutMs } }) : undefined;
  const customFetch = fetchThrough(local ?? options.egress);
  const timeoutSeconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  let cached: { config: oidc.Configuration; until: number } | undefined;
  let pending: Promise<oidc.Configuration> | undefined;

  async function configuration(): Promise<oidc.Configuration> {
    if (cached && cached.until > now()) return cached.config;
    pending ??= oidc
      .discovery(
        issuer,
        settings.clientId,
        settings.clientSecret,
        oidc.ClientSecretPost(settings.clientSecret),
        {
          // Development providers only (http issuers are refused in production by the wiring).
          // eslint-disable-next-line @typescript-eslint/no-deprecated
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: timeoutSeconds,
          [oidc.customFetch]: customFetch,
        },
      )
      .then((config) => {
        config[oidc.customFetch] = customFetch;
        config.timeout = timeoutSeconds;
        cached = { config, until: now() + options.metadataCacheMs };
        return config;
      })
      .finally(() => {
        pending = undefined;
      });
    try {
      return await pending;
    } catch (err) {
      throw new ProviderError('provider-unavailable', `discovery: ${why(err)}`);
    }
  }

  return {
    domain,
    settings,
    async begin(redirectUri, loginHint) {
      const config = await configuration();
      const transaction: Transaction = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        verifier: oidc.randomPKCECodeVerifier(),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes.join(' '),
        response_type: 'code',
        code_challenge: await oidc.calculatePKCECodeChallenge(transaction.verifier),
        code_challenge_method: 'S256',
        state: transaction.state,
        nonce: transaction.nonce,
        login_hint: loginHint,
        prompt: 'login',
      });
      return { url: url.href, transaction };
    },
    async finish(callbackUrl, transaction) {
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: transaction.verifier,
          expectedState: transaction.state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        // The provider not answering is an outage; anything it answered that fails a check is a refusal.
        const code =
          err instanceof oidc.ClientError && /fetch|timeout|abort|connect/i.test(why(err))
            ? 'provider-unavailable'
            : err instanceof TypeError || (err instanceof Error && err.name === 'TimeoutError')
              ? 'provider-unavailable'
              : 'sign-in-refused';
        throw new ProviderError(code, `code grant: ${why(err)}`);
      }
      const idToken = tokens.claims();
      if (idToken === undefined) throw new ProviderError('sign-in-refused', 'no ID token');
      let claims: Record<string, unknown> = { ...idToken };
      if (config.serverMetadata().userinfo_endpoint !== undefined && tokens.access_token) {
        try {
          const info = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
          // The ID token's claims win: it is the signed statement; userinfo fills what it left out.
          claims = { ...info, ...idToken };
        } catch (err) {
          throw new ProviderError('provider-unavailable', `userinfo: ${why(err)}`);
        }
      }
      const email = claims[settings.emailClaim];
      return {
        email: typeof email === 'string' ? email : undefined,
        verified: claims[settings.verifiedClaim] === true,
      };
    },
    async close() {
      await local?.close();
    },
  };
}
