/**
 * The stack a drill runs against: every tier as its own process under the real supervisor, on free ports
 * and a temporary data directory, its database given by URL, its mail going to the loadgen's SMTP sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLayout, layoutOf } from '../cli/layout.ts';
import { loadConfig } from '../config/load.ts';
import { databaseSettingsFrom, migrateToLatest } from '../db/write.ts';
import { startSupervisor, type Supervisor } from '../supervisor/index.ts';
import { deploymentOf, localProcesses, processName } from '../topology/index.ts';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no free port');
  return address.port;
}

export interface DrillStack {
  readonly base: string;
  readonly supervisor: Supervisor;
  readonly logs: string[];
  stop(): Promise<void>;
}

export interface DrillStackOptions {
  readonly databaseUrl: string;
  readonly databaseReadUrl?: string;
  readonly smtpUrl: string;
  /** Extra PERSONA_* settings. */
  readonly env?: Record<string, string>;
}

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export async function startDrillStack(options: DrillStackOptions): Promise<DrillStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persona-drill-'));
  const [router, webhead, dbwriter, keysigner, verifier] = (
    await Promise.all(Array.from({ length: 5 }, () => freePort()))
  ).map(String) as [string, string, string, string, string];
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
    PERSONA_DATABASE_URL: options.databaseUrl,
    PERSONA_DATABASE_READ_URL: options.databaseReadUrl ?? '',
    PERSONA_SMTP_URL: options.smtpUrl,
    PERSONA_BCRYPT_COST: '4',
    PERSONA_LOG_LEVEL: 'warn',
    PERSONA_EXAMPLES: 'false',
    // A drill's person resets the password a few seconds after signing up: no per-address mail pause.
    PERSONA_MIN_TIME_BETWEEN_EMAILS_MS: '0',
    ...options.env,
  };
  const config = loadConfig({ env });
  ensureLayout(layoutOf(config));
  await migrateToLatest(databaseSettingsFrom(config).write);
  const logs: string[] = [];
  const processes = localProcesses(deploymentOf(config));
  const supervisor = startSupervisor({
    processes: processes.map((p) => ({
      name: processName(p),
      args: [p.tier, '--instance', String(p.index)],
    })),
    routerUrl: processes.find((p) => p.tier === 'router')?.url ?? config.publicUrl,
    env,
    serveCommand: [process.execPath, ...(MAIN.endsWith('.ts') ? ['--import', 'tsx'] : []), MAIN],
    out: (line) => {
      logs.push(line);
      if (logs.length > 2000) logs.splice(0, 1000);
    },
  });
  const stop = async () => {
    await supervisor.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await supervisor.ready;
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${logs.slice(-40).join('\n')}`, { cause: err });
  }
  return { base: config.publicUrl, supervisor, logs, stop };
}
