/** `persona loadgen`: parses the arguments and runs src/loadgen against a deployment. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { deploymentOf, localProcesses, processName } from '../topology/index.ts';
import { runLoadgen } from './index.ts';
import { holdVerdict } from './result.ts';
import { ACTIVITY_KINDS, type ActivityKind } from './model.ts';
import type { Mix } from './run.ts';
import type { TierTarget } from './tiers.ts';

export const LOADGEN_HELP = `Usage: persona loadgen [URL] (--users N --duration D | --find-capacity) [options]

Simulates Persona's active users (SPEC §7: 40 site visits a day each, the original's mix) against the
deployment at URL (default: this configuration's public URL): real browsers over the wsapi with cookies and
CSRF, cert_key on real user keys, assertions checked at /verify, verification mail received by the
loadgen's own SMTP sink and its links followed. Devices get client addresses across 127.0.0.0/8 when the
deployment is on loopback. Accounts are made before the run (--pool) and cancelled after.

  --users N            active users to hold (with --find-capacity: the first step)
  --duration D         how long to hold them: 60, 90s, 5m (default 60s)
  --find-capacity      ramp ×1.5 per step until p95 passes --bound or failures pass --max-failures,
                       narrow twice, and report the most active users held
  --step D             seconds per capacity step (default 20s)
  --bound MS           p95 latency bound, ms (default 1000)
  --max-failures P     failed activities allowed, % (default 0.1)
  --pool N             accounts made before the run (default 200)
  --smtp HOST:PORT     where the mail sink listens (default 127.0.0.1:2525): start the deployment
                       with PERSONA_SMTP_URL=smtp://HOST:PORT
  --mail-domain D      the simulated users' mail domain (default loadtest.domain)
  --bcrypt-cost C      the deployment's bcrypt cost (default: this configuration's, PERSONA_BCRYPT_COST)
  --bcrypt-rate R      the deployment's bcrypt compares/s, when it runs on other machines
                       (default: measured here, every core busy)
  --tiers a=URL,...    where each tier's /metrics is read (default: the local topology when URL is
                       this configuration's, else the URL itself)
  --mix M              model (default: SPEC §7's mix), even (every activity alike, to exercise each
                       in a short run), or weights: signin=8,reauth=1,...
  --addresses N        client addresses to spread devices over (default 1024)
  --dns HOST:PORT      resolve URL's name through this DNS server and connect to what it answers
                       (the regions' PowerDNS, docs/regions.md); devices on 127.0.0.0/8
  --out DIR            where loadgen.json and loadgen.html go (default $PERSONA_DATA_DIR/loadgen/<time>)
  --keep               leave the accounts in place
  --json               print the JSON result on stdout

Exit status: 0 when the load held (p95 within the bound, failures within the share), 1 when not, 2 on
bad arguments.
`;

/** Seconds in `60`, `90s`, `5m`, `1h`. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
}

export async function loadgenCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      users: { type: 'string' },
      duration: { type: 'string', default: '60s' },
      'find-capacity': { type: 'boolean', default: false },
      step: { type: 'string', default: '20s' },
      bound: { type: 'string', default: '1000' },
      'max-failures': { type: 'string', default: '0.1' },
      pool: { type: 'string', default: '200' },
      smtp: { type: 'string', default: '127.0.0.1:2525' },
      'mail-domain': { type: 'string' },
      'bcrypt-cost': { type: 'string' },
      'bcrypt-rate': { type: 'string' },
      tiers: { type: 'string' },
      addresses: { type: 'string' },
      dns: { type: 'string' },
      mix: { type: 'string', default: 'model' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(LOADGEN_HELP);
    return 0;
  }
  const bad = (message: string) => {
    process.stderr.write(`persona loadgen: ${message}\n\n${LOADGEN_HELP}`);
    return 2;
  };
  const config = loadConfig();
  const base = (positionals[0] ?? config.publicUrl).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) return bad(`not a URL: ${base}`);
  const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
  const users = number(values.users);
  const durationS = parseDuration(values.duration);
  const stepS = parseDuration(values.step);
  const pool = number(values.pool) ?? 200;
  const [smtpHost = '', smtpPort = ''] = values.smtp.split(/:(?=\d+$)/);
  if (users !== undefined && !(users > 0)) return bad('--users takes a positive number');
  if (users === undefined && !values['find-capacity']) return bad('give --users N or --find-capacity');
  if (durationS === undefined || stepS === undefined) return bad('durations look like 60, 90s or 5m');
  if (!(Number.isInteger(pool) && pool > 0)) return bad('--pool takes a positive whole number');
  if (!smtpHost || !(Number(smtpPort) >= 0)) return bad('--smtp takes HOST:PORT');

  let mix: Mix | undefined;
  if (values.mix === 'even') mix = Object.fromEntries(ACTIVITY_KINDS.map((k) => [k, 1]));
  else if (values.mix !== 'model') {
    const pairs = values.mix.split(',').map((pair) => pair.split('='));
    if (pairs.some(([k, w]) => !ACTIVITY_KINDS.includes(k as ActivityKind) || !(Number(w) >= 0)))
      return bad(`--mix takes model, even or kind=weight,… with kinds ${ACTIVITY_KINDS.join(', ')}`);
    mix = Object.fromEntries(pairs.map(([k = '', w]): [string, number] => [k, Number(w)]));
  }

  let tiers: TierTarget[];
  if (values.tiers) {
    tiers = values.tiers.split(',').map((pair) => {
      const [name = '', url = ''] = pair.split(/=(.*)/s);
      return { name, url: url.replace(/\/+$/, '') };
    });
  } else if (new URL(base).origin === new URL(config.publicUrl).origin) {
    tiers = localProcesses(deploymentOf(config)).map((p) => ({ name: processName(p), url: p.url }));
  } else tiers = [{ name: 'router', url: base }];

  const live = process.stderr.isTTY;
  let lastLine = 0;
  const outcome = await runLoadgen({
    base,
    ...(users !== undefined ? { users } : {}),
    durationS,
    findCapacity: values['find-capacity'],
    stepS,
    settleS: values['find-capacity'] ? 3 : 0,
    pool,
    boundMs: Number(values.bound),
    maxFailureRate: Number(values['max-failures']) / 100,
    bcryptCost: number(values['bcrypt-cost']) ?? config.bcryptCost,
    ...(values['bcrypt-rate'] ? { bcryptRate: Number(values['bcrypt-rate']) } : {}),
    smtp: { host: smtpHost, port: Number(smtpPort) },
    ...(values['mail-domain'] ? { mailDomain: values['mail-domain'] } : {}),
    ...(values.addresses ? { addresses: Number(values.addresses) } : {}),
    ...(values.dns ? { dnsServer: values.dns } : {}),
    tiers,
    ...(mix ? { mix } : {}),
    outDir: values.out ?? join(config.dataDir, 'loadgen', new Date().toISOString().replace(/[:.]/g, '-')),
    cleanup: !values.keep,
    log: (line) => process.stderr.write(`${live ? '\r\x1b[K' : ''}${line}\n`),
    progress: (line) => {
      if (live) process.stderr.write(`\r\x1b[K${line}`);
      else if (Date.now() - lastLine >= 5000) {
        lastLine = Date.now();
        process.stderr.write(`${line}\n`);
      }
    },
  });
  if (live) process.stderr.write('\r\x1b[K');
  const r = outcome.result;
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const summary = r.capacity
    ? `capacity: ${r.capacity.users.toLocaleString('en')} active users = ${r.capacity.percentOfLimit.toFixed(0)} % of the bcrypt-bound limit ` +
      `(${Math.round(r.capacity.limitUsers).toLocaleString('en')} at ${r.bcrypt.comparesPerSecond.toFixed(1)} compares/s, cost ${r.bcrypt.cost}); ` +
      `${r.capacity.activitiesPerSecond.toFixed(1)} activities/s, p95 ${ms(r.capacity.p95Ms)}, failures ${(100 * r.capacity.failureRate).toFixed(2)} %, loadgen ${r.capacity.loadgenCpu.toFixed(0)} % of a core`
    : `${holdVerdict(r)}: ${r.totals.activitiesPerSecond.toFixed(1)} activities/s, ` +
      `p50 ${ms(r.totals.latency.p50)} p95 ${ms(r.totals.latency.p95)} p99 ${ms(r.totals.latency.p99)}, ` +
      `${r.totals.failures} failures, ${r.totals.http503} 503s, ${r.linksFollowed} mail links followed ` +
      `(${((100 * r.options.users) / r.bcrypt.limitUsers).toFixed(0)} % of the bcrypt-bound limit, ${Math.round(r.bcrypt.limitUsers).toLocaleString('en')} users)`;
  process.stderr.write(`${summary}\n`);
  if (outcome.reportPath)
    process.stderr.write(`report: ${outcome.reportPath}\nresults: ${outcome.jsonPath ?? ''}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  const held = r.capacity ? r.capacity.users > 0 : (r.steps[0]?.held ?? false);
  return held ? 0 : 1;
}
