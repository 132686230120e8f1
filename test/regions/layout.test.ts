/**
 * The regions' layout (src/topology/regions.ts) and what is generated from it: addresses derived per
 * region, the regional HAProxy configuration accepted by the real haproxy (-c), the partition rules
 * accepted by the real nft (-c).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { regionalHaproxyConfig, regionalSpec } from '../../src/regions/database.ts';
import { partitionRules } from '../../src/drill/region.ts';
import {
  databaseNodesOf,
  regionalPublicUrl,
  regionsOf,
  serviceNameOf,
  WITNESS_HOST,
} from '../../src/topology/regions.ts';
import { onPath } from '../helpers/components.ts';

test('regions get their own /24 and derive every address from it', () => {
  const [a, b] = regionsOf(2);
  assert.deepEqual(
    [a?.name, a?.cidr, a?.host, a?.databaseHosts],
    ['a', '127.0.1.0/24', '127.0.1.1', ['127.0.1.11', '127.0.1.12']],
  );
  assert.equal(b?.host, '127.0.2.1');
  assert.deepEqual(
    databaseNodesOf(regionsOf(2)).map((n) => n.name),
    ['a1', 'a2', 'b1', 'b2'],
  );
  assert.throws(() => regionsOf(5));
  assert.equal(serviceNameOf(''), 'login.persona.test');
  assert.equal(serviceNameOf('http://127.0.0.1:10002'), 'login.persona.test');
  assert.equal(serviceNameOf('https://login.example.org'), 'login.example.org');
  assert.equal(regionalPublicUrl('', 10002), 'http://login.persona.test:10002');
});

test('the cluster spec: two nodes per region in their own segment, garbd in the third place', () => {
  const spec = regionalSpec('/tmp/x', regionsOf(2), 20_000);
  assert.deepEqual(
    spec.nodes.map((n) => [n.name, n.host, n.segment]),
    [
      ['a1', '127.0.1.11', 0],
      ['a2', '127.0.1.12', 0],
      ['b1', '127.0.2.11', 1],
      ['b2', '127.0.2.12', 1],
    ],
  );
  assert.equal(spec.arbitrator?.host, WITNESS_HOST);
  assert.equal(spec.arbitrator?.segment, 2);
});

test('each region HAProxy: the same writer order, a shared table, its own readers; haproxy -c accepts it', () => {
  const regions = regionsOf(2);
  const dir = mkdtempSync(join(tmpdir(), 'p15-haproxy-'));
  try {
    const spec = regionalSpec(dir, regions, 20_000);
    for (const region of regions) {
      const cfg = regionalHaproxyConfig(spec, regions, region, 20_000, dir);
      const writer = cfg.slice(cfg.indexOf('listen writer'), cfg.indexOf('listen reader'));
      assert.deepEqual(
        [...writer.matchAll(/server (\w+)/g)].map((m) => m[1]),
        ['a1', 'a2', 'b1', 'b2'],
      );
      assert.match(writer, /server a1 \S+ check port \d+\n/);
      assert.match(writer, /stick-table type integer size 1 peers regions\n/);
      const reader = cfg.slice(cfg.indexOf('listen reader'));
      const own = region.name;
      assert.match(reader, new RegExp(`server ${own}1 \\S+ check port \\d+\\n`));
      assert.match(reader, new RegExp(`server ${own === 'a' ? 'b' : 'a'}1 \\S+ check port \\d+ backup`));
      assert.match(cfg, new RegExp(`source ${region.host.replace(/\./g, '\\.')}`));
      if (onPath('haproxy')) {
        const file = join(dir, `${region.name}.cfg`);
        writeFileSync(file, cfg);
        const checked = spawnSync('haproxy', ['-c', '-q', '-L', region.name, '-f', file], {
          encoding: 'utf8',
        });
        assert.equal(checked.status, 0, checked.stderr);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'the partition rules cut a region off both ways; nft -c accepts them',
  { skip: !onPath('nft') || process.getuid?.() !== 0 },
  () => {
    const [a] = regionsOf(1);
    assert.ok(a);
    const rules = partitionRules(a, ['127.0.2.0/24', '127.0.9.0/24']);
    assert.match(rules, /ip saddr 127\.0\.1\.0\/24 ip daddr \{ 127\.0\.2\.0\/24, 127\.0\.9\.0\/24 \} drop/);
    assert.match(rules, /ip saddr \{ 127\.0\.2\.0\/24, 127\.0\.9\.0\/24 \} ip daddr 127\.0\.1\.0\/24 drop/);
    const checked = spawnSync('nft', ['-c', '-f', '-'], { input: rules, encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stderr);
  },
);
