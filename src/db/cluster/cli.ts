/** `persona db cluster start|stop|status|url|checks`: the local Galera cluster (docs/database-ha.md). */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import type { ClusterLayout } from '../../topology/database.ts';
import {
  clusterUrls,
  createAccounts,
  haproxyState,
  livePid,
  localAccounts,
  localSpec,
  nodeState,
  proxyOptions,
  startChecks,
  startCluster,
  startHaproxy,
  stopCluster,
  stopHaproxy,
  type NodeState,
  type ProxyState,
} from './index.ts';

export const DB_HELP = `Usage: persona db cluster <start|stop|status|url|checks> [options]

A MariaDB Galera cluster on this machine for development and tests (docs/database-ha.md): the nodes of
PERSONA_DB_CLUSTER_HOSTS with ports from PERSONA_DB_CLUSTER_PORT_BASE, each in DIR/n<i> and run as the
user mysql, their clustercheck endpoints, and HAProxy in front (writes on the port base, reads on +10).

  start    bootstrap the node that may (n1 on a fresh cluster), join the others (rsync SST or IST),
           create the database and accounts, start the checks and HAProxy
  stop     HAProxy, the checks, then the nodes, last joiner first
  status   each node's state, replication queue and flow control; HAProxy's servers and the writer
  url      the writer's PERSONA_DATABASE_URL (with --reader, the reader's, for PERSONA_DATABASE_READ_URL);
           it contains the password
  checks   serve the clustercheck endpoints in the foreground (start runs this in the background)

Options:
  --dir DIR          where the cluster lives (default $PERSONA_DATA_DIR/galera)
  --proxy-host ADDR  where HAProxy listens (default 127.0.0.1)
  --json             status as JSON
`;

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);

export function formatStatus(nodes: readonly NodeState[], proxy: ProxyState): string {
  const lines = [
    'node  pid      state             size  status      ready  ro   recv_q  fc_paused  fc_sent  seqno',
  ];
  for (const n of nodes) {
    if (!n.running) {
      lines.push(`${n.name.padEnd(5)} -        stopped`);
      continue;
    }
    if (n.error !== undefined) {
      lines.push(`${n.name.padEnd(5)} ${String(n.pid).padEnd(8)} no answer: ${n.error.split('\n')[0] ?? ''}`);
      continue;
    }
    lines.push(
      [
        n.name.padEnd(5),
        String(n.pid).padEnd(8),
        (n.state ?? '?').padEnd(17),
        String(n.clusterSize ?? '-').padEnd(5),
        (n.clusterStatus ?? '-').padEnd(11),
        (n.ready ? 'ON' : 'OFF').padEnd(6),
        (n.readOnly ? 'yes' : 'no').padEnd(4),
        String(n.recvQueue ?? '-').padEnd(7),
        pct(n.flowControlPaused).padEnd(10),
        String(n.flowControlSent ?? '-').padEnd(8),
        String(n.lastCommitted ?? '-'),
      ].join(' '),
    );
  }
  lines.push('');
  if (!proxy.running) lines.push('haproxy: not running');
  else {
    lines.push(`haproxy: writes go to ${proxy.writer ?? 'NO NODE (every server down)'}`);
    for (const s of proxy.servers)
      lines.push(
        `  ${s.listener.padEnd(7)} ${s.server.padEnd(5)} ${s.status.padEnd(8)} ${s.backup ? 'backup' : 'active'}  sessions ${s.sessions}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export async function dbCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      'proxy-host': { type: 'string', default: '127.0.0.1' },
      reader: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, action] = positionals;
  if (
    values.help ||
    group !== 'cluster' ||
    !['start', 'stop', 'status', 'url', 'checks'].includes(action ?? '')
  ) {
    (values.help ? process.stdout : process.stderr).write(DB_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const dir = resolve(values.dir ?? join(config.dataDir, 'galera'));
  const layout: ClusterLayout = {
    hosts: config.dbClusterHosts,
    portBase: config.dbClusterPortBase,
    proxyHost: values['proxy-host'],
  };
  const spec = localSpec(dir, layout);
  const proxy = proxyOptions(dir, layout, spec);
  const checksPid = join(dir, 'checks.pid');

  if (action === 'url') {
    const urls = clusterUrls(layout, localAccounts(dir));
    process.stdout.write(`${values.reader ? urls.reader : urls.writer}\n`);
    return 0;
  }
  if (action === 'checks') {
    const checks = await startChecks(spec, localAccounts(dir));
    process.stdout.write(
      `clustercheck: ${spec.nodes.map((n) => `${n.name} http://${n.host}:${n.ports.check}/`).join(', ')}\n`,
    );
    await new Promise<void>((done) => {
      process.once('SIGTERM', done);
      process.once('SIGINT', done);
    });
    await Promise.all(checks.map((c) => c.close()));
    return 0;
  }
  if (action === 'status') {
    const nodes = spec.nodes.map(nodeState);
    const state = await haproxyState(proxy.stateDir).catch((): ProxyState => ({
      running: false,
      servers: [],
    }));
    process.stdout.write(
      values.json ? `${JSON.stringify({ nodes, proxy: state }, null, 2)}\n` : formatStatus(nodes, state),
    );
    return 0;
  }
  if (action === 'stop') {
    await stopHaproxy(proxy.stateDir);
    const pid = livePid(checksPid);
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    await stopCluster(spec);
    process.stdout.write('cluster stopped\n');
    return 0;
  }
  // start
  const accounts = localAccounts(dir);
  const started = performance.now();
  await startCluster(spec);
  const first = spec.nodes.find((n) => nodeState(n).localState === 4);
  if (first) createAccounts(first, accounts);
  if (livePid(checksPid) === undefined) {
    mkdirSync(dir, { recursive: true });
    const out = openSync(join(dir, 'checks.log'), 'a');
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1] ?? '', 'db', 'cluster', 'checks', '--dir', dir],
      {
        detached: true,
        stdio: ['ignore', out, out],
      },
    );
    closeSync(out);
    child.unref();
    writeFileSync(checksPid, `${child.pid}\n`);
  }
  // HAProxy's first checks must find the endpoints up, or the first writer would be a backup.
  const checksUp = Date.now() + 30_000;
  for (const node of spec.nodes)
    while (
      !(await fetch(`http://${node.host}:${node.ports.check}/`).then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > checksUp)
        throw new Error(`the clustercheck of ${node.name} does not answer; see ${join(dir, 'checks.log')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  if (livePid(join(proxy.stateDir, 'haproxy.pid')) === undefined) await startHaproxy(proxy);
  // HAProxy sees the nodes healthy after `rise` checks.
  const deadline = Date.now() + 30_000;
  let state = await haproxyState(proxy.stateDir);
  while (state.writer === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    state = await haproxyState(proxy.stateDir);
  }
  process.stdout.write(formatStatus(spec.nodes.map(nodeState), state));
  process.stdout.write(
    `\ncluster up in ${((performance.now() - started) / 1000).toFixed(1)} s. Point the tiers at it:\n` +
      `  PERSONA_DATABASE_URL=$(persona db cluster url)\n  PERSONA_DATABASE_READ_URL=$(persona db cluster url --reader)\n`,
  );
  return 0;
}
