/**
 * The webhead as it runs, with its real neighbours: a SQLite file in a temp dir (migrated), the real
 * keysigner and the real dbwriter on 127.0.0.1, both reached through signed upstreams, bcrypt at cost 4.
 * Browsers call the tiers as the router forwards them: signed as the router, wsapi reads to the webhead
 * and writes to the dbwriter, with the client address in X-Forwarded-For.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import { answerOf, type Answer } from '../helpers/browser.ts';
import bcrypt from 'bcrypt';
import { generateKeypair, type Keypair } from '../../src/browserid/index.ts';
import { createDiscovery, type Discovery } from '../../src/browserid/discovery.ts';
import { loadConfig } from '../../src/config/load.ts';
import {
  databaseSettings,
  migrateToLatest,
  openReader,
  openWriter,
  type DatabaseSettings,
  type Reader,
  type Writer,
} from '../../src/db/write.ts';
import type { TierApp } from '../../src/http/app.ts';
import { signTierRequest, type Tier } from '../../src/http/tier-auth.ts';
import { createUpstream, type Upstream } from '../../src/http/upstream.ts';
import type { Mailer, VerificationMail } from '../../src/mail/index.ts';
import { createPasswordHasher } from '../../src/passwords/index.ts';
import { findOperation } from '../../src/wsapi/catalogue.ts';
import { createSessionCodec, generateCookieSecret, type SessionCodec } from '../../src/wsapi/session.ts';
import { buildDbwriter, type DbwriterDeps } from '../../src/tiers/dbwriter/index.ts';
import { buildKeysigner } from '../../src/tiers/keysigner/index.ts';
import { buildWebhead, type WebheadDeps } from '../../src/tiers/webhead/index.ts';
import { tierKeyPair } from '../helpers/tier-keys.ts';
import { checkWsapiAnswer } from '../helpers/contract.ts';
import { createWsapiClient, type WsapiClient } from '../helpers/wsapi-client.ts';

export const PUBLIC_URL = 'https://login.persona.test';
export const ISSUER = 'login.persona.test';
export const COST = 4;
export const PASSWORD = 'correct horse battery';
export const FORCIBLE = 'fxos.persona.test';

// Made once per test file: RSA key generation is the slow part of starting.
const domainKey = generateKeypair('RS256');
// The security defaults as declared (lockout, mail throttle, token lifetime), not restated: the tests check them.
const defaults = loadConfig({ env: {} });

export type { Answer } from '../helpers/browser.ts';

/** The one wsapi test client (test/helpers/wsapi-client.ts), routed as the router would, with a sign-in. */
export interface Browser extends WsapiClient {
  signIn(email: string, pass?: string, ephemeral?: boolean): Promise<Answer>;
}

export interface StackOptions {
  /** Overrides of the webhead's dependencies. */
  readonly webhead?: Partial<WebheadDeps>;
  /** Client for support documents (default: one that reaches nothing, so every domain is a secondary). */
  readonly dispatcher?: Dispatcher;
  readonly rateLimits?: DbwriterDeps['rateLimits'];
  /** One clock for the database handles, the dbwriter and the webhead (epoch ms); default Date.now. */
  readonly now?: () => number;
}

export interface Other {
  readonly base: string;
  browser(ip?: string): Browser;
  send(method: 'GET' | 'POST', path: string): Promise<Answer>;
  close(): Promise<void>;
}

export interface Stack {
  readonly tierApp: TierApp;
  readonly base: string;
  readonly dbwriterBase: string;
  readonly keysignerBase: string;
  readonly settings: DatabaseSettings;
  readonly reader: Reader;
  readonly writer: Writer;
  readonly codec: SessionCodec;
  readonly domain: Keypair;
  readonly discovery: Discovery;
  readonly dir: string;
  /** Every log line the webhead wrote. */
  readonly logs: string[];
  /** Verification mails the dbwriter sent. */
  readonly mails: readonly VerificationMail[];
  browser(ip?: string): Browser;
  /** A signed request to the webhead as the router forwards it (any path). */
  send(
    method: 'GET' | 'POST',
    path: string,
    options?: { body?: string; sign?: boolean; headers?: Record<string, string> },
  ): Promise<Answer>;
  /** How many of each internal op the dbwriter has served (from its /metrics). */
  dbwriterOps(): Promise<Record<string, number>>;
  /** An account with a password and a verified secondary address; returns its user id. */
  addSecondary(email: string, options?: { password?: string; cost?: number }): Promise<number>;
  /** Another verified secondary address for an account. */
  addAddress(userid: number, email: string): Promise<void>;
  /** An account made through a primary: no password. */
  addPrimary(email: string): Promise<number>;
  /** Builds another webhead on the same neighbours with other dependencies. */
  another(overrides: Partial<WebheadDeps>): Promise<Other>;
  close(): Promise<void>;
}

/** Polls `check` until it returns true (background writes land after the answer). */
export async function eventually(check: () => Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'persona-webhead-'));
  const settings = databaseSettings({ url: `sqlite:${join(dir, 'x.db')}`, tokenTtlMs: defaults.tokenTtlMs });
  await migrateToLatest(settings.write);
  const clock = options.now === undefined ? {} : { clock: options.now };
  const writer = openWriter(settings, clock);
  const reader = openReader(settings, clock);
  const keys = { router: tierKeyPair(), webhead: tierKeyPair() };
  const silent = pino({ level: 'silent' });
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });

  const keysigner = buildKeysigner({
    issuer: ISSUER,
    domainKey: domainKey.secretKey,
    certificateValidityMs: 86_400_000,
    ephemeralValidityMs: 3_600_000,
    forcibleIssuers: [FORCIBLE],
    callerKeys: new Map<Tier, typeof keys.webhead.publicKey>([['webhead', keys.webhead.publicKey]]),
    logger: silent,
  });
  const keysignerBase = await keysigner.app.listen({ port: 0, host: '127.0.0.1' });

  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connect: (_opts, callback) => {
        callback(new Error('no network in this test'), null);
      },
    });
  const discovery = createDiscovery({ dispatcher, timeoutMs: 3000 });
  const mails: VerificationMail[] = [];
  const mailer: Mailer = {
    send: (mail) => {
      mails.push(mail);
      return Promise.resolve();
    },
    close: () => undefined,
  };
  const codec = createSessionCodec({ secret: generateCookieSecret(), publicUrl: PUBLIC_URL });
  const hasher = createPasswordHasher({ cost: COST });

  const dbwriter = buildDbwriter({
    writer,
    hasher,
    mailer,
    codec,
    publicUrl: PUBLIC_URL,
    sessionDurationMs: 28 * 86_400_000,
    ephemeralSessionDurationMs: 3_600_000,
    minTimeBetweenEmailsMs: defaults.minTimeBetweenEmailsMs,
    rateLimits: { 'auth:ip': { limit: 15, windowMs: 600_000 }, ...options.rateLimits },
    discovery,
    callerKeys: new Map<Tier, typeof keys.webhead.publicKey>([
      ['webhead', keys.webhead.publicKey],
      ['router', keys.router.publicKey],
    ]),
    logger: silent,
    housekeepingIntervalMs: 0,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const dbwriterBase = await dbwriter.app.listen({ port: 0, host: '127.0.0.1' });

  const upstreams: Upstream[] = [];
  const upstream = (tier: Tier, url: string) => {
    const made = createUpstream({ tier, urls: [url], caller: 'webhead', callerKey: keys.webhead.privateKey });
    upstreams.push(made);
    return made;
  };

  const depsFor = (overrides: Partial<WebheadDeps>): WebheadDeps => ({
    reader,
    hasher,
    codec,
    https: true,
    publicUrl: PUBLIC_URL,
    domainPublicKey: domainKey.publicKey,
    domainKeyCreatedAt: 1_700_000_000_000,
    keysigner: upstream('keysigner', keysignerBase),
    dbwriter: upstream('dbwriter', dbwriterBase),
    discovery,
    maxAuthAttempts: defaults.maxAuthAttempts,
    signInLimit: { limit: 15, windowMs: 600_000 },
    sessionDurationMs: 28 * 86_400_000,
    ephemeralSessionDurationMs: 3_600_000,
    forcibleIssuers: [FORCIBLE],
    proxyIdps: {},
    callerKeys: new Map<Tier, typeof keys.router.publicKey>([['router', keys.router.publicKey]]),
    logger,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...overrides,
  });
  const tierApp = buildWebhead(depsFor(options.webhead ?? {}));
  const base = await tierApp.app.listen({ port: 0, host: '127.0.0.1' });
  const others: { close(): Promise<void> }[] = [];

  const sendTo = async (
    target: string,
    callee: Tier,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    sign = true,
  ): Promise<Answer> => {
    const signature = sign
      ? signTierRequest('router', keys.router.privateKey, callee, { method, url: path, body })
      : {};
    const answer = await answerOf(
      await request(`${target}${path}`, { method, headers: { ...headers, ...signature }, body }),
    );
    checkWsapiAnswer(path, answer);
    return answer;
  };

  // A browser behind the router: reads to this webhead, writes to the dbwriter, each signed as the router.
  const browserFor =
    (webheadBase: string) =>
    (ip = '198.51.100.7'): Browser => {
      const signer = (callee: Tier) => ({ tier: 'router' as const, key: keys.router.privateKey, callee });
      const client = createWsapiClient({
        base: webheadBase,
        codec,
        forwardedFor: ip,
        route: (op) =>
          findOperation(op)?.writes === true
            ? { base: dbwriterBase, signer: signer('dbwriter') }
            : { base: webheadBase, signer: signer('webhead') },
      });
      return Object.assign(client, {
        async signIn(email: string, pass = PASSWORD, ephemeral = false) {
          if (client.csrf === undefined) await client.context();
          return client.post('authenticate_user', { email, pass, ephemeral });
        },
      });
    };

  const addSecondary: Stack['addSecondary'] = async (email, { password = PASSWORD, cost = COST } = {}) => {
    const token = await writer.stageUser(email, await bcrypt.hash(password, cost));
    return (await writer.completeCreateUser(token)).userId;
  };

  return {
    tierApp,
    base,
    dbwriterBase,
    keysignerBase,
    settings,
    reader,
    writer,
    codec,
    domain: domainKey,
    discovery,
    dir,
    logs,
    mails,
    browser: browserFor(base),
    send: (method, path, { body, sign = true, headers = {} } = {}) =>
      sendTo(
        base,
        'webhead',
        method,
        path,
        { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body,
        sign,
      ),
    async dbwriterOps() {
      const text = await (await request(`${dbwriterBase}/metrics`)).body.text();
      const ops: Record<string, number> = {};
      for (const m of text.matchAll(/^persona_wsapi_operations_total\{[^}]*op="(\w+)"[^}]*\} (\d+)/gm))
        ops[m[1]!] = Number(m[2]);
      return ops;
    },
    addSecondary,
    async addAddress(userid, email) {
      await writer.completeConfirmEmail(await writer.stageEmail(userid, email));
    },
    async addPrimary(email) {
      return (await writer.createUserWithPrimaryEmail(email)).userId;
    },
    async another(overrides) {
      const other = buildWebhead(depsFor(overrides));
      const otherBase = await other.app.listen({ port: 0, host: '127.0.0.1' });
      const handle: Other = {
        base: otherBase,
        browser: browserFor(otherBase),
        send: (method, path) => sendTo(otherBase, 'webhead', method, path, {}, undefined),
        close: () => other.app.close(),
      };
      others.push(handle);
      return handle;
    },
    async close() {
      await Promise.all(others.map((o) => o.close()));
      await tierApp.app.close();
      await Promise.all([dbwriter.app.close(), keysigner.app.close()]);
      await Promise.all(upstreams.map((u) => u.close()));
      await discovery.close();
      if (ownsDispatcher) await dispatcher.close();
      await Promise.all([reader.close(), writer.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
