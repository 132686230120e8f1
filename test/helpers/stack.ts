/**
 * The whole stack as real processes for end-to-end tests: a temp data directory, free ports, the first-run
 * setup and migrations, then every tier started by the real supervisor with `persona serve <tier>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/settings.ts';
import { ensureLayout, layoutOf } from '../../src/cli/layout.ts';
import { databaseSettingsFrom, migrateToLatest } from '../../src/db/write.ts';
import { startSupervisor, type Supervisor } from '../../src/supervisor/index.ts';
import { deploymentOf, localProcesses, processName } from '../../src/topology/index.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

async function answering(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Stack {
  readonly config: Config;
  readonly base: string;
  readonly supervisor: Supervisor;
  readonly logs: string[];
  /** With `examples`: the example site's and the example primary's origins. */
  readonly exampleSite?: string;
  readonly examplePrimary?: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Extra PERSONA_* settings (e.g. PERSONA_SMTP_URL, PERSONA_DATABASE_URL). */
  readonly env?: Record<string, string>;
  readonly restartDelayMs?: number;
  /** Also run the example site and the example primary (as `persona start` does in development). */
  readonly examples?: boolean;
  /** Each process's JSON lines also go to `<logDir>/<name>.log` (the supervisor's logDir). */
  readonly logDir?: string;
}

/**
 * Free ports are only free when asked: a concurrent suite may take one first, or a second instance's port
 * (port + 10) or an edge listener's (port + 1000) that was never asked for. A stack that finds a port taken
 * is started again on new ones.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/is taken by another process/.test((err as Error).message)) throw err;
    }
  }
}

async function startStackOnce(options: StackOptions): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-stack-'));
  const ports = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const [router, webhead, dbwriter, keysigner, verifier, site, primary] = ports.map(String) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const examples: Record<string, string> = options.examples
    ? {
        PERSONA_EXAMPLE_SITE_PORT: site,
        PERSONA_EXAMPLE_PRIMARY_PORT: primary,
        PERSONA_SHIMMED_PRIMARIES: JSON.stringify({ 'example.domain': `http://127.0.0.1:${primary}` }),
      }
    : {};
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PERSONA_ENV: 'test',
    PERSONA_DATA_DIR: dataDir,
    PERSONA_PUBLIC_URL: `http://127.0.0.1:${router}`,
    PERSONA_ROUTER_PORT: router,
    PERSONA_WEBHEAD_PORT: webhead,
    PERSONA_DBWRITER_PORT: dbwriter,
    PERSONA_KEYSIGNER_PORT: keysigner,
    PERSONA_VERIFIER_PORT: verifier,
    PERSONA_BCRYPT_COST: '4',
    PERSONA_LOG_LEVEL: 'warn',
    PERSONA_MAX_EVENT_LOOP_LAG_MS: '0',
    ...examples,
    ...options.env,
  };
  const config = loadConfig({ env });
  ensureLayout(layoutOf(config));
  await migrateToLatest(databaseSettingsFrom(config).write);
  const logs: string[] = [];
  const supervisor = startSupervisor({
    processes: [
      ...localProcesses(deploymentOf(config)).map((p) => ({
        name: processName(p),
        args: [p.tier, '--instance', String(p.index)],
      })),
      ...(options.examples
        ? ['example-site', 'example-primary'].map((name) => ({ name, args: [name] }))
        : []),
    ],
    // The router itself: the public URL may be an edge in front of it (docs/edge.md).
    routerUrl: localProcesses(deploymentOf(config)).find((p) => p.tier === 'router')?.url ?? config.publicUrl,
    env,
    serveCommand: [process.execPath, '--import', 'tsx', 'src/cli/main.ts'],
    out: (line) => logs.push(line),
    ...(options.restartDelayMs !== undefined ? { restartDelayMs: options.restartDelayMs } : {}),
    ...(options.logDir !== undefined ? { logDir: options.logDir } : {}),
  });
  try {
    await supervisor.ready;
    // The supervisor's readiness covers the tiers; the examples are waited for here.
    if (options.examples)
      await Promise.all([
        answering(`http://127.0.0.1:${site}/api/whoami`),
        answering(`http://127.0.0.1:${primary}/.well-known/browserid`),
      ]);
  } catch (err) {
    await supervisor.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${logs.slice(-40).join('\n')}`, { cause: err });
  }
  return {
    config,
    base: config.publicUrl,
    supervisor,
    logs,
    ...(options.examples
      ? { exampleSite: `http://127.0.0.1:${site}`, examplePrimary: `http://127.0.0.1:${primary}` }
      : {}),
    async stop() {
      await supervisor.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Kills a tier's process and keeps killing each one the supervisor starts in its place (it restarts a
 * dead tier within 10 s) until the returned function is called: for a test that must see the tier down.
 */
export function keepDown(stack: Stack, tier: string): () => void {
  const kill = () => {
    const pid = stack.supervisor.pid(tier);
    try {
      if (pid !== undefined && pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  kill();
  const timer = setInterval(kill, 300);
  return () => clearInterval(timer);
}
