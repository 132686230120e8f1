/**
 * A tier dies: with the keysigner killed, cert_key fails cleanly (503, no 500), the router's deep heartbeat
 * names the keysigner, and once the supervisor has restarted it, certificates flow again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { jwcrypto } from '../helpers/jwcrypto.ts';
import { signUp } from '../helpers/flows.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

let smtp: SmtpSink;
let stack: Stack;

before(async () => {
  smtp = await startSmtpSink();
  stack = await startStack({ env: { PERSONA_SMTP_URL: smtp.url }, restartDelayMs: 3000 });
});
after(async () => {
  await stack.stop();
  await smtp.close();
});

test('keysigner killed → cert_key 503, deep heartbeat names it; after its restart certificates flow again', async () => {
  const email = 'erin@example.com';
  const b = await signUp(stack.base, smtp, email);
  const pubkey = (await jwcrypto.generateKeypair('DS128')).publicKey.serialize();
  const certKey = () => b.post('/wsapi/cert_key', { email, pubkey, ephemeral: false });
  assert.equal((await certKey()).status, 200);

  const pid = stack.supervisor.pid('keysigner');
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));

  const failed = await certKey();
  assert.equal(failed.status, 503, failed.text);
  assert.equal(failed.text, 'Service Unavailable: keysigner unavailable');
  const deep = await request(`${stack.base}/__heartbeat__?deep`);
  assert.equal(deep.statusCode, 500);
  assert.match(await deep.body.text(), /webhead: .*keysigner/);
  const shallow = await request(`${stack.base}/__heartbeat__`);
  assert.equal(shallow.statusCode, 200, 'the router itself is fine');
  await shallow.body.dump();

  let recovered = await certKey();
  for (let i = 0; i < 60 && recovered.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    recovered = await certKey();
  }
  assert.equal(recovered.status, 200, recovered.text);
  assert.equal(stack.supervisor.restarts('keysigner'), 1);
  assert.notEqual(stack.supervisor.pid('keysigner'), pid);
});
