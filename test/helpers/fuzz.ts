/**
 * The fuzzer of issue 10 ("Proof"): malformed requests over every public route, every wsapi op and the raw
 * HTTP framing, against the real stack (test/helpers/stack.ts: tier processes, SQLite), loopback only.
 * `npm run fuzz` (bench/fuzz.ts) runs the long form, test/e2e/fuzz.test.ts a short one; both call `runFuzz`.
 *
 * Loopback only: the stack's mail goes to the in-process SMTP sink, and its outbound fetches (discovery of
 * the issuers named in garbage assertions) to a local forward proxy that refuses every CONNECT, so no DNS
 * lookup or connection leaves the machine. Requests come from many loopback addresses (127.0.0.x), so the
 * per-address limits (SPEC §4.4) do not turn the whole run into 429s and handlers are reached.
 *
 * A 5xx is a failure unless it is a deliberate 503 (load shed or bcrypt queue full: `server is too busy`,
 * or `Retry-After`). The report also counts what is worth a look without failing the run: requests not
 * answered in time, raw HEAD answers that carry a body, and CONNECTs to internal destinations (SPEC §4.14).
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { argNames, operations, type Operation } from '../../src/wsapi/catalogue.ts';
import { PUBLIC_ROUTES } from '../../src/topology/index.ts';
import { PAGE_ROUTES } from '../../src/tiers/webhead/static.ts';
import { tokenOf } from './browser.ts';
import { signUp, PASSWORD } from './flows.ts';
import { startSmtpSink, type SmtpSink } from './smtp.ts';
import { startStack, type Stack } from './stack.ts';

export const FUZZ_TIERS = ['router', 'webhead', 'dbwriter', 'keysigner', 'verifier'] as const;
type FuzzTier = (typeof FUZZ_TIERS)[number];

export interface FuzzOptions {
  /** Requests to send (raw-socket ones included). */
  readonly requests: number;
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Past it no new request starts; the report says the run was cut short. */
  readonly timeLimitMs?: number;
  readonly seed?: number;
  /**
   * Load shedding at the production default (PERSONA_MAX_EVENT_LOOP_LAG_MS 70) instead of off as in the
   * other end-to-end tests: its 503s are then deliberate ones the report tells apart.
   */
  readonly shedding?: boolean;
  /** Stops the run early (Ctrl-C in the command), the stack still stopped and the report still made. */
  readonly signal?: AbortSignal;
  /** Every request to this route group (e.g. `/wsapi/cert_key`) and its answer, as progress lines. */
  readonly trace?: string;
  /** Progress lines (default: none). */
  readonly progress?: (line: string) => void;
}

export interface Finding {
  readonly what: string;
  readonly request: string;
  readonly response: string;
  readonly logs: readonly string[];
  /** How many requests gave the same finding (same kind, route and answer). */
  count: number;
}

export interface TierMemory {
  readonly beforeKb: number;
  readonly afterKb: number;
  readonly peakKb: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly target: number;
  readonly sent: number;
  readonly rawSent: number;
  readonly elapsedMs: number;
  readonly cutShort: boolean;
  readonly concurrency: number;
  readonly sourceAddresses: number;
  /** Answers by status ("200", "404", …; raw answers included, a pipelined raw request may give several). */
  readonly statuses: Record<string, number>;
  /** Answers by route group and status, for coverage. */
  readonly byGroup: Record<string, Record<string, number>>;
  /** Requests that got no HTTP answer, by why (connection closed, timeout, …). */
  readonly noAnswer: Record<string, number>;
  /** Cases the HTTP client would not send (should stay empty: such cases belong in raw requests). */
  readonly clientRefused: Record<string, number>;
  /** 4xx answers by status and the start of their text. */
  readonly reasons: Record<string, number>;
  /** A request that got each of them (and each kind of no answer). */
  readonly reasonExamples: Record<string, string>;
  /** CPU seconds each tier spent during the run, and the fuzzer itself. */
  readonly cpu: Record<FuzzTier, number>;
  readonly fuzzerCpu: number;
  readonly deliberate503: number;
  readonly unexpected5xx: number;
  readonly findings: readonly Finding[];
  /** Not failures, but worth a look. */
  readonly warnings: readonly Finding[];
  readonly memory: Record<FuzzTier, TierMemory>;
  readonly restarts: Record<FuzzTier, number>;
  /** CONNECTs the stack sent to the (refusing) egress proxy, and how many named an internal destination. */
  readonly egress: {
    readonly connects: number;
    readonly internal: number;
    readonly sample: readonly string[];
  };
  readonly sessionsRenewed: number;
  readonly sessionRenewalFailures: number;
  readonly sessionRenewalError: string;
  readonly mailsCaught: number;
  /** Tier log lines at ERROR or FATAL level. */
  readonly errorLogLines: readonly string[];
}

/** Whether the run passed: no unexpected 5xx, no tier died, and the whole count was sent. */
export function fuzzPassed(report: FuzzReport): boolean {
  return (
    report.unexpected5xx === 0 && Object.values(report.restarts).every((n) => n === 0) && !report.cutShort
  );
}

// ---- randomness ---------------------------------------------------------------------------------------

/** A seeded generator (mulberry32), so a run can be replayed with its seed. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** One of `choices` by weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [w, value] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }
  string(max: number, alphabet = ODD_CHARS): string {
    const chars = Array.from(alphabet);
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += this.pick(chars);
    return s;
  }
  b64url(bytes: number): string {
    const buf = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) buf[i] = this.int(256);
    return buf.toString('base64url');
  }
}

const ODD_CHARS =
  'aZ09@.~-_=+/ %&?#;,:\u00e9\u00fc\u4e2d\u0000\u0001\u007f\u200b\u202e\ufeff\ud83d\ude00"\'<>{}[]\\\t\n\r';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// ---- what the fuzzer knows about the stack ------------------------------------------------------------

interface Session {
  email: string;
  cookie: string;
  csrf: string;
}

interface Context {
  readonly rng: Random;
  readonly host: string;
  /** Signed in with the password (valid cookie and CSRF token). */
  readonly sessions: Session[];
  /** Anonymous sessions: a cookie and its CSRF token, nobody signed in. */
  readonly anonymous: Session[];
  readonly emails: () => string[];
  /** A real RSA public key in the wire form (SPEC §3), for cert_key. */
  readonly publicKey: string;
}

const OPS = Object.entries(operations) as [string, Operation][];
const PAGES = [
  ...new Set([
    // The router's public routes (a prefix route by its bare prefix), the webhead's pages, and the rest it serves.
    ...PUBLIC_ROUTES.map((r) => r.path),
    ...Object.keys(PAGE_ROUTES),
    '/include.js',
    '/provisioning_api.js',
    '/authentication_api.js',
    '/.well-known/browserid',
    '/pk',
    '/auth',
    '/provision',
    '/__heartbeat__',
    '/__heartbeat__?deep',
    '/metrics',
    '/wsapi/fake_verification',
    '/__mailbox__',
    '/__mailbox__.json',
    '/favicon.ico',
    '/robots.txt',
    '/verify',
  ]),
];
const ODD_PATHS = [
  '/../../../../etc/passwd',
  '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/..%2f..%2f..%2fetc%2fpasswd',
  '/%252e%252e%252fetc%252fpasswd',
  '/include.js/../../package.json',
  '/static/../../../var/keys/domain.secretkey',
  '//etc/passwd',
  '/.%2e/.%2e/config',
  '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
  '/..\\..\\..\\windows\\win.ini',
  '/wsapi/../verify',
  '/wsapi/%2e%2e/verify',
  '/wsapi/session_context/../stage_user',
  '/wsapi/session_context/..%2fstage_user',
  '/wsapi//stage_user',
  '/wsapi/',
  '/wsapi',
  '/verify/',
  '/VERIFY',
  '/verify;jsessionid=1',
  '/verify%00',
  '/verify%2f',
  '/verify/..',
  '/.well-known/../.well-known/browserid',
  '/.well-known/browserid/..',
  '/%00',
  '/%',
  '/%zz',
  '/%ff%fe',
  '/sign_in%0d%0aSet-Cookie:%20x=1',
  '/sign_in?x=<script>alert(1)</script>',
  '/%e4%b8%ad%e6%96%87',
  '/\u4e2d\u6587',
  '/__proto__',
  '/constructor',
  '/node_modules/fastify/package.json',
  '/src/cli/main.ts',
  '/.git/config',
  '/.env',
  '/var/',
  '/dist-browser/',
  '/__heartbeat__/../metrics',
  '/metrics?x=' + 'a'.repeat(500),
  '/a'.repeat(300),
  '/' + 'x'.repeat(6000),
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'FOO'];
const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json, text/html',
  'application/jsonx',
  'application/x-www-form-urlencoded; charset=ebcdic',
  'application/octet-stream',
  'json',
  ';',
  '',
  '*/*',
  'application/json;;;;',
  'application/' + 'x'.repeat(3000),
];

// ---- values -------------------------------------------------------------------------------------------

const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A value of any JSON type, more often odd than not. */
function wild(rng: Random, depth = 0): unknown {
  return rng.weighted<() => unknown>([
    [4, () => rng.string(40)],
    [2, () => rng.int(2e9) - 1e9],
    [1, () => rng.pick([1e308, -1e308, 2 ** 53 + 1, -0, 0.5, 1e-300])],
    [1, () => rng.chance(0.5)],
    [1, () => null],
    [1, () => (depth > 2 ? [] : Array.from({ length: rng.int(4) }, () => wild(rng, depth + 1)))],
    [
      1,
      () =>
        depth > 2
          ? {}
          : Object.fromEntries(
              Array.from({ length: rng.int(4) }, () => [rng.string(8), wild(rng, depth + 1)]),
            ),
    ],
    [1, () => 'x'.repeat(rng.pick([300, 1025, 4097]))],
    [1, () => ({ __proto__: { admin: true }, toString: 'x' })],
    [1, () => rng.pick(['', ' ', '\u0000', 'null', 'undefined', 'true', 'NaN', '[object Object]'])],
  ])();
}

function emailValue(rng: Random, ctx: Context): unknown {
  return rng.weighted<() => unknown>([
    [4, () => rng.pick(ctx.emails())],
    [3, () => `fuzz${rng.int(1e6)}@example.com`],
    [
      4,
      () =>
        rng.pick([
          'a@b',
          'a@example',
          '@example.com',
          'a@',
          'a@@example.com',
          'a@[127.0.0.1]',
          'a@127.0.0.1',
          'a@localhost',
          '"quoted"@example.com',
          'a b@example.com',
          '\u00fc@example.com',
          'a@\u00e9xample.com',
          'a@xn--e1afmkfd.xn--p1ai',
          'A@EXAMPLE.COM',
          'a@example.com\u0000',
          'a@example.com\n',
          ' a@example.com',
          'a@example.com.',
          'a@-example.com',
          'a@example..com',
          'x'.repeat(64) + '@example.com',
          'x'.repeat(65) + '@example.com',
          'a@' + 'x'.repeat(250) + '.com',
          'x'.repeat(5000) + '@example.com',
          'a@169.254.169.254',
          'a@0177.0.0.1',
          'a@2130706433',
          'a@metadata.google.internal',
        ]),
    ],
    [2, () => `${rng.string(20)}@${rng.string(20)}`],
    [2, () => wild(rng)],
  ])();
}

function passwordValue(rng: Random): unknown {
  return rng.weighted<() => unknown>([
    [3, () => rng.pick(['', 'short', 'x'.repeat(7), 'x'.repeat(8), 'x'.repeat(80), 'x'.repeat(81)])],
    [2, () => 'wrong password ' + String(rng.int(1e6))],
    [2, () => rng.string(90)],
    [1, () => '\u0000'.repeat(10)],
    [1, () => '\ud83d\ude00'.repeat(20)],
    [1, () => 'x'.repeat(9000)],
    [2, () => wild(rng)],
  ])();
}

function pubkeyValue(rng: Random): unknown {
  const digits = (n: number) => rng.string(n, '0123456789') || '0';
  const hex = (n: number) => rng.string(n, '0123456789abcdef') || '0';
  return rng.weighted<() => unknown>([
    [2, () => JSON.stringify({ algorithm: 'RS', n: digits(617), e: '65537' })],
    [1, () => JSON.stringify({ algorithm: 'RS', n: '9'.repeat(9000), e: '3' })],
    [1, () => JSON.stringify({ algorithm: 'RS', n: '1', e: '1' })],
    [1, () => JSON.stringify({ algorithm: 'RS', n: '-5', e: '0' })],
    [1, () => '{"algorithm":"RS","n":12345678901234567890123,"e":65537,"pad":"' + 'x'.repeat(20) + '"}'],
    [2, () => JSON.stringify({ algorithm: 'DS', y: hex(256), p: hex(256), q: hex(40), g: hex(256) })],
    [1, () => JSON.stringify({ algorithm: 'DS', y: '0', p: '1', q: '0', g: '1' })],
    [1, () => JSON.stringify({ algorithm: 'DS', y: hex(2000), p: hex(2000), q: hex(2000), g: hex(2000) })],
    [
      1,
      () =>
        JSON.stringify({
          algorithm: rng.pick(['EC', 'HS', '', 'rs', null]),
          n: '1',
          e: '1',
          pad: 'x'.repeat(50),
        }),
    ],
    [1, () => JSON.stringify({ kty: 'RSA', n: rng.b64url(256), e: 'AQAB' })],
    [1, () => JSON.stringify(wild(rng)).padEnd(60, ' ')],
    [1, () => '{' + 'x'.repeat(100)],
    [1, () => wild(rng)],
  ])();
}

/** A compact JWS-looking string: header and payload as asked, a signature of random bytes. */
function jwsLike(rng: Random, header: unknown, payload: unknown, rawPayload?: string): string {
  const body = rawPayload !== undefined ? Buffer.from(rawPayload).toString('base64url') : b64json(payload);
  return `${b64json(header)}.${body}.${rng.b64url(rng.pick([0, 20, 40, 128, 256, 512]))}`;
}

const ALGS: unknown[] = [
  'RS256',
  'RS128',
  'DS128',
  'DS256',
  'none',
  'HS256',
  'ES256',
  'rs256',
  '',
  123,
  null,
  ['RS256'],
];
const ISSUERS = [
  '127.0.0.1',
  'localhost',
  'example.com',
  'login.persona.org',
  'fuzz.example',
  '169.254.169.254',
  '10.1.2.3',
  '0177.0.0.1',
  '2130706433',
  '[::1]',
  '::ffff:127.0.0.1',
  'metadata.google.internal',
  'a.invalid',
  'x'.repeat(300),
  'xn--80ak6aa92e.com',
  '\u4e2d\u6587.com',
  'example.com:8443',
  'example.com/../evil',
  '',
];

function timeValue(rng: Random): unknown {
  return rng.pick<unknown>([
    Date.now() + 120_000,
    Date.now() - 120_000,
    Math.floor(Date.now() / 1000) + 120,
    0,
    -1,
    1e308,
    2 ** 53 + 1,
    'tomorrow',
    null,
    [1],
    Date.now() + 1e15,
  ]);
}

/**
 * A certificate and assertion that look right, with something wrong: a garbage `cert~assertion`. A
 * `plausible` one passes the cheap checks (times, audience https://rp.example), so the verifier goes on to
 * the issuer's key: discovery, through the refusing proxy.
 */
function assertionValue(rng: Random, plausible = rng.chance(0.3)): string {
  const now = Date.now();
  const certPayload = {
    iss: rng.pick(ISSUERS),
    iat: plausible ? now - 1000 : timeValue(rng),
    exp: plausible ? now + 3_600_000 : timeValue(rng),
    'public-key': plausible
      ? (JSON.parse(wirePublicKey()) as unknown)
      : rng.chance(0.5)
        ? { algorithm: 'RS', n: rng.string(600, '0123456789') || '1', e: '65537' }
        : { algorithm: 'DS', y: 'ab', p: 'cd', q: 'ef', g: '01' },
    principal: { email: rng.pick(['a@example.com', 'a@127.0.0.1', rng.string(30), 7]) },
  };
  const cert = () =>
    plausible || rng.chance(0.85)
      ? jwsLike(rng, { alg: plausible ? 'RS256' : rng.pick(ALGS) }, certPayload)
      : // A number too big for any type, in the JSON text itself.
        jwsLike(rng, { alg: 'RS256' }, null, `{"iss":"example.com","exp":${'9'.repeat(400)},"iat":1e999}`);
  const assertion = () =>
    plausible
      ? jwsLike(rng, { alg: 'RS256' }, { exp: now + 60_000, aud: 'https://rp.example' })
      : jwsLike(
          rng,
          { alg: rng.pick(ALGS) },
          { exp: timeValue(rng), aud: rng.pick(['https://rp.example', 'http://127.0.0.1', rng.string(20)]) },
        );
  if (plausible) return `${cert()}~${assertion()}`;
  return rng.weighted<() => string>([
    [8, () => `${cert()}~${assertion()}`],
    [2, () => `${cert()}~${cert()}~${assertion()}`],
    [
      1,
      () =>
        `${rng.b64url(30)}.${rng.b64url(60)}.${rng.b64url(60)}~${rng.b64url(30)}.${rng.b64url(30)}.${rng.b64url(30)}`,
    ],
    [1, () => '~'.repeat(rng.pick([1, 2, 60]))],
    [1, () => `${cert()}~`],
    [1, () => `~${assertion()}`],
    [1, () => cert()],
    [1, () => 'a.b.c~d.e.f'.padEnd(60, '=')],
    [1, () => 'x'.repeat(rng.pick([49, 10240, 10241, 20000]))],
    [1, () => rng.string(200)],
    [1, () => `${cert()}~${assertion()}`.replace(/\./g, '..')],
  ])();
}

function siteValue(rng: Random): unknown {
  return rng.pick<unknown>([
    'https://rp.example',
    'http://127.0.0.1:1',
    'app://x',
    'https://rp.example/path',
    'https://rp.example:99999',
    'javascript:alert(1)',
    'https://' + 'a'.repeat(64) + '.com',
    'https://' + 'a.'.repeat(200) + 'com',
    'https://\u00e9.com',
    '',
    rng.string(40),
    wild(rng),
  ]);
}

/** A value for a parameter, by its name: plausible but wrong most of the time, wild otherwise. */
function valueFor(name: string, rng: Random, ctx: Context, op: string): unknown {
  if (rng.chance(0.2)) return wild(rng);
  switch (name) {
    case 'email':
      return emailValue(rng, ctx);
    case 'pass':
      // The seeded password, now and then, so a real sign-in happens (never for update_password's).
      return op === 'authenticate_user' && rng.chance(0.15) ? PASSWORD : passwordValue(rng);
    case 'oldpass':
    case 'newpass':
      return passwordValue(rng);
    case 'token':
      return rng.pick([
        rng.string(48, ALNUM),
        rng.string(47, ALNUM),
        rng.string(48),
        'a'.repeat(48),
        '0'.repeat(4096),
      ]);
    case 'assertion':
      return assertionValue(rng);
    case 'pubkey':
      return pubkeyValue(rng);
    case 'ephemeral':
    case 'allowUnverified':
      return rng.pick<unknown>([true, false, 'true', 'false', 1, 0, null, 'yes', [true]]);
    case 'site':
      return siteValue(rng);
    case 'backgroundColor':
      return rng.pick([
        '#fff',
        'fff',
        '#ffffff',
        '#gggggg',
        'red',
        '#' + 'f'.repeat(300),
        'expression(alert(1))',
      ]);
    case 'siteLogo':
      return rng.pick([
        'https://rp.example/logo.png',
        'http://rp.example/logo.png',
        'javascript:alert(1)',
        'data:image/png;base64,AAAA',
        'https://' + 'x'.repeat(3000),
      ]);
    case 'issuer':
    case 'forceIssuer':
    case 'domain':
      return rng.pick(ISSUERS);
    case 'userid':
      return rng.pick<unknown>([1, 2, 0, -1, 1.5, '1', '01', 2 ** 53, '9'.repeat(30)]);
    case 'used_as':
      return rng.pick(['primary', 'secondary', 'tertiary', '']);
    case 'bucket':
      return rng.pick(['auth:ip:127.0.0.1', 'x', 'a:b:' + 'c'.repeat(300), '::', 'stage:ip:1.2.3.4']);
    default:
      return wild(rng);
  }
}

// ---- requests -----------------------------------------------------------------------------------------

interface HttpCase {
  readonly kind: 'http';
  readonly group: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: string | Buffer;
}

interface RawCase {
  readonly kind: 'raw';
  readonly group: string;
  readonly bytes: Buffer;
  /** Incomplete on purpose: the server is right to wait for the rest. */
  readonly mayHang?: boolean;
  /** A HEAD request sent alone with Connection: close: any bytes after the head are a body. */
  readonly head?: boolean;
}

type Case = HttpCase | RawCase;

/** undici sends only paths of visible characters: the rest percent-encoded (a lone `%` stays odd). */
const sendablePath = (path: string): string =>
  Array.from(path, (c) => (/^[\x21-\x7e]$/.test(c) ? c : percent(c))).join('');

/** undici refuses control characters in header values: those go in raw requests instead. */
const sendableHeader = (value: string): string =>
  Array.from(value, (c) => (/^[\t\x20-\x7e]$/.test(c) ? c : percent(c))).join('');

/** A character percent-encoded as UTF-8 (a lone surrogate as U+FFFD's bytes). */
function percent(c: string): string {
  try {
    return encodeURIComponent(c);
  } catch {
    return '%EF%BF%BD';
  }
}

const groupOf = (path: string): string => {
  const bare = path.split('?', 1)[0] ?? '';
  if (bare.startsWith('/wsapi/')) {
    const name = bare.slice('/wsapi/'.length);
    return Object.hasOwn(operations, name) ? `/wsapi/${name}` : '/wsapi/(unknown)';
  }
  if (bare === '/verify') return '/verify';
  if (PAGES.includes(bare)) return bare;
  return '(odd paths)';
};

/** Cookie and CSRF token: a real session, a wrong token, a garbled cookie, or none. */
function credentials(rng: Random, ctx: Context): { cookie?: string; csrf?: string; session: Session } {
  const session = rng.chance(0.7) ? rng.pick(ctx.sessions) : rng.pick(ctx.anonymous);
  const sent = rng.weighted<() => { cookie?: string; csrf?: string }>([
    [8, () => ({ cookie: session.cookie, csrf: session.csrf })],
    [
      2,
      () => ({
        cookie: session.cookie,
        csrf: rng.pick([rng.string(24, ALNUM), '', rng.pick(ctx.anonymous).csrf]),
      }),
    ],
    [1, () => ({ cookie: session.cookie })],
    [2, () => ({ cookie: garbleCookie(rng, session.cookie), csrf: session.csrf })],
    [1, () => ({ csrf: session.csrf })],
    [1, () => ({})],
  ])();
  return { ...sent, session };
}

function garbleCookie(rng: Random, cookie: string): string {
  const eq = cookie.indexOf('=');
  const name = cookie.slice(0, eq);
  const value = cookie.slice(eq + 1).split(';', 1)[0] ?? '';
  return rng.weighted<() => string>([
    [2, () => `${name}=${value.slice(0, rng.int(value.length))}`],
    [
      2,
      () => {
        const i = rng.int(value.length);
        return `${name}=${value.slice(0, i)}${rng.pick(['A', '-', '.', '_', '%'])}${value.slice(i + 1)}`;
      },
    ],
    [
      1,
      () =>
        `${name}=${rng.b64url(rng.pick([10, 100, 300]))}.${rng.b64url(40)}.${rng.int(1e13)}.${rng.b64url(32)}`,
    ],
    [1, () => `${name}=${value}; ${name}=${rng.b64url(60)}`],
    [1, () => `${name}=${'A'.repeat(rng.pick([4000, 9000]))}`],
    [1, () => `${name}=`],
    [1, () => `=;;=; ${name}; ${name}==${value}`],
    [1, () => `${name}=${value}${'.x'.repeat(5)}`],
    [1, () => `${name}="${value}"`],
  ])();
}

function withCookie(headers: Record<string, string | string[]>, cookie: string | undefined) {
  if (cookie !== undefined) headers.cookie = sendableHeader(cookie);
}

/** A value `name` accepts (its shape at least), so that a case with it reaches the handler. */
function validFor(name: string, rng: Random, ctx: Context, op: string, session: Session): unknown {
  switch (name) {
    case 'email':
      if (op === 'stage_user' || op === 'stage_email') return `fuzz${rng.int(1e6)}@example.com`;
      return session.email !== '' && rng.chance(0.7) ? session.email : rng.pick(ctx.emails());
    case 'pass':
      return op === 'authenticate_user' ? PASSWORD : `valid password ${rng.int(1e6)}`;
    case 'oldpass':
    case 'newpass':
      // Never the real password: a fuzzed password change would lock the fuzzer out of its accounts.
      return `not the password ${rng.int(1e6)}`;
    case 'token':
      return rng.string(48, ALNUM).padEnd(48, 'a');
    case 'assertion':
      return assertionValue(rng);
    case 'pubkey':
      return ctx.publicKey;
    case 'ephemeral':
    case 'allowUnverified':
      return rng.chance(0.5);
    case 'site':
      return 'https://rp.example';
    case 'backgroundColor':
      return '#fff';
    case 'siteLogo':
      return 'https://rp.example/logo.png';
    case 'issuer':
    case 'forceIssuer':
    case 'domain':
      return rng.pick(['example.com', 'fuzz.example']);
    case 'userid':
      return 1;
    case 'used_as':
      return 'secondary';
    case 'bucket':
      return 'auth:ip:192.0.2.1';
    default:
      return wild(rng);
  }
}

/** Whether `op` may go without `arg` (an optional one such as forceIssuer refuses most valid values). */
const optional = (op: Operation, arg: string): boolean =>
  op.args instanceof z.ZodObject &&
  (op.args.shape[arg] as z.ZodType | undefined)?.safeParse(undefined).success === true;

/**
 * Args for `op`: now and then valid ones with none, one or two made bad (so handlers are reached), else
 * each declared parameter (and a few extra names) present or not, odd or not.
 */
function argsFor(
  rng: Random,
  ctx: Context,
  name: string,
  op: Operation,
  session: Session,
): Record<string, unknown> {
  const declared = argNames(op);
  const args: Record<string, unknown> = {};
  if (rng.chance(0.45)) {
    for (const arg of declared)
      if (!optional(op, arg) || rng.chance(0.3)) args[arg] = validFor(arg, rng, ctx, name, session);
    for (let k = rng.pick([0, 0, 1, 1, 2]); k > 0 && declared.length > 0; k--) {
      const arg = rng.pick(declared);
      if (rng.chance(0.2))
        args[arg] = undefined; // left out (JSON and queries skip it)
      else args[arg] = valueFor(arg, rng, ctx, name);
    }
    return args;
  }
  for (const arg of [...declared, '__proto__', 'constructor', 'extra']) {
    if (rng.chance(declared.includes(arg) ? 0.8 : 0.08)) args[arg] = valueFor(arg, rng, ctx, name);
  }
  return args;
}

function queryOf(rng: Random, args: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined) continue;
    const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(text)}`);
    if (rng.chance(0.1)) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(rng.string(10))}`);
    if (rng.chance(0.05)) parts.push(`${encodeURIComponent(k)}[]=x&${encodeURIComponent(k)}[a]=b`);
  }
  if (rng.chance(0.1))
    parts.push(rng.pick(['%', '%zz', '%00', '%C0%AE', 'a=%E4%B8', '&&&', '=', 'a==b', ';a=b']));
  if (rng.chance(0.02)) parts.push('pad=' + 'x'.repeat(rng.pick([2000, 20000])));
  return parts.join('&');
}

/** Ops that end the session they are sent with (or the account): sent with it now and then only. */
const ENDS_SESSION = new Set(['logout', 'account_cancel', 'remove_email', 'update_password']);

function wsapiPost(rng: Random, ctx: Context, name: string, op: Operation): HttpCase {
  const picked = credentials(rng, ctx);
  const { cookie, session } = picked;
  let { csrf } = picked;
  if (ENDS_SESSION.has(name) && csrf === session.csrf && session.email !== '' && rng.chance(0.93))
    csrf = rng.pick(ctx.anonymous).csrf;
  const args: Record<string, unknown> = argsFor(rng, ctx, name, op, session);
  if (csrf !== undefined && rng.chance(0.9)) args.csrf = csrf;
  const headers: Record<string, string | string[]> = {};
  withCookie(headers, cookie);
  let path = `/wsapi/${name}`;
  // A query string on a POST: the original ignored it; parameters there must not count.
  if (rng.chance(0.1)) path += `?${queryOf(rng, { csrf, ...argsFor(rng, ctx, name, op, session) })}`;
  const json = JSON.stringify(args);
  const body = rng.weighted<() => { type?: string; body?: string }>([
    [12, () => ({ type: 'application/json', body: json })],
    [
      2,
      () => ({
        type: 'application/json',
        body: rng.pick([
          // Duplicate keys: the last one wins in JSON.parse; the CSRF check must see the same one.
          json.replace(/^\{/, `{"csrf":"${rng.string(10, ALNUM)}",`),
          json.replace(/\}$/, `,"email":"dup@example.com"}`),
          json.slice(0, rng.int(json.length)),
          `${json}garbage`,
          '\ufeff' + json,
          '[' + json + ']',
          '"' + 'x'.repeat(100) + '"',
          '[]',
          'null',
          '1e999',
          '{"__proto__":{"csrf":"x"},"constructor":{"prototype":{"admin":true}}}',
          '['.repeat(5000) + ']'.repeat(5000),
          '{"a":' + '1'.repeat(9000) + '}',
          '{',
          '',
          '\u0000',
        ]),
      }),
    ],
    [3, () => ({ type: 'application/x-www-form-urlencoded', body: queryOf(rng, args) })],
    [2, () => ({ type: rng.pick(CONTENT_TYPES), body: json })],
    [1, () => ({ body: json })],
    [1, () => ({ type: 'application/json' })],
    [
      1,
      () => ({
        type: rng.pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain']),
        body: JSON.stringify({
          ...args,
          pad: 'x'.repeat(rng.pick([10 * 1024, 11 * 1024, 64 * 1024, 300 * 1024])),
        }),
      }),
    ],
  ])();
  if (body.type !== undefined) headers['content-type'] = body.type;
  return {
    kind: 'http',
    group: `/wsapi/${name}`,
    method: 'POST',
    path,
    headers,
    ...(body.body !== undefined ? { body: body.body } : {}),
  };
}

function wsapiGet(rng: Random, ctx: Context, name: string, op: Operation): HttpCase {
  const { cookie, session } = credentials(rng, ctx);
  const headers: Record<string, string | string[]> = {};
  withCookie(headers, cookie);
  const query = queryOf(rng, argsFor(rng, ctx, name, op, session));
  const method = rng.chance(0.1) ? 'HEAD' : 'GET';
  return {
    kind: 'http',
    group: `/wsapi/${name}`,
    method,
    path: sendablePath(`/wsapi/${name}${query ? `?${query}` : ''}`),
    headers,
  };
}

const ODD_OP_NAMES = [
  '',
  'nope',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  'session_context/',
  'SESSION_CONTEXT',
  'session_context%00',
  'stage_user/../session_context',
  '%2e%2e',
  'session%5Fcontext',
  '\u4e2d',
  'x'.repeat(3000),
];

/** Ops by the wrong method, unknown ops, internal ops from outside. */
function wsapiOdd(rng: Random, ctx: Context): HttpCase {
  const { cookie, csrf, session } = credentials(rng, ctx);
  const headers: Record<string, string | string[]> = {};
  withCookie(headers, cookie);
  const [name, op] = rng.chance(0.7) ? rng.pick(OPS) : [rng.pick(ODD_OP_NAMES), undefined];
  const method =
    op === undefined ? rng.pick(METHODS) : rng.pick(METHODS.filter((m) => m !== op.method && m !== 'HEAD'));
  const body =
    method === 'GET' || method === 'HEAD' || method === 'TRACE'
      ? undefined
      : JSON.stringify({ csrf, ...(op ? argsFor(rng, ctx, name, op, session) : {}) });
  if (body !== undefined) headers['content-type'] = 'application/json';
  return {
    kind: 'http',
    group: groupOf(`/wsapi/${name}`),
    method,
    path: sendablePath(`/wsapi/${name}`),
    headers,
    ...(body !== undefined ? { body } : {}),
  };
}

/** The remote verifier: garbage assertions in every encoding it reads (form, JSON, query). */
function verify(rng: Random): HttpCase {
  const params: Record<string, unknown> = {};
  const plausible = rng.chance(0.3);
  if (plausible || rng.chance(0.9))
    params.assertion = plausible || rng.chance(0.85) ? assertionValue(rng, plausible) : wild(rng);
  if (plausible) params.audience = 'https://rp.example';
  else if (rng.chance(0.85))
    params.audience = rng.pick<unknown>([
      'https://rp.example',
      'rp.example',
      'http://127.0.0.1:1',
      '',
      'x'.repeat(5000),
      '\u4e2d.example',
      ['https://rp.example'],
      wild(rng),
    ]);
  if (rng.chance(0.2))
    params.experimental_allowUnverified = rng.pick<unknown>(['true', 'false', true, 'yes', 1]);
  const headers: Record<string, string | string[]> = {};
  const how = rng.weighted<string>([
    [4, 'form'],
    [4, 'json'],
    [2, 'query'],
    [1, 'both'],
    [1, 'odd-type'],
    [1, 'big'],
  ]);
  const query = how === 'query' || how === 'both' ? `?${queryOf(rng, params)}` : rng.chance(0.05) ? '?x' : '';
  let body: string | undefined;
  if (how === 'form' || how === 'both') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = queryOf(rng, params);
  } else if (how === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(params);
  } else if (how === 'odd-type') {
    headers['content-type'] = rng.pick(CONTENT_TYPES);
    body = JSON.stringify(params);
  } else if (how === 'big') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ ...params, pad: 'x'.repeat(rng.pick([10 * 1024, 50 * 1024])) });
  }
  const method =
    body === undefined
      ? rng.pick(['POST', 'GET', 'HEAD'])
      : rng.chance(0.95)
        ? 'POST'
        : rng.pick(['PUT', 'DELETE', 'PATCH']);
  return {
    kind: 'http',
    group: '/verify',
    method,
    path: sendablePath(`/verify${query}`),
    headers,
    ...(body !== undefined ? { body } : {}),
  };
}

/** The webhead's pages, scripts and documents, and paths that should not exist, by every method. */
function pages(rng: Random, ctx: Context): HttpCase {
  const path = rng.chance(0.65) ? rng.pick(PAGES) : rng.pick(ODD_PATHS);
  const withQuery =
    rng.chance(0.25) && !path.includes('?')
      ? `${path}?${rng.pick(['domain=' + encodeURIComponent(rng.pick(ISSUERS)), 'token=' + rng.string(48, ALNUM), 'lang=xx', rng.string(30), 'a=' + 'b'.repeat(3000)])}`
      : path;
  const headers: Record<string, string | string[]> = {};
  if (rng.chance(0.3)) withCookie(headers, credentials(rng, ctx).cookie);
  if (rng.chance(0.4))
    headers['accept-language'] = rng.pick([
      '*',
      'xx-YY;q=abc',
      'fr;q=1,de;q=0.5,*;q=0',
      'a'.repeat(4000),
      'en;q=' + '9'.repeat(400),
      ',,,,;;;;',
      Array.from({ length: 500 }, (_, i) => `l${i}`).join(','),
      '../../../etc/passwd',
      'zh-Hant-TW-x-private',
    ]);
  if (rng.chance(0.2))
    headers['if-none-match'] = rng.pick(['*', '"x"', 'W/"1"', '"' + 'x'.repeat(2000) + '"', '', ',']);
  if (rng.chance(0.1)) headers.accept = rng.pick(['*/*', 'text/html;q=abc', '', 'x'.repeat(2000)]);
  const method = rng.weighted<string>([
    [6, 'GET'],
    [3, 'HEAD'],
    [1, 'POST'],
    [1, rng.pick(METHODS)],
  ]);
  const body =
    method === 'POST' || method === 'PUT' || method === 'PATCH' ? JSON.stringify(wild(rng)) : undefined;
  if (body !== undefined) headers['content-type'] = rng.pick(['application/json', ...CONTENT_TYPES]);
  return {
    kind: 'http',
    group: groupOf(path),
    method,
    path: sendablePath(withQuery),
    headers,
    ...(body !== undefined ? { body } : {}),
  };
}

/** Headers out of the ordinary on any route: huge, many, duplicated, spoofing. */
function headerMayhem(rng: Random, ctx: Context): HttpCase {
  const base = rng.chance(0.5)
    ? wsapiGet(rng, ctx, ...rng.pick(OPS.filter(([, op]) => op.method === 'GET')))
    : pages(rng, ctx);
  const headers = { ...base.headers };
  rng.weighted<() => void>([
    [2, () => (headers['x-big'] = 'x'.repeat(rng.pick([8 * 1024, 15 * 1024, 17 * 1024, 64 * 1024])))],
    [1, () => (headers.cookie = 'c=' + 'x'.repeat(rng.pick([12 * 1024, 20 * 1024])))],
    [
      2,
      () => {
        for (let i = 0; i < rng.pick([50, 200, 1000]); i++) headers[`x-h${i}`] = String(i);
      },
    ],
    [
      1,
      () =>
        (headers['x-forwarded-for'] = rng.pick([
          '1.2.3.4',
          '127.0.0.1, 10.0.0.1',
          '::1',
          'x'.repeat(500),
          ', , ,',
        ])),
    ],
    [1, () => (headers['x-request-id'] = rng.pick(['', 'x'.repeat(5000), '../../etc', 'a b c', '\t']))],
    [1, () => (headers['x-persona-signature'] = rng.pick(['v1 garbage', 'x'.repeat(3000), '']))],
    [1, () => (headers['content-type'] = ['application/json', 'text/plain'])],
    [
      1,
      () =>
        (headers.cookie = [(base.headers.cookie as string | undefined) ?? 'a=1', 'b=2', 'browserid_state=x']),
    ],
    [1, () => (headers['accept-language'] = ['en', 'fr', 'x'.repeat(100)])],
    [1, () => base.body === undefined && (headers['content-length'] = '0')],
    [1, () => (headers.origin = rng.pick(['null', 'https://evil.example', 'x'.repeat(3000)]))],
    [1, () => (headers.referer = rng.pick(['javascript:alert(1)', 'http://' + 'x'.repeat(3000), ':::']))],
    [1, () => (headers['user-agent'] = rng.string(3000, ALNUM + ' ;()/'))],
    [1, () => (headers['x-http-method-override'] = 'DELETE')],
  ])();
  return { ...base, headers };
}

// ---- raw requests (malformed HTTP) --------------------------------------------------------------------

function raw(rng: Random, ctx: Context): RawCase {
  const host = `Host: ${ctx.host}\r\n`;
  const close = 'Connection: close\r\n';
  const json = JSON.stringify({ csrf: rng.pick(ctx.sessions).csrf, email: 'a@example.com' });
  const target = rng.pick([
    '/verify',
    '/wsapi/stage_user',
    '/wsapi/session_context',
    '/',
    '/sign_in',
    '/include.js',
    '/wsapi/authenticate_user',
  ]);
  const pieces = rng.weighted<
    () => { text: string | Buffer; group?: string; mayHang?: boolean; head?: boolean }
  >([
    [1, () => ({ text: 'GARBAGE\r\n\r\n' })],
    // Random text may read as the start of a request (or as the blank lines allowed before one): the server
    // is right to wait for the rest.
    [1, () => ({ text: rng.string(200) + '\r\n\r\n', mayHang: true })],
    [1, () => ({ text: Buffer.from(Array.from({ length: 300 }, () => rng.int(256))) })],
    // A TLS ClientHello's first bytes on the plain port.
    [
      1,
      () => ({
        text: Buffer.from([
          0x16,
          0x03,
          0x01,
          0x02,
          0x00,
          0x01,
          0x00,
          0x01,
          0xfc,
          0x03,
          0x03,
          ...Array.from({ length: 60 }, () => rng.int(256)),
        ]),
      }),
    ],
    [1, () => ({ text: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' })],
    [
      4,
      () => ({
        text:
          rng.pick([
            `GET  ${target} HTTP/1.1`,
            `GET ${target} HTTP/1.1 extra`,
            `GET ${target}`,
            `GET ${target} HTTP/2.0`,
            `GET ${target} HTTP/0.9`,
            `GET ${target} HTTP/1.10`,
            `GET ${target} HTTP/1.0`,
            `get ${target} HTTP/1.1`,
            `G\u0000T ${target} HTTP/1.1`,
            `FOO ${target} HTTP/1.1`,
            `GET http://127.0.0.1${target} HTTP/1.1`,
            `GET http://evil.example/wsapi/hit_rate_limit HTTP/1.1`,
            `OPTIONS * HTTP/1.1`,
            `CONNECT 127.0.0.1:22 HTTP/1.1`,
            `GET ${target} x HTTP/1.1`,
            `GET ${target}\u0000 HTTP/1.1`,
            `GET /\u4e2d\u6587\u00e9 HTTP/1.1`,
            `GET ../../etc/passwd HTTP/1.1`,
            `GET \\..\\..\\ HTTP/1.1`,
            `GET /${'a'.repeat(20000)} HTTP/1.1`,
            `GET ${target}?${'q'.repeat(9000)} HTTP/1.1`,
            `GET /%%%% HTTP/1.1`,
            `GET ${target}#frag HTTP/1.1`,
            `\r\nGET ${target} HTTP/1.1`,
            ` GET ${target} HTTP/1.1`,
          ]) + `\r\n${host}${close}\r\n`,
      }),
    ],
    [
      5,
      () => ({
        text:
          `GET ${target} HTTP/1.1\r\n` +
          rng.pick([
            `${host}X: a\r\n folded\r\n`,
            `${host}X: a\r\n\tfolded\r\n`,
            '',
            `${host}${host}`,
            `Host: \r\n`,
            `Host: evil.example\r\n`,
            `Host: ${'h'.repeat(5000)}\r\n`,
            `${host}X: a\u0000b\r\n`,
            `${host}X: \u4e2d\u6587\r\n`,
            `${host}Bad Name: x\r\n`,
            `${host}NoColon\r\n`,
            `${host}: empty name\r\n`,
            `${host}X : space before colon\r\n`,
            `${host}${'X-Long: ' + 'y'.repeat(20000)}\r\n`,
            `${host}${Array.from({ length: 2500 }, (_, i) => `X-${i}: ${i}`).join('\r\n')}\r\n`,
            `${host}Cookie: ${'\u00ff\u00fe'.repeat(50)}\r\n`,
            `${host}Cookie: browserid_state=\u0000\u0001\r\n`,
            `${host}Content-Length: abc\r\n`,
            `${host}Expect: 100-continue\r\n`,
            `${host}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n`,
            `${host}Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nConnection: Upgrade, HTTP2-Settings\r\n`,
          ]) +
          close +
          '\r\n',
      }),
    ],
    // Bare LF or CR line ends.
    [1, () => ({ text: `GET ${target} HTTP/1.1\nHost: ${ctx.host}\nConnection: close\n\n` })],
    [1, () => ({ text: `GET ${target} HTTP/1.1\rHost: ${ctx.host}\rConnection: close\r\r` })],
    [
      6,
      () => {
        const body = rng.chance(0.5) ? json : 'assertion=x&audience=y';
        const type = body === json ? 'application/json' : 'application/x-www-form-urlencoded';
        const len = Buffer.byteLength(body);
        return rng.pick([
          // Request smuggling shapes: both lengths, two lengths, odd encodings.
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len}\r\nTransfer-Encoding: chunked\r\n${close}\r\n0\r\n\r\nGET /wsapi/hit_rate_limit HTTP/1.1\r\n${host}\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len}\r\nContent-Length: ${len + 1}\r\n${close}\r\n${body}x`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len}, ${len}\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: -1\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: 0x10\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: 99999999999999999999\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: +${len}\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n${close}\r\n${len.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n${close}\r\nzz\r\n${body}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n${close}\r\nffffffffffffffff\r\n${body}\r\n0\r\n\r\n`,
            // A chunk of 2^64 - 1 bytes: the server is right to wait for it (until its request timeout).
            mayHang: true,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n${close}\r\n${len.toString(16)};ext="\u0000"\r\n${body}\r\n0\r\nX-Trailer: 1\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n${close}\r\n${'1\r\nx\r\n'.repeat(11000)}0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: gzip, chunked\r\n${close}\r\n${len.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked, identity\r\n${close}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding : chunked\r\n${close}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: \u000bchunked\r\n${close}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n${close}\r\n0\r\n\r\n`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len}\r\n${close}\r\n${body}GET /wsapi/hit_rate_limit HTTP/1.1\r\n\r\n`,
          },
          {
            text: `GET ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len}\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len}\r\nExpect: 100-continue\r\n${close}\r\n${body}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: 20000\r\n${close}\r\n${'x'.repeat(20000)}`,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nContent-Length: ${len + 50}\r\n${close}\r\n${body}`,
            mayHang: true,
          },
          {
            text: `POST ${target} HTTP/1.1\r\n${host}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n${close}\r\n5\r\nab`,
            mayHang: true,
          },
        ]);
      },
    ],
    // Several requests in one write (pipelining), the last one closing.
    [
      2,
      () => ({
        text:
          `GET /wsapi/session_context HTTP/1.1\r\n${host}\r\n` +
          `HEAD ${target} HTTP/1.1\r\n${host}\r\n` +
          `POST /verify HTTP/1.1\r\n${host}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b` +
          `GET /__heartbeat__ HTTP/1.1\r\n${host}${close}\r\n`,
      }),
    ],
    // HEAD alone: the answer must carry no body, whatever its status.
    [
      4,
      () => ({
        head: true,
        text: `HEAD ${rng.pick([...PAGES, ...ODD_PATHS.slice(0, 30), '/wsapi/session_context', '/wsapi/stage_user', '/wsapi/nope', '/verify'])} HTTP/1.1\r\n${host}${rng.chance(0.2) ? 'X-Big: ' + 'x'.repeat(20000) + '\r\n' : ''}${close}\r\n`,
      }),
    ],
  ])();
  return {
    kind: 'raw',
    group: pieces.group ?? (pieces.head === true ? 'raw HEAD' : 'raw'),
    bytes: typeof pieces.text === 'string' ? Buffer.from(pieces.text, 'utf8') : pieces.text,
    ...(pieces.mayHang === true ? { mayHang: true } : {}),
    ...(pieces.head === true ? { head: true } : {}),
  };
}

/** The `i`th request: every op and route in turn for the share that names one, the rest at random. */
function caseFor(i: number, ctx: Context): Case {
  const { rng } = ctx;
  const kind = rng.weighted<string>([
    [34, 'wsapi'],
    [5, 'wsapi-odd'],
    [16, 'verify'],
    [12, 'pages'],
    [7, 'headers'],
    [14, 'raw'],
  ]);
  switch (kind) {
    case 'wsapi': {
      const [name, op] = OPS[i % OPS.length]!;
      return op.method === 'POST' ? wsapiPost(rng, ctx, name, op) : wsapiGet(rng, ctx, name, op);
    }
    case 'wsapi-odd':
      return wsapiOdd(rng, ctx);
    case 'verify':
      return verify(rng);
    case 'pages':
      return pages(rng, ctx);
    case 'headers':
      return headerMayhem(rng, ctx);
    default:
      return raw(rng, ctx);
  }
}

// ---- sending ------------------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

const ANSWER_TIMEOUT_MS = 30_000;
const RAW_TIMEOUT_MS = 5_000;
/** Incomplete requests: the server waits for the rest (its request timeout is 10 s); not worth waiting for. */
const MAY_HANG_TIMEOUT_MS = 1_000;

async function sendHttp(base: string, dispatcher: Dispatcher, c: HttpCase): Promise<Answer> {
  // The dispatcher takes the path as it is; a URL would resolve its dot segments before sending.
  const res = await dispatcher.request({
    origin: base,
    path: c.path,
    method: c.method,
    headers: c.headers,
    ...(c.body !== undefined ? { body: c.body } : {}),
    headersTimeout: ANSWER_TIMEOUT_MS,
    bodyTimeout: ANSWER_TIMEOUT_MS,
  });
  // Bodies are read only where they matter (errors), to spare the fuzzer's own CPU.
  const text = res.statusCode >= 400 ? await res.body.text() : (await res.body.dump(), '');
  return { status: res.statusCode, text, headers: res.headers };
}

interface RawAnswer {
  readonly answers: Answer[];
  /** How the exchange ended without an answer, if it did. */
  readonly none?: string;
  /** Bytes after a HEAD answer's head. */
  readonly headBody?: string;
}

/** Writes `c` on a fresh connection and reads until the server closes (or the time is up). */
function sendRaw(port: number, localAddress: string | undefined, c: RawCase): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket: Socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        socket.destroy();
      },
      c.mayHang === true ? MAY_HANG_TIMEOUT_MS : RAW_TIMEOUT_MS,
    );
    socket.on('connect', () => {
      socket.write(c.bytes);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const answers = parseAnswers(all);
      let headBody: string | undefined;
      if (c.head === true && answers.length > 0) {
        const end = all.indexOf('\r\n\r\n');
        const rest = end < 0 ? '' : all.slice(end + 4);
        if (rest.length > 0 && !rest.startsWith('HTTP/1.')) headBody = rest.slice(0, 120);
      }
      resolve({
        answers,
        ...(answers.length === 0
          ? { none: timedOut ? 'raw: no answer in 5 s' : 'raw: closed without an answer' }
          : {}),
        ...(headBody !== undefined ? { headBody } : {}),
      });
    });
  });
}

/** The answers in a raw exchange: each status line, its headers, and the text up to the next one. */
function parseAnswers(all: string): Answer[] {
  const starts: number[] = [];
  // Anywhere, not only after a line end: a pipelined answer follows a body that ends without one.
  const re = /HTTP\/1\.[01] \d{3} /g;
  for (let m = re.exec(all); m !== null; m = re.exec(all)) starts.push(m.index);
  return starts.map((start, i) => {
    const chunk = all.slice(start, starts[i + 1] ?? all.length);
    const headEnd = chunk.indexOf('\r\n\r\n');
    const head = headEnd < 0 ? chunk : chunk.slice(0, headEnd);
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(chunk.slice(9, 12)), text: headEnd < 0 ? '' : chunk.slice(headEnd + 4), headers };
  });
}

/** A deliberate 503: shed for load or a full bcrypt queue (SPEC §6), not a fault. */
const isDeliberate503 = (a: Answer): boolean =>
  a.status === 503 && (/server is too busy/.test(a.text) || a.headers['retry-after'] !== undefined);

// ---- the stack around the run ----------------------------------------------------------------------

/**
 * The egress proxy the stack is given: it refuses every CONNECT (403), so discovery never leaves the
 * machine, and it records where the stack tried to go.
 */
async function startRefusingProxy(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const server: Server = createServer((socket) => {
    let head = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      targets.push(head.split('\r\n', 1)[0] ?? '');
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no proxy port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    targets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A CONNECT to a name or address that is never a public identity provider (SPEC §4.14). */
function internalTarget(connectLine: string): boolean {
  const authority = connectLine.split(' ')[1] ?? '';
  const host = authority.startsWith('[')
    ? authority.slice(1, authority.indexOf(']'))
    : authority.replace(/:\d+$/, '');
  const name = host.toLowerCase();
  if (isIP(name) === 4)
    return /^(0|10|127|169\.254|192\.168|172\.(1[6-9]|2\d|3[01])|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7]))\./.test(
      name,
    );
  if (isIP(name) === 6) return /^(::|fc|fd|fe[89ab]|ff)/.test(name) || name.startsWith('::ffff:');
  // Non-canonical IPv4 forms (octal, one number) and internal names.
  return /^[0-9.x]+$/.test(name) || !name.includes('.') || /\.(localhost|internal|local|lan)$/.test(name);
}

/** Loopback source addresses this machine lets a socket bind to (127.0.0.0/8 on Linux), else none. */
async function loopbackSources(port: number, wanted: number): Promise<string[]> {
  const probe = (localAddress: string) =>
    new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1', localAddress });
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  if (!(await probe('127.0.0.2'))) return [];
  // 127.0.0.1 (seeding) and 127.0.1.x (renewal) stay out of the fuzz traffic, which cannot rate-limit them.
  return Array.from({ length: Math.min(wanted, 250) }, (_, i) => `127.0.0.${i + 2}`);
}

const rssKb = (pid: number | undefined): number => {
  if (pid === undefined) return 0;
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/** User and system CPU of a process, in seconds (USER_HZ is 100 on Linux). */
const cpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  } catch {
    return 0;
  }
};

const escaped = (text: string | Buffer, max = 300): string => {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  const shown = JSON.stringify(s.length > max ? s.slice(0, max) : s);
  return s.length > max ? `${shown}… (${s.length} chars)` : shown;
};

function describe(c: Case, max = 300): string {
  if (c.kind === 'raw') return `raw ${escaped(c.bytes, max)}`;
  const headers = Object.entries(c.headers)
    .map(([k, v]) => `${k}: ${escaped(Array.isArray(v) ? v.join(' | ') : v, max === 300 ? 80 : max)}`)
    .join('; ');
  return `${c.method} ${escaped(c.path, 200)}${headers ? ` [${headers}]` : ''}${c.body !== undefined ? ` body ${escaped(c.body, max)}` : ''}`;
}

/** A fresh RSA-2048 public key as `{"algorithm":"RS","n","e"}` with decimal numbers (SPEC §3). */
let wireKey: string | undefined;
function wirePublicKey(): string {
  if (wireKey !== undefined) return wireKey;
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const decimal = (b64: string | undefined) =>
    BigInt(`0x${Buffer.from(b64 ?? '', 'base64url').toString('hex')}`).toString();
  return (wireKey = JSON.stringify({ algorithm: 'RS', n: decimal(jwk.n), e: decimal(jwk.e) }));
}

/** Seeds a signed-in session for a new account through the real sign-up (mail included). */
async function seedSession(stack: Stack, smtp: SmtpSink, email: string): Promise<Session> {
  const b = await signUp(stack.base, smtp, email);
  const context = await b.sessionContext();
  return {
    email,
    cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    csrf: String(context.csrf_token),
  };
}

async function anonymousSession(base: string): Promise<Session> {
  const res = await request(`${base}/wsapi/session_context`);
  const context = (await res.body.json()) as { csrf_token: string };
  const cookie = [res.headers['set-cookie'] ?? []]
    .flat()
    .map((line) => line.split(';', 1)[0])
    .join('; ');
  return { email: '', cookie, csrf: context.csrf_token };
}

/** Whether a session still authenticates (a fuzzed logout, cancel or password change may have ended it). */
async function stillSignedIn(base: string, s: Session): Promise<boolean> {
  const res = await request(`${base}/wsapi/list_emails`, { headers: { cookie: s.cookie } });
  await res.body.dump();
  return res.statusCode === 200;
}

/**
 * The sign-up of flows.ts from another source address: renewals from 127.0.0.1 alone would soon meet its
 * per-address staging limit (20 mails in 10 minutes).
 */
async function signUpFrom(
  base: string,
  dispatcher: Dispatcher,
  smtp: SmtpSink,
  email: string,
): Promise<Session> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const call = async (method: 'GET' | 'POST', path: string, body?: Record<string, unknown>) => {
    const res = await request(`${base}${path}`, {
      dispatcher,
      method,
      headers: { cookie: cookie(), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = line.split(';', 1);
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const csrf = String((await call('GET', '/wsapi/session_context')).csrf_token);
  await call('POST', '/wsapi/stage_user', { csrf, email, pass: PASSWORD, site: 'https://rp.example' });
  const token = tokenOf((await smtp.waitFor(email, 15_000)).text);
  const done = await call('POST', '/wsapi/complete_user_creation', { csrf, token });
  if (done.success !== true) throw new Error(`complete_user_creation: ${JSON.stringify(done)}`);
  return { email, cookie: cookie(), csrf };
}

// ---- the run ------------------------------------------------------------------------------------------

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed ?? 20260610;
  const concurrency = options.concurrency ?? 64;
  const timeLimitMs = options.timeLimitMs ?? 15 * 60_000;
  const say = options.progress ?? (() => undefined);

  const smtp = await startSmtpSink();
  const proxy = await startRefusingProxy();
  const stack = await startStack({
    env: {
      PERSONA_SMTP_URL: smtp.url,
      PERSONA_HTTP_PROXY: proxy.url,
      ...(options.shedding === true ? { PERSONA_MAX_EVENT_LOOP_LAG_MS: '70' } : {}),
    },
  });
  const port = Number(new URL(stack.base).port);
  const agents: { agent: Agent; address?: string }[] = [];
  try {
    const sessions = [
      await seedSession(stack, smtp, 'fuzz-alice@example.com'),
      await seedSession(stack, smtp, 'fuzz-bob@example.com'),
      await seedSession(stack, smtp, 'fuzz-carol@example.com'),
    ];
    const anonymous = await Promise.all([1, 2, 3].map(() => anonymousSession(stack.base)));
    const known = new Set(sessions.map((s) => s.email));
    const ctx: Context = {
      rng: new Random(seed),
      host: new URL(stack.base).host,
      sessions,
      anonymous,
      emails: () => [...known],
      publicKey: wirePublicKey(),
    };

    const sources = await loopbackSources(port, Math.max(16, Math.min(250, concurrency * 2)));
    for (const address of sources.length > 0 ? sources : [undefined])
      agents.push({
        agent: new Agent({
          connections: 4,
          // A client option: undici's connector ignores a localAddress among its own options.
          ...(address !== undefined ? { localAddress: address } : {}),
        }),
        ...(address !== undefined ? { address } : {}),
      });
    say(`stack up at ${stack.base}; ${agents.length} source address(es); seed ${seed}`);
    // Renewals sign up from addresses of their own: 50 of them, 20 stagings each per 10 minutes (SPEC §4.4).
    const renewalAgents =
      sources.length > 0
        ? Array.from({ length: 50 }, (_, i) => new Agent({ localAddress: `127.0.1.${i + 2}` }))
        : [new Agent()];

    const before = Object.fromEntries(FUZZ_TIERS.map((t) => [t, rssKb(stack.supervisor.pid(t))])) as Record<
      FuzzTier,
      number
    >;
    const peak = { ...before };
    const cpuBefore = Object.fromEntries(
      FUZZ_TIERS.map((t) => [t, cpuSeconds(stack.supervisor.pid(t))]),
    ) as Record<FuzzTier, number>;
    const ownCpuBefore = process.cpuUsage();
    const sampler = setInterval(() => {
      for (const t of FUZZ_TIERS) peak[t] = Math.max(peak[t], rssKb(stack.supervisor.pid(t)));
    }, 500);

    // Sessions a fuzzed logout, cancel or password change ended are replaced by new accounts.
    let renewed = 0;
    let renewalFailures = 0;
    let renewalError = '';
    let renewing = true;
    const renewal = (async () => {
      let n = 0;
      while (renewing) {
        await new Promise((r) => setTimeout(r, 1000));
        await Promise.all(
          sessions.map(async (session, i) => {
            try {
              if (!renewing || (await stillSignedIn(stack.base, session))) return;
              const from = renewalAgents[++n % renewalAgents.length]!;
              const fresh = await signUpFrom(stack.base, from, smtp, `fuzz-renewed-${n}@example.com`);
              sessions[i] = fresh;
              known.add(fresh.email);
              renewed++;
            } catch (err) {
              // Busy or throttled (that address's staging limit): the next round tries from another.
              renewalFailures++;
              renewalError = err instanceof Error ? err.message : String(err);
            }
          }),
        );
      }
    })();

    const statuses: Record<string, number> = {};
    const byGroup: Record<string, Record<string, number>> = {};
    const noAnswer: Record<string, number> = {};
    const clientRefused: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    const reasonExamples: Record<string, string> = {};
    const findings = new Map<string, Finding>();
    const warnings = new Map<string, Finding>();
    let deliberate503 = 0;
    let unexpected5xx = 0;
    let sent = 0;
    let rawSent = 0;
    let reported = 0;
    let next = 0;
    const started = Date.now();
    const deadline = started + timeLimitMs;
    let cutShort = false;

    const note = (into: Map<string, Finding>, key: string, make: () => Omit<Finding, 'count'>) => {
      const seen = into.get(key);
      if (seen) seen.count++;
      else if (into.size < 100) into.set(key, { ...make(), count: 1 });
    };
    const logsFor = (answer: Answer): string[] => {
      const id = answer.headers['x-request-id'];
      return typeof id === 'string' && id !== ''
        ? stack.logs.filter((line) => line.includes(id)).slice(0, 5)
        : [];
    };
    const count = (group: string, answer: Answer, c: Case) => {
      if (group === options.trace)
        say(`${describe(c, 3000)}\n  → ${answer.status} ${escaped(answer.text, 200)}`);
      const key = String(answer.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      const g = (byGroup[group] ??= {});
      g[key] = (g[key] ?? 0) + 1;
      if (answer.status >= 400 && answer.text !== '') {
        const reason = `${answer.status} ${answer.text.slice(0, 70).replace(/\s+/g, ' ')}`;
        reasons[reason] = (reasons[reason] ?? 0) + 1;
        reasonExamples[reason] ??= describe(c);
      }
      if (answer.status < 300 && c.kind === 'http' && group === '(odd paths)')
        note(warnings, `2xx ${c.method} ${c.path}`, () => ({
          what: `a path that should not exist answered ${answer.status}`,
          request: describe(c),
          response: String(answer.status),
          logs: [],
        }));
      if (answer.status < 500) return;
      if (isDeliberate503(answer)) {
        deliberate503++;
        return;
      }
      unexpected5xx++;
      const path = c.kind === 'http' ? `${c.method} ${c.path.split('?', 1)[0] ?? ''}` : group;
      note(findings, `${answer.status} ${path} ${answer.text.slice(0, 80)}`, () => ({
        what: `unexpected ${answer.status}`,
        request: describe(c),
        response: `${answer.status} ${escaped(answer.text, 200)}`,
        logs: logsFor(answer),
      }));
    };

    const worker = async (w: number) => {
      for (;;) {
        if (sent >= options.requests) return;
        const i = next++;
        if (Date.now() > deadline || options.signal?.aborted === true) {
          cutShort = true;
          return;
        }
        const c = caseFor(i, ctx);
        const source = agents[(i + w) % agents.length]!;
        sent++;
        if (c.kind === 'raw') {
          rawSent++;
          const r = await sendRaw(port, source.address, c);
          for (const a of r.answers) count(c.group, a, c);
          if (r.none !== undefined && !(c.mayHang === true && r.none.includes('no answer'))) {
            noAnswer[r.none] = (noAnswer[r.none] ?? 0) + 1;
            reasonExamples[r.none] ??= describe(c);
            if (r.none.includes('no answer'))
              note(warnings, `${r.none} ${escaped(c.bytes, 60)}`, () => ({
                what: r.none!,
                request: describe(c),
                response: '',
                logs: [],
              }));
          }
          if (r.headBody !== undefined)
            note(warnings, `HEAD body ${escaped(c.bytes, 40)} ${r.answers[0]?.status ?? ''}`, () => ({
              what: 'an answer to HEAD carries a body',
              request: describe(c),
              response: `${r.answers[0]?.status ?? ''} then ${escaped(r.headBody!, 120)}`,
              logs: [],
            }));
        } else {
          try {
            count(c.group, await sendHttp(stack.base, source.agent, c), c);
          } catch (err) {
            const code = (err as { code?: string }).code ?? (err as Error).name;
            if (
              code === 'UND_ERR_INVALID_ARG' ||
              code === 'UND_ERR_NOT_SUPPORTED' ||
              code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
            ) {
              // undici would not send it: not a request the stack saw (kept as a count, to keep cases honest).
              sent--;
              clientRefused[(err as Error).message] = (clientRefused[(err as Error).message] ?? 0) + 1;
              continue;
            }
            noAnswer[code] = (noAnswer[code] ?? 0) + 1;
            reasonExamples[code] ??= describe(c);
            if (/TIMEOUT/.test(code))
              note(warnings, `${code} ${c.method} ${c.path.split('?', 1)[0] ?? ''}`, () => ({
                what: `no answer in ${ANSWER_TIMEOUT_MS / 1000} s (${code})`,
                request: describe(c),
                response: '',
                logs: [],
              }));
          }
        }
        if (sent >= reported + 10_000) {
          reported += 10_000;
          say(
            `${sent} sent, ${Math.round((Date.now() - started) / 1000)} s, ${unexpected5xx} unexpected 5xx`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    const elapsedMs = Date.now() - started;
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const cpu = Object.fromEntries(
      FUZZ_TIERS.map((t) => [t, cpuSeconds(stack.supervisor.pid(t)) - cpuBefore[t]]),
    ) as Record<FuzzTier, number>;

    renewing = false;
    await renewal;
    clearInterval(sampler);
    await Promise.all(renewalAgents.map((agent) => agent.close()));
    // A moment for the tiers to finish what the run left them (mail, logs) before their memory is read.
    await new Promise((r) => setTimeout(r, 1000));
    const after = Object.fromEntries(FUZZ_TIERS.map((t) => [t, rssKb(stack.supervisor.pid(t))])) as Record<
      FuzzTier,
      number
    >;
    const restarts = Object.fromEntries(FUZZ_TIERS.map((t) => [t, stack.supervisor.restarts(t)])) as Record<
      FuzzTier,
      number
    >;
    const internal = proxy.targets.filter(internalTarget);
    return {
      seed,
      target: options.requests,
      sent,
      rawSent,
      elapsedMs,
      cutShort,
      concurrency,
      sourceAddresses: sources.length || 1,
      statuses,
      byGroup,
      noAnswer,
      clientRefused,
      reasons,
      reasonExamples,
      cpu,
      fuzzerCpu: (ownCpu.user + ownCpu.system) / 1e6,
      deliberate503,
      unexpected5xx,
      findings: [...findings.values()],
      warnings: [...warnings.values()],
      memory: Object.fromEntries(
        FUZZ_TIERS.map((t) => [
          t,
          { beforeKb: before[t], afterKb: after[t], peakKb: Math.max(peak[t], after[t]) },
        ]),
      ) as Record<FuzzTier, TierMemory>,
      restarts,
      egress: {
        connects: proxy.targets.length,
        internal: internal.length,
        sample: [...new Set(internal)].slice(0, 10),
      },
      sessionsRenewed: renewed,
      sessionRenewalFailures: renewalFailures,
      sessionRenewalError: renewalError,
      mailsCaught: smtp.messages.length,
      errorLogLines: stack.logs.filter((line) => /\| (ERROR|FATAL) /.test(line)).slice(0, 20),
    };
  } finally {
    await Promise.all(agents.map(({ agent }) => agent.close()));
    await stack.stop();
    await proxy.close();
    await smtp.close();
  }
}

// ---- the report -------------------------------------------------------------------------------------

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
const counts = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ') || '(none)';

/** The report as text, for the command and for a failing test's message; `verbose` adds example requests. */
export function formatFuzzReport(r: FuzzReport, verbose = false): string {
  const lines = [
    `requests: ${r.sent} of ${r.target} (${r.rawSent} raw-socket) in ${(r.elapsedMs / 1000).toFixed(1)} s, ` +
      `${Math.round(r.sent / (r.elapsedMs / 1000))}/s, ${r.concurrency} in flight, from ${r.sourceAddresses} loopback address(es), seed ${r.seed}` +
      (r.cutShort ? ' — CUT SHORT (time limit or interrupted)' : ''),
    `statuses: ${counts(r.statuses)}`,
    `no HTTP answer: ${counts(r.noAnswer)}`,
    ...(verbose ? Object.keys(r.noAnswer).map((why) => `  e.g. ${why}: ${r.reasonExamples[why] ?? ''}`) : []),
    ...(Object.keys(r.clientRefused).length > 0
      ? [`not sent (the client refused them): ${counts(r.clientRefused)}`]
      : []),
    `5xx: ${r.unexpected5xx} unexpected, ${r.deliberate503} deliberate 503 (too busy / Retry-After)`,
    'memory (RSS) before → after (peak):',
    ...FUZZ_TIERS.map((t) => {
      const m = r.memory[t];
      return `  ${t.padEnd(10)} ${mb(m.beforeKb).padStart(9)} → ${mb(m.afterKb).padStart(9)} (peak ${mb(m.peakKb)})  CPU ${r.cpu[t].toFixed(1)} s  restarts: ${r.restarts[t]}`;
    }),
    `  (the fuzzer itself: CPU ${r.fuzzerCpu.toFixed(1)} s)`,
    `egress: ${r.egress.connects} CONNECTs to the refusing proxy, ${r.egress.internal} to internal destinations${r.egress.sample.length ? ` (${r.egress.sample.join(' | ')})` : ''}`,
    `sessions renewed: ${r.sessionsRenewed} (${r.sessionRenewalFailures} tries failed${r.sessionRenewalError ? `, the last: ${r.sessionRenewalError.slice(0, 200)}` : ''}); mails caught by the sink: ${r.mailsCaught}`,
    'most frequent 4xx answers:',
    ...Object.entries(r.reasons)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 25)
      .flatMap(([reason, n]) => [
        `  ${String(n).padStart(6)}  ${reason}`,
        ...(verbose ? [`          e.g. ${r.reasonExamples[reason] ?? ''}`] : []),
      ]),
    'by route:',
    ...Object.entries(r.byGroup)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([g, s]) => `  ${g.padEnd(36)} ${counts(s)}`),
  ];
  for (const [title, list] of [
    ['UNEXPECTED 5xx', r.findings],
    ['warnings', r.warnings],
  ] as const) {
    if (list.length === 0) continue;
    lines.push(`${title}:`);
    for (const f of list) {
      lines.push(`  - ${f.what} (×${f.count})`, `    request:  ${f.request}`);
      if (f.response) lines.push(`    response: ${f.response}`);
      for (const log of f.logs) lines.push(`    log:      ${log}`);
    }
  }
  if (r.errorLogLines.length > 0)
    lines.push('tier log lines at ERROR/FATAL:', ...r.errorLogLines.map((l) => `  ${l}`));
  lines.push(fuzzPassed(r) ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
