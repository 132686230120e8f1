/**
 * `persona ops prometheus` (docs/monitoring.md): the scrape configuration, recording rules and alert rules
 * for a deployment, generated from the topology (src/topology) and the metrics the tiers export
 * (docs/operations.md "Health, metrics, logs"). One scrape job per running tier, one target per instance;
 * every alert names its runbook (docs/runbooks/<alert>.md).
 */
import type { Config } from '../config/settings.ts';
import { deploymentOf, instancesOf, processName, RUNNING_TIERS, type Tier } from '../topology/index.ts';

export interface PrometheusOptions {
  /** How often targets are scraped and rules evaluated (default 15s). */
  readonly interval?: string;
  /** The rule files' names as the configuration refers to them (default rules.yml beside it). */
  readonly ruleFiles?: readonly string[];
  /** Alertmanager addresses (host:port). */
  readonly alertmanagers?: readonly string[];
  /** Where the runbooks are read (default the repository's docs/runbooks/). */
  readonly runbookBase?: string;
  /**
   * How long an alert's condition must hold before it fires, by alert name, in place of its own `for`
   * (a drill with second-long intervals shortens PersonaTierDown's minute; the conditions stay as they are).
   */
  readonly pendingFor?: Readonly<Record<string, string>>;
}

// ---- a small YAML writer: mappings, sequences and JSON-quoted scalars (valid YAML) -------------------

type Yaml = string | number | boolean | readonly Yaml[] | { readonly [key: string]: Yaml | undefined };

const scalar = (v: string | number | boolean): string =>
  typeof v === 'string' ? JSON.stringify(v) : String(v);

export function toYaml(value: Yaml, indent = ''): string {
  if (typeof value !== 'object') return `${scalar(value)}\n`;
  const lines: string[] = [];
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]\n';
    for (const item of value as readonly Yaml[]) {
      const text = toYaml(item, `${indent}  `);
      // A scalar comes back bare; a mapping's first line carries the deeper indent, which the dash takes.
      lines.push(
        typeof item === 'object' ? `${indent}- ${text.slice(indent.length + 2)}` : `${indent}- ${text}`,
      );
    }
    return lines.join('');
  }
  const entries = Object.entries(value).filter((e): e is [string, Yaml] => e[1] !== undefined);
  if (entries.length === 0) return '{}\n';
  for (const [key, item] of entries) {
    const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
    if (typeof item === 'object' && (Array.isArray(item) ? item.length > 0 : Object.keys(item).length > 0)) {
      lines.push(`${indent}${name}:\n${toYaml(item, `${indent}  `)}`);
    } else {
      lines.push(`${indent}${name}: ${toYaml(item, indent)}`);
    }
  }
  return lines.join('');
}

// ---- scrape configuration --------------------------------------------------------------------------

/** The scrape job of a tier. */
export const jobOf = (tier: Tier): string => `persona-${tier}`;

export function scrapeConfig(config: Config, options: PrometheusOptions = {}): Yaml {
  const deployment = deploymentOf(config);
  const interval = options.interval ?? '15s';
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [...(options.ruleFiles ?? ['rules.yml'])],
    ...(options.alertmanagers && options.alertmanagers.length > 0
      ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [...options.alertmanagers] }] }] } }
      : {}),
    // A job per tier this deployment runs (an optional tier it does not, the bridge, has none).
    scrape_configs: RUNNING_TIERS.filter((tier) => instancesOf(deployment, tier).length > 0).map((tier) => {
      const instances = instancesOf(deployment, tier);
      const https = instances.some((i) => i.url.startsWith('https:'));
      return {
        job_name: jobOf(tier),
        metrics_path: '/metrics',
        ...(https ? { scheme: 'https' } : {}),
        // The tiers label their own series with `tier`; the target's labels say the same.
        honor_labels: true,
        static_configs: instances.map((instance) => ({
          targets: [new URL(instance.url).host],
          labels: { tier, process: processName(instance) },
        })),
      };
    }),
  };
}

// ---- rules -----------------------------------------------------------------------------------------

const HTTP = 'persona_http_request_duration_seconds';

/** Recording rules the alerts and dashboards read. */
export const RECORDING_RULES: readonly { readonly record: string; readonly expr: string }[] = [
  { record: 'tier:persona_http_requests:rate1m', expr: `sum by (tier) (rate(${HTTP}_count[1m]))` },
  {
    record: 'tier:persona_http_5xx:ratio_rate5m',
    expr: `sum by (tier) (rate(${HTTP}_count{status=~"5.."}[5m])) / sum by (tier) (rate(${HTTP}_count[5m]))`,
  },
  {
    record: 'tier:persona_http_503:rate5m',
    expr: `sum by (tier) (rate(${HTTP}_count{status="503"}[5m]))`,
  },
  ...([0.5, 0.95] as const).map((q) => ({
    record: `tier_route:${HTTP}:p${q * 100}_5m`,
    expr: `histogram_quantile(${q}, sum by (tier, route, le) (rate(${HTTP}_bucket[5m])))`,
  })),
  {
    record: 'tier:persona_requests_shed:rate5m',
    expr: 'sum by (tier) (rate(persona_requests_shed_total[5m]))',
  },
  {
    record: 'tier:persona_db_errors:rate5m',
    expr: 'sum by (tier) (rate(persona_db_operation_seconds_count{outcome=~"unavailable|error"}[5m]))',
  },
  {
    record: 'persona_verifications:failure_ratio_rate10m',
    expr: 'sum(rate(persona_verifications_total{outcome!="okay"}[10m])) / sum(rate(persona_verifications_total[10m]))',
  },
  {
    record: 'persona_discovery:failure_ratio_rate15m',
    expr:
      'sum(rate(persona_discovery_fetch_seconds_count{outcome!~"supported|delegated|disabled"}[15m]))' +
      ' / sum(rate(persona_discovery_fetch_seconds_count[15m]))',
  },
];

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'critical' | 'warning';
  readonly summary: string;
  readonly description: string;
}

/** The tier that signs certificates (SPEC §2): its cert_key route's errors are signing errors. */
const SIGNER: Tier = 'keysigner';

/** The alerts (issue 12); thresholds are starting points an operator tunes. */
export const ALERTS: readonly AlertRule[] = [
  {
    alert: 'PersonaTierDown',
    expr: `up{job=~"${RUNNING_TIERS.map(jobOf).join('|')}"} == 0`,
    for: '1m',
    severity: 'critical',
    summary: '{{ $labels.process }} is down',
    description: 'Prometheus cannot scrape {{ $labels.instance }} ({{ $labels.tier }}) for a minute.',
  },
  {
    alert: 'PersonaHigh5xxRatio',
    expr: 'tier:persona_http_5xx:ratio_rate5m > 0.05 and tier:persona_http_requests:rate1m > 0.1',
    for: '5m',
    severity: 'critical',
    summary: '{{ $labels.tier }} answers 5xx to {{ $value | humanizePercentage }} of requests',
    description: 'More than 5 % of the requests to the tier failed with 5xx over 5 minutes.',
  },
  {
    alert: 'PersonaSlowRoute',
    expr: `tier_route:${HTTP}:p95_5m > 2`,
    for: '10m',
    severity: 'warning',
    summary: '{{ $labels.tier }} {{ $labels.route }} p95 is {{ $value | humanizeDuration }}',
    description:
      'The 95th percentile of {{ $labels.route }} on {{ $labels.tier }} stayed above 2 s for 10 minutes.',
  },
  {
    alert: 'PersonaBusy503',
    expr: 'tier:persona_http_503:rate5m > 1',
    for: '5m',
    severity: 'warning',
    summary: '{{ $labels.tier }} is refusing work with 503',
    description: 'Full bcrypt/crypto queues or load shedding: 503 with Retry-After for 5 minutes.',
  },
  {
    alert: 'PersonaBcryptBacklog',
    expr: 'persona_bcrypt_queue{state="waiting"} > 0',
    for: '10m',
    severity: 'warning',
    summary: '{{ $labels.tier }} has had bcrypt work waiting for 10 minutes',
    description: 'Password checks queue up behind the bcrypt workers: sign-ins get slow, then 503.',
  },
  {
    alert: 'PersonaDatabaseErrors',
    expr: 'tier:persona_db_errors:rate5m > 0',
    for: '5m',
    severity: 'critical',
    summary: '{{ $labels.tier }} has database errors or timeouts',
    description: 'Data-layer operations end unavailable (timeouts, connection loss) or in errors.',
  },
  {
    alert: 'PersonaMailFailures',
    expr: 'sum by (tier) (rate(persona_mails_sent_total{outcome=~"failed|given_up|dropped"}[15m])) > 0',
    for: '15m',
    severity: 'warning',
    summary: 'Mail deliveries are failing',
    description: 'The outbox retries; given_up and dropped mails never reach the user.',
  },
  {
    alert: 'PersonaMailOutboxStuck',
    expr: 'persona_mail_outbox_oldest_age_seconds > 900',
    for: '5m',
    severity: 'critical',
    summary: 'The oldest queued mail is {{ $value | humanizeDuration }} old',
    description: 'Mails wait more than 15 minutes in the outbox: the SMTP relay is down or refusing.',
  },
  {
    alert: 'PersonaVerificationFailureRatio',
    expr: 'persona_verifications:failure_ratio_rate10m > 0.5 and sum(rate(persona_verifications_total[10m])) > 0.05',
    for: '10m',
    severity: 'warning',
    summary: '{{ $value | humanizePercentage }} of /verify calls fail',
    description:
      'Most assertions sites send are refused: a key, clock or discovery problem, or a broken site.',
  },
  {
    alert: 'PersonaCertificateSigningErrors',
    expr: `sum by (tier) (rate(${HTTP}_count{tier="${SIGNER}",route="/wsapi/cert_key",status=~"5.."}[5m])) > 0`,
    for: '5m',
    severity: 'critical',
    summary: 'The {{ $labels.tier }} fails to sign certificates',
    description: 'cert_key answers 5xx: nobody can sign in to a site.',
  },
  {
    alert: 'PersonaDiscoveryFailures',
    expr: 'persona_discovery:failure_ratio_rate15m > 0.5 and sum(rate(persona_discovery_fetch_seconds_count[15m])) > 0.01',
    for: '15m',
    severity: 'warning',
    summary: '{{ $value | humanizePercentage }} of support-document fetches fail',
    description: 'The egress proxy or DNS may be broken: primaries cannot be discovered.',
  },
  {
    alert: 'PersonaLoadShedding',
    expr: 'tier:persona_requests_shed:rate5m > 0',
    for: '5m',
    severity: 'warning',
    summary: '{{ $labels.tier }} sheds requests',
    description: 'The event loop lags: the tier is over capacity and refuses part of its requests.',
  },
];

export function rulesYaml(options: PrometheusOptions = {}): Yaml {
  const runbooks = options.runbookBase ?? 'docs/runbooks/';
  for (const name of Object.keys(options.pendingFor ?? {}))
    if (!ALERTS.some((a) => a.alert === name)) throw new Error(`pendingFor: no alert named ${name}`);
  return {
    groups: [
      { name: 'persona-recording', rules: RECORDING_RULES.map((r) => ({ record: r.record, expr: r.expr })) },
      {
        name: 'persona-alerts',
        rules: ALERTS.map((a) => ({
          alert: a.alert,
          expr: a.expr,
          for: options.pendingFor?.[a.alert] ?? a.for,
          labels: { severity: a.severity },
          annotations: {
            summary: a.summary,
            description: a.description,
            runbook_url: `${runbooks}${a.alert}.md`,
          },
        })),
      },
    ],
  };
}

export const prometheusConfig = (config: Config, options: PrometheusOptions = {}): string =>
  `# Generated by persona ops prometheus from the topology; do not edit.\n${toYaml(scrapeConfig(config, options))}`;

export const prometheusRules = (options: PrometheusOptions = {}): string =>
  `# Generated by persona ops prometheus --rules; do not edit.\n${toYaml(rulesYaml(options))}`;
