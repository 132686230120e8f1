/**
 * Bad input everywhere: for every wsapi op and /verify, a few hundred malformed, oversized, wrongly typed and
 * random bodies and queries. Each gets a 4xx with a reason (or a deliberate 503), never another 5xx; no
 * process dies; and the tiers' memory stays flat.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { argNames, operations, type Operation } from '../../src/wsapi/catalogue.ts';
import { browser } from '../helpers/browser.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.stop();
});

// A seeded generator, so a failure can be replayed.
let seed = Number(process.env.PERSONA_FUZZ_SEED ?? 20261127);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const garbageString = (max: number) => {
  const alphabet = 'aZ09@.~-_=+/ %\u00e9\u4e2d\u0000\ud83d\ude00"\'<>{}[]\\';
  let s = '';
  const n = Math.floor(random() * max);
  for (let i = 0; i < n; i++) s += alphabet.charAt(Math.floor(random() * alphabet.length));
  return s;
};
const garbageValue = (depth = 0): unknown =>
  pick<() => unknown>([
    () => garbageString(40),
    () => Math.floor(random() * 1e9) - 5e8,
    () => random() < 0.5,
    () => null,
    () => (depth > 2 ? 'x' : Array.from({ length: Math.floor(random() * 4) }, () => garbageValue(depth + 1))),
    () =>
      depth > 2
        ? 1
        : Object.fromEntries(
            Array.from({ length: Math.floor(random() * 4) }, () => [
              garbageString(8),
              garbageValue(depth + 1),
            ]),
          ),
    () => 'a@example.com',
    () => 'x'.repeat(300),
  ])();

function bodiesFor(op: Operation, csrf: string): { type: string; body: string }[] {
  const names = [...argNames(op), 'csrf', '__proto__', 'constructor'];
  const out: { type: string; body: string }[] = [];
  for (let i = 0; i < 110; i++) {
    const fields: Record<string, unknown> = {};
    for (const name of names) if (random() < 0.6) fields[name] = garbageValue();
    if (random() < 0.7) fields.csrf = csrf;
    out.push({ type: 'application/json', body: JSON.stringify(fields) });
  }
  for (let i = 0; i < 25; i++) out.push({ type: 'application/json', body: garbageString(200) });
  for (let i = 0; i < 10; i++)
    out.push({
      type: 'application/x-www-form-urlencoded',
      body: `csrf=${encodeURIComponent(csrf)}&${garbageString(100)}`,
    });
  out.push({
    type: 'application/json',
    body: JSON.stringify({ csrf, email: 'a@example.com', pad: 'x'.repeat(12 * 1024) }),
  });
  out.push({ type: 'text/plain', body: 'hello' });
  out.push({ type: 'application/json', body: '[]' });
  out.push({ type: 'application/json', body: 'null' });
  return out;
}

const rss = (pid: number | undefined): number => {
  if (pid === undefined) return 0;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
};

test('every op and /verify answers garbage with a 4xx and a reason; nothing crashes; memory stays flat', async () => {
  const b = browser(stack.base);
  const csrf = String((await b.sessionContext()).csrf_token);
  const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const tiers = ['router', 'webhead', 'dbwriter', 'verifier'] as const;
  const failures: string[] = [];
  let sent = 0;

  const send = async (method: 'GET' | 'POST', path: string, type?: string, body?: string) => {
    const res = await request(`${stack.base}${path}`, {
      method,
      headers: { cookie, ...(type ? { 'content-type': type } : {}) },
      body,
    });
    const text = await res.body.text();
    sent++;
    const deliberate503 = res.statusCode === 503 && /too busy|database unavailable/.test(text);
    const ok = res.statusCode < 500 || deliberate503;
    if (!ok)
      failures.push(
        `${method} ${path} ${res.statusCode} ${text.slice(0, 120)} ← ${String(body).slice(0, 120)}`,
      );
    if (res.statusCode >= 400 && res.statusCode < 500 && text.trim() === '')
      failures.push(`${method} ${path} ${res.statusCode} without a reason`);
  };

  /** Every request of one round, built first (from the seeded generator), then sent 8 at a time. */
  const round = async () => {
    const calls: (() => Promise<void>)[] = [];
    for (const [name, op] of Object.entries(operations) as [string, Operation][]) {
      if (op.method === 'POST') {
        for (const { type, body } of bodiesFor(op, csrf))
          calls.push(() => send('POST', `/wsapi/${name}`, type, body));
      } else {
        for (let i = 0; i < 120; i++) {
          const query = new URLSearchParams();
          for (const arg of [...argNames(op), 'x'])
            if (random() < 0.7) query.append(arg, String(garbageValue()));
          calls.push(() => send('GET', `/wsapi/${name}?${query.toString()}`));
        }
      }
    }
    for (let i = 0; i < 200; i++) {
      const body = JSON.stringify({
        assertion: garbageValue(),
        audience: garbageValue(),
        experimental_allowUnverified: garbageValue(),
      });
      calls.push(() => send('POST', '/verify', 'application/json', body));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < calls.length) await calls[next++]!();
      }),
    );
  };

  // A first round warms every code path; the second is measured against it.
  await round();
  const before = Object.fromEntries(tiers.map((t) => [t, rss(stack.supervisor.pid(t))]));
  await round();
  const after = Object.fromEntries(tiers.map((t) => [t, rss(stack.supervisor.pid(t))]));

  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} bad answers of ${sent}`);
  for (const tier of [...tiers, 'keysigner' as const])
    assert.equal(stack.supervisor.restarts(tier), 0, `${tier} died`);
  for (const tier of tiers) {
    const growth = (after[tier] ?? 0) - (before[tier] ?? 0);
    assert.ok(
      growth < 40 * 1024 * 1024,
      `${tier} grew ${Math.round(growth / 1048576)} MB over a round of ${sent / 2} requests`,
    );
  }
  assert.ok(sent > 9_000, `sent ${sent}`);
});
