/**
 * Every setting of the service, in one table: its name in a config file, its environment variable, its
 * type, default and meaning. docs/configuration.md is checked against this table by a test.
 */
import { z } from 'zod';
import { EXAMPLES, TIERS, TIER_NAMES, type Tier } from '../topology/index.ts';

type Kind = 'string' | 'int' | 'bool' | 'list' | 'json';

export interface Setting<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  readonly kind: Kind;
  readonly schema: S;
  readonly default: z.output<S>;
  readonly doc: string;
  /** Never printed: masked in `persona config` output and error messages. */
  readonly secret?: boolean;
}

const setting = <S extends z.ZodType>(
  env: string,
  kind: Kind,
  schema: S,
  defaultValue: z.output<S>,
  doc: string,
  secret = false,
): Setting<S> => ({ env, kind, schema, default: defaultValue, doc, secret });

const HOUR = 3_600_000;
const port = z.number().int().min(0).max(65535);
const ms = z.number().int().min(0);
const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^/\s]+\/?$/, 'expected an origin like https://login.example.org');
/** A tier's port: unset, it follows PERSONA_PORT_BASE (src/topology). */
const tierPort = (env: string, tier: Tier | keyof typeof EXAMPLES, what: string) =>
  setting(
    env,
    'int',
    port.nullable(),
    null,
    `${what}; unset: PERSONA_PORT_BASE + ${tier in TIERS ? TIERS[tier as Tier].portOffset : EXAMPLES[tier as keyof typeof EXAMPLES].portOffset}`,
  );
const optionalUrl = z.string().refine((v) => v === '' || URL.canParse(v), 'expected a URL or nothing');

export const settings = {
  env: setting(
    'PERSONA_ENV',
    'string',
    z.enum(['development', 'test', 'production']),
    'development',
    'development, test or production; production refuses development-only features',
  ),
  publicUrl: setting(
    'PERSONA_PUBLIC_URL',
    'string',
    z.union([z.literal(''), httpUrl]),
    '',
    "the public origin of the service: the issuer name of its certificates, the audience of its own sign-ins; empty means the router's own address (http://127.0.0.1:10002 by default)",
  ),
  dataDir: setting(
    'PERSONA_DATA_DIR',
    'string',
    z.string().min(1),
    './var',
    'where keys, the cookie secret and the SQLite database live',
  ),
  databaseUrl: setting(
    'PERSONA_DATABASE_URL',
    'string',
    z.string(),
    '',
    '`sqlite:<path>` or `mysql://user:pass@host:port/db`; empty means SQLite in the data directory',
    true,
  ),
  databaseReadUrl: setting(
    'PERSONA_DATABASE_READ_URL',
    'string',
    z.string(),
    '',
    "a separate database for the webhead's reads (a replica or a SELECT-only account); empty means PERSONA_DATABASE_URL",
    true,
  ),
  databaseQueryTimeoutMs: setting(
    'PERSONA_DATABASE_QUERY_TIMEOUT_MS',
    'int',
    z.number().int().min(1),
    5000,
    'time limit of one database query; past it the tier answers 503 database unavailable',
  ),
  migrateAtStart: setting(
    'PERSONA_MIGRATE_AT_START',
    'bool',
    z.boolean(),
    false,
    'the dbwriter applies pending migrations before serving (`persona start` always does)',
  ),
  smtpUrl: setting(
    'PERSONA_SMTP_URL',
    'string',
    optionalUrl,
    '',
    'where mail goes (`smtp://user:pass@host:port`); empty prints mail to the console (development)',
    true,
  ),
  httpProxy: setting(
    'PERSONA_HTTP_PROXY',
    'string',
    optionalUrl,
    '',
    'forward proxy for every outbound request (support documents), e.g. http://127.0.0.1:3128',
  ),
  trustedProxies: setting(
    'PERSONA_TRUSTED_PROXIES',
    'list',
    z.array(z.string().regex(/^[0-9a-fA-F.:]+(\/\d{1,3})?$/, 'expected an IP address or CIDR')),
    [],
    'addresses (or CIDRs) of the edge in front of the router (nginx, docs/edge.md): only from them is X-Forwarded-For believed; empty means the client is the connecting address',
  ),
  edgeTlsCert: setting(
    'PERSONA_EDGE_TLS_CERT',
    'string',
    z.string(),
    '/etc/persona/tls/fullchain.pem',
    'certificate chain (PEM file) the edge serves, written into `persona ops nginx`',
  ),
  edgeTlsKey: setting(
    'PERSONA_EDGE_TLS_KEY',
    'string',
    z.string(),
    '/etc/persona/tls/privkey.pem',
    'private key (PEM file) of the edge certificate, for `persona ops nginx` (the path, never the key, is in the config)',
  ),
  edgeListeners: setting(
    'PERSONA_EDGE_LISTENERS',
    'bool',
    z.boolean(),
    false,
    'the tiers the edge calls (webhead, dbwriter, verifier) also listen with mutual TLS at their port + 1000, for the tier CA\'s edge certificate only; `persona ops nginx` then sends each path straight to its tier pool instead of the routers (docs/edge.md)',
  ),
  host: setting('PERSONA_HOST', 'string', z.string().min(1), '127.0.0.1', 'address the tiers listen on'),
  portBase: setting(
    'PERSONA_PORT_BASE',
    'int',
    z.number().int().min(1).max(65_535),
    10_000,
    'moves the whole local stack: every tier and example listens at this plus its offset (src/topology) unless its own port is set',
  ),
  routerPort: tierPort('PERSONA_ROUTER_PORT', 'router', 'router (public) port'),
  webheadPort: tierPort('PERSONA_WEBHEAD_PORT', 'webhead', 'webhead port'),
  dbwriterPort: tierPort('PERSONA_DBWRITER_PORT', 'dbwriter', 'dbwriter port'),
  keysignerPort: tierPort('PERSONA_KEYSIGNER_PORT', 'keysigner', 'keysigner port'),
  verifierPort: tierPort('PERSONA_VERIFIER_PORT', 'verifier', 'verifier port'),
  bridgePort: tierPort('PERSONA_BRIDGE_PORT', 'bridge', 'bridge port (runs only with PERSONA_BRIDGE_PROVIDERS)'),
  bridgesignerPort: tierPort(
    'PERSONA_BRIDGESIGNER_PORT',
    'bridgesigner',
    "bridge's signer port (runs only with PERSONA_BRIDGE_PROVIDERS)",
  ),
  instances: setting(
    'PERSONA_INSTANCES',
    'json',
    z.partialRecord(z.enum(TIER_NAMES), z.number().int().min(1).max(16)),
    {},
    'JSON map of tier to how many local instances `persona start` runs, e.g. {"verifier":2}; instance i listens on its port + 10·i',
  ),
  webheadUrls: setting(
    'PERSONA_WEBHEAD_URLS',
    'list',
    z.array(z.url()),
    [],
    'webhead instances the router balances over (comma-separated); empty means the local port',
  ),
  dbwriterUrls: setting(
    'PERSONA_DBWRITER_URLS',
    'list',
    z.array(z.url()),
    [],
    'dbwriter instances (comma-separated); empty means the local port',
  ),
  keysignerUrls: setting(
    'PERSONA_KEYSIGNER_URLS',
    'list',
    z.array(z.url()),
    [],
    'keysigner instances (comma-separated); empty means the local port',
  ),
  verifierUrls: setting(
    'PERSONA_VERIFIER_URLS',
    'list',
    z.array(z.url()),
    [],
    'verifier instances (comma-separated); empty means the local port',
  ),
  bcryptCost: setting(
    'PERSONA_BCRYPT_COST',
    'int',
    z.number().int().min(4).max(31),
    12,
    'bcrypt work factor; hashes of another cost are rehashed at the next sign-in',
  ),
  maxAuthAttempts: setting(
    'PERSONA_MAX_AUTH_ATTEMPTS',
    'int',
    z.number().int().min(1),
    10,
    'failed sign-ins to an account per hour from browsers it never signed in from; then those get `account locked` until the hour ends or a password reset (its own browsers keep signing in)',
  ),
  minTimeBetweenEmailsMs: setting(
    'PERSONA_MIN_TIME_BETWEEN_EMAILS_MS',
    'int',
    ms,
    60_000,
    'per-address mail throttle (429 inside it)',
  ),
  tokenTtlMs: setting('PERSONA_TOKEN_TTL_MS', 'int', ms, 24 * HOUR, 'how long an emailed link stays valid'),
  mailRetryMs: setting(
    'PERSONA_MAIL_RETRY_MS',
    'int',
    z.number().int().min(1),
    10_000,
    'delay before retrying a verification mail SMTP did not take; doubles with each attempt, up to 15 minutes',
  ),
  mailMaxAttempts: setting(
    'PERSONA_MAIL_MAX_ATTEMPTS',
    'int',
    z.number().int().min(1),
    10,
    'attempts at a verification mail before it is given up (logged as `mail_given_up`)',
  ),
  mailLeaseMs: setting(
    'PERSONA_MAIL_LEASE_MS',
    'int',
    z.number().int().min(1),
    60_000,
    'how long one attempt at a queued mail may take before another dbwriter (or this one restarted) makes the next',
  ),
  sessionDurationMs: setting(
    'PERSONA_SESSION_DURATION_MS',
    'int',
    ms,
    28 * 24 * HOUR,
    'session length (4 weeks)',
  ),
  ephemeralSessionDurationMs: setting(
    'PERSONA_EPHEMERAL_SESSION_DURATION_MS',
    'int',
    ms,
    HOUR,
    'session and certificate length on a shared computer',
  ),
  certificateValidityMs: setting(
    'PERSONA_CERTIFICATE_VALIDITY_MS',
    'int',
    ms,
    24 * HOUR,
    'lifetime of the certificates the keysigner issues',
  ),
  maxEventLoopLagMs: setting(
    'PERSONA_MAX_EVENT_LOOP_LAG_MS',
    'int',
    ms,
    70,
    'smoothed event-loop lag at which shedding starts: a growing share of requests gets 503 with Retry-After, all of them at three times it; static assets, the communication iframe and heartbeats never (0 disables)',
  ),
  discoveryTimeoutMs: setting(
    'PERSONA_DISCOVERY_TIMEOUT_MS',
    'int',
    ms,
    8000,
    'time limit for fetching a support document',
  ),
  discoveryMaxCacheMs: setting(
    'PERSONA_DISCOVERY_MAX_CACHE_MS',
    'int',
    ms,
    6 * HOUR,
    'upper bound on caching a support document',
  ),
  forcibleIssuers: setting(
    'PERSONA_FORCIBLE_ISSUERS',
    'list',
    z.array(z.string()),
    [],
    'issuer names sites may force (`experimental_forceIssuer`) as aliases of this service',
  ),
  proxyIdps: setting(
    'PERSONA_PROXY_IDPS',
    'json',
    z.record(z.string(), z.string()),
    {},
    'JSON map of mail domain to bridge host, used when the domain has no support document',
  ),
  // ---- the bridge (docs/bridge.md) ----
  bridgeProviders: setting(
    'PERSONA_BRIDGE_PROVIDERS',
    'json',
    z.record(
      z.string().regex(/^[a-z0-9.-]+\.[a-z0-9-]+$/, 'expected a lower-case mail domain'),
      z.strictObject({
        issuer: z.url({ protocol: /^https?$/ }),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1),
        scopes: z.array(z.string().regex(/^[\x21-\x7e]+$/)).default(['openid', 'email']),
        emailClaim: z.string().min(1).default('email'),
        verifiedClaim: z.string().min(1).default('email_verified'),
        disabled: z.boolean().default(false),
      }),
    ),
    {},
    'JSON map of mail domain to its OpenID Connect provider ({issuer, clientId, clientSecret, scopes, emailClaim, verifiedClaim, disabled}); the bridge and its signer run only when set',
    true,
  ),
  bridgeIssuer: setting(
    'PERSONA_BRIDGE_ISSUER',
    'string',
    z.union([z.literal(''), z.string().regex(/^[a-z0-9.-]+$/, 'expected a host name')]),
    '',
    "the bridge's host name: the issuer of its certificates, the target of PERSONA_PROXY_IDPS; required with providers",
  ),
  bridgePublicUrl: setting(
    'PERSONA_BRIDGE_PUBLIC_URL',
    'string',
    z.union([z.literal(''), httpUrl]),
    '',
    "the bridge's public origin (its pages and the providers' redirect URI); empty means https://<PERSONA_BRIDGE_ISSUER>",
  ),
  bridgeCertificateValidityMs: setting(
    'PERSONA_BRIDGE_CERTIFICATE_VALIDITY_MS',
    'int',
    z.number().int().min(10_000).max(HOUR),
    5 * 60_000,
    'lifetime of the certificates the bridge issues (the dialog asks again when one runs out)',
  ),
  bridgeKillSwitchFile: setting(
    'PERSONA_BRIDGE_KILL_SWITCH_FILE',
    'string',
    z.string(),
    '',
    'a file of mail domains, one a line, the bridge stops speaking for at once (docs/runbooks/bridge-provider-outage.md); empty means bridge-kill-switch in the data directory',
  ),
  fakeVerification: setting(
    'PERSONA_FAKE_VERIFICATION',
    'bool',
    z.boolean(),
    false,
    'test-only route returning verification tokens; refused in production',
  ),
  devMailbox: setting(
    'PERSONA_DEV_MAILBOX',
    'bool',
    z.boolean(),
    false,
    'development-only page listing sent mail; refused in production',
  ),
  shimmedPrimaries: setting(
    'PERSONA_SHIMMED_PRIMARIES',
    'json',
    z.record(
      z.string(),
      z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected an origin like http://127.0.0.1:10005'),
    ),
    {},
    'development and tests only: JSON map of mail domain to the origin serving its support document and pages (the example primary); refused in production',
  ),
  examples: setting(
    'PERSONA_EXAMPLES',
    'bool',
    z.boolean(),
    true,
    '`persona start` in development also runs the example site and the example primary',
  ),
  exampleSitePort: tierPort(
    'PERSONA_EXAMPLE_SITE_PORT',
    'example-site',
    'example relying party port (development only)',
  ),
  examplePrimaryPort: tierPort(
    'PERSONA_EXAMPLE_PRIMARY_PORT',
    'example-primary',
    'example primary identity provider port (development only)',
  ),
  examplePrimaryDomain: setting(
    'PERSONA_EXAMPLE_PRIMARY_DOMAIN',
    'string',
    z.string().regex(/^[a-z0-9.-]+$/),
    'example.domain',
    'mail domain the example primary identity provider speaks for',
  ),
  dbClusterPortBase: setting(
    'PERSONA_DB_CLUSTER_PORT_BASE',
    'int',
    port,
    3310,
    'Galera cluster (docs/database-ha.md): HAProxy writes on this port, reads on +10; node i listens on +i, its group, IST, SST and clustercheck ports on +1260+i, +1270+i, +1280+i, +5890+i (src/topology/database.ts)',
  ),
  dbClusterHosts: setting(
    'PERSONA_DB_CLUSTER_HOSTS',
    'list',
    z.array(z.string().regex(/^[0-9A-Za-z.:-]+$/)).min(1).max(9),
    ['127.0.0.1', '127.0.0.1', '127.0.0.1'],
    'Galera node addresses in order (n1, n2…; n1 bootstraps and is the first writer), for `persona db cluster` and `persona ops galera|haproxy`',
  ),
  // ---- the operations status page (docs/monitoring.md) ----
  statusTokenFile: setting(
    'PERSONA_STATUS_TOKEN_FILE',
    'string',
    z.string(),
    '',
    "a file (mode 0600) holding the operators' token for `persona status-page`; empty: the page is off",
  ),
  logLevel: setting(
    'PERSONA_LOG_LEVEL',
    'string',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'pino log level',
  ),
} as const;

export type SettingName = keyof typeof settings;
/** The settings as given: a port may be unset (null), the public URL empty. */
export type GivenConfig = { readonly [K in SettingName]: z.output<(typeof settings)[K]['schema']> };
export const PORT_SETTINGS = {
  router: 'routerPort',
  webhead: 'webheadPort',
  dbwriter: 'dbwriterPort',
  keysigner: 'keysignerPort',
  verifier: 'verifierPort',
  bridge: 'bridgePort',
  bridgesigner: 'bridgesignerPort',
  'example-site': 'exampleSitePort',
  'example-primary': 'examplePrimaryPort',
} as const;
type PortSetting = (typeof PORT_SETTINGS)[keyof typeof PORT_SETTINGS];
/** The settings resolved: every port a number (from the port base when unset), the public URL set. */
export type Config = Omit<GivenConfig, PortSetting> & { readonly [K in PortSetting]: number };
