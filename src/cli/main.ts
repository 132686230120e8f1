/** The `persona` command. Parses arguments and wires factories; the work lives elsewhere. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { generateDomainKeys, KeysExistError } from './keys.ts';

const HELP = `persona: the BrowserID identity service

Usage:
  persona <command> [options]

Commands:
  start                               the whole local stack: every tier as its own process,
                                      data, keys and the SQLite database made on first run
  serve <tier>                        one tier: router, webhead, dbwriter, keysigner or verifier;
                                      or example-site / example-primary (development only)
  migrate [--status]                  create or update the database schema (PERSONA_DATABASE_URL)
  keys generate [--dir D] [--force]   write the domain keypair (RS256, RSA-2048) into D
                                      (default: $PERSONA_DATA_DIR/keys, i.e. ./var/keys);
                                      the secret key file gets mode 0600
  help                                this text

Settings come from defaults, the JSON file named by PERSONA_CONFIG and PERSONA_* variables:
see docs/configuration.md.
`;

/** How to run `persona serve` the way this process runs: from the TypeScript source, or from dist/. */
const SELF = fileURLToPath(import.meta.url);
const SERVE_COMMAND = SELF.endsWith('.ts')
  ? [process.execPath, '--import', 'tsx', SELF]
  : [process.execPath, SELF];

function keysCommand(args: string[]): number {
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

/** Resolves when the process is asked to stop (Ctrl-C or a supervisor's TERM). */
const stopSignal = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });

async function serveCommand(args: string[]): Promise<number> {
  const { isTier, serveTier } = await import('./serve.ts');
  const tier = args[0];
  if (!isTier(tier)) {
    const { isExample, serveExample } = await import('../example/serve.ts');
    if (!isExample(tier)) {
      process.stderr.write(
        `persona serve: name a tier: router, webhead, dbwriter, keysigner or verifier (or example-site, example-primary)\n`,
      );
      return 2;
    }
    const example = await serveExample(tier, loadConfig());
    await stopSignal();
    await example.close();
    return 0;
  }
  const served = await serveTier(tier, loadConfig());
  await stopSignal();
  await served.close();
  return 0;
}

async function startCommand(): Promise<number> {
  const { ensureLayout, layoutOf } = await import('./layout.ts');
  const { startSupervisor } = await import('../supervisor/index.ts');
  const config = loadConfig();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Without SMTP, a development stack keeps mail in the development mailbox (never in production).
  if (config.env === 'development' && !config.smtpUrl && env.PERSONA_DEV_MAILBOX === undefined)
    env.PERSONA_DEV_MAILBOX = '1';
  const created = ensureLayout(layoutOf(config));
  if (created.length > 0)
    process.stdout.write(`first run: made ${created.join(', ')} in ${config.dataDir}\n`);
  const { runMigrate } = await import('./migrate.ts');
  const { databaseSettingsFrom } = await import('../db/index.ts');
  const migrated = await runMigrate(databaseSettingsFrom(config).write, false);
  if (migrated !== 0) return migrated;

  // The development examples run beside the tiers: a relying party and a primary identity provider.
  const examples = config.env === 'development' && config.examples ? ['example-site', 'example-primary'] : [];
  if (examples.length > 0 && env.PERSONA_SHIMMED_PRIMARIES === undefined) {
    // The example primary answers for its domain on a local http port: discovery is pointed at it.
    const { exampleOrigin } = await import('../example/serve.ts');
    env.PERSONA_SHIMMED_PRIMARIES = JSON.stringify({
      [config.examplePrimaryDomain]: exampleOrigin(config, 'example-primary'),
    });
  }
  const supervisor = startSupervisor({ config, env, serveCommand: SERVE_COMMAND, extras: examples });
  const stop = stopSignal();
  const outcome = await Promise.race([supervisor.ready.then(() => 'ready' as const), stop]);
  if (outcome === 'ready') {
    const mailbox =
      env.PERSONA_DEV_MAILBOX === '1' ? `\n  mail (development):   ${config.publicUrl}/__mailbox__` : '';
    const { exampleOrigin } = await import('../example/serve.ts');
    const exampleLines =
      examples.length > 0
        ? `\n  example site:         ${exampleOrigin(config, 'example-site')}` +
          `\n  example primary IdP:  ${exampleOrigin(config, 'example-primary')} (for @${config.examplePrimaryDomain})`
        : '';
    process.stdout.write(
      `\nPersona is running.\n  identity service:     ${config.publicUrl}\n  verifier for sites:   ${config.publicUrl}/verify${mailbox}${exampleLines}\nCtrl-C stops every tier.\n\n`,
    );
    await stop;
  }
  process.stdout.write('stopping every tier…\n');
  await supervisor.stop();
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
      return startCommand();
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
  process.exitCode = 1;
}
