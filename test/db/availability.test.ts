/**
 * Failure behaviour (SPEC §4.5, §5; reference/persona.md §5.5): a per-query time limit, one
 * `database unavailable` error for every way the database can fail to answer, recovery from lost
 * connections without a restart, and transactions repeated on deadlock.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { sql } from 'kysely';
import {
  DatabaseUnavailableError,
  connectionOf,
  databaseSettings,
  openReader,
  openWriter,
  type Reader,
  type Writer,
} from '../../src/db/write.ts';
import { transact } from '../../src/db/transaction.ts';
import { HASH, MARIADB, address, forEachEngine, mariadbAnswers } from './harness.ts';

const unavailable =
  (reason?: DatabaseUnavailableError['reason']) =>
  (err: unknown): boolean => {
    assert.ok(
      err instanceof DatabaseUnavailableError,
      `expected DatabaseUnavailableError, got ${String(err)}`,
    );
    assert.equal(err.code, 'database-unavailable');
    assert.equal(err.message, 'database unavailable');
    if (reason !== undefined) assert.equal(err.reason, reason);
    return true;
  };

/** Every message in an error's cause chain, to check none carries a password. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(e.message, e.stack ?? '');
  return out.join('\n');
}

async function elapsed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work().catch(() => undefined);
  return performance.now() - start;
}

test('a database that cannot be reached is unavailable, fast, and no password leaks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-db-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const blocker = join(dir, 'a-file');
  writeFileSync(blocker, '');
  const cases = [
    // The directory cannot be created (a file is in the way).
    `sqlite:${join(blocker, 'db.sqlite')}`,
    // Nothing listens on port 1.
    'mysql://persona:hunter2-secret@127.0.0.1:1/persona',
  ];
  if (await mariadbAnswers())
    // The server answers, but refuses these credentials.
    cases.push(`mysql://persona_nobody:hunter2-secret@${MARIADB.host}:${MARIADB.port}/persona`);
  for (const url of cases) {
    const settings = databaseSettings({ url, queryTimeoutMs: 2000 });
    const writer = openWriter(settings);
    const reader = openReader(settings);
    for (const attempt of [
      () => writer.stageUser(address(), HASH),
      () => reader.emailToUID(address()),
      () => writer.ping(),
    ]) {
      const start = performance.now();
      const err: unknown = await attempt().then(
        () => assert.fail(`${url} answered`),
        (e: unknown) => e,
      );
      assert.ok(unavailable()(err));
      assert.ok(performance.now() - start < 2500, url);
      assert.doesNotMatch(messages(err), /hunter2/);
    }
    await Promise.all([writer.close(), reader.close()]);
  }
});

await forEachEngine('availability', (db, engine) => {
  let writer: Writer;
  let reader: Reader;

  before(async () => {
    ({ writer, reader } = await db().open());
  });

  test('a query waiting on a lock gives up at the time limit with database unavailable', async () => {
    const { writer: quick, reader: quickReader } = await db().open({ queryTimeoutMs: 300 });
    const email = address();
    const { userId } = await writer.completeCreateUser(await writer.stageUser(email, HASH));
    // Another client holds the lock a write needs.
    await db().exec(engine === 'sqlite' ? 'BEGIN IMMEDIATE' : 'START TRANSACTION');
    if (engine === 'mariadb') await db().exec('SELECT id FROM user WHERE id = ? FOR UPDATE', [userId]);
    try {
      let caught: unknown;
      const took = await elapsed(() =>
        quick.incAuthFailures(userId).catch((err: unknown) => {
          caught = err;
          throw err;
        }),
      );
      assert.ok(unavailable(engine === 'sqlite' ? 'busy' : 'timeout')(caught));
      assert.ok(took >= 250 && took < 2000, `gave up after ${Math.round(took)} ms`);
      // Readers do not wait for writers (SQLite WAL, InnoDB MVCC).
      assert.equal(await quickReader.emailToUID(email), userId);
    } finally {
      await db().exec(engine === 'sqlite' ? 'COMMIT' : 'ROLLBACK');
    }
    // The same handle works again at once.
    await quick.incAuthFailures(userId);
    assert.equal((await reader.checkAuth(userId))?.failedAuthTries, 1);
  });

  if (engine === 'mariadb') {
    test('a read blocked by a table lock gives up at the time limit, then the pool recovers', async () => {
      const { reader: quick } = await db().open({ queryTimeoutMs: 300 });
      await quick.ping();
      await db().exec('LOCK TABLES email WRITE');
      try {
        let caught: unknown;
        const took = await elapsed(() =>
          quick.emailKnown(address()).catch((err: unknown) => {
            caught = err;
            throw err;
          }),
        );
        assert.ok(unavailable('timeout')(caught));
        assert.ok(took < 2000, `gave up after ${Math.round(took)} ms`);
      } finally {
        await db().exec('UNLOCK TABLES');
      }
      assert.equal(await quick.emailKnown(address()), false);
    });

    test('a statement running past the limit is stopped on the server', async () => {
      const { reader: quick } = await db().open({ queryTimeoutMs: 300 });
      const kysely = connectionOf(quick);
      const start = performance.now();
      await assert.rejects(sql`SELECT SLEEP(5)`.execute(kysely), { errno: 1969 }); // max_statement_time
      assert.ok(performance.now() - start < 1500);
      await quick.ping();
    });

    test(
      'a server that stops answering (network black hole) is given up on; then a fresh connection works',
      { timeout: 10_000 },
      async (t) => {
        // A TCP relay to MariaDB that can silently drop everything, as a dead link does: no FIN, no RST.
        let blackHole = false;
        const sockets = new Set<Socket>();
        const relay = createServer((client) => {
          const upstream = connect(MARIADB.port, MARIADB.host);
          for (const [from, to] of [
            [client, upstream],
            [upstream, client],
          ] as const) {
            sockets.add(from);
            from.on('data', (chunk) => {
              if (!blackHole) to.write(chunk);
            });
            from.on('error', () => to.destroy());
            from.on('close', () => to.destroy());
          }
        });
        await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
        t.after(() => {
          for (const socket of sockets) socket.destroy();
          relay.close();
        });
        const port = (relay.address() as AddressInfo).port;
        const url = db().url.replace(`:${MARIADB.port}/`, `:${port}/`);
        const quick = openReader(databaseSettings({ url, queryTimeoutMs: 300 }));
        t.after(() => quick.close());
        await quick.ping();
        blackHole = true;
        let caught: unknown;
        const took = await elapsed(() =>
          quick.emailKnown(address()).catch((err: unknown) => {
            caught = err;
            throw err;
          }),
        );
        assert.ok(unavailable('timeout')(caught));
        assert.ok(took < 1500, `gave up after ${Math.round(took)} ms`);
        blackHole = false;
        assert.equal(
          await quick.emailKnown(address()),
          false,
          'the dead connection was discarded, not reused',
        );
      },
    );

    test(
      'a transaction whose connection is killed before COMMIT is repeated on a fresh one',
      { timeout: 10_000 },
      async () => {
        const email = address();
        const { userId } = await writer.completeCreateUser(await writer.stageUser(email, HASH));
        let killed = false;
        const retries: unknown[] = [];
        await transact(
          connectionOf(writer),
          async (trx) => {
            await trx
              .updateTable('user')
              .set((eb) => ({ failedAuthTries: eb('failedAuthTries', '+', 1) }))
              .where('id', '=', userId)
              .execute();
            if (!killed) {
              killed = true;
              const { rows } = await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(trx);
              await db().exec(`KILL CONNECTION ${Number(rows[0]?.id)}`);
            }
            await trx.updateTable('user').set({ passwd: HASH }).where('id', '=', userId).execute();
          },
          { onRetry: (err) => retries.push(err) },
        );
        assert.equal(retries.length, 1);
        // The killed attempt was rolled back by the server; only the repeat counted.
        assert.equal((await reader.checkAuth(userId))?.failedAuthTries, 1);
      },
    );

    test(
      'connections killed on the server are replaced: the next queries just work',
      { timeout: 10_000 },
      async () => {
        const email = address();
        const { userId } = await writer.completeCreateUser(await writer.stageUser(email, HASH));
        // Several pooled connections on each handle.
        await Promise.all(Array.from({ length: 6 }, () => reader.emailToUID(email)));
        await Promise.all(Array.from({ length: 3 }, () => writer.incAuthFailures(userId)));
        const ours = await db().exec(
          'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
        );
        assert.ok(ours.length >= 2, `expected pooled connections, found ${ours.length}`);
        for (const { id } of ours) await db().exec(`KILL CONNECTION ${Number(id)}`);
        // No pause, no restart: reads, writes and transactions carry on.
        assert.equal(await reader.emailToUID(email), userId);
        await writer.incAuthFailures(userId);
        assert.equal((await writer.checkAuth(userId))?.failedAuthTries, 4);
        const results = await Promise.all(Array.from({ length: 6 }, () => reader.emailKnown(email)));
        assert.deepEqual(results, Array(6).fill(true));
        const left = await db().exec(
          'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
        );
        assert.ok(Number(left[0]?.n) >= 1, 'new connections replaced the killed ones');
      },
    );

    test('a deadlock victim is rolled back and repeated until both transactions commit', async () => {
      const { writer: other } = await db().open();
      const [a, b] = [`a-${Date.now()}.example`, `b-${Date.now()}.example`];
      await writer.updateIDPLastSeen(a);
      await writer.updateIDPLastSeen(b);
      // Each transaction locks one row, waits until the other has locked the other row, then takes it.
      let arrived = 0;
      let release: () => void = () => undefined;
      const bothLocked = new Promise<void>((resolve) => (release = resolve));
      const arrive = async () => {
        if (++arrived === 2) release();
        await bothLocked;
      };
      const retries: unknown[] = [];
      const crossing = (first: string, second: string, kysely: ReturnType<typeof connectionOf>) => {
        let firstAttempt = true;
        return transact(
          kysely,
          async (trx) => {
            await trx
              .updateTable('idp')
              .set({ id: sql`id` })
              .where('domain', '=', first)
              .execute();
            if (firstAttempt) {
              firstAttempt = false;
              await arrive();
            }
            await trx
              .updateTable('idp')
              .set({ id: sql`id` })
              .where('domain', '=', second)
              .execute();
            return first;
          },
          { onRetry: (err) => retries.push(err) },
        );
      };
      const done = await Promise.all([
        crossing(a, b, connectionOf(writer)),
        crossing(b, a, connectionOf(other)),
      ]);
      assert.deepEqual(done, [a, b]);
      assert.equal(retries.length, 1, 'exactly one victim, repeated once');
      assert.equal((retries[0] as { errno?: number }).errno, 1213);
    });
  }
});
