/**
 * `persona status-page` (docs/monitoring.md "Status page"): the operators' page, run beside the tiers.
 * Off unless PERSONA_STATUS_TOKEN_FILE names a token file only its owner can read; the instances it
 * watches come from the topology (every running tier's instances, fleets' URLs included).
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/settings.ts';
import { deploymentOf, instancesOf, processName, RUNNING_TIERS } from '../../topology/index.ts';
import { createStatusServer, MIN_TOKEN_LENGTH } from './page.ts';
import { startSampler, type Target } from './sampler.ts';

export const STATUS_HELP = `Usage: persona status-page [--listen HOST:PORT] [--every SECONDS]

The operations status page: each tier instance up or down, requests/s, p50/p95, error ratio and shed
requests over the last minutes, with charts (docs/monitoring.md). Runs only when PERSONA_STATUS_TOKEN_FILE
names a file (mode 0600 or stricter) holding the operators' token, at least ${MIN_TOKEN_LENGTH} characters.

  --listen HOST:PORT   where it listens (default 127.0.0.1:9310; keep it on an operators' network)
  --every SECONDS      how often the tiers are sampled (default 5)
`;

/** The instances to watch: every running tier's, as the topology has them. */
export const targetsOf = (config: Config): Target[] => {
  const deployment = deploymentOf(config);
  return RUNNING_TIERS.flatMap((tier) =>
    instancesOf(deployment, tier).map((i) => ({ name: processName(i), tier, url: i.url })),
  );
};

/** The operators' token, or why it cannot be used (never the token itself). */
export function readToken(path: string): string {
  if (path === '') throw new Error('the status page is off: set PERSONA_STATUS_TOKEN_FILE to enable it');
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new Error(`PERSONA_STATUS_TOKEN_FILE: cannot read ${path}`);
  }
  if ((mode & 0o077) !== 0)
    throw new Error(`PERSONA_STATUS_TOKEN_FILE: ${path} is readable by others; chmod 600 it`);
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < MIN_TOKEN_LENGTH)
    throw new Error(`PERSONA_STATUS_TOKEN_FILE: the token must be at least ${MIN_TOKEN_LENGTH} characters`);
  return token;
}

export async function statusPageCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', default: '127.0.0.1:9310' },
      every: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(STATUS_HELP);
    return 0;
  }
  const config = loadConfig();
  let token: string;
  try {
    token = readToken(config.statusTokenFile);
  } catch (err) {
    process.stderr.write(`persona status-page: ${(err as Error).message}\n`);
    return 2;
  }
  const [, host, port] = /^(.+):(\d+)$/.exec(values.listen) ?? [];
  const everyS = Number(values.every);
  if (host === undefined || port === undefined || !(everyS >= 1)) {
    process.stderr.write(STATUS_HELP);
    return 2;
  }
  const sampler = startSampler({ targets: targetsOf(config), everyMs: everyS * 1000 });
  const server = createStatusServer({
    sampler,
    token,
    secureCookie: config.publicUrl.startsWith('https:'),
    log: (entry) =>
      process.stdout.write(`${JSON.stringify({ time: Date.now(), tier: 'status-page', ...entry })}\n`),
  });
  await new Promise<void>((resolve) => server.listen(Number(port), host.replace(/^\[|\]$/g, ''), resolve));
  process.stdout.write(`persona status-page listening on http://${values.listen}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  sampler.stop();
  server.close();
  return 0;
}
