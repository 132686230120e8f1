/**
 * `persona check <tier|url>`: a nagios plugin (docs/monitoring.md). One status line, perfdata after `|`,
 * exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The probes: a tier's heartbeat and deep heartbeat, `/verify`
 * end to end with a real assertion, the support document, certificate signing by the keysigner, and the
 * database. Targets come from the topology (src/topology): a tier name means its instance `--instance i`
 * of the configured deployment; a URL is taken as is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/settings.ts';
import {
  callersOf,
  deploymentOf,
  instancesOf,
  isTier,
  TIER_NAMES,
  TIERS,
  type Tier,
} from '../topology/index.ts';

export const OK = 0;
export const WARNING = 1;
export const CRITICAL = 2;
export const UNKNOWN = 3;
export type Status = typeof OK | typeof WARNING | typeof CRITICAL | typeof UNKNOWN;
export const STATUS_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

export const CHECKS = ['heartbeat', 'deep', 'verify', 'support', 'cert', 'db'] as const;
export type CheckName = (typeof CHECKS)[number];
/** The address the verify and cert checks certify (a reserved domain: no one's account). */
export const CHECK_EMAIL = 'nagios-check@example.com';

const isCheck = (name: string): name is CheckName => CHECKS.some((c) => c === name);

export interface Perf {
  readonly label: string;
  readonly value: number;
  readonly uom?: string;
  readonly warn?: number;
  readonly crit?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface CheckResult {
  readonly status: Status;
  readonly message: string;
  readonly perf: readonly Perf[];
}

/** The worse of two states for nagios: CRITICAL > WARNING > UNKNOWN > OK. */
export function worst(a: Status, b: Status): Status {
  const rank = (s: Status): number => ({ 0: 0, 1: 2, 2: 3, 3: 1 })[s];
  return rank(a) >= rank(b) ? a : b;
}

const num = (n: number | undefined): string =>
  n === undefined ? '' : String(Math.round(n * 1_000_000) / 1_000_000);

/** One perfdata item: 'label'=value[uom];warn;crit;min;max (trailing empties dropped). */
export function formatPerf(p: Perf): string {
  const label = /^[A-Za-z0-9_]+$/.test(p.label) ? p.label : `'${p.label.replaceAll("'", "''")}'`;
  const fields = [`${num(p.value)}${p.uom ?? ''}`, num(p.warn), num(p.crit), num(p.min), num(p.max)];
  while (fields.length > 1 && fields.at(-1) === '') fields.pop();
  return `${label}=${fields.join(';')}`;
}

/** The plugin's single output line: `PERSONA <CHECK> <STATE> - message | perfdata`. */
export function formatResult(check: string, result: CheckResult): string {
  const message = result.message.replace(/[\s|]+/g, ' ').trim();
  const perf = result.perf.map(formatPerf).join(' ');
  return `PERSONA ${check.toUpperCase()} ${STATUS_NAMES[result.status]} - ${message}${perf ? ` | ${perf}` : ''}`;
}

/** The state a duration earns against its thresholds (in ms; reaching a threshold counts). */
export function latencyStatus(ms: number, warningMs: number, criticalMs: number): Status {
  if (ms >= criticalMs) return CRITICAL;
  if (ms >= warningMs) return WARNING;
  return OK;
}

export interface CheckOptions {
  readonly check: CheckName;
  /** The tier the target is (undefined for a plain URL). */
  readonly tier: Tier | undefined;
  readonly url: string;
  readonly warningMs: number;
  readonly criticalMs: number;
  readonly timeoutMs: number;
  readonly audience: string;
  readonly config: Config;
}

/** A failure that decides the state by itself (not a latency). */
class Verdict extends Error {
  readonly status: Status;
  constructor(status: Status, message: string) {
    super(message);
    this.status = status;
  }
}

const describeError = (err: unknown): string => {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer in time';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
};

const where = (o: CheckOptions): string => (o.tier ? `${o.tier} at ${o.url}` : o.url);

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

async function probe(
  options: CheckOptions,
  path: string,
  init: { method?: string; body?: string; contentType?: string; signed?: Tier } = {},
): Promise<Answer> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { 'user-agent': 'persona-check' };
  if (init.contentType) headers['content-type'] = init.contentType;
  if (init.signed !== undefined && !TIERS[init.signed].public) {
    const { loadCalleeKey, signTierRequest, tierKeyDir } = await import('../http/tier-auth.ts');
    const dir = tierKeyDir(options.config.dataDir);
    const caller = callersOf(init.signed).find((c) => existsSync(join(dir, `${c}-to-${init.signed}.key`)));
    if (caller === undefined)
      throw new Verdict(UNKNOWN, `no key here to call the ${init.signed} (looked in ${dir})`);
    Object.assign(
      headers,
      signTierRequest(caller, loadCalleeKey(dir, caller, init.signed), init.signed, {
        method,
        url: path,
        body: init.body,
      }),
    );
  }
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(new URL(path, options.url), {
      method,
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'manual',
    });
  } catch (err) {
    throw new Verdict(CRITICAL, `${where(options)} ${path}: ${describeError(err)}`);
  }
  let body: string;
  try {
    body = await res.text();
  } catch (err) {
    throw new Verdict(CRITICAL, `${where(options)} ${path}: ${describeError(err)}`);
  }
  return { status: res.status, body, ms: performance.now() - started };
}

const timePerf = (label: string, ms: number, o: CheckOptions): Perf => ({
  label,
  value: ms / 1000,
  uom: 's',
  warn: o.warningMs / 1000,
  crit: o.criticalMs / 1000,
  min: 0,
  max: o.timeoutMs / 1000,
});

/** OK unless too slow: the message and the state of a successful probe. */
const timed = (o: CheckOptions, what: string, ms: number, label = 'time'): CheckResult => {
  const status = latencyStatus(ms, o.warningMs, o.criticalMs);
  const slow =
    status === CRITICAL
      ? ` (critical at ${o.criticalMs} ms)`
      : status === WARNING
        ? ` (warning at ${o.warningMs} ms)`
        : '';
  return { status, message: `${what} in ${Math.round(ms)} ms${slow}`, perf: [timePerf(label, ms, o)] };
};

async function heartbeat(o: CheckOptions, deep: boolean): Promise<CheckResult> {
  const answer = await probe(o, deep ? '/__heartbeat__?deep=1' : '/__heartbeat__');
  const body = answer.body.trim().slice(0, 300);
  if (answer.status !== 200 || body !== 'ok') {
    throw new Verdict(
      CRITICAL,
      `${where(o)}: ${deep ? 'deep ' : ''}heartbeat answered ${answer.status} ${body}`,
    );
  }
  return timed(o, `${where(o)}: ${deep ? 'deep ' : ''}heartbeat ok`, answer.ms);
}

function readDomainKey(config: Config, file: 'secret' | 'public'): unknown {
  const path = join(config.dataDir, 'keys', `domain-key.${file}.json`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Verdict(UNKNOWN, `cannot read the domain key ${path}: ${describeError(err)}`);
  }
}

async function verify(o: CheckOptions): Promise<CheckResult> {
  const { bundle, certifyPublicKey, createAssertion, generateKeypair, parseSecretKey } =
    await import('../browserid/index.ts');
  const domainKey = parseSecretKey(readDomainKey(o.config, 'secret'));
  const issuer = new URL(o.config.publicUrl).hostname;
  const email = CHECK_EMAIL;
  const now = Date.now();
  const user = generateKeypair('DS128');
  const cert = certifyPublicKey(
    { issuer, publicKey: user.publicKey, principal: { email }, issuedAt: now, expiresAt: now + 600_000 },
    domainKey,
  );
  const assertion = createAssertion({ audience: o.audience, expiresAt: now + 120_000 }, user.secretKey);
  const body = JSON.stringify({ assertion: bundle([cert], assertion), audience: o.audience });
  const answer = await probe(o, '/verify', {
    method: 'POST',
    body,
    contentType: 'application/json',
    ...(o.tier ? { signed: o.tier } : {}),
  });
  let verdict: { status?: unknown; email?: unknown; reason?: unknown } = {};
  try {
    verdict = JSON.parse(answer.body) as typeof verdict;
  } catch {
    // judged below
  }
  if (answer.status !== 200 || verdict.status !== 'okay' || verdict.email !== email) {
    const why = typeof verdict.reason === 'string' ? verdict.reason : answer.body.slice(0, 200);
    throw new Verdict(CRITICAL, `${where(o)}: /verify answered ${answer.status}: ${why}`);
  }
  return timed(o, `${where(o)}: /verify said okay for a fresh assertion`, answer.ms);
}

async function supportDocument(o: CheckOptions): Promise<CheckResult> {
  const { parseSupportDocument, parsePublicKey } = await import('../browserid/index.ts');
  const answer = await probe(o, '/.well-known/browserid');
  if (answer.status !== 200) {
    throw new Verdict(CRITICAL, `${where(o)}: /.well-known/browserid answered ${answer.status}`);
  }
  let doc;
  try {
    doc = parseSupportDocument(answer.body);
  } catch (err) {
    throw new Verdict(CRITICAL, `${where(o)}: ${describeError(err)}`);
  }
  if (doc.kind !== 'supported')
    throw new Verdict(CRITICAL, `${where(o)}: the support document is ${doc.kind}`);
  // When this host holds the domain's public key, the published one must be it.
  const publicPath = join(o.config.dataDir, 'keys', 'domain-key.public.json');
  if (existsSync(publicPath)) {
    const ours = parsePublicKey(readDomainKey(o.config, 'public'));
    if (JSON.stringify(ours.json) !== JSON.stringify(doc.publicKey.json)) {
      throw new Verdict(
        CRITICAL,
        `${where(o)}: the support document publishes another key than ${publicPath}`,
      );
    }
  }
  return timed(o, `${where(o)}: support document with a ${doc.publicKey.alg} key`, answer.ms);
}

async function certificate(o: CheckOptions): Promise<CheckResult> {
  const { generateKeypair, parsePublicKey, readCertificate, verifyJws } =
    await import('../browserid/index.ts');
  const tier: Tier = o.tier ?? 'keysigner';
  const email = CHECK_EMAIL;
  const user = generateKeypair('DS128');
  const body = JSON.stringify({ email, pubkey: JSON.stringify(user.publicKey.json), ephemeral: true });
  const answer = await probe(o, '/wsapi/cert_key', {
    method: 'POST',
    body,
    contentType: 'application/json',
    signed: tier,
  });
  if (answer.status !== 200) {
    throw new Verdict(
      CRITICAL,
      `${where(o)}: cert_key answered ${answer.status} ${answer.body.slice(0, 200)}`,
    );
  }
  const domainPublic = parsePublicKey(readDomainKey(o.config, 'public'));
  let valid: boolean;
  try {
    const cert = readCertificate(answer.body.trim());
    valid =
      verifyJws(cert.jws, domainPublic) &&
      cert.principal.email === email &&
      JSON.stringify(cert.publicKey.json) === JSON.stringify(user.publicKey.json);
  } catch {
    valid = false;
  }
  if (!valid)
    throw new Verdict(CRITICAL, `${where(o)}: the certificate is not signed by the domain key for ${email}`);
  return timed(o, `${where(o)}: certificate signed by the domain key`, answer.ms);
}

async function database(o: CheckOptions): Promise<CheckResult> {
  const { connect } = await import('../db/connection.ts');
  const { databaseSettingsFrom, describeTarget } = await import('../db/read.ts');
  const { migrationStatus } = await import('../db/migrate.ts');
  const { sql } = await import('kysely');
  const settings = databaseSettingsFrom(o.config, { queryTimeoutMs: o.timeoutMs });
  const target = o.tier === 'webhead' ? settings.read : settings.write;
  const name = describeTarget(target);
  const connection = connect(target, 'read', o.timeoutMs);
  const started = performance.now();
  let pending: readonly string[];
  try {
    await sql`SELECT 1`.execute(connection.db);
    pending = (await migrationStatus(target, o.timeoutMs)).pending;
  } catch (err) {
    throw new Verdict(CRITICAL, `database ${name}: ${describeError(err)}`);
  } finally {
    await connection.close().catch(() => undefined);
  }
  const ms = performance.now() - started;
  const result = timed(o, `database ${name} answers`, ms);
  const perf = [...result.perf, { label: 'pending_migrations', value: pending.length, min: 0 }];
  if (pending.length > 0) {
    return {
      status: worst(result.status, WARNING),
      message: `${result.message}; ${pending.length} migration(s) pending: ${pending.join(', ')}`,
      perf,
    };
  }
  return { ...result, perf };
}

/** Runs one check; never throws (a surprise is UNKNOWN). */
export async function runCheck(o: CheckOptions): Promise<CheckResult> {
  try {
    switch (o.check) {
      case 'heartbeat':
        return await heartbeat(o, false);
      case 'deep':
        return await heartbeat(o, true);
      case 'verify':
        return await verify(o);
      case 'support':
        return await supportDocument(o);
      case 'cert':
        return await certificate(o);
      case 'db':
        return await database(o);
    }
  } catch (err) {
    if (err instanceof Verdict) return { status: err.status, message: err.message, perf: [] };
    return { status: UNKNOWN, message: `${o.check}: ${describeError(err)}`, perf: [] };
  }
}

export const CHECK_HELP = `Usage: persona check <tier|url> [options]

A nagios plugin (docs/monitoring.md): prints one status line with perfdata and exits
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. A tier (${TIER_NAMES.join(', ')}) means its instance
of the configured deployment; a URL is probed as is.

  --check NAME     heartbeat (default), deep, verify (/verify with a fresh assertion signed under the
                   domain key), support (/.well-known/browserid, its key is ours), cert (the keysigner
                   signs a certificate the domain key verifies), db (the database answers, migrations)
  --instance N     the tier's instance (default 0)
  -w, --warning MS   latency warning threshold (default 1000)
  -c, --critical MS  latency critical threshold (default 3000)
  -t, --timeout S    give up after S seconds: CRITICAL (default 10)
  --audience URL   the audience of the verify check's assertion (default https://nagios.invalid)
`;

const usage = (message: string): number => {
  process.stdout.write(`PERSONA CHECK UNKNOWN - ${message}\n`);
  return UNKNOWN;
};

export async function checkCommand(args: string[], loadConfig: () => Config): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        check: { type: 'string', default: 'heartbeat' },
        instance: { type: 'string', default: '0' },
        warning: { type: 'string', short: 'w', default: '1000' },
        critical: { type: 'string', short: 'c', default: '3000' },
        timeout: { type: 'string', short: 't', default: '10' },
        audience: { type: 'string', default: 'https://nagios.invalid' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(CHECK_HELP);
    return OK;
  }
  const target = positionals[0];
  if (target === undefined || positionals.length > 1)
    return usage('give one tier or URL (persona check --help)');
  if (!isCheck(values.check)) return usage(`unknown check ${values.check}: one of ${CHECKS.join(', ')}`);
  const warningMs = Number(values.warning);
  const criticalMs = Number(values.critical);
  const timeoutMs = Number(values.timeout) * 1000;
  const instance = Number(values.instance);
  if (![warningMs, criticalMs, timeoutMs].every((n) => Number.isFinite(n) && n > 0) || warningMs > criticalMs)
    return usage('thresholds: 0 < warning <= critical, timeout > 0');
  if (!Number.isInteger(instance) || instance < 0) return usage('--instance takes a number from 0');
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    return usage(`configuration: ${(err as Error).message}`);
  }
  let tier: Tier | undefined;
  let url: string;
  if (isTier(target)) {
    const instances = instancesOf(deploymentOf(config), target);
    const chosen = instances[instance];
    if (chosen === undefined) return usage(`${target} has ${instances.length} instance(s), not #${instance}`);
    tier = target;
    url = chosen.url;
  } else {
    try {
      url = new URL(target).origin;
    } catch {
      return usage(`${target} is neither a tier (${TIER_NAMES.join(', ')}) nor a URL`);
    }
  }
  const result = await runCheck({
    check: values.check,
    tier,
    url,
    warningMs,
    criticalMs,
    timeoutMs,
    audience: values.audience,
    config,
  });
  process.stdout.write(`${formatResult(values.check, result)}\n`);
  return result.status;
}
