/**
 * `persona start` (SPEC §2): every tier as its own process under a small supervisor. It prepares the data
 * directory on first run, starts the tiers, prefixes their logs, restarts a tier that dies (with backoff),
 * says where to go once the stack answers, and stops everything cleanly on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import type { Config } from '../config/settings.ts';
import { TIERS, type Tier } from '../http/tier-auth.ts';

export interface SupervisorOptions {
  readonly config: Config;
  /** Environment for the children (the configuration travels as PERSONA_* variables). */
  readonly env: NodeJS.ProcessEnv;
  /** The command that runs `persona serve <tier>`: [executable, ...args]. */
  readonly serveCommand: readonly string[];
  readonly tiers?: readonly Tier[];
  /** More children started with `serve <name>` (the development examples); readiness waits on the router only. */
  readonly extras?: readonly string[];
  readonly out?: (line: string) => void;
  /** First restart delay, doubled for a tier that keeps dying (tests lengthen it to watch a tier down). */
  readonly restartDelayMs?: number;
}

export interface Supervisor {
  /** Resolves once the router's deep heartbeat says ok. */
  ready: Promise<void>;
  /** Processes by tier, for tests. */
  pid(name: string): number | undefined;
  restarts(name: string): number;
  stop(): Promise<void>;
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

export function startSupervisor(options: SupervisorOptions): Supervisor {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const tiers = options.tiers ?? TIERS;
  const children = new Map<string, ChildProcess>();
  const restartCounts = new Map<string, number>();
  let stopping = false;
  const isStopping = () => stopping;

  function launch(tier: string, attempt = 0): void {
    const [command = process.execPath, ...args] = options.serveCommand;
    const child = spawn(command, [...args, 'serve', tier], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(tier, child);
    const startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        out(formatLogLine(tier, line));
      });
    }
    child.on('exit', (code, signal) => {
      if (stopping) return;
      // A tier that ran for a while starts over with short delays; one that keeps dying backs off.
      const next = Date.now() - startedAt > 30_000 ? 0 : attempt + 1;
      const delay = Math.min(10_000, (options.restartDelayMs ?? 250) * 2 ** next);
      out(formatLogLine(tier, `exited (${signal ?? `code ${code ?? '?'}`}); restarting in ${delay} ms`));
      restartCounts.set(tier, (restartCounts.get(tier) ?? 0) + 1);
      setTimeout(() => {
        if (!stopping) launch(tier, next);
      }, delay).unref();
    });
  }

  for (const name of [...tiers, ...(options.extras ?? [])]) launch(name);

  const routerUrl = `http://${options.config.host}:${options.config.routerPort}`;
  const ready = (async () => {
    // Stopped early, the loop ends at once: `stopping` is set from outside (tsc cannot see that).
    for (let i = 0; i < 600; i++) {
      if (isStopping()) break;
      try {
        const res = await request(`${routerUrl}/__heartbeat__?deep`, { headersTimeout: 6000 });
        const body = await res.body.text();
        if (res.statusCode === 200 && body === 'ok') return;
      } catch {
        // not up yet
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('the stack did not become healthy');
  })();

  return {
    ready,
    pid: (tier) => children.get(tier)?.pid,
    restarts: (tier) => restartCounts.get(tier) ?? 0,
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
    },
  };
}
