/**
 * Starting, stopping and inspecting Galera nodes, garbd and HAProxy as plain processes (development,
 * tests, drills; in production this is provisioning's job). Every process is detached, found again by
 * its pid file, and stopped by pid. Admin statements go through each node's Unix socket with the
 * `mariadb` client as root (unix_socket authentication), so they work whatever network the node is in.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  clusterAddress,
  haproxyConfig,
  haproxyFile,
  nodeConfig,
  nodeFile,
  type Arbitrator,
  type ClusterNode,
  type ClusterSpec,
  type HaproxyOptions,
} from './config.ts';

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

/** The uid/gid of `mysql`: Galera nodes run as it (reference/stack.md §3.1: rsync SST fails as root). */
function mysqlIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('mysql:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new ClusterError('there is no user mysql (apt-get install mariadb-server)');
  return { uid: Number(uid), gid: Number(gid) };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** mysql must be able to reach the node directory: open up parents made 0700 by mkdtemp (x only). */
function traversable(dir: string): void {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o011);
  }
}

/** Reads a pid file; undefined when absent or the process is gone. */
export function livePid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function detached(command: readonly string[], logFile: string): number {
  const out = openSync(logFile, 'a');
  try {
    const [file, ...args] = command;
    if (file === undefined) throw new ClusterError('empty command');
    const child = spawn(file, args, { detached: true, stdio: ['ignore', out, out] });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new ClusterError(`could not start ${file}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** Runs one statement on a node through its socket; rows as arrays of strings (tab-separated output). */
export function adminQuery(
  node: Pick<ClusterNode, 'dataDir'>,
  statement: string,
  timeoutMs = 10_000,
): string[][] {
  const result = spawnSync(
    'mariadb',
    [
      `--defaults-file=${nodeFile(node, 'my.cnf')}`,
      '-uroot',
      '-N',
      '-B',
      `--connect-timeout=${Math.ceil(timeoutMs / 1000)}`,
      '-e',
      statement,
    ],
    { encoding: 'utf8', timeout: timeoutMs },
  );
  if (result.status !== 0)
    throw new ClusterError((result.stderr || result.error?.message || 'mariadb failed').trim());
  return result.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

export interface NodeState {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  /** wsrep_local_state_comment: Synced, Donor/Desynced, Joining, Joined… */
  readonly state?: string;
  /** wsrep_local_state: 4 is Synced. */
  readonly localState?: number;
  readonly ready?: boolean;
  readonly readOnly?: boolean;
  readonly clusterSize?: number;
  /** Primary, non-Primary or Disconnected. */
  readonly clusterStatus?: string;
  /** Write sets received and not yet applied: replication lag. */
  readonly recvQueue?: number;
  /** Share of time replication was paused by flow control since the last FLUSH STATUS. */
  readonly flowControlPaused?: number;
  readonly flowControlSent?: number;
  readonly lastCommitted?: number;
  readonly error?: string;
}

const STATUS_NAMES = [
  'wsrep_local_state',
  'wsrep_local_state_comment',
  'wsrep_ready',
  'wsrep_cluster_size',
  'wsrep_cluster_status',
  'wsrep_local_recv_queue',
  'wsrep_flow_control_paused',
  'wsrep_flow_control_sent',
  'wsrep_last_committed',
];

// Pids this process launched, by node directory: a joiner has no pid file until its state transfer ends.
const launched = new Map<string, number>();

/** The node's mariadbd pid while it runs. */
export function nodePid(node: Pick<ClusterNode, 'dataDir'>): number | undefined {
  const fromFile = livePid(nodeFile(node, 'mysqld.pid'));
  if (fromFile !== undefined) return fromFile;
  const pid = launched.get(node.dataDir) ?? byCommandLine(`--defaults-file=${nodeFile(node, 'my.cnf')}`);
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    launched.delete(node.dataDir);
    return undefined;
  }
}

/** A mariadbd started by another process (`persona db cluster start`) that has no pid file yet. */
function byCommandLine(argument: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.endsWith('mariadbd')) && args.includes(argument)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export function nodeState(node: ClusterNode): NodeState {
  const pid = nodePid(node);
  if (pid === undefined) return { name: node.name, running: false };
  try {
    const rows = adminQuery(
      node,
      `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_NAMES.map((n) => `'${n}'`).join(',')}); SELECT 'read_only', @@global.read_only`,
      5000,
    );
    const v = new Map(rows.map(([k = '', value = '']) => [k.toLowerCase(), value]));
    const num = (k: string) => (v.has(k) ? Number(v.get(k)) : undefined);
    return {
      name: node.name,
      running: true,
      pid,
      state: v.get('wsrep_local_state_comment'),
      localState: num('wsrep_local_state'),
      ready: v.get('wsrep_ready') === 'ON',
      readOnly: v.get('read_only') === '1',
      clusterSize: num('wsrep_cluster_size'),
      clusterStatus: v.get('wsrep_cluster_status'),
      recvQueue: num('wsrep_local_recv_queue'),
      flowControlPaused: num('wsrep_flow_control_paused'),
      flowControlSent: num('wsrep_flow_control_sent'),
      lastCommitted: num('wsrep_last_committed'),
    };
  } catch (err) {
    return { name: node.name, running: true, pid, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Synced, ready, not read-only, in the primary component: what the clustercheck calls healthy. */
export const isHealthy = (s: NodeState): boolean =>
  s.localState === 4 && s.ready === true && s.readOnly === false && s.clusterStatus === 'Primary';

export async function waitSynced(node: ClusterNode, timeoutMs = 120_000): Promise<NodeState> {
  const deadline = Date.now() + timeoutMs;
  let last: NodeState | undefined;
  for (;;) {
    last = nodeState(node);
    if (isHealthy(last)) return last;
    if (!last.running) {
      // Started but gone (a joiner writes its pid file only after the state transfer): it failed.
      const log = tail(nodeFile(node, 'error.log'));
      throw new ClusterError(`node ${node.name} stopped while starting; its error log ends:\n${log}`);
    }
    if (Date.now() > deadline)
      throw new ClusterError(
        `node ${node.name} not synced within ${timeoutMs} ms (${last.state ?? last.error ?? 'no answer'}); see ${nodeFile(node, 'error.log')}`,
      );
    await sleep(250);
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Writes the node's my.cnf and directories (owned by mysql); initialises the data directory when `install`. */
export function prepareNode(spec: ClusterSpec, node: ClusterNode, install: boolean): void {
  const { uid, gid } = mysqlIds();
  for (const sub of ['', 'data', 'tmp']) mkdirSync(join(node.dataDir, sub), { recursive: true });
  traversable(node.dataDir);
  writeFileSync(nodeFile(node, 'my.cnf'), nodeConfig(spec, node));
  chownTree(node.dataDir, uid, gid);
  if (install && !existsSync(join(node.dataDir, 'data', 'mysql'))) {
    const result = spawnSync(
      'mariadb-install-db',
      [
        `--defaults-file=${nodeFile(node, 'my.cnf')}`,
        '--user=mysql',
        '--auth-root-authentication-method=socket',
        '--skip-test-db',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (result.status !== 0)
      throw new ClusterError(`mariadb-install-db failed for ${node.name}: ${result.stderr.slice(-800)}`);
  }
}

/** Whether this node may bootstrap a new cluster: its grastate says it was the last to leave. */
export function safeToBootstrap(node: ClusterNode): boolean {
  try {
    return /safe_to_bootstrap:\s*1/.test(readFileSync(join(node.dataDir, 'data', 'grastate.dat'), 'utf8'));
  } catch {
    return false;
  }
}

const hasData = (node: ClusterNode): boolean => existsSync(join(node.dataDir, 'data', 'mysql'));

/** Starts one node's mariadbd (detached); `bootstrap` starts a new primary component with it. */
export function launchNode(spec: ClusterSpec, node: ClusterNode, bootstrap = false): number {
  if (nodePid(node) !== undefined) throw new ClusterError(`node ${node.name} is already running`);
  prepareNode(spec, node, bootstrap);
  rmSync(nodeFile(node, 'mysqld.pid'), { force: true });
  const pid = detached(
    [
      ...(node.prefix ?? []),
      'mariadbd',
      `--defaults-file=${nodeFile(node, 'my.cnf')}`,
      ...(bootstrap ? ['--wsrep-new-cluster'] : []),
    ],
    nodeFile(node, 'stdout.log'),
  );
  launched.set(node.dataDir, pid);
  return pid;
}

/** Starts a node and waits until it is synced (joining by IST, or SST when it has no usable state). */
export async function startNode(
  spec: ClusterSpec,
  node: ClusterNode,
  options: { bootstrap?: boolean; timeoutMs?: number } = {},
): Promise<NodeState> {
  launchNode(spec, node, options.bootstrap ?? false);
  return await waitSynced(node, options.timeoutMs);
}

/** Stops a node: TERM (a clean leave, so its state is kept for IST), KILL after `timeoutMs`. */
export async function stopNode(node: ClusterNode, timeoutMs = 60_000): Promise<void> {
  const pid = nodePid(node);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, timeoutMs))) {
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 10_000);
  }
}

/** kill -9: the crash of a drill. Returns the pid killed, undefined when it was not running. */
export async function killNode(node: ClusterNode): Promise<number | undefined> {
  const pid = nodePid(node);
  if (pid === undefined) return undefined;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, 10_000);
  return pid;
}

export const arbitratorPidFile = (a: Arbitrator): string => join(a.dir, 'garbd.pid');

export function startArbitrator(spec: ClusterSpec): number | undefined {
  const a = spec.arbitrator;
  if (!a) return undefined;
  mkdirSync(a.dir, { recursive: true });
  if (livePid(arbitratorPidFile(a)) !== undefined)
    throw new ClusterError(`arbitrator ${a.name} is already running`);
  const listen = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  const options = [
    `gmcast.listen_addr=tcp://${listen}`,
    ...(a.segment !== undefined ? [`gmcast.segment=${a.segment}`] : []),
    ...(spec.providerOptions ? [spec.providerOptions] : []),
  ];
  const pid = detached(
    [
      ...(a.prefix ?? []),
      'garbd',
      '--address',
      clusterAddress(spec),
      '--group',
      spec.name,
      '--name',
      a.name,
      '--options',
      options.join(';'),
    ],
    join(a.dir, 'garbd.log'),
  );
  writeFileSync(arbitratorPidFile(a), `${pid}\n`);
  return pid;
}

export async function stopArbitrator(spec: Pick<ClusterSpec, 'arbitrator'>): Promise<void> {
  if (!spec.arbitrator) return;
  const pid = livePid(arbitratorPidFile(spec.arbitrator));
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
}

export interface AccountSpec {
  /** The application's database and account (the dbwriter's and webhead's). */
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** The clustercheck's account: no grants at all (status and variables need none), socket only. */
  readonly checkUser: string;
  readonly checkPassword: string;
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Creates the database and the two accounts (idempotent), on any synced node: Galera replicates them. */
export function createAccounts(node: ClusterNode, accounts: AccountSpec): void {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(accounts.database))
    throw new ClusterError('database name: letters, digits and _ only');
  for (const u of [accounts.user, accounts.checkUser])
    if (!/^[A-Za-z0-9_]{1,32}$/.test(u)) throw new ClusterError('user names: letters, digits and _ only');
  adminQuery(
    node,
    [
      `CREATE DATABASE IF NOT EXISTS ${accounts.database}`,
      `CREATE USER IF NOT EXISTS '${accounts.user}'@'%' IDENTIFIED BY ${quote(accounts.password)}`,
      `ALTER USER '${accounts.user}'@'%' IDENTIFIED BY ${quote(accounts.password)}`,
      `GRANT ALL ON ${accounts.database}.* TO '${accounts.user}'@'%'`,
      `CREATE USER IF NOT EXISTS '${accounts.checkUser}'@'localhost' IDENTIFIED BY ${quote(accounts.checkPassword)}`,
      `ALTER USER '${accounts.checkUser}'@'localhost' IDENTIFIED BY ${quote(accounts.checkPassword)}`,
    ].join('; '),
  );
}

/**
 * Starts a cluster: the node that may bootstrap (the last to leave, else the first) starts a new primary
 * component, then the others join one at a time (IST when their state is recent, rsync SST otherwise),
 * then the arbitrator. Resolves when every node is synced. On failure, stops what it started.
 */
export async function startCluster(
  spec: ClusterSpec,
  options: { timeoutMs?: number } = {},
): Promise<NodeState[]> {
  if (spec.nodes.length === 0) throw new ClusterError('a cluster needs at least one node');
  const running = spec.nodes.filter((n) => nodePid(n) !== undefined);
  const first =
    running[0] ??
    spec.nodes.find((n) => hasData(n) && safeToBootstrap(n)) ??
    spec.nodes.find((n) => !hasData(n)) ??
    spec.nodes[0];
  if (first === undefined) throw new ClusterError('no node to start');
  if (running.length === 0 && hasData(first) && !safeToBootstrap(first) && spec.nodes.some(hasData))
    throw new ClusterError(
      'no node has safe_to_bootstrap: 1 (the cluster did not stop cleanly); see docs/runbooks/database-failover.md to pick the most advanced node',
    );
  const states: NodeState[] = [];
  try {
    if (running.length === 0) states.push(await startNode(spec, first, { bootstrap: true, ...options }));
    if (spec.arbitrator && livePid(arbitratorPidFile(spec.arbitrator)) === undefined) startArbitrator(spec);
    for (const node of spec.nodes) {
      if (node === first || nodePid(node) !== undefined) continue;
      states.push(await startNode(spec, node, options));
    }
    return states;
  } catch (err) {
    await stopCluster(spec).catch(() => undefined);
    throw err;
  }
}

/** Stops every node, last joiner first, so the first keeps safe_to_bootstrap: 1; then the arbitrator. */
export async function stopCluster(spec: Pick<ClusterSpec, 'nodes' | 'arbitrator'>): Promise<void> {
  for (const node of [...spec.nodes].reverse()) await stopNode(node);
  await stopArbitrator(spec);
}

// ---- HAProxy ---------------------------------------------------------------------------------------

/** Writes haproxy.cfg and starts Debian's haproxy (detached); returns its pid. */
export async function startHaproxy(
  options: HaproxyOptions,
  command: readonly string[] = ['/usr/sbin/haproxy'],
): Promise<number> {
  mkdirSync(options.stateDir, { recursive: true });
  const cfg = haproxyFile(options.stateDir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(options));
  const checked = spawnSync(command[0] ?? 'haproxy', [...command.slice(1), '-c', '-q', '-f', cfg], {
    encoding: 'utf8',
  });
  if (checked.status !== 0)
    throw new ClusterError(`haproxy refused its configuration: ${checked.stderr || checked.stdout}`);
  if (livePid(haproxyFile(options.stateDir, 'haproxy.pid')) !== undefined)
    throw new ClusterError('haproxy is already running');
  const pid = detached([...command, '-db', '-f', cfg], haproxyFile(options.stateDir, 'haproxy.log'));
  writeFileSync(haproxyFile(options.stateDir, 'haproxy.pid'), `${pid}\n`);
  // Ready when the stats socket answers.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await haproxyCommand(options.stateDir, 'show info');
      return pid;
    } catch {
      if (Date.now() > deadline)
        throw new ClusterError(`haproxy did not start; see ${haproxyFile(options.stateDir, 'haproxy.log')}`);
      await sleep(100);
    }
  }
}

export async function stopHaproxy(stateDir: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = livePid(haproxyFile(stateDir, 'haproxy.pid'));
  if (pid === undefined) return;
  process.kill(pid, signal);
  if (!(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
}

/** One command on HAProxy's admin socket. */
export async function haproxyCommand(stateDir: string, command: string): Promise<string> {
  const { createConnection } = await import('node:net');
  return await new Promise((resolve, reject) => {
    const socket = createConnection(haproxyFile(stateDir, 'haproxy.sock'));
    let out = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('haproxy stats socket timed out')));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      resolve(out);
    });
  });
}

export interface ProxyServerState {
  readonly listener: 'writer' | 'reader';
  readonly server: string;
  /** UP, DOWN, MAINT, `UP 1/3`… */
  readonly status: string;
  readonly backup: boolean;
  readonly sessions: number;
}

export interface ProxyState {
  readonly running: boolean;
  readonly servers: readonly ProxyServerState[];
  /** The node writes go to now: the stick table's entry, else the first healthy server in order. */
  readonly writer?: string;
}

export async function haproxyState(stateDir: string): Promise<ProxyState> {
  if (livePid(haproxyFile(stateDir, 'haproxy.pid')) === undefined) return { running: false, servers: [] };
  const csv = await haproxyCommand(stateDir, 'show stat');
  const lines = csv.split('\n').filter((l) => l !== '');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const col = (name: string) => header.indexOf(name);
  const servers: (ProxyServerState & { sid: string })[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const [pxname, svname] = [f[col('pxname')], f[col('svname')]];
    if (
      (pxname !== 'writer' && pxname !== 'reader') ||
      svname === 'FRONTEND' ||
      svname === 'BACKEND' ||
      svname === undefined
    )
      continue;
    servers.push({
      listener: pxname,
      server: svname,
      status: f[col('status')] ?? '',
      backup: f[col('bck')] === '1',
      sessions: Number(f[col('scur')] ?? 0),
      sid: f[col('sid')] ?? '',
    });
  }
  const table = await haproxyCommand(stateDir, 'show table writer');
  const stuck = /server_id=(\d+)/.exec(table)?.[1];
  const writers = servers.filter((s) => s.listener === 'writer');
  const up = (s: ProxyServerState) => s.status.startsWith('UP');
  const fromTable = writers.find((s) => s.sid === stuck && up(s));
  const writer = fromTable ?? writers.find((s) => !s.backup && up(s)) ?? writers.find(up);
  return {
    running: true,
    servers: servers.map(({ sid: _sid, ...s }) => s),
    ...(writer ? { writer: writer.server } : {}),
  };
}
