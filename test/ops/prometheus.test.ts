/**
 * `persona ops prometheus` (issue 12): the scrape configuration follows the topology (one job per running
 * tier, one target per instance, fleets' URLs); the rules read only metrics the tiers export; every alert
 * has its runbook; real `promtool check config` accepts the files and `promtool test rules` runs unit tests
 * of the alerts with series: each fires on its condition and stays quiet below it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import {
  ALERTS,
  prometheusConfig,
  prometheusRules,
  RECORDING_RULES,
  scrapeConfig,
  toYaml,
} from '../../src/ops/prometheus.ts';
import { RUNNING_TIERS, TIERS } from '../../src/topology/index.ts';
import { missing, onPath } from '../helpers/components.ts';

const PROMTOOL = {
  name: 'promtool',
  install: 'apt-get install prometheus',
  present: () => onPath('promtool'),
};
const skip = await missing(PROMTOOL);

const config = loadConfig({
  env: {
    PERSONA_ENV: 'test',
    PERSONA_DATA_DIR: mkdtempSync(join(tmpdir(), 'persona-prom-')),
    PERSONA_INSTANCES: '{"webhead":3,"verifier":2}',
    PERSONA_KEYSIGNER_URLS: 'https://ks1.internal:8443,https://ks2.internal:8443',
  },
});

test('one scrape job per running tier, one target per instance, labelled with tier and process', () => {
  const scrape = scrapeConfig(config) as {
    scrape_configs: {
      job_name: string;
      scheme?: string;
      static_configs: { targets: string[]; labels: Record<string, string> }[];
    }[];
  };
  assert.deepEqual(
    scrape.scrape_configs.map((j) => j.job_name),
    // The optional tiers (the bridge) only where the deployment runs them; this one does not.
    RUNNING_TIERS.filter((t) => TIERS[t].optional !== true).map((t) => `persona-${t}`),
  );
  const job = (tier: string) => scrape.scrape_configs.find((j) => j.job_name === `persona-${tier}`)!;
  assert.deepEqual(
    job('webhead').static_configs.map((s) => [s.targets[0], s.labels.process]),
    [0, 1, 2].map((i) => [
      `127.0.0.1:${config.webheadPort + 10 * i}`,
      i === 0 ? 'webhead' : `webhead#${i + 1}`,
    ]),
  );
  assert.equal(job('verifier').static_configs.length, 2);
  assert.deepEqual(
    job('keysigner').static_configs.map((s) => s.targets[0]),
    ['ks1.internal:8443', 'ks2.internal:8443'],
  );
  assert.equal(job('keysigner').scheme, 'https');
  assert.equal(job('router').scheme, undefined);
});

test('the YAML writer quotes every string and nests sequences of mappings', () => {
  assert.equal(
    toYaml({ a: ['x: y', 1], b: [{ c: 'd', e: true }], f: [] }),
    'a:\n  - "x: y"\n  - 1\nb:\n  - c: "d"\n    e: true\nf: []\n',
  );
});

/** Every metric a tier registers, read from the source (`name: 'persona_…'`), plus Prometheus's own `up`. */
function exportedMetrics(): Set<string> {
  const names = new Set(['up']);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/['"](persona_[a-z_]+)['"]/g)) names.add(m[1]!);
    }
  };
  walk('src/tiers');
  walk('src/http');
  return names;
}

test('the rules read only metrics the tiers export (or recorded ones)', () => {
  const exported = exportedMetrics();
  const recorded = new Set(RECORDING_RULES.map((r) => r.record));
  const exprs = [...RECORDING_RULES.map((r) => r.expr), ...ALERTS.map((a) => a.expr)];
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/\b[a-z_]+:[a-z0-9_:]+|\bpersona_[a-z_]+|\bup\b/g)) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(exported.has(base) || recorded.has(name), `${name} (in ${expr}) is not exported by any tier`);
    }
  }
});

test('every alert has its runbook in docs/runbooks', () => {
  for (const alert of ALERTS) {
    const page = join('docs/runbooks', `${alert.alert}.md`);
    assert.ok(existsSync(page), `${page} is missing`);
    assert.match(readFileSync(page, 'utf8'), /## What it means[\s\S]*## How to confirm[\s\S]*## What to do/);
  }
});

/** Writes the generated files and the unit tests into a temp dir. */
function writeFiles(unitTests: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'persona-promtool-'));
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(config, { alertmanagers: ['127.0.0.1:9093'] }));
  writeFileSync(join(dir, 'rules.yml'), prometheusRules());
  writeFileSync(join(dir, 'tests.yml'), toYaml(unitTests as Parameters<typeof toYaml>[0]));
  return dir;
}

const promtool = (dir: string, ...args: string[]) =>
  spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });

const HTTP = 'persona_http_request_duration_seconds_count';
const runbook = (alert: string) => `docs/runbooks/${alert}.md`;
const describe = (name: string) => ALERTS.find((a) => a.alert === name)!.description;

/** promtool unit tests: series at 1m steps, alerts expected (or not) at given times. */
const UNIT_TESTS = {
  rule_files: ['rules.yml'],
  evaluation_interval: '1m',
  tests: [
    {
      interval: '1m',
      input_series: [
        {
          series:
            'up{job="persona-keysigner",instance="127.0.0.1:10003",tier="keysigner",process="keysigner"}',
          values: '1 1 0 0 0 0',
        },
        {
          series: 'up{job="persona-webhead",instance="127.0.0.1:10007",tier="webhead",process="webhead"}',
          values: '1 1 1 1 1 1',
        },
      ],
      alert_rule_test: [
        // Down at 2m: pending, not yet firing; a minute later it fires. The webhead stays quiet.
        { eval_time: '2m', alertname: 'PersonaTierDown', exp_alerts: [] },
        {
          eval_time: '3m',
          alertname: 'PersonaTierDown',
          exp_alerts: [
            {
              exp_labels: {
                severity: 'critical',
                job: 'persona-keysigner',
                instance: '127.0.0.1:10003',
                tier: 'keysigner',
                process: 'keysigner',
              },
              exp_annotations: {
                summary: 'keysigner is down',
                description: 'Prometheus cannot scrape 127.0.0.1:10003 (keysigner) for a minute.',
                runbook_url: runbook('PersonaTierDown'),
              },
            },
          ],
        },
      ],
    },
    {
      interval: '1m',
      input_series: [
        // webhead: 10 % 5xx; dbwriter: 1 %.
        { series: `${HTTP}{tier="webhead",route="/x",method="GET",status="200"}`, values: '0+90x20' },
        { series: `${HTTP}{tier="webhead",route="/x",method="GET",status="500"}`, values: '0+10x20' },
        { series: `${HTTP}{tier="dbwriter",route="/y",method="POST",status="200"}`, values: '0+99x20' },
        { series: `${HTTP}{tier="dbwriter",route="/y",method="POST",status="503"}`, values: '0+1x20' },
      ],
      alert_rule_test: [
        {
          eval_time: '15m',
          alertname: 'PersonaHigh5xxRatio',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', tier: 'webhead' },
              exp_annotations: {
                summary: 'webhead answers 5xx to 10% of requests',
                description: describe('PersonaHigh5xxRatio'),
                runbook_url: runbook('PersonaHigh5xxRatio'),
              },
            },
          ],
        },
        // The dbwriter's 503s come at 1/60 per second: under the Busy503 threshold.
        { eval_time: '15m', alertname: 'PersonaBusy503', exp_alerts: [] },
      ],
    },
    {
      interval: '1m',
      input_series: [
        {
          series:
            'persona_db_operation_seconds_count{tier="dbwriter",operation="createAccount",outcome="unavailable"}',
          values: '0+1x20',
        },
        {
          series: 'persona_db_operation_seconds_count{tier="webhead",operation="emailInfo",outcome="ok"}',
          values: '0+100x20',
        },
        {
          series:
            'persona_db_operation_seconds_count{tier="webhead",operation="emailInfo",outcome="refused"}',
          values: '0+100x20',
        },
        {
          series: `${HTTP}{tier="keysigner",route="/wsapi/cert_key",method="POST",status="500"}`,
          values: '0+1x20',
        },
        {
          series: `${HTTP}{tier="keysigner",route="/__heartbeat__",method="GET",status="200"}`,
          values: '0+1x20',
        },
        { series: 'persona_mail_outbox_oldest_age_seconds{tier="dbwriter"}', values: '0+60x30' },
      ],
      alert_rule_test: [
        {
          eval_time: '12m',
          alertname: 'PersonaDatabaseErrors',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', tier: 'dbwriter' },
              exp_annotations: {
                summary: 'dbwriter has database errors or timeouts',
                description: describe('PersonaDatabaseErrors'),
                runbook_url: runbook('PersonaDatabaseErrors'),
              },
            },
          ],
        },
        {
          eval_time: '12m',
          alertname: 'PersonaCertificateSigningErrors',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', tier: 'keysigner' },
              exp_annotations: {
                summary: 'The keysigner fails to sign certificates',
                description: describe('PersonaCertificateSigningErrors'),
                runbook_url: runbook('PersonaCertificateSigningErrors'),
              },
            },
          ],
        },
        // Over 900 s old from 16m, then 5 minutes pending before it fires.
        { eval_time: '20m', alertname: 'PersonaMailOutboxStuck', exp_alerts: [] },
        {
          eval_time: '21m',
          alertname: 'PersonaMailOutboxStuck',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', tier: 'dbwriter' },
              exp_annotations: {
                summary: 'The oldest queued mail is 21m 0s old',
                description: describe('PersonaMailOutboxStuck'),
                runbook_url: runbook('PersonaMailOutboxStuck'),
              },
            },
          ],
        },
      ],
    },
    {
      interval: '1m',
      input_series: [
        // 60 % of /verify calls refused, at 1/s: fires; the same ratio at a trickle would not.
        { series: 'persona_verifications_total{tier="verifier",outcome="okay"}', values: '0+24x30' },
        { series: 'persona_verifications_total{tier="verifier",outcome="expired"}', values: '0+36x30' },
        {
          series: 'persona_discovery_fetch_seconds_count{tier="verifier",outcome="supported"}',
          values: '0+60x30',
        },
        {
          series: 'persona_discovery_fetch_seconds_count{tier="verifier",outcome="network"}',
          values: '0+6x30',
        },
      ],
      alert_rule_test: [
        {
          eval_time: '25m',
          alertname: 'PersonaVerificationFailureRatio',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning' },
              exp_annotations: {
                summary: '60% of /verify calls fail',
                description: describe('PersonaVerificationFailureRatio'),
                runbook_url: runbook('PersonaVerificationFailureRatio'),
              },
            },
          ],
        },
        // 1 fetch in 11 fails: under the discovery threshold.
        { eval_time: '25m', alertname: 'PersonaDiscoveryFailures', exp_alerts: [] },
      ],
    },
  ],
};

test('promtool accepts the configuration and its rules', { skip }, () => {
  const dir = writeFiles(UNIT_TESTS);
  const check = promtool(dir, 'check', 'config', 'prometheus.yml');
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, new RegExp(`SUCCESS: ${RECORDING_RULES.length + ALERTS.length} rules found`));
});

test('promtool test rules: each alert fires on its condition and stays quiet below it', { skip }, () => {
  const dir = writeFiles(UNIT_TESTS);
  const run = promtool(dir, 'test', 'rules', 'tests.yml');
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /SUCCESS/);
});

test('promtool test rules can fail: an alert expected where none fires is reported', { skip }, () => {
  const wrong = structuredClone(UNIT_TESTS);
  wrong.tests[0]!.alert_rule_test[0] = { ...wrong.tests[0]!.alert_rule_test[1]!, eval_time: '2m' };
  const dir = writeFiles(wrong);
  const run = promtool(dir, 'test', 'rules', 'tests.yml');
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout + run.stderr, /PersonaTierDown/);
});
