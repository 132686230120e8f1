/**
 * CloudWatch alarms for the Prometheus alerts (src/ops/prometheus.ts ALERTS): one alarm per alert (per tier
 * where the alert is per tier), with the alert's threshold and duration. Where a load balancer measures
 * the same thing (a tier down, its 5xx ratio, its latency, the keysigner's errors) the alarm reads the
 * load balancer's metrics; the others read the tiers' own series, which the CloudWatch agent on each host
 * scrapes from /metrics into the `Persona` namespace (dimension `tier`). An alert without a mapping here
 * still gets an alarm, on the series `Persona/<alert>` (the agent publishes the alert's recording rule).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import { ALERTS, type AlertRule } from '../../src/ops/prometheus.ts';
import type { Tier } from '../../src/topology/index.ts';

export const NAMESPACE = 'Persona';

/** The alert's `for` as minutes (at least one evaluation period of a minute). */
export const minutesOf = (duration: string): number => {
  const match = /^(\d+)([smh])$/.exec(duration);
  if (!match) throw new Error(`unknown duration ${duration}`);
  const n = Number(match[1]);
  return Math.max(1, match[2] === 'h' ? n * 60 : match[2] === 's' ? Math.ceil(n / 60) : n);
};

/** The alert's first threshold (`expr > N`); `expr == 0` (a target down) alarms above 0 of them. */
export const thresholdOf = (alert: AlertRule): number => {
  const match = /[^=!<>]>\s*([0-9.]+)/.exec(alert.expr);
  if (match) return Number(match[1]);
  if (/==\s*0\s*$/.test(alert.expr)) return 0;
  throw new Error(`${alert.alert}: no threshold in ${alert.expr}`);
};

export interface TierBalancer {
  readonly tier: Tier;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
}

type Source = (
  alert: AlertRule,
  balancers: readonly TierBalancer[],
) => {
  readonly name: string;
  readonly metric: cloudwatch.IMetric;
}[];

const minute = Duration.minutes(1);

/**
 * The tiers' series the CloudWatch agent publishes into the `Persona` namespace, with the dimension sets
 * it keeps (`job` is the agent's one scrape job: the series summed over every tier and label).
 */
export const AGENT_SERIES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  persona_http_request_duration_seconds_count: [['status']],
  persona_bcrypt_queue: [['state']],
  persona_db_operation_seconds_count: [['outcome']],
  persona_mails_sent_total: [['outcome']],
  persona_mail_outbox_oldest_age_seconds: [['job']],
  persona_verifications_total: [['job'], ['outcome']],
  persona_discovery_fetch_seconds_count: [['job'], ['outcome']],
  persona_requests_shed_total: [['job']],
};
export const AGENT_JOB = 'persona';

/** The agent's configuration for a host whose tier listens on `port` (its /metrics). */
export function cloudWatchAgentConfig(port: number, logGroup: string): { agent: string; prometheus: string } {
  const prometheus = [
    'global:',
    '  scrape_interval: 1m',
    '  scrape_timeout: 10s',
    'scrape_configs:',
    `  - job_name: ${AGENT_JOB}`,
    '    static_configs:',
    `      - targets: ["127.0.0.1:${port}"]`,
    '',
  ].join('\n');
  const agent = {
    logs: {
      metrics_collected: {
        prometheus: {
          log_group_name: logGroup,
          prometheus_config_path: '/etc/persona/prometheus.yaml',
          emf_processor: {
            metric_namespace: NAMESPACE,
            metric_declaration: Object.entries(AGENT_SERIES).map(([series, dimensions]) => ({
              source_labels: ['job'],
              label_matcher: `^${AGENT_JOB}$`,
              dimensions,
              metric_selectors: [`^${series}$`],
            })),
          },
        },
      },
    },
  };
  return { agent: JSON.stringify(agent, null, 2), prometheus };
}

const series = (name: string, statistic: string, dimensionsMap: Record<string, string>) => {
  const kept = AGENT_SERIES[name];
  if (!kept?.some((set) => set.join() === Object.keys(dimensionsMap).sort().join()))
    throw new Error(`the agent does not publish ${name} by ${Object.keys(dimensionsMap).join(', ')}`);
  return new cloudwatch.Metric({
    namespace: NAMESPACE,
    metricName: name,
    statistic,
    period: minute,
    dimensionsMap,
  });
};
const all = { job: AGENT_JOB };
/** The sum of a counter's series for some values of a label. */
const sumOf = (name: string, label: string, values: readonly string[]) =>
  new cloudwatch.MathExpression({
    expression: values.map((_, i) => `m${i}`).join(' + '),
    usingMetrics: Object.fromEntries(values.map((v, i) => [`m${i}`, series(name, 'Sum', { [label]: v })])),
    period: minute,
  });
/** The share of a counter's events whose label is not among `good`. */
const failureRatio = (name: string, good: readonly string[]) =>
  new cloudwatch.MathExpression({
    expression: `IF(total > 0, (total - (${good.map((_, i) => `g${i}`).join(' + ')})) / total, 0)`,
    usingMetrics: {
      total: series(name, 'Sum', all),
      ...Object.fromEntries(good.map((v, i) => [`g${i}`, series(name, 'Sum', { outcome: v })])),
    },
    period: minute,
  });

const SOURCES: Readonly<Record<string, Source>> = {
  PersonaTierDown: (_a, balancers) =>
    balancers.map((b) => ({
      name: b.tier,
      metric: b.targetGroup.metrics.unhealthyHostCount({ period: minute, statistic: 'Maximum' }),
    })),
  PersonaHigh5xxRatio: (_a, balancers) =>
    balancers.map((b) => ({
      name: b.tier,
      metric: new cloudwatch.MathExpression({
        // The alert ignores a quiet tier (under 0.1 request/s).
        expression: 'IF(requests > 6, errors / requests, 0)',
        usingMetrics: {
          errors: b.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
            period: minute,
            statistic: 'Sum',
          }),
          requests: b.loadBalancer.metrics.requestCount({ period: minute, statistic: 'Sum' }),
        },
        period: minute,
      }),
    })),
  PersonaSlowRoute: (_a, balancers) =>
    balancers.map((b) => ({
      name: b.tier,
      metric: b.loadBalancer.metrics.targetResponseTime({ period: minute, statistic: 'p95' }),
    })),
  PersonaCertificateSigningErrors: (_a, balancers) =>
    balancers
      .filter((b) => b.tier === 'keysigner')
      .map((b) => ({
        name: b.tier,
        metric: b.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
          period: minute,
          statistic: 'Sum',
        }),
      })),
  // Per second, as the alert's rate.
  PersonaBusy503: () => [
    {
      name: 'all',
      metric: new cloudwatch.MathExpression({
        expression: 'busy / 60',
        usingMetrics: {
          busy: series('persona_http_request_duration_seconds_count', 'Sum', { status: '503' }),
        },
        period: minute,
      }),
    },
  ],
  PersonaBcryptBacklog: () => [
    { name: 'all', metric: series('persona_bcrypt_queue', 'Maximum', { state: 'waiting' }) },
  ],
  PersonaDatabaseErrors: () => [
    { name: 'all', metric: sumOf('persona_db_operation_seconds_count', 'outcome', ['unavailable', 'error']) },
  ],
  PersonaMailFailures: () => [
    { name: 'all', metric: sumOf('persona_mails_sent_total', 'outcome', ['failed', 'given_up', 'dropped']) },
  ],
  PersonaMailOutboxStuck: () => [
    { name: 'all', metric: series('persona_mail_outbox_oldest_age_seconds', 'Maximum', all) },
  ],
  PersonaVerificationFailureRatio: () => [
    { name: 'all', metric: failureRatio('persona_verifications_total', ['okay']) },
  ],
  PersonaDiscoveryFailures: () => [
    {
      name: 'all',
      metric: failureRatio('persona_discovery_fetch_seconds_count', ['supported', 'delegated', 'disabled']),
    },
  ],
  PersonaLoadShedding: () => [{ name: 'all', metric: series('persona_requests_shed_total', 'Sum', all) }],
};

/** The alerts' alarms for a region; returns them by alert name. */
export function alertAlarms(
  scope: Construct,
  prefix: string,
  balancers: readonly TierBalancer[],
): Map<string, cloudwatch.Alarm[]> {
  const made = new Map<string, cloudwatch.Alarm[]>();
  for (const alert of ALERTS) {
    const source: Source =
      SOURCES[alert.alert] ??
      (() => [
        {
          name: 'all',
          metric: new cloudwatch.Metric({ namespace: NAMESPACE, metricName: alert.alert, period: minute }),
        },
      ]);
    const alarms = source(alert, balancers).map(
      ({ name, metric }) =>
        new cloudwatch.Alarm(scope, `${alert.alert}-${name}`, {
          alarmName: `${prefix}-${alert.alert}-${name}`,
          alarmDescription: `${alert.summary} (${alert.severity}; Prometheus: ${alert.expr}; runbook docs/runbooks/${alert.alert}.md)`,
          metric,
          threshold: thresholdOf(alert),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: minutesOf(alert.for),
          datapointsToAlarm: minutesOf(alert.for),
          treatMissingData:
            alert.alert === 'PersonaTierDown'
              ? cloudwatch.TreatMissingData.BREACHING
              : cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
    );
    made.set(alert.alert, alarms);
  }
  return made;
}
