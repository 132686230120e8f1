/**
 * System components a suite needs (squid, MariaDB, nginx, Chromium…). When one is missing the suite says
 * so loudly, with how to install it, and skips; under PERSONA_TEST_STRICT=1 (CI) a missing one fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PDNS_SERVER } from '../../src/regions/pdns.ts';

export interface Component {
  /** What the suite needs, e.g. 'squid'. */
  readonly name: string;
  /** How to get it, e.g. 'apt-get install squid'. */
  readonly install: string;
  /** True when it is usable here. */
  readonly present: () => boolean | Promise<boolean>;
}

export const strict = process.env.PERSONA_TEST_STRICT === '1';

/** Returns a skip message when the component is missing (not strict), throws when strict, else undefined. */
export async function missing(component: Component): Promise<string | undefined> {
  if (await component.present()) return undefined;
  const message = `${component.name} is not available here; install it with: ${component.install}`;
  if (strict) throw new Error(`PERSONA_TEST_STRICT=1 and ${message}`);
  process.stderr.write(`\n*** SKIPPING: ${message} ***\n\n`);
  return message;
}

export const onPath = (command: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** pdns_server with its bind backend (a Recommends of pdns-server that `--no-install-recommends` leaves out). */
export const POWERDNS: Component = {
  name: 'PowerDNS (pdns_server with the bind backend)',
  install: 'apt-get install pdns-server pdns-backend-bind',
  present: () =>
    existsSync(PDNS_SERVER) &&
    spawnSync('sh', ['-c', 'ls /usr/lib/*/pdns/libbindbackend.so'], { stdio: 'ignore' }).status === 0,
};
