/**
 * The Prometheus drill (issue 12): real Prometheus (Debian's) scrapes a running stack with the generated
 * configuration and rules, real Alertmanager (Debian's) routes with its generated configuration to a
 * webhook this test runs. Every target is up; a killed keysigner's PersonaTierDown fires and reaches the
 * webhook, naming the tier and its runbook. The intervals are the generator's options (1 s scrapes, the
 * alert's `for` shortened to 2 s), never edited rules. The Grafana dashboards' expressions are run against
 * the same Prometheus, and their metrics checked against what the tiers' /metrics really export.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alertmanagerConfig } from '../../src/ops/alertmanager.ts';
import { dashboardExpressions, grafanaDashboards } from '../../src/ops/grafana.ts';
import { prometheusConfig, prometheusRules } from '../../src/ops/prometheus.ts';
import { deploymentOf, localProcesses } from '../../src/topology/index.ts';
import { missing, onPath } from '../helpers/components.ts';
import { freePort, keepDown, startStack, type Stack } from '../helpers/stack.ts';

const skipPrometheus = await missing({
  name: 'prometheus',
  install: 'apt-get install prometheus',
  present: () => onPath('prometheus'),
});
const skipAlertmanager = await missing({
  name: 'prometheus-alertmanager',
  install: 'apt-get install prometheus-alertmanager',
  present: () => onPath('prometheus-alertmanager'),
});
const skip = skipPrometheus ?? skipAlertmanager;

test(
  'amtool accepts the generated Alertmanager configuration; one without a receiver is refused',
  { skip },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-amtool-'));
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(
      file,
      alertmanagerConfig({
        webhooks: ['https://pager.example/hook'],
        email: { to: 'ops@example.org', from: 'alerts@example.org', smarthost: 'smtp.example.org:587' },
      }),
    );
    const check = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /1 inhibit rules[\s\S]*1 receivers/);
    assert.throws(() => alertmanagerConfig({}), /at least one receiver/);
    assert.throws(() => alertmanagerConfig({ webhooks: ['file:///etc/passwd'] }), /http\(s\) URL/);
    rmSync(dir, { recursive: true, force: true });
  },
);

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

describe('real Prometheus and Alertmanager against a running stack', { skip }, () => {
  let stack: Stack;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let alertmanager: ChildProcess | undefined;
  let webhook: Server;
  let promUrl: string;
  const received: { at: number; alert: WebhookAlert }[] = [];
  const output: string[] = [];

  const run = (command: string, args: string[]): ChildProcess => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (chunk: Buffer) => output.push(`${command}: ${chunk.toString()}`));
    return child;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'persona-prom-drill-'));
    // A killed tier stays down for a minute: long enough to watch its alert fire.
    [stack, webhook] = await Promise.all([
      startStack({ restartDelayMs: 60_000 }),
      new Promise<Server>((resolve) => {
        const server = createServer((req, res) => {
          let body = '';
          req.on('data', (c: Buffer) => (body += c.toString()));
          req.on('end', () => {
            for (const alert of (JSON.parse(body) as { alerts: WebhookAlert[] }).alerts)
              received.push({ at: Date.now(), alert });
            res.end('ok');
          });
        });
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ]);
    const hookPort = (webhook.address() as { port: number }).port;
    const [amPort, promPort] = [await freePort(), await freePort()];
    promUrl = `http://127.0.0.1:${promPort}`;

    writeFileSync(
      join(dir, 'alertmanager.yml'),
      alertmanagerConfig({
        webhooks: [`http://127.0.0.1:${hookPort}/alerts`],
        groupWait: '1s',
        groupInterval: '1s',
        repeatInterval: '1h',
      }),
    );
    alertmanager = run('prometheus-alertmanager', [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);

    const options = {
      interval: '1s',
      alertmanagers: [`127.0.0.1:${amPort}`],
      ruleFiles: [join(dir, 'rules.yml')],
      pendingFor: { PersonaTierDown: '2s' },
    };
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(stack.config, options));
    writeFileSync(join(dir, 'rules.yml'), prometheusRules(options));
    prometheus = run('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
  });

  after(async () => {
    prometheus?.kill('SIGTERM');
    alertmanager?.kill('SIGTERM');
    webhook?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${promUrl}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
    return body.data;
  };

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms\n${output.slice(-20).join('')}`);
      await sleep(200);
    }
  };

  /** The running tiers this deployment has instances of (the bridge pair only where providers are set). */
  const deployedTiers = () => [...new Set(localProcesses(deploymentOf(stack.config)).map((p) => p.tier))];

  interface Target {
    labels: Record<string, string>;
    health: string;
  }

  test('every tier instance is a target, and up', async () => {
    const instances = localProcesses(deploymentOf(stack.config));
    const targets = await waitFor(
      'every target up',
      async () => {
        const { activeTargets } = await api<{ activeTargets: Target[] }>('/api/v1/targets');
        return activeTargets.length === instances.length && activeTargets.every((t) => t.health === 'up')
          ? activeTargets
          : undefined;
      },
      60_000,
    );
    assert.deepEqual(
      targets.map((t) => t.labels.job).sort(),
      deployedTiers()
        .map((t) => `persona-${t}`)
        .sort(),
    );
  });

  test('the dashboards query only metrics their tier exports, and Prometheus accepts every expression', async () => {
    // What each tier really exports: the `# TYPE` lines of its instances' /metrics (series or not yet).
    const exported = new Map<string, Set<string>>([['overview', new Set(['up'])]]);
    for (const instance of localProcesses(deploymentOf(stack.config))) {
      const text = await (await fetch(`${instance.url}/metrics`)).text();
      const names = exported.get(instance.tier) ?? new Set<string>();
      for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) {
        names.add(name!);
        exported.get('overview')!.add(name!);
      }
      exported.set(instance.tier, names);
    }
    const recorded = new Set([...prometheusRules().matchAll(/record: "([^"]+)"/g)].map((m) => m[1]!));
    const dashboards = grafanaDashboards(stack.config);
    assert.deepEqual(
      dashboards.map((d) => d.uid),
      ['persona-overview', ...deployedTiers().map((t) => `persona-${t}`)],
    );
    let count = 0;
    for (const dashboard of dashboards) {
      const own = exported.get(dashboard.tier ?? 'overview')!;
      for (const expr of dashboardExpressions([dashboard])) {
        count += 1;
        const names = [
          ...expr.matchAll(/\b([a-z_]+(?::[a-z0-9_]+)+|(?:persona|nodejs|process)_[a-z0-9_]+|up)\b/g),
        ].map((m) => m[1]!);
        assert.ok(names.length > 0, `no metric in ${expr}`);
        for (const name of names) {
          const base = name.replace(/_(bucket|count|sum)$/, '');
          assert.ok(
            own.has(base) || own.has(name) || recorded.has(name),
            `${dashboard.uid}: ${name} (in ${expr}) is not exported by ${dashboard.tier ?? 'any tier'}`,
          );
        }
        // A parse error is a 400 with status "error"; an expression without data yet is still a success.
        await api(`/api/v1/query?query=${encodeURIComponent(expr.replaceAll('$__rate_interval', '1m'))}`);
      }
    }
    assert.ok(count > 40, `only ${count} expressions`);
  });

  test('a killed keysigner fires PersonaTierDown and Alertmanager delivers it to the webhook', async (t) => {
    const killedAt = Date.now();
    // Kept down until seen: on a busy machine the supervisor's restart may come first.
    t.after(keepDown(stack, 'keysigner'));
    interface Alert {
      labels: Record<string, string>;
      state: string;
    }
    const firing = await waitFor(
      'PersonaTierDown firing',
      async () => {
        const { alerts } = await api<{ alerts: Alert[] }>('/api/v1/alerts');
        return alerts.find((a) => a.labels.alertname === 'PersonaTierDown' && a.state === 'firing');
      },
      45_000,
    );
    const firedS = (Date.now() - killedAt) / 1000;
    assert.equal(firing.labels.tier, 'keysigner');
    assert.equal(firing.labels.severity, 'critical');

    const delivered = await waitFor(
      'the webhook receiving PersonaTierDown',
      async () =>
        received.find((r) => r.alert.labels.alertname === 'PersonaTierDown' && r.alert.status === 'firing'),
      30_000,
    );
    const deliveredS = (delivered.at - killedAt) / 1000;
    process.stderr.write(
      `prometheus: keysigner PersonaTierDown firing ${firedS.toFixed(1)} s after the kill, ` +
        `at the webhook ${deliveredS.toFixed(1)} s (1 s scrapes, for: 2s, group_wait 1s)\n`,
    );
    assert.equal(delivered.alert.labels.tier, 'keysigner');
    assert.equal(delivered.alert.labels.process, 'keysigner');
    assert.equal(delivered.alert.annotations.summary, 'keysigner is down');
    assert.equal(delivered.alert.annotations.runbook_url, 'docs/runbooks/PersonaTierDown.md');
    // Only the killed tier: the others are still scraped.
    assert.deepEqual(
      [...new Set(received.filter((r) => r.alert.status === 'firing').map((r) => r.alert.labels.tier))],
      ['keysigner'],
    );
  });
});
