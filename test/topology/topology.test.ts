import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadConfig } from '../../src/config/load.ts';
import { createTierApp } from '../../src/http/app.ts';
import {
  ensureTierKeys,
  generateTierKey,
  loadCalleeKey,
  loadCallerKeys,
  ReplayGuard,
  signTierRequest,
} from '../../src/http/tier-auth.ts';
import { route } from '../../src/tiers/router/index.ts';
import {
  CALLS,
  deploymentOf,
  instancesOf,
  localProcesses,
  mayCall,
  processName,
  RUNNING_TIERS,
  TIER_NAMES,
  TIERS,
} from '../../src/topology/index.ts';

test('the matrix the tiers enforce is the one the topology declares', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-topology-'));
  ensureTierKeys(dir);
  // One key file per allowed pair, and no other.
  assert.deepEqual(
    readdirSync(dir).sort(),
    CALLS.map(([caller, callee]) => `${caller}-to-${callee}.key`).sort(),
  );
  for (const callee of TIER_NAMES.filter((tier) => !TIERS[tier].public)) {
    // The tier app factory every tier builds on, with the keys `persona serve` loads for it.
    const { app } = createTierApp({
      tier: callee,
      logger: undefined,
      logLevel: 'silent',
      callerKeys: loadCallerKeys(dir, callee),
    });
    app.post('/probe', async (req) => ({ caller: req.caller }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    for (const caller of TIER_NAMES) {
      // A caller signs with the key it would hold for this callee; a tier holding none tries a key of its own.
      const key = mayCall(caller, callee) ? loadCalleeKey(dir, caller, callee) : generateTierKey();
      const body = '{}';
      const res = await request(`${base}/probe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signTierRequest(caller, key, callee, { method: 'POST', url: '/probe', body }),
        },
        body,
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, mayCall(caller, callee) ? 200 : 403, `${caller} → ${callee}: ${text}`);
    }
  }
});

test('the router forwards only to tiers the topology lets it call', () => {
  const reached = new Set<string>();
  for (const url of [
    '/verify',
    '/verify?x',
    '/',
    '/sign_in',
    '/include.js',
    '/wsapi/session_context',
    '/wsapi/stage_user',
  ])
    for (const method of ['GET', 'POST']) {
      const r = route(method, url);
      if ('tier' in r) reached.add(r.tier);
    }
  assert.deepEqual([...reached].sort(), ['dbwriter', 'verifier', 'webhead']);
  for (const tier of reached) assert.ok(mayCall('router', tier as never), `router may call ${tier}`);
});

test('one setting moves the whole local stack; the public URL follows the router', () => {
  const moved = loadConfig({ env: { PERSONA_PORT_BASE: '20000' } });
  const ports = [
    moved.routerPort,
    moved.webheadPort,
    moved.dbwriterPort,
    moved.keysignerPort,
    moved.verifierPort,
    moved.exampleSitePort,
    moved.examplePrimaryPort,
  ];
  assert.ok(
    ports.every((p) => p >= 20_000 && p < 20_010),
    String(ports),
  );
  assert.equal(new Set(ports).size, ports.length, 'no two processes share a port');
  assert.equal(moved.publicUrl, `http://127.0.0.1:${moved.routerPort}`);
  // The defaults are the ports the stack has always used.
  const defaults = loadConfig({ env: {} });
  assert.equal(defaults.routerPort, 10_002);
  assert.equal(defaults.publicUrl, 'http://127.0.0.1:10002');
  // A port or the public URL set explicitly wins.
  const explicit = loadConfig({
    env: {
      PERSONA_PORT_BASE: '20000',
      PERSONA_ROUTER_PORT: '8080',
      PERSONA_PUBLIC_URL: 'https://login.example.org',
    },
  });
  assert.equal(explicit.routerPort, 8080);
  assert.equal(explicit.webheadPort, 20_007);
  assert.equal(explicit.publicUrl, 'https://login.example.org');
  assert.throws(
    () => loadConfig({ env: { PERSONA_PORT_BASE: '65530' } }),
    /PERSONA_PORT_BASE 65530 puts the webhead port past 65535/,
  );
});

test('instances per tier: their own ports, their names, the URLs the others call', () => {
  const config = loadConfig({ env: { PERSONA_INSTANCES: '{"verifier":2,"webhead":3}' } });
  const deployment = deploymentOf(config);
  assert.deepEqual(
    instancesOf(deployment, 'verifier').map((i) => i.url),
    ['http://127.0.0.1:10000', 'http://127.0.0.1:10010'],
  );
  const names = localProcesses(deployment).map(processName);
  assert.deepEqual(names, [
    'router',
    'webhead',
    'webhead#2',
    'webhead#3',
    'dbwriter',
    'keysigner',
    'verifier',
    'verifier#2',
  ]);
  assert.equal(new Set(localProcesses(deployment).map((p) => p.port)).size, names.length);
  // The bridge and its signer run only where providers are configured (docs/bridge.md).
  assert.ok(RUNNING_TIERS.includes('bridge') && RUNNING_TIERS.includes('bridgesigner'));
  assert.deepEqual(instancesOf(deployment, 'bridge'), []);
  const bridged = deploymentOf(
    loadConfig({
      env: {
        PERSONA_BRIDGE_PROVIDERS: JSON.stringify({
          'mail.example': { issuer: 'https://id.mail.example', clientId: 'c', clientSecret: 's' },
        }),
      },
    }),
  );
  assert.deepEqual(
    localProcesses(bridged)
      .filter((p) => p.tier.startsWith('bridge'))
      .map((p) => [processName(p), p.port]),
    [
      ['bridge', 10006],
      ['bridgesigner', 10008],
    ],
  );
  // Configured instance URLs (a fleet) replace the local ones.
  const fleet = deploymentOf(
    loadConfig({ env: { PERSONA_VERIFIER_URLS: 'http://10.0.3.1:8080,http://10.0.3.2:8080' } }),
  );
  assert.deepEqual(
    instancesOf(fleet, 'verifier').map((i) => i.url),
    ['http://10.0.3.1:8080', 'http://10.0.3.2:8080'],
  );
  assert.throws(() => loadConfig({ env: { PERSONA_INSTANCES: '{"verfier":2}' } }), /PERSONA_INSTANCES/);
});

test('the replay guard remembers a nonce for at least one period, then forgets it', () => {
  const guard = new ReplayGuard(60_000, 0);
  assert.equal(guard.firstUse('a', 1000), true);
  assert.equal(guard.firstUse('a', 1001), false);
  assert.equal(guard.firstUse('a', 61_000), false, 'still remembered after one rotation');
  assert.equal(guard.firstUse('b', 61_000), true);
  assert.equal(guard.firstUse('a', 125_000), true, 'forgotten after two periods');
  assert.equal(guard.firstUse('b', 125_000), false, 'b rotated once only');
  assert.equal(guard.firstUse('c', 400_000), true);
  assert.equal(guard.size, 1, 'a long pause drops both generations');
});
