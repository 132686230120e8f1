/**
 * A dbwriter as it runs: real HTTP on 127.0.0.1:0, a real SQLite file in a temp dir, real bcrypt (cost 4),
 * real mail through an in-process SMTP server. One clock, movable, for the tier and the database, so
 * throttles and token expiry can be crossed without waiting; tier signatures keep the real time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  bundle,
  certifyPublicKey,
  createAssertion,
  generateKeypair,
  type IssuerDirectory,
  type PublicKey,
  type SecretKey,
} from '../../src/browserid/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { databaseSettings, migrateToLatest, openWriter, type Writer } from '../../src/db/write.ts';
import type { TierApp } from '../../src/http/app.ts';
import type { Tier } from '../../src/http/tier-auth.ts';
import { createMailer } from '../../src/mail/index.ts';
import {
  createPasswordHasher,
  type PasswordHasher,
  type PasswordHasherOptions,
} from '../../src/passwords/index.ts';
import { buildDbwriter, type DbwriterDeps } from '../../src/tiers/dbwriter/index.ts';
import { createSessionCodec, generateCookieSecret, type SessionCodec } from '../../src/wsapi/session.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { createWsapiClient, type WsapiClient } from '../helpers/wsapi-client.ts';
import { tierKeyPair } from '../helpers/tier-keys.ts';

export const PUBLIC_URL = 'https://login.persona.test';
export const OWN_ISSUER = 'login.persona.test';
export const SITE = 'https://rp.example.org';
/** A mail domain with its own identity provider. */
export const PRIMARY = 'primary.test';
/** A mail domain whose support document delegates to this service's own host. */
export const DELEGATES_TO_US = 'ours.test';

// The security defaults as declared (mail throttle, token lifetime), not restated: the tests check them.
const defaults = loadConfig({ env: {} });
const primaryKey = generateKeypair('RS256');
const ownKey = generateKeypair('RS256');
const routerKeys = tierKeyPair();
const webheadKeys = tierKeyPair();

/** The support documents the tests' world has. */
const directory: IssuerDirectory = {
  publicKeyOf(issuer) {
    const keys: Record<string, PublicKey> = {
      [PRIMARY]: primaryKey.publicKey,
      [OWN_ISSUER]: ownKey.publicKey,
    };
    const key = keys[issuer];
    return key ? Promise.resolve(key) : Promise.reject(new Error(`${issuer} is not a browserid primary`));
  },
  authorityOf(domain) {
    const authorities: Record<string, string> = { [PRIMARY]: PRIMARY, [DELEGATES_TO_US]: OWN_ISSUER };
    return Promise.resolve(authorities[domain] ?? null);
  },
};

export interface Mail {
  readonly subject: string;
  readonly landing: string;
  readonly token: string;
}

export interface Harness {
  readonly tierApp: TierApp;
  readonly base: string;
  readonly writer: Writer;
  readonly hasher: PasswordHasher;
  readonly codec: SessionCodec;
  readonly sink: SmtpSink;
  /** Every log line the tier wrote. */
  readonly logs: string[];
  now(): number;
  advance(ms: number): void;
  /** A browser reaching the dbwriter through the router, from `ip`, with the `headers` it forwards. */
  browser(ip?: string, headers?: Readonly<Record<string, string>>): WsapiClient;
  /** The webhead calling internal ops. */
  webhead(): WsapiClient;
  /** The next verification mail to `to`. */
  mailTo(to: string): Promise<Mail>;
  /** An account with a password and one verified secondary address; returns its user id. */
  account(email: string, pass: string): Promise<number>;
  /** A backed assertion for `email` made for `audience` (default: us), certified by `issuer`. */
  assertion(email: string, options?: { issuer?: string; audience?: string }): string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly deps?: Partial<DbwriterDeps>;
  readonly hasher?: Partial<PasswordHasherOptions>;
}

export async function startDbwriter(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'persona-dbwriter-'));
  let offset = 0;
  const now = () => Date.now() + offset;
  const settings = databaseSettings({ url: `sqlite:${join(dir, 'x.db')}`, tokenTtlMs: defaults.tokenTtlMs });
  await migrateToLatest(settings.write);
  const writer = openWriter(settings, { clock: now });
  const sink = await startSmtpSink();
  const mailer = createMailer({
    publicUrl: PUBLIC_URL,
    from: 'Persona <no-reply@login.persona.test>',
    smtpUrl: sink.url,
    mailboxDir: join(dir, 'mailbox'),
  });
  const hasher = createPasswordHasher({ cost: 4, ...options.hasher });
  const codec = createSessionCodec({ secret: generateCookieSecret(), publicUrl: PUBLIC_URL });
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });

  const tierApp = buildDbwriter({
    writer,
    hasher,
    mailer,
    codec,
    publicUrl: PUBLIC_URL,
    sessionDurationMs: 28 * 86_400_000,
    ephemeralSessionDurationMs: 3_600_000,
    minTimeBetweenEmailsMs: defaults.minTimeBetweenEmailsMs,
    discovery: directory,
    callerKeys: new Map<Tier, typeof routerKeys.publicKey>([
      ['router', routerKeys.publicKey],
      ['webhead', webheadKeys.publicKey],
    ]),
    logger,
    now,
    ...options.deps,
  });
  const base = await tierApp.app.listen({ port: 0, host: '127.0.0.1' });

  const client = (
    tier: Tier,
    key: typeof routerKeys.privateKey,
    ip: string,
    headers?: Readonly<Record<string, string>>,
  ) =>
    createWsapiClient({
      base,
      codec,
      signer: { tier, key, callee: 'dbwriter' },
      forwardedFor: ip,
      ...(headers === undefined ? {} : { headers }),
    });

  return {
    tierApp,
    base,
    writer,
    hasher,
    codec,
    sink,
    logs,
    now,
    advance(ms) {
      offset += ms;
    },
    browser: (ip = '198.51.100.7', headers) => client('router', routerKeys.privateKey, ip, headers),
    webhead: () => client('webhead', webheadKeys.privateKey, '10.0.0.2'),
    async mailTo(to) {
      const mail = await sink.waitFor(to);
      const m = /https:\/\/login\.persona\.test(\/[a-z_]+)\?token=([A-Za-z0-9]{48})/.exec(mail.text ?? '');
      if (!m) throw new Error(`no verification link in the mail to ${to}`);
      return { subject: mail.subject ?? '', landing: m[1] ?? '', token: m[2] ?? '' };
    },
    async account(email, pass) {
      const token = await writer.stageUser(email, await hasher.hash(pass));
      return (await writer.completeCreateUser(token)).userId;
    },
    assertion(email, { issuer = PRIMARY, audience = PUBLIC_URL } = {}) {
      const issuerKey: SecretKey = issuer === OWN_ISSUER ? ownKey.secretKey : primaryKey.secretKey;
      const user = generateKeypair('DS128');
      const at = now();
      const cert = certifyPublicKey(
        { issuer, publicKey: user.publicKey, principal: { email }, issuedAt: at, expiresAt: at + 3_600_000 },
        issuerKey,
      );
      return bundle([cert], createAssertion({ audience, expiresAt: at + 120_000 }, user.secretKey));
    },
    async close() {
      await tierApp.app.close();
      mailer.close();
      await sink.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
