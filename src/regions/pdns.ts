/**
 * PowerDNS as a child process with its own configuration directory (never the system service): the
 * files from `persona ops dns`, `pdns_server --config-dir … --daemon=no --guardian=no`, ready once it
 * answers for the service's name. Stopped by its pid.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolverFor } from './resolve.ts';
import type { DnsFiles } from '../ops/dns.ts';

export const PDNS_SERVER = '/usr/sbin/pdns_server';

export interface RunningDns {
  readonly server: string;
  readonly pid: number | undefined;
  /** The addresses pdns answers for the service's name now. */
  answers(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPdns(
  dir: string,
  dns: DnsFiles,
  log?: (line: string) => void,
): Promise<RunningDns> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [name, content] of Object.entries(dns.files)) writeFileSync(join(dir, name), content);
  const child = spawn(
    PDNS_SERVER,
    [`--config-dir=${dir}`, `--socket-dir=${dir}`, '--daemon=no', '--guardian=no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log?.(`pdns      | ${line}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const server = `${dns.listen}:${dns.port}`;
  const resolver = resolverFor(server);
  const answers = async () => {
    try {
      return (await resolver.resolve4(dns.serviceName)).sort();
    } catch {
      return [];
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    }
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pdns_server exited (${child.exitCode}):\n${output}`);
    if ((await answers()).length > 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pdns_server did not answer for ${dns.serviceName} at ${server}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { server, pid: child.pid, answers, stop };
}
