/**
 * The clustercheck endpoint HAProxy asks about each node (the well-known `clustercheck` pattern, SPEC §5):
 * `GET /` answers 200 only when the node is Synced (wsrep_local_state = 4), ready (wsrep_ready = ON), in
 * the primary component and not read-only; 503 with the reason otherwise, or when the node does not
 * answer within the time limit. It connects through the node's Unix socket with an account that has no
 * grants at all, and keeps one connection, replaced when it breaks.
 */
import { createServer, type Server } from 'node:http';
import mysql from 'mysql2';

export interface ClusterCheckOptions {
  readonly socketPath: string;
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  /** Per query; default 2000 ms. */
  readonly timeoutMs?: number;
}

export interface ClusterCheck {
  readonly server: Server;
  /** The verdict now (what GET / answers). */
  verdict(): Promise<{ healthy: boolean; reason: string }>;
  close(): Promise<void>;
}

const STATUS = `SELECT
  (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE') AS state,
  (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY') AS ready,
  (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_STATUS') AS status,
  @@global.read_only AS readOnly`;

interface Row {
  state: string | null;
  ready: string | null;
  status: string | null;
  readOnly: number | string;
}

export function judge(row: Row | undefined): { healthy: boolean; reason: string } {
  if (row === undefined) return { healthy: false, reason: 'no status' };
  if (row.status !== 'Primary')
    return { healthy: false, reason: `not in the primary component (${row.status ?? 'none'})` };
  if (row.state !== '4')
    return { healthy: false, reason: `not synced (wsrep_local_state ${row.state ?? 'none'})` };
  if (row.ready !== 'ON') return { healthy: false, reason: 'not ready (wsrep_ready OFF)' };
  if (Number(row.readOnly) !== 0) return { healthy: false, reason: 'read-only' };
  return { healthy: true, reason: 'Synced' };
}

export async function startClusterCheck(options: ClusterCheckOptions): Promise<ClusterCheck> {
  const timeoutMs = options.timeoutMs ?? 2000;
  let connection: mysql.Connection | undefined;
  const open = (): mysql.Connection => {
    const c = mysql.createConnection({
      socketPath: options.socketPath,
      user: options.user,
      password: options.password,
      connectTimeout: timeoutMs,
    });
    c.on('error', () => {
      if (connection === c) connection = undefined;
    });
    return c;
  };
  const verdict = (): Promise<{ healthy: boolean; reason: string }> =>
    new Promise((resolve) => {
      connection ??= open();
      const c = connection;
      c.query({ sql: STATUS, timeout: timeoutMs }, (err, rows) => {
        if (err) {
          if (connection === c) connection = undefined;
          c.destroy();
          resolve({ healthy: false, reason: `no answer (${(err as { code?: string }).code ?? 'error'})` });
          return;
        }
        resolve(judge((rows as Row[])[0]));
      });
    });
  const server = createServer((req, res) => {
    verdict().then(
      ({ healthy, reason }) => {
        res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain', connection: 'close' });
        res.end(`${reason}\n`);
      },
      () => {
        res.writeHead(503).end('error\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    verdict,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      connection?.destroy();
      connection = undefined;
    },
  };
}
