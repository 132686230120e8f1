/**
 * The same service on MariaDB (a throwaway database on 127.0.0.1:3306, reached through a relay the test can
 * cut): the sign-up to /verify flow, then the database stopping under the tiers — 503 `database
 * unavailable`, the deep heartbeat naming it, nothing half-written — and recovery without a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { request } from 'undici';
import { browser } from '../helpers/browser.ts';
import { missing } from '../helpers/components.ts';
import { assertionFor, RP, signUp, verifyRemotely, verifyWithMozilla } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const MARIADB = {
  host: '127.0.0.1',
  port: Number(process.env.PERSONA_TEST_MARIADB_PORT ?? 3306),
  user: 'root',
  password: '',
};

const skip = await missing({
  name: `MariaDB on ${MARIADB.host}:${MARIADB.port} (root, no password)`,
  install: 'apt-get install mariadb-server, then start it (see .ci/run)',
  present: () =>
    mysql
      .createConnection({ ...MARIADB, connectTimeout: 2000 })
      .then(async (c) => {
        await c.end();
        return true;
      })
      .catch(() => false),
});

const name = `persona_e2e_${randomBytes(5).toString('hex')}`;
let admin: mysql.Connection;
let relay: TcpProxy;
let smtp: SmtpSink;
let stack: Stack;

before(async () => {
  if (skip) return;
  admin = await mysql.createConnection(MARIADB);
  await admin.query(`CREATE DATABASE ${name}`);
  relay = await startTcpProxy(MARIADB.host, MARIADB.port);
  smtp = await startSmtpSink();
  stack = await startStack({
    env: {
      PERSONA_SMTP_URL: smtp.url,
      PERSONA_DATABASE_URL: `mysql://root@127.0.0.1:${relay.port}/${name}`,
      PERSONA_DATABASE_QUERY_TIMEOUT_MS: '1500',
    },
  });
});

after(async () => {
  if (skip) return;
  await stack.stop();
  await smtp.close();
  await relay.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.end();
});

test(
  'on MariaDB: sign up → completion → cert_key → /verify okay, accepted by Mozilla local-verify',
  { skip },
  async () => {
    const email = 'carol@example.com';
    const b = await signUp(stack.base, smtp, email);
    const { backed } = await assertionFor(b, email);
    const verified = await verifyRemotely(stack.base, backed);
    assert.equal(verified.status, 'okay', JSON.stringify(verified));
    assert.equal(verified.email, email);
    assert.equal((await verifyWithMozilla(stack.base, backed, '127.0.0.1')).email, email);
    const [rows] = await admin.query(`SELECT address, verified FROM ${name}.email WHERE address = ?`, [
      email,
    ]);
    assert.deepEqual(rows, [{ address: email, verified: 1 }]);
  },
);

test(
  'the database stops: 503 database unavailable, the deep heartbeat says so, nothing half-written; it recovers',
  { skip },
  async () => {
    const email = 'dave@example.com';
    const b = browser(stack.base);
    await b.sessionContext();
    relay.cut();
    try {
      const staged = await b.post('/wsapi/stage_user', { email, pass: 'correct horse battery', site: RP });
      assert.equal(staged.status, 503, staged.text);
      assert.equal(staged.text, 'Service Unavailable: database unavailable');
      const known = await b.get('/wsapi/have_email', { email });
      assert.equal(known.status, 503);
      const deep = await request(`${stack.base}/__heartbeat__?deep`);
      assert.equal(deep.statusCode, 500);
      assert.match(await deep.body.text(), /database/);
    } finally {
      relay.restore();
    }
    const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM ${name}.staged WHERE email = ?`, [email]);
    assert.deepEqual(rows, [{ n: 0 }], 'the refused staging left no row');
    assert.equal(smtp.messages.filter((m) => m.text?.includes(email)).length, 0, 'and sent no mail');

    // No restart: the next requests find the database again.
    let answer = await b.get('/wsapi/have_email', { email });
    for (let i = 0; i < 20 && answer.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      answer = await b.get('/wsapi/have_email', { email });
    }
    assert.deepEqual(answer.json(), { email_known: false });
    const staged = await b.post('/wsapi/stage_user', { email, pass: 'correct horse battery', site: RP });
    assert.deepEqual(staged.json(), { success: true });
  },
);
