/**
 * The Galera cluster (issue 14, docs/database-ha.md) on this machine: three nodes run as mysql, their
 * clustercheck endpoints and HAProxy. Real behaviour only: the check follows a node's state, a COMMIT
 * lost on the wire is answered 503 (not repeated) unless the write is idempotent, and the short drill
 * kills the writer with -9 under write load through the stack, then proves that every acknowledged
 * account signs in, that no read was stale, and that a deliberately lost account is reported.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { missing, onPath } from '../helpers/components.ts';
import {
  GALERA_PROVIDER,
  adminQuery,
  haproxyConfig,
  haproxyState,
  startLocalCluster,
  type LocalCluster,
} from '../../src/db/cluster/index.ts';
import { sql } from 'kysely';
import { connect as connectDatabase } from '../../src/db/connection.ts';
import { transact } from '../../src/db/transaction.ts';
import {
  DatabaseUnavailableError,
  databaseSettings,
  migrateToLatest,
  openWriter,
  parseDatabaseUrl,
} from '../../src/db/write.ts';
import { formatDrillReport, freeClusterLayout, runDatabaseDrill } from '../../src/drill/database.ts';
import { clusterNodes } from '../../src/topology/database.ts';
import { HASH, OTHER_HASH, address } from '../db/harness.ts';

const skip = await missing({
  name: 'MariaDB Galera with HAProxy and rsync, run as root (the nodes run as mysql)',
  install: 'apt-get install mariadb-server galera-4 haproxy rsync (see .ci/run), and run the suite as root',
  present: () =>
    onPath('mariadbd') &&
    onPath('rsync') &&
    existsSync(GALERA_PROVIDER) &&
    existsSync('/usr/sbin/haproxy') &&
    process.getuid?.() === 0,
});

test(
  'the generated HAProxy configuration: one active writer, the others backup, no fail-back; haproxy -c accepts it',
  { skip },
  async () => {
    const layout = await freeClusterLayout();
    const dir = mkdtempSync(join(tmpdir(), 'persona-haproxy-cfg-'));
    try {
      const text = haproxyConfig({
        nodes: clusterNodes(layout),
        host: '127.0.0.1',
        writerPort: layout.portBase,
        readerPort: layout.portBase + 10,
        stateDir: dir,
      });
      const writer = text.slice(text.indexOf('listen writer'), text.indexOf('listen reader'));
      assert.equal((writer.match(/^ {2}server .* backup$/gm) ?? []).length, 2);
      assert.match(writer, /^ {2}server n1 [^\n]*check port \d+$/m);
      // A full one-entry table is never replaced (nopurge), which would send writes back to a recovered n1.
      assert.match(writer, /stick-table type ip size 1\n {2}stick on dst/);
      assert.doesNotMatch(writer, /nopurge/);
      writeFileSync(join(dir, 'haproxy.cfg'), text);
      const checked = spawnSync('/usr/sbin/haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], {
        encoding: 'utf8',
      });
      assert.equal(checked.status, 0, checked.stderr);
      writeFileSync(join(dir, 'broken.cfg'), text.replace('stick on dst', 'stick on nonsense'));
      assert.notEqual(spawnSync('/usr/sbin/haproxy', ['-c', '-f', join(dir, 'broken.cfg')]).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** A TCP relay to HAProxy's writer that can cut the connection when the client sends COMMIT. */
function commitCutter(
  port: number,
): Promise<{ server: Server; port: number; cut: number; commits: number; arm(n: number): void }> {
  const sockets = new Set<Socket>();
  const state = { armed: 0, cut: 0, commits: 0 };
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      // A COM_QUERY packet: 3-byte length, sequence, 0x03, then the statement.
      if (chunk[4] === 0x03 && /^commit/i.test(chunk.subarray(5).toString('latin1'))) {
        state.commits++;
        if (state.armed > 0) {
          state.armed--;
          state.cut++;
          client.destroy();
          upstream.destroy();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        get cut() {
          return state.cut;
        },
        get commits() {
          return state.commits;
        },
        arm(n: number) {
          state.armed = n;
        },
      });
    });
  });
}

describe('a Galera cluster behind HAProxy', { skip }, () => {
  let cluster: LocalCluster | undefined;
  let dir = '';
  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'persona-galera-test-'));
      cluster = await startLocalCluster(dir, await freeClusterLayout());
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const the = () => {
    assert.ok(cluster);
    return cluster;
  };

  test(
    'the clustercheck answers 200 only while its node is synced; HAProxy follows it',
    { timeout: 120_000 },
    async () => {
      const c = the();
      const [n1, n2] = c.spec.nodes;
      assert.ok(n1 && n2);
      const check = async () => {
        const res = await fetch(`http://${n2.host}:${n2.ports.check}/`);
        return { status: res.status, text: (await res.text()).trim() };
      };
      assert.deepEqual(await check(), { status: 200, text: 'Synced' });
      adminQuery(n2, 'SET GLOBAL wsrep_desync = ON');
      try {
        const desynced = await check();
        assert.equal(desynced.status, 503);
        assert.match(desynced.text, /not synced \(wsrep_local_state 2\)/);
        const deadline = Date.now() + 30_000;
        while (
          (await haproxyState(c.proxy.stateDir)).servers.some(
            (s) => s.server === 'n2' && s.status.startsWith('UP'),
          )
        ) {
          assert.ok(Date.now() < deadline, 'HAProxy still sends to a desynced node');
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        adminQuery(n2, 'SET GLOBAL wsrep_desync = OFF');
      }
      assert.deepEqual(await check(), { status: 200, text: 'Synced' });
      adminQuery(n1, 'SET GLOBAL read_only = ON');
      try {
        assert.deepEqual((await fetch(`http://${n1.host}:${n1.ports.check}/`)).status, 503);
      } finally {
        adminQuery(n1, 'SET GLOBAL read_only = OFF');
      }
    },
  );

  test(
    'a connection lost at COMMIT: a sign-up is answered database unavailable, never repeated nor half-applied; a password change (idempotent) is repeated',
    { timeout: 120_000 },
    async () => {
      const c = the();
      const writerUrl = new URL(c.urls.writer);
      const relay = await commitCutter(Number(writerUrl.port));
      const url = new URL(c.urls.writer);
      url.port = String(relay.port);
      const settings = databaseSettings({ url: url.toString() });
      await migrateToLatest(settings.write);
      const writer = openWriter(settings);
      try {
        const email = address();
        const token = await writer.stageUser(email, HASH);
        const { userId } = await writer.completeCreateUser(token);

        relay.arm(1);
        const other = address();
        const err: unknown = await writer.stageUser(other, HASH).then(
          () => assert.fail('the sign-up answered although its COMMIT was cut'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof DatabaseUnavailableError, String(err));
        assert.equal(relay.cut, 1);
        const commitsAfterCut = relay.commits;
        // Rolled back as a whole: no staged address, and the cut COMMIT was not sent again.
        assert.equal(await writer.emailKnown(other), false);
        assert.equal(await writer.isStaged(other), false);
        assert.equal(relay.commits, commitsAfterCut);

        relay.arm(1);
        await writer.updatePassword(userId, OTHER_HASH, false);
        assert.equal(relay.cut, 2);
        assert.equal((await writer.checkAuth(userId))?.hash, OTHER_HASH);
      } finally {
        await writer.close();
        relay.server.close();
      }
    },
  );

  test(
    'two nodes write one row at once: the loser fails certification (1213) at COMMIT and its transaction is repeated',
    { timeout: 120_000 },
    async () => {
      const c = the();
      const [n1, n2] = c.spec.nodes;
      assert.ok(n1 && n2);
      adminQuery(
        n1,
        `CREATE TABLE IF NOT EXISTS ${c.accounts.database}.certification_probe (id INT PRIMARY KEY, n INT NOT NULL)`,
      );
      adminQuery(n1, `REPLACE INTO ${c.accounts.database}.certification_probe VALUES (1, 0)`);
      // Straight to two nodes, past HAProxy: the multi-writer case one writer at a time avoids.
      const direct = (port: number) => {
        const url = new URL(c.urls.writer);
        url.port = String(port);
        url.search = '';
        return connectDatabase(parseDatabaseUrl(url.toString()), 'write', 5000);
      };
      const [a, b] = [direct(n1.ports.client), direct(n2.ports.client)];
      try {
        let updated = 0;
        let release: () => void = () => undefined;
        const bothUpdated = new Promise<void>((resolve) => (release = resolve));
        const retries: unknown[] = [];
        const increment = (db: typeof a.db) =>
          transact(
            db,
            async (trx) => {
              await sql`UPDATE certification_probe SET n = n + 1 WHERE id = 1`.execute(trx);
              // The first attempts both hold their change before either commits.
              if (++updated === 2) release();
              if (updated <= 2) await bothUpdated;
            },
            { onRetry: (err) => retries.push(err) },
          );
        await Promise.all([increment(a.db), increment(b.db)]);
        assert.ok(retries.length >= 1, 'neither transaction was refused');
        assert.ok(
          retries.every((err) => (err as { errno?: number }).errno === 1213),
          String(retries[0]),
        );
        const [row] = adminQuery(n2, `SELECT n FROM ${c.accounts.database}.certification_probe WHERE id = 1`);
        assert.deepEqual(row, ['2'], 'both increments landed, once each');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    },
  );

  test(
    'the short drill: kill -9 the writer under write load; no acknowledged write lost, no stale read, and a deliberate loss is reported',
    { timeout: 300_000 },
    async () => {
      const report = await runDatabaseDrill({
        mode: 'short',
        workers: 8,
        proveDetection: true,
        cluster: the(),
        log: (line) => process.stderr.write(`drill: ${line}\n`),
      });
      process.stderr.write(formatDrillReport(report));
      assert.ok(report.tally.acknowledged >= 150, `only ${report.tally.acknowledged} acknowledged writes`);
      assert.deepEqual(report.verification.lost, []);
      assert.equal(report.verification.unchecked, 0);
      assert.equal(report.tally.staleReads, 0);
      const [kill] = report.faults;
      assert.ok(kill?.recoverySeconds !== undefined, 'writes succeeded again after the kill');
      // No fail-back: the killed writer rejoined, healthy, and writes stayed where they had moved.
      const killed = /kill -9 (n\d)/.exec(kill.fault)?.[1];
      const url = new URL(the().urls.writer);
      const probe = await mysql.createConnection({
        host: url.hostname,
        port: Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      });
      try {
        const [rows] = await probe.query('SELECT @@wsrep_node_name AS node');
        const node = (rows as { node: string }[])[0]?.node;
        assert.ok(killed !== undefined && node !== undefined);
        assert.notEqual(node, killed, `writes went back to ${killed}`);
        assert.equal((await haproxyState(the().proxy.stateDir)).writer, node);
      } finally {
        await probe.end();
      }
      // The drill can fail: one account deleted behind its back is counted as lost.
      assert.ok(report.detection);
      assert.deepEqual(report.detection.reported, [report.detection.deleted]);
    },
  );
});
