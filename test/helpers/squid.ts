/**
 * A real squid forward proxy for tests, from a temp-dir config (reference/stack.md §3.2), never a service.
 * Its own hosts file maps test domains to loopback addresses, so squid resolves them without DNS.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { onPath, type Component } from './components.ts';

export const SQUID: Component = {
  name: 'squid',
  install: 'apt-get install squid',
  present: () => onPath('squid'),
};

/** Binding port 443 needs root (or CAP_NET_BIND_SERVICE); try it rather than guess. */
export const PORT_443: Component = {
  name: 'permission to listen on port 443 (the IdP squid tunnels to)',
  install: 'run the suite as root, or grant node CAP_NET_BIND_SERVICE',
  present: () => {
    const server = createServer();
    return new Promise((resolve) => {
      // In use is fine: only a refusal of permission means we cannot.
      server.once('error', (err: NodeJS.ErrnoException) => {
        resolve(err.code !== 'EACCES');
      });
      server.listen(443, `127.${randomInt(100, 250)}.${randomInt(0, 256)}.${randomInt(1, 250)}`, () => {
        server.close(() => {
          resolve(true);
        });
      });
    });
  },
};

export interface Squid {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The access log so far (a CONNECT is logged when its tunnel closes). */
  accessLog(): string;
  /** Waits until the access log matches, or fails after timeoutMs with the log in the message. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const read = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** A free TCP port on 127.0.0.1 (free when asked; squid binds it moments later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const answers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });

/**
 * Starts `squid -N` on a free loopback port; `hosts` maps names to the addresses squid should use;
 * `access` lines go before the test's own allow rule (e.g. the egress ACLs of docs/discovery.md).
 */
export async function startSquid(
  hosts: Record<string, string>,
  { access = [] }: { access?: readonly string[] } = {},
): Promise<Squid> {
  const dir = mkdtempSync(join(tmpdir(), 'persona-squid-'));
  const port = await freePort();
  const at = (file: string) => join(dir, file);
  writeFileSync(
    at('hosts'),
    Object.entries(hosts)
      .map(([name, ip]) => `${ip} ${name}\n`)
      .join(''),
  );
  writeFileSync(
    at('squid.conf'),
    [
      `http_port 127.0.0.1:${port}`,
      `pid_filename ${at('squid.pid')}`,
      `cache_log ${at('cache.log')}`,
      `access_log stdio:${at('access.log')}`,
      'buffered_logs off',
      `coredump_dir ${dir}`,
      'netdb_filename none',
      'pinger_enable off',
      'cache deny all',
      'cache_mem 8 MB',
      'visible_hostname squid-test',
      `hosts_file ${at('hosts')}`,
      // Names outside the hosts file go nowhere: no query leaves the machine.
      'dns_nameservers 127.0.0.1',
      'acl localsrc src 127.0.0.0/8',
      ...access,
      'http_access allow localsrc',
      'http_access deny all',
      // TERM ends it at once instead of after the default 30 s grace.
      'shutdown_lifetime 0 seconds',
      '',
    ].join('\n'),
  );
  // As root squid drops to the proxy user, which must read the config and write the logs.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'proxy', dir]);

  let stderr = '';
  const child: ChildProcess = spawn('squid', ['-N', '-f', at('squid.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  let running = true;
  void exited.then(() => (running = false));

  const fail = (why: string): never => {
    throw new Error(`squid ${why}\n--- stderr:\n${stderr}\n--- cache.log:\n${read(at('cache.log'))}`);
  };
  for (const deadline = Date.now() + 15_000; !(await answers(port)); await sleep(50)) {
    if (!running) {
      rmSync(dir, { recursive: true, force: true });
      fail('exited during start');
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      fail('did not listen within 15 s');
    }
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    accessLog: () => read(at('access.log')),
    async waitForLog(pattern, timeoutMs = 5000) {
      for (const deadline = Date.now() + timeoutMs; ; await sleep(50)) {
        const log = read(at('access.log'));
        if (pattern.test(log)) return log;
        if (Date.now() > deadline) throw new Error(`squid access.log never matched ${pattern}:\n${log}`);
      }
    },
    async stop() {
      if (running) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
