/**
 * `persona start` (SPEC §2): every process of the local topology (each tier instance, and the development
 * examples) under a small supervisor. It prefixes their logs, restarts one that dies (with backoff), says
 * the stack is ready only once each of its own processes reported listening and the router's deep
 * heartbeat is ok, and stops everything on Ctrl-C. Kept lean: node built-ins only, no configuration
 * library, so it costs little memory beside the tiers.
 *
 * Each child has an IPC channel: it reports `listening`, and it exits when the channel closes, so even a
 * supervisor killed outright leaves no tier behind. Children run in their own process group, so a
 * terminal's Ctrl-C reaches the supervisor alone, which stops them in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A child that exits with this code hit a problem restarting cannot fix (a port taken, a bad setting). */
export const EXIT_FATAL = 78;

/** One process to run: `serve <args>` under the name shown in logs. */
export interface SupervisedProcess {
  readonly name: string;
  readonly args: readonly string[];
}

export interface SupervisorOptions {
  readonly processes: readonly SupervisedProcess[];
  /** The router's origin: readiness asks its deep heartbeat. */
  readonly routerUrl: string;
  /** Environment for the children (the configuration travels as PERSONA_* variables). */
  readonly env: NodeJS.ProcessEnv;
  /** The command that runs `persona`: [executable, ...args]; `serve …` is appended. */
  readonly serveCommand: readonly string[];
  readonly out?: (line: string) => void;
  /** First restart delay, doubled for a process that keeps dying (tests lengthen it to watch a tier down). */
  readonly restartDelayMs?: number;
  /** How long readiness waits for the stack (default 150 s: a busy machine starts slowly). */
  readonly readyTimeoutMs?: number;
  /**
   * Also append each process's own lines, as written (pino JSON), to `<logDir>/<name>.log` (`webhead#2`
   * as `webhead-2.log`): the files a log shipper reads (`persona ops rsyslog`, docs/monitoring.md).
   */
  readonly logDir?: string;
}

export interface Supervisor {
  /** Resolves once every process reported listening and the router's deep heartbeat says ok; rejects on a fatal exit. */
  ready: Promise<void>;
  /** Process ids by name, for tests. */
  pid(name: string): number | undefined;
  restarts(name: string): number;
  stop(): Promise<void>;
  /** Kills every child at once (a second Ctrl-C). */
  kill(): void;
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** A pino JSON line as `tier | level message key=value …`; other lines as they are. */
export function formatLogLine(tier: string, line: string): string {
  const prefix = `${tier.padEnd(9)} |`;
  if (!line.startsWith('{')) return `${prefix} ${line}`;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time: _t, pid: _p, hostname: _h, tier: _tier, ...rest } = entry;
    const extras = Object.entries(rest)
      .filter(([, v]) => v !== undefined && typeof v !== 'object')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    return `${prefix} ${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ${typeof msg === 'string' ? msg : ''}${extras ? `  ${extras}` : ''}`;
  } catch {
    return `${prefix} ${line}`;
  }
}

/** Status and body of a GET, or undefined when nothing answers in time. */
function fetchText(url: string, timeoutMs: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', () => {
        resolve(undefined);
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(undefined);
    });
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function startSupervisor(options: SupervisorOptions): Supervisor {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const children = new Map<string, ChildProcess>();
  const restartCounts = new Map<string, number>();
  const listening = new Set<string>();
  const logFiles = new Map<string, WriteStream>();
  const logFileOf = (name: string): WriteStream | undefined => {
    if (options.logDir === undefined) return undefined;
    let file = logFiles.get(name);
    if (!file) {
      file = createWriteStream(join(options.logDir, `${name.replace(/[^A-Za-z0-9_-]/g, '-')}.log`), {
        flags: 'a',
      });
      logFiles.set(name, file);
    }
    return file;
  };
  let stopping = false;
  // Read through a function: `stop()` sets it from outside the loops that test it (tsc cannot see that).
  const isStopping = () => stopping;
  let fatal: ((err: Error) => void) | undefined;
  const fatalExit = new Promise<never>((_, reject) => {
    fatal = reject;
  });
  fatalExit.catch(() => undefined); // observed through `ready`

  function launch(proc: SupervisedProcess, attempt = 0): void {
    const [command = process.execPath, ...args] = options.serveCommand;
    const child = spawn(command, [...args, 'serve', ...proc.args], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    children.set(proc.name, child);
    const startedAt = Date.now();
    let lastLines: string[] = [];
    const logFile = logFileOf(proc.name);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        lastLines = [...lastLines.slice(-4), line];
        out(formatLogLine(proc.name, line));
        logFile?.write(`${line}\n`);
      });
    }
    child.on('message', (message: unknown) => {
      if ((message as { event?: string } | null)?.event === 'listening') listening.add(proc.name);
    });
    child.on('exit', (code, signal) => {
      listening.delete(proc.name);
      if (stopping) return;
      if (code === EXIT_FATAL) {
        const why = lastLines.filter((l) => l.startsWith('persona')).pop() ?? `${proc.name} cannot start`;
        out(formatLogLine(proc.name, 'exited on a problem restarting cannot fix; not restarting'));
        fatal?.(new Error(why.replace(/^persona( serve)?: /, '')));
        return;
      }
      // A process that ran for a while starts over with short delays; one that keeps dying backs off.
      const next = Date.now() - startedAt > 30_000 ? 0 : attempt + 1;
      const wait = Math.min(10_000, (options.restartDelayMs ?? 250) * 2 ** next);
      out(formatLogLine(proc.name, `exited (${signal ?? `code ${code ?? '?'}`}); restarting in ${wait} ms`));
      restartCounts.set(proc.name, (restartCounts.get(proc.name) ?? 0) + 1);
      setTimeout(() => {
        if (!stopping) launch(proc, next);
      }, wait).unref();
    });
  }

  for (const proc of options.processes) launch(proc);

  const ready = Promise.race([
    fatalExit,
    (async () => {
      const deadline = Date.now() + (options.readyTimeoutMs ?? 150_000);
      while (Date.now() < deadline && !isStopping()) {
        // Our own processes first: a heartbeat alone could be another process's on the same port.
        if (options.processes.every((p) => listening.has(p.name))) {
          const res = await fetchText(`${options.routerUrl}/__heartbeat__?deep`, 6000);
          if (res?.status === 200 && res.body === 'ok') return;
        }
        await delay(200);
      }
      const waiting = options.processes.filter((p) => !listening.has(p.name)).map((p) => p.name);
      throw new Error(
        waiting.length > 0
          ? `the stack did not become healthy: ${waiting.join(', ')} never reported listening`
          : 'the stack did not become healthy: the deep heartbeat did not say ok',
      );
    })(),
  ]);

  const signalAll = (signal: NodeJS.Signals) => {
    for (const child of children.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  };

  return {
    ready,
    pid: (name) => children.get(name)?.pid,
    restarts: (name) => restartCounts.get(name) ?? 0,
    kill() {
      stopping = true;
      signalAll('SIGKILL');
    },
    async stop() {
      stopping = true;
      const exits = [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              resolve();
              return;
            }
            const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      );
      await Promise.all(exits);
      await Promise.all([...logFiles.values()].map((f) => new Promise((resolve) => f.end(resolve))));
    },
  };
}
