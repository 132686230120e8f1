/** The `persona` command. Parses arguments and wires factories; the work lives elsewhere. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { EXIT_FATAL } from '../supervisor/index.ts';
import { RUNNING_TIERS, type ExampleName } from '../topology/index.ts';
import { VERSION } from './version.ts';

const HELP = `persona: the BrowserID identity service

Usage:
  persona <command> [options]

Commands:
  start                               the whole local stack: every tier as its own process,
                                      data, keys and the SQLite database made on first run
  start --regions N [--database galera]
                                      N regions on their own addresses, PowerDNS between them
                                      (docs/regions.md)
  serve <tier> [--instance N]         one tier: ${RUNNING_TIERS.join(', ')};
                                      or examples, example-site, example-primary (development)
  migrate [--status]                  create or update the database schema (PERSONA_DATABASE_URL)
  keys generate [--dir D] [--force]   write the domain keypair (RS256, RSA-2048) into D
                                      (default: $PERSONA_DATA_DIR/keys, i.e. ./var/keys);
                                      the secret key file gets mode 0600
  ops nginx|squid [--out FILE]        write the edge (nginx) or egress proxy (squid) configuration
                                      generated from the topology (docs/edge.md)
  ops systemd [--out DIR]             one systemd unit per tier, sandboxed (docs/provisioning.md)
  check <tier|url> [--check NAME]     a nagios plugin: heartbeat, deep, verify, support, cert, db
                                      (exit 0/1/2/3 with perfdata; docs/monitoring.md)
  status-page [--listen HOST:PORT]    the operators' status page (PERSONA_STATUS_TOKEN_FILE; docs/monitoring.md)
  loadgen [URL] --users N --duration D | --find-capacity
                                      Persona's active users against a deployment: the capacity,
                                      latency percentiles, an HTML report (docs/loadgen.md)
  db cluster start|stop|status|url    a local MariaDB Galera cluster behind HAProxy (docs/database-ha.md)
  drill database [--short]            kill -9 database nodes and HAProxy under write load; counts lost
                                      acknowledged writes, failures, time to recover (docs/database-ha.md)
  drill region [--short]              two regions under load, region a killed: DNS move time,
                                      failed requests, lost acknowledged writes, rejoin, a
                                      partition (docs/regions.md)
  help, --help                        this text; every command takes --help
  --version                           the version

Settings come from defaults, the JSON file named by PERSONA_CONFIG and PERSONA_* variables:
see docs/configuration.md.
`;

/**
 * How to run `persona` the way this process runs: from the TypeScript source, or from dist/. A young
 * generation capped at 2 MB keeps an idle tier about 10 MB smaller (bench/memory.ts).
 */
const SELF = fileURLToPath(import.meta.url);
const SERVE_COMMAND = [
  process.execPath,
  '--max-semi-space-size=2',
  ...(SELF.endsWith('.ts') ? ['--import', 'tsx'] : []),
  SELF,
];

async function keysCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'generate') {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const { generateDomainKeys, KeysExistError } = await import('./keys.ts');
  const dir = values.dir ?? join(loadConfig().dataDir, 'keys');
  try {
    const { files } = generateDomainKeys(dir, values.force);
    process.stdout.write(`wrote the domain keypair:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
    return 0;
  } catch (err) {
    if (err instanceof KeysExistError) {
      process.stderr.write(`persona keys generate: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** Resolves when the process is asked to stop (Ctrl-C, a supervisor's TERM, or its IPC channel closing). */
const stopSignal = () =>
  new Promise<string>((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
    // Under `persona start`: a supervisor that is gone (even killed outright) takes its children along.
    process.once('disconnect', () => {
      resolve('disconnect');
    });
  });

const SERVE_HELP = `Usage: persona serve <name> [--instance N]

Runs one process of the topology (src/topology): a tier (${RUNNING_TIERS.join(', ')}) or a
development example (examples runs both, example-site, example-primary). --instance N (from 0) picks
which local instance's port it listens on: the tier's port + 10·N.
`;

const START_HELP = `Usage: persona start

Runs the whole local stack: every tier (and PERSONA_INSTANCES of each) as its own process under a
supervisor, and in development the example site and primary. First run makes the data directory,
keys, tier keys, cookie secret and SQLite database. PERSONA_PORT_BASE moves every port at once.
Ctrl-C stops everything; a second Ctrl-C kills at once.
`;

/** A process spawned by the supervisor tells it that it listens (see src/supervisor). */
function reportListening(url: string): void {
  process.send?.({ event: 'listening', url });
}

async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { instance: { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const name = positionals[0];
  const instance = Number(values.instance);
  if (!Number.isInteger(instance) || instance < 0 || instance > 15) {
    process.stderr.write(`persona serve: --instance takes 0 to 15\n`);
    return 2;
  }
  const { isTier } = await import('../topology/index.ts');
  const { PortTakenError, serveTier } = await import('./serve.ts');
  // Production needs mail settings only where mail is sent (src/config/load.ts).
  const config = loadConfig(name ? { tiers: [name] } : {});
  try {
    if (isTier(name)) {
      const served = await serveTier(name, config, undefined, instance);
      reportListening(served.url);
      await stopSignal();
      await served.close();
      return 0;
    }
    const { isExample, serveExample } = await import('../example/serve.ts');
    // `examples` runs both development examples in one process (what `persona start` does).
    const names =
      name === 'examples' ? (['example-site', 'example-primary'] as const) : isExample(name) ? [name] : [];
    if (names.length === 0) {
      process.stderr.write(
        `persona serve: name a tier: ${RUNNING_TIERS.join(', ')} (or examples, example-site, example-primary)\n`,
      );
      return 2;
    }
    const examples = [];
    for (const example of names) examples.push(await serveExample(example, config));
    // The bridged demo's provider runs beside them (docs/bridge.md).
    const demo =
      name === 'examples'
        ? await (await import('../example/bridge-demo.ts')).serveDemoProvider(config)
        : undefined;
    reportListening(examples.map((e) => e.url).join(' '));
    await stopSignal();
    await Promise.all([...examples.map((e) => e.close()), demo?.close()]);
    return 0;
  } catch (err) {
    if (!(err instanceof PortTakenError)) throw err;
    process.stderr.write(`persona serve: ${err.message}\n`);
    return EXIT_FATAL;
  }
}

async function startCommand(args: string[]): Promise<number> {
  if (args.some((a) => a === '--regions' || a.startsWith('--regions='))) {
    // Several regions with DNS between them (docs/regions.md); loaded only for this form.
    const { startRegionsCommand } = await import('../regions/cli.ts');
    return startRegionsCommand(args, SERVE_COMMAND);
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(START_HELP);
    return 0;
  }
  if (args.length > 0) {
    process.stderr.write(`persona start: unexpected ${args.join(' ')}\n\n${START_HELP}`);
    return 2;
  }
  // Development: a bridged demo domain with its own OpenID Connect provider (docs/bridge.md).
  const bridgeDemo = await import('../example/bridge-demo.ts');
  bridgeDemo.prepareDemoBridge(process.env);
  const config = loadConfig();
  const { deploymentOf, exampleOrigin, localProcesses, processName, EXAMPLES } =
    await import('../topology/index.ts');
  const processes = localProcesses(deploymentOf(config));
  const examples =
    config.env === 'development' && config.examples ? (Object.keys(EXAMPLES) as ExampleName[]) : [];
  // A port another process holds stops the start at once, naming it (the tiers would only retry).
  const { portTaken } = await import('./ports.ts');
  const { PortTakenError } = await import('./serve.ts');
  for (const [owner, port] of [
    ...processes.map((p) => [p.tier, p.port] as const),
    ...examples.map(
      (e) => [e, e === 'example-site' ? config.exampleSitePort : config.examplePrimaryPort] as const,
    ),
  ]) {
    if (await portTaken(config.host, port)) {
      process.stderr.write(`persona start: ${new PortTakenError(owner, config.host, port).message}\n`);
      return 1;
    }
  }

  const { ensureLayout, layoutOf } = await import('./layout.ts');
  const { startSupervisor } = await import('../supervisor/index.ts');
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Without SMTP, a development stack keeps mail in the development mailbox (never in production).
  if (config.env === 'development' && !config.smtpUrl && env.PERSONA_DEV_MAILBOX === undefined)
    env.PERSONA_DEV_MAILBOX = '1';
  const created = ensureLayout(layoutOf(config));
  if (created.length > 0)
    process.stdout.write(`first run: made ${created.join(', ')} in ${config.dataDir}\n`);
  // In a child process: the supervisor stays free of database code and small.
  const { spawnSync } = await import('node:child_process');
  const migrated = spawnSync(SERVE_COMMAND[0] ?? process.execPath, [...SERVE_COMMAND.slice(1), 'migrate'], {
    stdio: 'inherit',
  });
  if (migrated.status !== 0) return migrated.status ?? 1;

  if (examples.length > 0 && env.PERSONA_SHIMMED_PRIMARIES === undefined) {
    // The example primary answers for its domain on a local http port: discovery is pointed at it.
    env.PERSONA_SHIMMED_PRIMARIES = JSON.stringify({
      [config.examplePrimaryDomain]: exampleOrigin(config, 'example-primary'),
    });
  }
  const supervisor = startSupervisor({
    processes: [
      ...processes.map((p) => ({ name: processName(p), args: [p.tier, '--instance', String(p.index)] })),
      ...(examples.length > 0 ? [{ name: 'examples', args: ['examples'] }] : []),
    ],
    routerUrl: processes.find((p) => p.tier === 'router')?.url ?? config.publicUrl,
    env,
    serveCommand: SERVE_COMMAND,
  });
  const stop = stopSignal();
  let failure: string | undefined;
  const outcome = await Promise.race([
    supervisor.ready.then(
      () => 'ready' as const,
      (err: unknown) => {
        failure = err instanceof Error ? err.message : String(err);
        return 'failed' as const;
      },
    ),
    stop,
  ]);
  if (outcome === 'ready') {
    const counts = processes.reduce<Record<string, number>>(
      (n, p) => ({ ...n, [p.tier]: (n[p.tier] ?? 0) + 1 }),
      {},
    );
    const tiers = Object.entries(counts)
      .map(([tier, n]) => (n > 1 ? `${tier} ×${n}` : tier))
      .join(', ');
    const mailbox =
      env.PERSONA_DEV_MAILBOX === '1' ? `\n  mail (development):   ${config.publicUrl}/__mailbox__` : '';
    const exampleLines =
      examples.length > 0
        ? `\n  example site:         ${exampleOrigin(config, 'example-site')}` +
          `\n  example primary IdP:  ${exampleOrigin(config, 'example-primary')} (for @${config.examplePrimaryDomain})` +
          bridgeDemo.demoBanner(config)
        : '';
    process.stdout.write(
      `\nPersona is running (${tiers}).\n  identity service:     ${config.publicUrl}\n  verifier for sites:   ${config.publicUrl}/verify${mailbox}${exampleLines}\nCtrl-C stops every tier.\n\n`,
    );
    await stop;
  }
  // A second Ctrl-C while stopping kills at once.
  process.once('SIGINT', () => {
    supervisor.kill();
  });
  if (failure === undefined) process.stdout.write('stopping every tier…\n');
  await supervisor.stop();
  if (failure !== undefined) {
    process.stderr.write(`persona start: ${failure}\n`);
    return 1;
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'keys':
      return keysCommand(rest);
    case 'migrate': {
      // Loaded on demand, so no other command (the keysigner's) loads database code (SPEC §2).
      const { migrateCommand } = await import('./migrate.ts');
      return migrateCommand(rest);
    }
    case 'serve':
      return serveCommand(rest);
    case 'start':
      return startCommand(rest);
    case 'loadgen': {
      // Loaded on demand: no tier loads the load generator.
      const { loadgenCommand } = await import('../loadgen/cli.ts');
      return loadgenCommand(rest);
    }
    case 'ops': {
      if (rest[0] === 'systemd') {
        // One unit per tier (docs/provisioning.md); needs no configuration.
        const { systemdCommand } = await import('../ops/systemd.ts');
        return systemdCommand(rest.slice(1));
      }
      // Generated nginx and squid configurations (docs/edge.md); loaded only for this command.
      const { opsCommand } = await import('../ops/index.ts');
      return opsCommand(rest);
    }
    case 'status-page': {
      // The operators' status page (docs/monitoring.md); off unless PERSONA_STATUS_TOKEN_FILE is set.
      const { statusPageCommand } = await import('../ops/status/index.ts');
      return statusPageCommand(rest);
    }
    case 'db': {
      // The local Galera cluster (docs/database-ha.md); loaded only for this command.
      const { dbCommand } = await import('../db/cluster/cli.ts');
      return dbCommand(rest);
    }
    case 'drill': {
      if (rest[0] === 'region') {
        // Two regions, PowerDNS and Galera across them (docs/regions.md); loaded only for this drill.
        const { regionDrillCommand } = await import('../drill/region-cli.ts');
        return regionDrillCommand(rest.slice(1), SERVE_COMMAND);
      }
      const { drillCommand } = await import('../drill/cli.ts');
      return drillCommand(rest);
    }
    case 'check': {
      // The nagios plugin (docs/monitoring.md); loaded only for this command.
      const { checkCommand } = await import('../check/index.ts');
      return checkCommand(rest, () => loadConfig());
    }
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`persona ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`persona: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`persona: ${message}\n`);
  process.exitCode = err instanceof ConfigError ? EXIT_FATAL : 1;
} finally {
  // The supervisor's IPC channel would keep a stopped tier's process alive.
  if (process.connected) process.disconnect();
}
