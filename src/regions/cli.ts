/**
 * `persona start --regions N` (issue 15, docs/regions.md): every region's tiers on its own addresses,
 * PowerDNS answering the service's name with the healthy regions, and (with `--database galera`) the
 * Galera cluster across the regions with an arbitrator in a third place and an HAProxy per region.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { dnsFiles } from '../ops/dns.ts';
import { deploymentOf, localProcesses } from '../topology/index.ts';
import { regionDeployment, regionsOf } from '../topology/regions.ts';
import { startPdns, type RunningDns } from './pdns.ts';
import { createRegions } from './start.ts';

export const START_REGIONS_HELP = `Usage: persona start --regions N [--database galera] [--dns-port P]

Runs N regions (2 to 4) on one machine as they would run in N places: region a's tiers on 127.0.1.1,
b's on 127.0.2.1, … (the topology's ports), sharing the data directory's keys and secrets; PowerDNS
authoritative for the service's name (PERSONA_PUBLIC_URL's host, else login.persona.test) on
127.0.53.1:PERSONA_PORT_BASE+953, answering the regions whose /__heartbeat__ is ok (docs/regions.md).

  --database galera   the Galera cluster across the regions (2 nodes each, garbd in a third place,
                      HAProxy per region: one writer for all, reads from the region's own nodes);
                      default: PERSONA_DATABASE_URL (SQLite in the data directory, shared on this host)
  --dns-port P        where PowerDNS answers (default PERSONA_PORT_BASE + 953)
`;

const stopSignal = () =>
  new Promise<void>((done) => {
    process.once('SIGINT', () => {
      done();
    });
    process.once('SIGTERM', () => {
      done();
    });
  });

export async function startRegionsCommand(args: string[], serveCommand: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      regions: { type: 'string' },
      database: { type: 'string' },
      'dns-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(START_REGIONS_HELP);
    return 0;
  }
  const count = Number(values.regions);
  if (!(Number.isInteger(count) && count >= 2 && count <= 4)) {
    process.stderr.write(`persona start: --regions takes 2 to 4\n\n${START_REGIONS_HELP}`);
    return 2;
  }
  if (values.database !== undefined && values.database !== 'galera') {
    process.stderr.write(`persona start: --database takes galera\n`);
    return 2;
  }
  const config = loadConfig();
  const regions = regionsOf(count);
  const { portTaken } = await import('../cli/ports.ts');
  for (const region of regions) {
    for (const p of localProcesses(regionDeployment(deploymentOf(config), region))) {
      if (await portTaken(region.host, p.port)) {
        process.stderr.write(
          `persona start: ${region.host}:${p.port} (region ${region.name}, ${p.tier}) is taken\n`,
        );
        return 1;
      }
    }
  }
  const { ensureLayout, layoutOf } = await import('../cli/layout.ts');
  const created = ensureLayout(layoutOf(config));
  if (created.length > 0)
    process.stdout.write(`first run: made ${created.join(', ')} in ${config.dataDir}\n`);

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (config.env === 'development' && !config.smtpUrl && env.PERSONA_DEV_MAILBOX === undefined)
    env.PERSONA_DEV_MAILBOX = '1';
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    let regionEnv: ((name: string) => Record<string, string>) | undefined;
    let migrateEnv: Record<string, string> = {};
    if (values.database === 'galera') {
      const { startRegionalDatabase } = await import('./database.ts');
      const database = await startRegionalDatabase({
        dir: join(resolve(config.dataDir), 'galera'),
        regions,
        portBase: config.portBase,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      cleanups.push(() => database.stop());
      regionEnv = (name) => database.regionEnv(name);
      migrateEnv = { PERSONA_DATABASE_URL: database.directUrl };
    }
    // Migrations once, from region a's point of view (on Galera DDL replicates in total order).
    const migrated = spawnSync(serveCommand[0] ?? process.execPath, [...serveCommand.slice(1), 'migrate'], {
      stdio: 'inherit',
      env: { ...env, ...migrateEnv },
    });
    if (migrated.status !== 0) throw new Error('migrations failed');

    const dnsDir = join(resolve(config.dataDir), 'dns');
    const dnsPort = values['dns-port'] !== undefined ? Number(values['dns-port']) : undefined;
    const dns = await startPdns(
      dnsDir,
      dnsFiles(config, { dir: dnsDir, regions, ...(dnsPort !== undefined ? { port: dnsPort } : {}) }),
    );
    cleanups.push(() => dns.stop());
    const stacks = createRegions({
      config,
      regions,
      env,
      ...(regionEnv ? { regionEnv: (r: { name: string }) => regionEnv(r.name) } : {}),
      serveCommand,
    });
    cleanups.push(() => stacks.stopAll());
    await Promise.all(regions.map((r) => stacks.start(r.name)));
    await printRunning(
      stacks.publicUrl,
      dns,
      regions.map((r) => `${r.name} ${r.host}`),
    );
    await stopSignal();
    process.once('SIGINT', () => {
      stacks.kill();
    });
    process.stdout.write('stopping every region…\n');
    await cleanup();
    return 0;
  } catch (err) {
    process.stderr.write(`persona start: ${(err as Error).message}\n`);
    await cleanup();
    return 1;
  }
}

async function printRunning(publicUrl: string, dns: RunningDns, regions: string[]): Promise<void> {
  const [host = '', port = ''] = dns.server.split(':');
  const name = new URL(publicUrl).hostname;
  process.stdout.write(
    `\nPersona is running in ${regions.length} regions (${regions.join(', ')}).\n` +
      `  identity service:  ${publicUrl} (resolve ${name} through the DNS server below)\n` +
      `  DNS (PowerDNS):    ${dns.server}, answering ${(await dns.answers()).join(', ')}\n` +
      `  try:               dig @${host} -p ${port} ${name}\n` +
      `Ctrl-C stops every region.\n\n`,
  );
}
