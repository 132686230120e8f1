/**
 * The network allow matrix (issue 13): its tier → tier rules are exactly the calls the tiers' own gates
 * accept, and its nftables form passes `nft -c`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, createSecretKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { ServiceError } from '../../src/http/errors.ts';
import { createTierGate, signTierRequest } from '../../src/http/tier-auth.ts';
import { allowMatrix, nftablesRuleset } from '../../src/ops/matrix.ts';
import { createTierApp } from '../../src/http/app.ts';
import { attachEdgeListener } from '../../src/http/edge-listener.ts';
import { ensureTierTls, tierTlsFiles } from '../../src/http/tier-tls.ts';
import { route as routeOf } from '../../src/tiers/router/index.ts';
import { pino } from 'pino';
import { deploymentOf, instancesOf, RUNNING_TIERS, type Tier } from '../../src/topology/index.ts';
import { missing, onPath } from '../helpers/components.ts';

const config = loadConfig({
  env: {
    PERSONA_ENV: 'test',
    PERSONA_PUBLIC_URL: 'https://login.example.org',
    PERSONA_INSTANCES: '{"webhead":2}',
    PERSONA_HTTP_PROXY: 'http://10.0.9.9:3128',
    PERSONA_SMTP_URL: 'smtp://mail.example.org:587',
    PERSONA_EDGE_LISTENERS: 'true',
  },
});

/** Whether `callee`'s gate accepts a correctly signed call from `caller` (the network aside). */
/** Whether a tier would open an edge listener (and so answer the edge at all), with a real tier CA. */
function edgeAdmitted(tier: Tier): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'persona-edge-ca-'));
  try {
    ensureTierTls(dir);
    const files = tierTlsFiles(dir);
    attachEdgeListener(createTierApp({ tier, logger: pino({ level: 'silent' }) }), {
      tier,
      // A tier without its own certificate borrows one: only the topology's rule may refuse it.
      tls: {
        ca: readFileSync(files.caCert),
        cert: readFileSync(files.serverCert('webhead')),
        key: readFileSync(files.serverKey('webhead')),
      },
      route: () => ({ tier }),
    });
    return true;
  } catch (err) {
    if (/does not let the edge call/.test((err as Error).message)) return false;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const route = (method: string, url: string): { tier?: Tier } => {
  const to = routeOf(method, url);
  return 'tier' in to ? to : {};
};

function gateAccepts(caller: Tier, callee: Tier): boolean {
  const key = createSecretKey(randomBytes(32));
  // Every tier holds a key here: only the gate's own rule decides.
  const gate = createTierGate(callee, new Map(RUNNING_TIERS.map((t) => [t, key])));
  const call = { method: 'POST', url: '/wsapi/stage_user', body: '{}' };
  try {
    gate.check({ ...call, headers: signTierRequest(caller, key, callee, call) });
    return true;
  } catch (err) {
    if (err instanceof ServiceError) return false;
    throw err;
  }
}

test('the tier → tier rules are exactly what the tiers enforce', () => {
  const rules = allowMatrix(config);
  const isTier = (e: string): e is Tier => (RUNNING_TIERS as readonly string[]).includes(e);
  const emitted = rules
    .filter((r) => (isTier(r.from) || r.from === 'edge') && isTier(r.to) && r.to !== 'router')
    .map((r) => `${r.from}->${r.to}`)
    .sort();
  // The tiers this deployment runs (the bridge pair only where providers are configured).
  const deployed = RUNNING_TIERS.filter((t) => instancesOf(deploymentOf(config), t).length > 0);
  const enforced = [
    ...deployed.flatMap((caller) =>
      deployed.filter((callee) => callee !== 'router' && gateAccepts(caller, callee)).map(
        (callee) => `${caller}->${callee}`,
      ),
    ),
    // The edge: the tiers whose edge listener it may open (edge-listener.ts refuses any other tier).
    ...RUNNING_TIERS.filter((callee) => edgeAdmitted(callee)).map((callee) => `edge->${callee}`),
  ].sort();
  assert.deepEqual(emitted, enforced);
  assert.ok(emitted.length > 0);
  // The router is public: only the edge reaches it, and nobody reaches the keysigner but the webhead.
  assert.deepEqual(
    rules.filter((r) => r.to === 'router').map((r) => r.from),
    ['edge'],
  );
  assert.deepEqual(
    rules.filter((r) => r.to === 'keysigner').map((r) => r.from),
    ['webhead'],
  );
  // The edge's rules are the tiers the public routes lead to, on their edge listeners (port + 1000).
  assert.deepEqual(
    [route('POST', '/verify').tier, route('POST', '/wsapi/stage_user').tier, route('GET', '/').tier]
      .map((tier) => rules.some((r) => r.from === 'edge' && r.to === tier))
      .every(Boolean),
    true,
  );
  assert.deepEqual(
    rules.find((r) => r.from === 'edge' && r.to === 'verifier')?.ports,
    [config.verifierPort + 1000],
  );
  // Both webhead instances' ports; the resources from the settings.
  assert.equal(rules.find((r) => r.from === 'router' && r.to === 'webhead')?.ports.length, 2);
  assert.deepEqual(rules.find((r) => r.to === 'smtp')?.ports, [587]);
  assert.deepEqual(
    rules.filter((r) => r.to === 'egress-proxy').map((r) => [r.from, r.ports[0]]),
    [
      ['webhead', 3128],
      ['dbwriter', 3128],
      ['verifier', 3128],
    ],
  );
  assert.deepEqual(rules.find((r) => r.from === 'egress-proxy')?.ports, [443]);
});

const skip = await missing({
  name: 'nft (nftables)',
  install: 'apt-get install nftables',
  present: () => onPath('nft'),
});

test('the nftables form passes nft -c', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'persona-nft-'));
  try {
    const file = join(dir, 'persona.nft');
    const ruleset = nftablesRuleset(config, { edge: ['10.0.0.5', '10.0.0.6'] }, ['192.0.2.0/24']);
    writeFileSync(file, ruleset);
    const checked = spawnSync('nft', ['-c', '-f', file], { encoding: 'utf8' });
    assert.equal(checked.status, 0, `${checked.stderr}\n${ruleset}`);
    assert.match(ruleset, /policy drop;/);
    assert.match(ruleset, /ip saddr @persona_edge tcp dport \d+ accept/);
    assert.match(ruleset, /tcp dport 22 accept comment "administrators"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
