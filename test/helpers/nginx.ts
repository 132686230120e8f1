/**
 * A real nginx for tests, from a generated config in a temp prefix (reference/stack.md §3.2), never a
 * service: `nginx -t` first, then `nginx` in the foreground; stopped with TERM by its own process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent } from 'undici';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onPath, type Component } from './components.ts';

export const NGINX: Component = {
  name: 'nginx',
  install: 'apt-get install nginx',
  present: () => onPath('nginx'),
};

export interface Nginx {
  readonly dir: string;
  /** The master process (its workers are its children). */
  readonly pid: number;
  accessLog(): string;
  errorLog(): string;
  stop(): Promise<void>;
}

const read = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

const answers = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });

/** A temp prefix its workers (nobody, when run as root) can enter. */
export function nginxPrefix(): string {
  const dir = mkdtempSync(join(tmpdir(), 'persona-nginx-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** `nginx -t` on a config file: status and what nginx said. */
export function nginxTest(dir: string, confFile: string): { ok: boolean; output: string } {
  const run = spawnSync('nginx', ['-t', '-p', dir, '-c', confFile, '-e', join(dir, 'error.log')], {
    encoding: 'utf8',
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Starts nginx on `conf` (which must say `daemon off;` and keep its files in `dir`); waits for `port`. */
export async function startNginx(dir: string, conf: string, port: number): Promise<Nginx> {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const checked = nginxTest(dir, file);
  if (!checked.ok) throw new Error(`nginx -t failed:\n${checked.output}`);
  let stderr = '';
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', file, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      resolve();
    }),
  );
  for (const deadline = Date.now() + 10_000; !(await answers(port)); await sleep(50)) {
    if (!running || Date.now() > deadline) {
      if (running) child.kill('SIGKILL');
      throw new Error(`nginx did not start:\n${stderr}\n${read(join(dir, 'error.log'))}`);
    }
  }
  return {
    dir,
    pid: child.pid ?? 0,
    accessLog: () => read(join(dir, 'access.log')),
    errorLog: () => read(join(dir, 'error.log')),
    async stop() {
      if (running) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An undici Agent sending every host to the loopback address from `localAddress`, https trusting only
 * `ca` (undici's own connector does not pass a local address on): a client of the edge from one address.
 */
export const edgeAgent = (ca: string | Buffer, localAddress: string, connections?: number): Agent =>
  new Agent({
    ...(connections !== undefined ? { connections } : {}),
    connect: (options, callback) => {
      const https = options.protocol === 'https:';
      const target = { host: '127.0.0.1', port: Number(options.port) || (https ? 443 : 80), localAddress };
      const socket = https
        ? tlsConnect({
            ...target,
            servername: options.servername ?? options.hostname,
            ca,
            ALPNProtocols: ['http/1.1'],
          })
        : connect(target);
      let answered = false;
      const answer = (err: Error | null) => {
        if (answered) return;
        answered = true;
        if (err) callback(err, null);
        else callback(null, socket);
      };
      socket.once(https ? 'secureConnect' : 'connect', () => {
        answer(null);
      });
      socket.once('error', answer);
    },
  });
