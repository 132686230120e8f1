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
const tierMetric = (metric: string, statistic: string, tier?: Tier) =>
  new cloudwatch.Metric({
    namespace: NAMESPACE,
    metricName: metric,
    statistic,
    period: minute,
    ...(tier ? { dimensionsMap: { tier } } : {}),
  });
const ratio = (failed: string, all: string) =>
  new cloudwatch.MathExpression({
    expression: 'IF(total > 0, failed / total, 0)',
    usingMetrics: { failed: tierMetric(failed, 'Sum'), total: tierMetric(all, 'Sum') },
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
  PersonaBusy503: () => [{ name: 'all', metric: tierMetric('persona_http_503_per_second', 'Average') }],
  PersonaBcryptBacklog: () => [
    { name: 'all', metric: tierMetric('persona_bcrypt_queue_waiting', 'Maximum') },
  ],
  PersonaDatabaseErrors: () => [{ name: 'all', metric: tierMetric('persona_db_errors', 'Sum') }],
  PersonaMailFailures: () => [{ name: 'all', metric: tierMetric('persona_mails_failed', 'Sum') }],
  PersonaMailOutboxStuck: () => [
    { name: 'all', metric: tierMetric('persona_mail_outbox_oldest_age_seconds', 'Maximum') },
  ],
  PersonaVerificationFailureRatio: () => [
    { name: 'all', metric: ratio('persona_verifications_failed', 'persona_verifications') },
  ],
  PersonaDiscoveryFailures: () => [
    { name: 'all', metric: ratio('persona_discovery_fetches_failed', 'persona_discovery_fetches') },
  ],
  PersonaLoadShedding: () => [{ name: 'all', metric: tierMetric('persona_requests_shed', 'Sum') }],
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
      SOURCES[alert.alert] ?? (() => [{ name: 'all', metric: tierMetric(alert.alert, 'Maximum') }]);
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
