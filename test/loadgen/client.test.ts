// The loadgen's simulated browser meets a 503 as the dialog does: a wsapi call is tried again after the
// dialog's waits, and the request's latency includes them; the drills' devices and non-wsapi requests
// (a site's /verify, a page, include.js) are not retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Agent } from 'undici';
import * as dialog from '../../src/browser/wsapi.ts';
import {
  Device,
  MAX_RETRY_AFTER_MS,
  RETRY_DELAYS_MS,
  retryDelayMs,
  type RequestSample,
} from '../../src/loadgen/client.ts';

test("the loadgen's retry policy is the dialog's", () => {
  assert.deepEqual([...RETRY_DELAYS_MS], dialog.RETRY_DELAYS_MS);
  assert.equal(MAX_RETRY_AFTER_MS, dialog.MAX_RETRY_AFTER_MS);
  const even = () => 0.5; // no jitter
  assert.equal(retryDelayMs(0, undefined, even), 500);
  assert.equal(retryDelayMs(1, undefined, even), 1500);
  assert.equal(retryDelayMs(0, '2', even), 2000, 'a longer Retry-After is waited for');
  assert.equal(retryDelayMs(2, '2', even), 3000);
  assert.equal(retryDelayMs(3, undefined, even), undefined, 'three retries, then the person decides');
  assert.equal(retryDelayMs(0, '10', even), undefined, 'a Retry-After over 5 s is not waited for');
  assert.equal(retryDelayMs(0, 'soon', even), 500, 'an unreadable Retry-After counts for nothing');
  assert.equal(
    retryDelayMs(0, undefined, () => 0),
    375,
    'jitter down to 75 %',
  );
});

/** A server that answers 503 to the first `refusals` requests on each path, then 200 with a cookie. */
async function shedding(
  refusals: number,
): Promise<{ base: string; server: Server; asked: Map<string, number> }> {
  const asked = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    const path = req.url ?? '/';
    const n = (asked.get(path) ?? 0) + 1;
    asked.set(path, n);
    if (n <= refusals) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('server is too busy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'browserid_state=s1; Path=/' });
    res.end(JSON.stringify({ success: true, csrf_token: 't' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return { base: `http://127.0.0.1:${address.port}`, server, asked };
}

function device(base: string, retryBusy: boolean) {
  const samples: RequestSample[] = [];
  const dispatcher = new Agent();
  const d = new Device({ base, dispatcher, observe: (s) => samples.push(s), retryBusy });
  return { d, samples, close: () => dispatcher.close() };
}

test('a wsapi call shed twice is answered on the third try; one sample, its wait in the latency', async () => {
  const { base, server, asked } = await shedding(2);
  const { d, samples, close } = device(base, true);
  try {
    const answer = await d.post('stage_user', { email: 'a@b.example' });
    assert.equal(answer.status, 200);
    assert.equal(asked.get('/wsapi/stage_user'), 3);
    const post = samples.find((s) => s.what === 'POST /wsapi/stage_user');
    assert.ok(post);
    assert.equal(post.status, 200);
    assert.equal(post.refusals, 2);
    // 500 and 1500 ms, each at least 75 %
    assert.ok(post.ms >= 0.75 * 2000, `latency ${post.ms} ms leaves out the waits`);
    assert.equal(d.cookies.get('browserid_state'), 's1');
  } finally {
    await close();
    server.close();
  }
});

test('not retried: the drills’ devices, and what is not the wsapi (a site’s /verify, a page)', async () => {
  const { base, server, asked } = await shedding(1);
  const drill = device(base, false);
  const loadgen = device(base, true);
  try {
    const refused = await drill.d.send('GET', '/wsapi/session_context');
    assert.equal(refused.status, 503);
    assert.deepEqual(
      drill.samples.map((s) => [s.status, s.refusals]),
      [[503, 1]],
    );
    const verify = await loadgen.d.send(
      'POST',
      '/verify',
      'assertion=x',
      'application/x-www-form-urlencoded',
    );
    assert.equal(verify.status, 503);
    assert.equal(asked.get('/verify'), 1);
    await assert.rejects(loadgen.d.get('/verify_email_address?token=x'), /→ 503/);
    assert.equal(asked.get('/verify_email_address?token=x'), 1);
  } finally {
    await drill.close();
    await loadgen.close();
    server.close();
  }
});

test('shed on every try: the final 503 fails the call after three retries, every refusal counted', async () => {
  const { base, server, asked } = await shedding(100);
  const { d, samples, close } = device(base, true);
  try {
    await assert.rejects(d.get('/wsapi/list_emails'), /GET \/wsapi\/list_emails → 503/);
    assert.equal(asked.get('/wsapi/list_emails'), 4);
    assert.deepEqual(
      samples.map((s) => [s.status, s.refusals]),
      [[503, 4]],
    );
  } finally {
    await close();
    server.close();
  }
});
