/**
 * The database drill (issue 14, docs/database-ha.md): the stack's dbwriter and webhead on a 3-node Galera
 * cluster through HAProxy, under a write-heavy load; faults injected with kill -9; then every account
 * acknowledged to a client is signed in to with its acknowledged password.
 *
 * Full: capacity on the cluster; then at half of it, kill -9 the writer and restart it (IST), the same
 * for each other node, kill -9 HAProxy and restart it; then capacity on a single MariaDB and on SQLite,
 * for the same length. Short (npm test): one writer kill and restart under a few hundred writes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startMailSink, type MailSink } from '../loadgen/mail.ts';
import { clusterNodes, proxyPorts, type ClusterLayout } from '../topology/database.ts';
import {
  haproxyState,
  killNode,
  startHaproxy,
  startLocalCluster,
  startNode,
  stopHaproxy,
  type LocalCluster,
} from '../db/cluster/index.ts';
import { startDrillStack, type DrillStack } from './stack.ts';
import {
  startWriteLoad,
  type Verification,
  type WriteEvent,
  type WriteLoad,
  type WriteTally,
} from './writes.ts';

const WRITES = new Set([
  'stage_user',
  'complete_user_creation',
  'update_password',
  'stage_reset',
  'complete_reset',
]);

export interface FaultFigure {
  readonly fault: string;
  /** Seconds from the start of the load. */
  readonly at: number;
  /** From the fault to the answer of the first write sent after it that succeeded. */
  readonly recoverySeconds: number | undefined;
  /** Requests sent in the 30 s after the fault that failed. */
  readonly failedAfter: number;
  /** From the restart to the node synced again (IST), or HAProxy answering. */
  readonly restartSeconds: number;
}

export interface CapacityFigure {
  readonly database: 'galera' | 'mariadb' | 'sqlite';
  readonly seconds: number;
  readonly writesPerSecond: number;
  readonly failedPercent: number;
}

export interface DrillReport {
  readonly mode: 'short' | 'full';
  readonly seconds: number;
  readonly tally: WriteTally;
  readonly failedPercent: number;
  readonly verification: Verification;
  readonly faults: readonly FaultFigure[];
  readonly capacity: readonly CapacityFigure[];
  /** The deliberate loss (with --prove-detection): accounts reported lost after one was deleted. */
  readonly detection?: { readonly deleted: string; readonly reported: readonly string[] };
}

export interface DrillOptions {
  readonly mode: 'short' | 'full';
  /** Concurrent people at full speed (capacity runs); default 8. */
  readonly workers?: number;
  /** Length of each capacity run, seconds (full); default 30. */
  readonly capacitySeconds?: number;
  /** After the report's count, delete one acknowledged account and count again: it must be reported. */
  readonly proveDetection?: boolean;
  /** The single MariaDB for the comparison (full); default root@127.0.0.1:3306. */
  readonly mariadb?: { host: string; port: number; user: string; password: string };
  readonly log?: (line: string) => void;
  /** Run on this cluster (left running) instead of starting one (short mode only). */
  readonly cluster?: LocalCluster;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () =>
      server.close(() => {
        resolve(true);
      }),
    );
  });
}

/** A port base whose every derived port (nodes, Galera, IST, SST, checks, HAProxy) is free now. */
export async function freeClusterLayout(nodes = 3): Promise<ClusterLayout> {
  for (let i = 0; i < 50; i++) {
    const portBase = 20_000 + Math.floor(Math.random() * 30_000);
    const layout = {
      hosts: Array.from({ length: nodes }, () => '127.0.0.1'),
      portBase,
      proxyHost: '127.0.0.1',
    };
    const ports: number[] = [
      ...clusterNodes(layout).flatMap(({ ports: p }) => [p.client, p.galera, p.ist, p.sst, p.check]),
      ...Object.values(proxyPorts(layout)),
    ];
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return layout;
  }
  throw new Error('no free range of ports for a cluster');
}

/** From `at` (performance.now()) to the answer of the first write sent after it that succeeded. */
export function recoveryAfter(events: readonly WriteEvent[], at: number): number | undefined {
  let best: number | undefined;
  for (const e of events)
    if (e.ok && WRITES.has(e.op) && e.sent >= at && (best === undefined || e.done < best)) best = e.done;
  return best === undefined ? undefined : best - at;
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

const failedPercent = (t: WriteTally) => (t.requests === 0 ? 0 : (100 * t.failedRequests) / t.requests);

/** Capacity: `workers` people as fast as the stack answers for `secs` seconds; acknowledged writes per second. */
async function capacity(
  stack: DrillStack,
  mail: MailSink,
  workers: number,
  secs: number,
): Promise<{ writesPerSecond: number; failedPercent: number; signUpsPerSecond: number }> {
  const load = startWriteLoad({ base: stack.base, mail, workers });
  await sleep(secs * 1000);
  await load.close();
  const t = load.tally();
  const signUps = load.events.filter((e) => e.op === 'complete_user_creation' && e.ok).length;
  return {
    writesPerSecond: t.acknowledged / secs,
    failedPercent: failedPercent(t),
    signUpsPerSecond: signUps / secs,
  };
}

export async function runDatabaseDrill(options: DrillOptions): Promise<DrillReport> {
  const log = options.log ?? (() => undefined);
  const workers = options.workers ?? 8;
  const dir = mkdtempSync(join(tmpdir(), 'persona-galera-drill-'));
  const mail = await startMailSink();
  let cluster: LocalCluster | undefined;
  let stack: DrillStack | undefined;
  let load: WriteLoad | undefined;
  const capacityFigures: CapacityFigure[] = [];
  const faults: FaultFigure[] = [];
  try {
    let t = performance.now();
    if (options.cluster && options.mode === 'full') throw new Error('the full drill starts its own cluster');
    const c = options.cluster ?? (cluster = await startLocalCluster(dir, await freeClusterLayout()));
    log(`cluster of ${c.spec.nodes.length} nodes up in ${seconds(performance.now() - t)} s`);
    await waitFor('HAProxy sees a writer', async () => (await c.status()).proxy.writer !== undefined, 30_000);
    stack = await startDrillStack({
      databaseUrl: c.urls.writer,
      databaseReadUrl: c.urls.reader,
      smtpUrl: mail.url,
    });
    const s = stack;
    log(`stack up at ${s.base}`);

    const capacitySeconds = options.capacitySeconds ?? 30;
    let rate: number | undefined;
    if (options.mode === 'full') {
      const measured = await capacity(s, mail, workers, capacitySeconds);
      capacityFigures.push({ database: 'galera', seconds: capacitySeconds, ...measured });
      rate = Math.max(1, measured.signUpsPerSecond / 2);
      log(
        `capacity on the cluster: ${measured.writesPerSecond.toFixed(1)} acknowledged writes/s; the faults run at half: ${rate.toFixed(1)} sign-ups/s`,
      );
    }

    const started = performance.now();
    const l = startWriteLoad({
      base: s.base,
      mail,
      workers,
      ...(rate === undefined ? {} : { maxSignUpsPerSecond: rate }),
    });
    load = l;
    const since = (at: number) => seconds(at - started);
    const acknowledgedSince = (at: number) => () => recoveryAfter(l.events, at) !== undefined;
    await waitFor('first acknowledged writes', () => l.tally().acknowledged >= 10, 60_000);

    const nodeFault = async (name: string, role: string) => {
      const node = c.spec.nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name}`);
      const at = performance.now();
      await killNode(node);
      log(`${since(at)} s: kill -9 ${name} (${role})`);
      await waitFor(`writes after killing ${name}`, acknowledgedSince(at), 60_000);
      await sleep(2000);
      const restart = performance.now();
      await startNode(c.spec, node);
      const restartSeconds = seconds(performance.now() - restart);
      log(`${since(performance.now())} s: ${name} rejoined (IST) in ${restartSeconds} s`);
      await waitFor(
        `HAProxy sees ${name} up`,
        async () =>
          (await c.status()).proxy.servers.filter((x) => x.server === name).every((x) => x.status === 'UP'),
        30_000,
      );
      return { at, restartSeconds };
    };
    const record = (fault: string, at: number, restartSeconds: number) => {
      const recovery = recoveryAfter(l.events, at);
      faults.push({
        fault,
        at: since(at),
        recoverySeconds: recovery === undefined ? undefined : seconds(recovery),
        failedAfter: l.events.filter((e) => !e.ok && e.sent >= at && e.sent < at + 30_000).length,
        restartSeconds,
      });
    };

    const writerNow = async () => {
      const w = (await haproxyState(c.proxy.stateDir)).writer;
      if (w === undefined) throw new Error('HAProxy has no writer');
      return w;
    };
    const firstWriter = await writerNow();
    const { at, restartSeconds } = await nodeFault(firstWriter, 'the writer');
    record(`kill -9 ${firstWriter} (writer)`, at, restartSeconds);

    if (options.mode === 'full') {
      for (const node of c.spec.nodes.filter((n) => n.name !== firstWriter)) {
        const role = node.name === (await writerNow()) ? 'the writer' : 'a backup';
        await sleep(3000);
        const fault = await nodeFault(node.name, role);
        record(
          `kill -9 ${node.name} (${role.replace('the ', '').replace('a ', '')})`,
          fault.at,
          fault.restartSeconds,
        );
      }
      await sleep(3000);
      const hat = performance.now();
      await stopHaproxy(c.proxy.stateDir, 'SIGKILL');
      log(`${since(hat)} s: kill -9 haproxy`);
      await sleep(1000);
      const restart = performance.now();
      await startHaproxy(c.proxy);
      const hr = seconds(performance.now() - restart);
      await waitFor('writes after restarting HAProxy', acknowledgedSince(restart), 60_000);
      record('kill -9 haproxy, restarted 1 s later', hat, hr);
    }
    await sleep(options.mode === 'short' ? 2000 : 5000);
    await l.stop();
    const total = performance.now() - started;
    const tally = l.tally();
    log(
      `load stopped after ${seconds(total)} s: ${tally.acknowledged} acknowledged writes, ${tally.failedRequests} of ${tally.requests} requests failed`,
    );
    const verification = await l.verify();
    log(
      `checked ${verification.checked} accounts: ${verification.lost.length} lost, ${verification.unchecked} unchecked`,
    );

    let detection: DrillReport['detection'];
    if (options.proveDetection) {
      const [victim] = [...l.ledger.keys()].filter((e) => l.ledger.get(e)?.acknowledged !== '');
      if (victim === undefined) throw new Error('no acknowledged account to delete');
      // The deliberate loss: the account's address row goes, as a lost commit would leave it.
      const url = new URL(c.urls.writer);
      const admin = await mysql.createConnection({
        host: url.hostname,
        port: Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.slice(1),
      });
      try {
        await admin.query('DELETE FROM email WHERE address = ?', [victim]);
      } finally {
        await admin.end();
      }
      const again = await l.verify();
      detection = { deleted: victim, reported: again.lost };
      log(`deliberate loss of ${victim}: the count reports ${again.lost.length} lost`);
    }

    if (options.mode === 'full') {
      await s.stop();
      stack = undefined;
      const m = options.mariadb ?? { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
      const name = `persona_drill_${randomBytes(4).toString('hex')}`;
      const admin = await mysql.createConnection(m);
      try {
        await admin.query(`CREATE DATABASE ${name}`);
        const auth = `${encodeURIComponent(m.user)}${m.password ? `:${encodeURIComponent(m.password)}` : ''}`;
        // The cluster again last, next to the others: this shared machine's load drifts between runs.
        for (const [database, url, readUrl] of [
          ['mariadb', `mysql://${auth}@${m.host}:${m.port}/${name}`, ''],
          ['sqlite', '', ''],
          ['galera', c.urls.writer, c.urls.reader],
        ] as const) {
          t = performance.now();
          const other = await startDrillStack({
            databaseUrl: url,
            databaseReadUrl: readUrl,
            smtpUrl: mail.url,
          });
          try {
            const measured = await capacity(other, mail, workers, capacitySeconds);
            capacityFigures.push({ database, seconds: capacitySeconds, ...measured });
            log(`capacity on ${database}: ${measured.writesPerSecond.toFixed(1)} acknowledged writes/s`);
          } finally {
            await other.stop();
          }
        }
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
        await admin.end();
      }
    }
    return {
      mode: options.mode,
      seconds: seconds(total),
      tally,
      failedPercent: failedPercent(tally),
      verification,
      faults,
      capacity: capacityFigures,
      ...(detection ? { detection } : {}),
    };
  } finally {
    await load?.close().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    await mail.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDrillReport(r: DrillReport): string {
  const lines = [
    `database drill (${r.mode}): ${r.seconds} s of write load on a 3-node Galera cluster behind HAProxy`,
    `  acknowledged writes:      ${r.tally.acknowledged} (${r.tally.accounts} accounts)`,
    `  acknowledged writes lost: ${r.verification.lost.length}${r.verification.unchecked > 0 ? ` (${r.verification.unchecked} accounts could not be checked)` : ''}`,
    `  failed requests:          ${r.tally.failedRequests} of ${r.tally.requests} (${r.failedPercent.toFixed(2)} %)`,
    `  stale reads:              ${r.tally.staleReads}`,
  ];
  for (const f of r.faults)
    lines.push(
      `  ${f.fault.padEnd(38)} at ${String(f.at).padStart(5)} s: writes again after ${f.recoverySeconds ?? 'never'} s, ${f.failedAfter} failed requests, back in ${f.restartSeconds} s`,
    );
  if (Object.keys(r.tally.failures).length > 0)
    lines.push(
      `  failures: ${Object.entries(r.tally.failures)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ')}`,
    );
  for (const c of r.capacity)
    lines.push(
      `  capacity on ${c.database.padEnd(7)}: ${c.writesPerSecond.toFixed(1)} acknowledged writes/s over ${c.seconds} s (${c.failedPercent.toFixed(2)} % failed)`,
    );
  const sqlite = r.capacity.find((c) => c.database === 'sqlite');
  // The cluster's run next to SQLite's (the last one) is the one to compare.
  const galera = r.capacity.findLast((c) => c.database === 'galera');
  if (sqlite && galera && sqlite.writesPerSecond > 0)
    lines.push(
      `  cluster / SQLite: ${((100 * galera.writesPerSecond) / sqlite.writesPerSecond).toFixed(0)} %`,
    );
  if (r.detection)
    lines.push(
      `  deliberate loss of one account: reported ${r.detection.reported.length} lost (${r.detection.reported.includes(r.detection.deleted) ? 'the deleted one' : 'NOT the deleted one'})`,
    );
  return `${lines.join('\n')}\n`;
}
