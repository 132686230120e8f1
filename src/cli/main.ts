/** The `persona` command. Parses arguments and wires factories; the work lives elsewhere. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { generateDomainKeys, KeysExistError } from './keys.ts';

const HELP = `persona: the BrowserID identity service

Usage:
  persona <command> [options]

Commands:
  keys generate [--dir D] [--force]   write the domain keypair (RS256, RSA-2048) into D
                                      (default: $PERSONA_DATA_DIR/keys, i.e. ./var/keys);
                                      the secret key file gets mode 0600
  start                               start the whole local stack (arrives with the service tiers)
  help                                this text

Options:
  -h, --help                          show help
`;

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PERSONA_DATA_DIR ?? './var';
}

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
  const dir = values.dir ?? join(dataDir(), 'keys');
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

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'keys':
      return keysCommand(rest);
    case 'start':
      process.stdout.write(
        'persona start: the local stack of tiers arrives with the service issue; nothing to start yet.\n',
      );
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
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`persona: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
