/** What the webhead is given (WebheadDeps) and what its op handlers share (Runtime). */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { SignIn, SignInBackoff } from '../../accounts/sign-in.ts';
import type { PublicKey } from '../../browserid/index.ts';
import type { RateLimit, Reader } from '../../db/read.ts';
import type { Tier } from '../../http/tier-auth.ts';
import type { Upstream } from '../../http/upstream.ts';
import type { PasswordHasher } from '../../passwords/index.ts';
import type { DeviceCookies } from '../../wsapi/device-cookie.ts';
import type { SessionCodec } from '../../wsapi/session.ts';
import type { DbwriterClient } from './dbwriter.ts';
import type { DomainDirectory } from './primaries.ts';

export const DAY_MS = 86_400_000;

export interface WebheadDeps {
  /** Read-only database handle (SPEC §2: the webhead never writes). */
  readonly reader: Reader;
  /** bcrypt compare off the event loop (and rehash detection). */
  readonly hasher: PasswordHasher;
  /** The session cookie; its secret is shared with the dbwriter. */
  readonly codec: SessionCodec;
  /** The public URL is https: Secure cookies and HSTS. */
  readonly https: boolean;
  /** The public origin, e.g. https://login.example.org: our issuer name (its host name) and our sign-in audience. */
  readonly publicUrl: string;
  /** The domain public key the keysigner's certificates verify with; published at /.well-known/browserid. */
  readonly domainPublicKey: PublicKey;
  /** When the domain key was made, epoch ms: certificates issued before it are void (session_context). */
  readonly domainKeyCreatedAt: number;
  readonly keysigner: Upstream;
  readonly dbwriter: Upstream;
  /** Support-document discovery (createDiscovery), through the egress proxy where configured. */
  readonly discovery: DomainDirectory;
  /**
   * Failed sign-ins to an account per hour from browsers it never signed in from, before they get
   * `account locked` until the hour ends (10; SPEC §4.11: its own browsers are not locked out).
   */
  readonly maxAuthAttempts: number;
  /** Failed sign-ins allowed per client address and window (default the `auth:ip` limit). */
  readonly signInLimit?: RateLimit;
  /** The sign-in delays and caps (default: src/wsapi/rate-limits.ts with the two settings above). */
  readonly signInBackoff?: SignInBackoff;
  /** address_info lookups per client address and window (default the `info:ip` limit). */
  readonly addressInfoLimit?: RateLimit;
  readonly sessionDurationMs: number;
  readonly ephemeralSessionDurationMs: number;
  /** How long a primary that stops answering is `offline` rather than gone. Default 5 days. */
  readonly idpOfflineGracePeriodMs?: number;
  /** Issuer names that may be forced (`issuer` of address_info, `forceIssuer` of cert_key). */
  readonly forcibleIssuers: readonly string[];
  /** Mail domain → bridge host, used when the domain has no support document of its own. */
  readonly proxyIdps: Readonly<Record<string, string>>;
  /**
   * Where the browser bundles come from: `prebuilt` (production) reads dist-browser/ at start and never
   * loads a bundler; `development` bundles src/browser, again when it changes. Unset: development in a
   * checkout with esbuild installed, else prebuilt.
   */
  readonly browserBundles?: 'prebuilt' | 'development';
  /** Test-only GET /wsapi/fake_verification (SPEC §4.9); the configuration refuses it in production. */
  readonly fakeVerification?: boolean;
  /** Development mailbox directory: when set, GET /__mailbox__ (HTML) and /__mailbox__.json list sent mail. */
  readonly devMailboxDir?: string;
  /** Public keys of the tiers that may call this one (the router's). */
  readonly callerKeys: ReadonlyMap<Tier, KeyObject>;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
  /** Clock, epoch ms (tests). */
  readonly now?: () => number;
}

export interface Runtime {
  readonly deps: WebheadDeps;
  readonly reader: Reader;
  readonly dbwriter: DbwriterClient;
  /** Discovery with the proxy IdPs folded in. */
  readonly directory: DomainDirectory;
  /** Our issuer name: the host name of the public URL (no port), as the keysigner signs. */
  readonly issuer: string;
  /** Our origin, the audience of assertions that sign in to us. */
  readonly origin: string;
  readonly now: () => number;
  readonly signIns: Counter<'outcome'>;
  /** The password sign-in's rules (src/accounts/sign-in.ts). */
  readonly signIn: SignIn;
  /** Browsers where an account signed in before (src/wsapi/device-cookie.ts). */
  readonly devices: DeviceCookies;
}
