/**
 * A MariaDB Galera cluster with one writer at a time behind HAProxy (SPEC §5, docs/database-ha.md).
 *
 * The building blocks take explicit lists, so other layouts (two regions, nodes on their own loopback
 * addresses or in network namespaces, an arbitrator) reuse them:
 * - `ClusterSpec` = { name, nodes: ClusterNode[], arbitrator?, providerOptions? }, where a ClusterNode is
 *   { name, host, ports: {client, galera, ist, sst, check}, dataDir, prefix?, segment? }; `prefix` is put
 *   before each of the node's commands (e.g. ['ip', 'netns', 'exec', 'NS']);
 * - `startCluster(spec)` bootstraps the node that may (else the first), joins the others one by one and
 *   starts the arbitrator; `stopCluster(spec)` stops the last joiner first; `startNode`, `stopNode`,
 *   `killNode` (kill -9), `nodeState` for one node; `createAccounts` makes the database and accounts;
 * - `startClusterCheck` serves one node's health for HAProxy; `startHaproxy`/`stopHaproxy`/`haproxyState`
 *   run Debian's haproxy from `haproxyConfig`.
 *
 * `startLocalCluster` puts these together for development, tests and drills: the topology's nodes
 * (src/topology/database.ts) in one directory, the checks in this process, HAProxy in front.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clusterNodes, proxyPorts, type ClusterLayout } from '../../topology/database.ts';
import { startClusterCheck, type ClusterCheck } from './check.ts';
import { nodeFile, type ClusterNode, type ClusterSpec, type HaproxyOptions } from './config.ts';
import {
  createAccounts,
  haproxyState,
  nodeState,
  startCluster,
  startHaproxy,
  stopCluster,
  stopHaproxy,
  type AccountSpec,
  type NodeState,
  type ProxyState,
} from './control.ts';

export * from './config.ts';
export * from './control.ts';
export { startClusterCheck, judge, type ClusterCheck, type ClusterCheckOptions } from './check.ts';

export const DEFAULT_CLUSTER_NAME = 'persona';
export const DEFAULT_CLUSTER_DATABASE = 'browserid';

/** The spec of the topology's nodes under `dir` (node directories `dir/n1`…). */
export function localSpec(dir: string, layout: ClusterLayout, name = DEFAULT_CLUSTER_NAME): ClusterSpec {
  const base = resolve(dir);
  return {
    name,
    nodes: clusterNodes(layout).map((n): ClusterNode => ({ ...n, dataDir: join(base, n.name) })),
  };
}

export const proxyOptions = (dir: string, layout: ClusterLayout, spec: ClusterSpec): HaproxyOptions => ({
  nodes: spec.nodes,
  host: layout.proxyHost,
  writerPort: proxyPorts(layout).writer,
  readerPort: proxyPorts(layout).reader,
  stateDir: join(resolve(dir), 'haproxy'),
});

/** The accounts' passwords, made once and kept in `dir/credentials.json` (mode 0600). */
export function localAccounts(dir: string, database = DEFAULT_CLUSTER_DATABASE): AccountSpec {
  const file = join(resolve(dir), 'credentials.json');
  mkdirSync(resolve(dir), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) {
    const made = {
      password: randomBytes(18).toString('base64url'),
      checkPassword: randomBytes(18).toString('base64url'),
    };
    writeFileSync(file, `${JSON.stringify(made)}\n`, { mode: 0o600 });
  }
  const { password, checkPassword } = JSON.parse(readFileSync(file, 'utf8')) as {
    password: string;
    checkPassword: string;
  };
  return { database, user: 'persona', password, checkUser: 'clustercheck', checkPassword };
}

// HAProxy leaves a dead writer in 2-3 s of checks, Galera evicts it in 3-6 s: operations keep trying this
// long (within the request's 10 s deadline) instead of answering 503 at once.
const FAILOVER_MS = 9000;

/**
 * mysql:// URLs of the writer and reader listeners. The reader waits for causality (wsrep_sync_wait=1):
 * a sign-in right after complete_user_creation on another node sees the account.
 */
export function clusterUrls(
  layout: ClusterLayout,
  accounts: AccountSpec,
): { writer: string; reader: string } {
  const { writer, reader } = proxyPorts(layout);
  const auth = `${accounts.user}:${encodeURIComponent(accounts.password)}`;
  const host = layout.proxyHost.includes(':') ? `[${layout.proxyHost}]` : layout.proxyHost;
  return {
    writer: `mysql://${auth}@${host}:${writer}/${accounts.database}?failover_window_ms=${FAILOVER_MS}`,
    reader: `mysql://${auth}@${host}:${reader}/${accounts.database}?wsrep_sync_wait=1&failover_window_ms=${FAILOVER_MS}`,
  };
}

/** One node's health check for HAProxy, on the node's own address and check port, through its socket. */
export const startNodeCheck = (
  node: ClusterNode,
  accounts: AccountSpec,
  timeoutMs?: number,
): Promise<ClusterCheck> =>
  startClusterCheck({
    socketPath: nodeFile(node, 'mysqld.sock'),
    user: accounts.checkUser,
    password: accounts.checkPassword,
    host: node.host,
    port: node.ports.check,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

export async function startChecks(spec: ClusterSpec, accounts: AccountSpec): Promise<ClusterCheck[]> {
  const checks: ClusterCheck[] = [];
  try {
    for (const node of spec.nodes) checks.push(await startNodeCheck(node, accounts));
    return checks;
  } catch (err) {
    await Promise.all(checks.map((c) => c.close()));
    throw err;
  }
}

export interface LocalCluster {
  readonly spec: ClusterSpec;
  readonly accounts: AccountSpec;
  readonly proxy: HaproxyOptions;
  readonly urls: { writer: string; reader: string };
  /** Each node's state and HAProxy's view. */
  status(): Promise<{ nodes: NodeState[]; proxy: ProxyState }>;
  /** Stops HAProxy, the checks and every node (last joiner first). */
  stop(): Promise<void>;
}

/** Starts the topology's cluster under `dir` with its checks in this process and HAProxy in front. */
export async function startLocalCluster(
  dir: string,
  layout: ClusterLayout,
  options: { name?: string } = {},
): Promise<LocalCluster> {
  const spec = localSpec(dir, layout, options.name);
  const accounts = localAccounts(dir);
  const proxy = proxyOptions(dir, layout, spec);
  let checks: ClusterCheck[] = [];
  const stop = async () => {
    await stopHaproxy(proxy.stateDir).catch(() => undefined);
    await Promise.all(checks.map((c) => c.close().catch(() => undefined)));
    await stopCluster(spec);
  };
  try {
    await startCluster(spec);
    const first = spec.nodes[0];
    if (first) createAccounts(first, accounts);
    checks = await startChecks(spec, accounts);
    await startHaproxy(proxy);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    spec,
    accounts,
    proxy,
    urls: clusterUrls(layout, accounts),
    status: async () => ({ nodes: spec.nodes.map(nodeState), proxy: await haproxyState(proxy.stateDir) }),
    stop,
  };
}
