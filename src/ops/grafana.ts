/**
 * `persona ops grafana` (docs/monitoring.md): Grafana dashboards (JSON model, schemaVersion 39) for the
 * metrics the tiers export (docs/operations.md) and the recording rules of `persona ops prometheus`: one
 * overview and one per running tier. Panels query a `datasource` variable, so the files import into any
 * Grafana with a Prometheus data source. The drill (test/ops/prometheus-drill.test.ts) runs every
 * expression against a real Prometheus and checks each metric against the tier's own /metrics.
 */
import type { Config } from '../config/settings.ts';
import { deploymentOf, instancesOf, RUNNING_TIERS, type Tier } from '../topology/index.ts';
import { jobOf } from './prometheus.ts';

interface Query {
  readonly expr: string;
  readonly legend: string;
}

interface PanelSpec {
  readonly title: string;
  /** Grafana unit: reqps, s, percentunit, short, bytes, ops. */
  readonly unit: string;
  readonly queries: readonly Query[];
  readonly description?: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  /** The tier whose metrics it reads; undefined for the overview (every tier's). */
  readonly tier: Tier | undefined;
  readonly json: Record<string, unknown>;
}

const RATE = '[$__rate_interval]';
const HTTP = 'persona_http_request_duration_seconds';

const quantiles = (metric: string, selector: string, by: string[], legend: (q: string) => string) =>
  ['0.5', '0.95', '0.99'].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${[...by, 'le'].join(', ')}) (rate(${metric}_bucket${selector}${RATE})))`,
    legend: legend(q),
  }));

const pct = (q: string) => `p${Number(q) * 100}`;

/** What every tier's dashboard shows: traffic, latency, errors, shedding, the event loop, the process. */
function commonPanels(tier: Tier): PanelSpec[] {
  const s = `{tier="${tier}"}`;
  const sel = (extra: string) => `{tier="${tier}",${extra}}`;
  return [
    {
      title: 'Requests/s by route',
      unit: 'reqps',
      queries: [{ expr: `sum by (route) (rate(${HTTP}_count${s}${RATE}))`, legend: '{{route}}' }],
    },
    {
      title: 'Latency (all routes)',
      unit: 's',
      queries: quantiles(HTTP, s, [], pct),
    },
    {
      title: 'p95 latency by route',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (route, le) (rate(${HTTP}_bucket${s}${RATE})))`,
          legend: '{{route}}',
        },
      ],
    },
    {
      title: 'Error ratio (5xx)',
      unit: 'percentunit',
      queries: [
        {
          expr: `sum(rate(${HTTP}_count${sel('status=~"5.."')}${RATE})) / sum(rate(${HTTP}_count${s}${RATE}))`,
          legend: '5xx',
        },
      ],
    },
    {
      title: 'Responses/s by status',
      unit: 'reqps',
      queries: [{ expr: `sum by (status) (rate(${HTTP}_count${s}${RATE}))`, legend: '{{status}}' }],
    },
    {
      title: 'Shed requests and 503s',
      unit: 'reqps',
      description: 'Shed: refused because the event loop lagged. 503: also full queues and passed deadlines.',
      queries: [
        { expr: `sum(rate(persona_requests_shed_total${s}${RATE}))`, legend: 'shed' },
        { expr: `sum(rate(${HTTP}_count${sel('status="503"')}${RATE}))`, legend: '503' },
      ],
    },
    {
      title: 'Event-loop lag',
      unit: 's',
      queries: [
        { expr: `max by (instance) (persona_event_loop_lag_seconds${s})`, legend: 'smoothed {{instance}}' },
        { expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds${s})`, legend: 'p99 {{instance}}' },
      ],
    },
    {
      title: 'CPU and memory',
      unit: 'short',
      queries: [
        {
          expr: `sum by (instance) (rate(process_cpu_seconds_total${s}${RATE}))`,
          legend: 'CPU cores {{instance}}',
        },
        {
          expr: `max by (instance) (process_resident_memory_bytes${s}) / 1048576`,
          legend: 'RSS MiB {{instance}}',
        },
      ],
    },
  ];
}

const bcryptPanels = (s: string): PanelSpec[] => [
  {
    title: 'bcrypt time',
    unit: 's',
    queries: quantiles('persona_bcrypt_seconds', s, ['kind'], (q) => `{{kind}} ${pct(q)}`),
  },
  {
    title: 'bcrypt queue',
    unit: 'short',
    queries: [{ expr: `sum by (state) (persona_bcrypt_queue${s})`, legend: '{{state}}' }],
  },
];

const databasePanels = (s: string): PanelSpec[] => [
  {
    title: 'Database operations/s by outcome',
    unit: 'ops',
    queries: [
      {
        expr: `sum by (outcome) (rate(persona_db_operation_seconds_count${s}${RATE}))`,
        legend: '{{outcome}}',
      },
    ],
  },
  {
    title: 'Database p95 by operation',
    unit: 's',
    queries: [
      {
        expr: `histogram_quantile(0.95, sum by (operation, le) (rate(persona_db_operation_seconds_bucket${s}${RATE})))`,
        legend: '{{operation}}',
      },
    ],
  },
];

const discoveryPanel = (s: string): PanelSpec => ({
  title: 'Support-document fetches/s by outcome',
  unit: 'ops',
  queries: [
    {
      expr: `sum by (outcome) (rate(persona_discovery_fetch_seconds_count${s}${RATE}))`,
      legend: '{{outcome}}',
    },
  ],
});

/** The panels only one tier has (its own metrics). */
function tierPanels(tier: Tier): PanelSpec[] {
  const s = `{tier="${tier}"}`;
  switch (tier) {
    case 'webhead':
      return [
        {
          title: 'Sign-ins/s by outcome',
          unit: 'ops',
          queries: [
            { expr: `sum by (outcome) (rate(persona_signins_total${s}${RATE}))`, legend: '{{outcome}}' },
          ],
        },
        {
          title: 'wsapi operations/s',
          unit: 'ops',
          queries: [
            { expr: `sum by (op) (rate(persona_wsapi_operations_total${s}${RATE}))`, legend: '{{op}}' },
          ],
        },
        ...bcryptPanels(s),
        ...databasePanels(s),
        discoveryPanel(s),
      ];
    case 'dbwriter':
      return [
        {
          title: 'wsapi operations/s',
          unit: 'ops',
          queries: [
            { expr: `sum by (op) (rate(persona_wsapi_operations_total${s}${RATE}))`, legend: '{{op}}' },
          ],
        },
        {
          title: 'Mails/s by outcome',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (kind, outcome) (rate(persona_mails_sent_total${s}${RATE}))`,
              legend: '{{kind}} {{outcome}}',
            },
          ],
        },
        {
          title: 'Mail outbox',
          unit: 'short',
          queries: [
            { expr: `max(persona_mail_outbox_depth${s})`, legend: 'queued' },
            { expr: `max(persona_mail_outbox_oldest_age_seconds${s})`, legend: 'oldest (s)' },
          ],
        },
        {
          title: 'Rate-limit hits/s',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (limit, outcome) (rate(persona_rate_limit_hits_total${s}${RATE}))`,
              legend: '{{limit}} {{outcome}}',
            },
          ],
        },
        ...bcryptPanels(s),
        ...databasePanels(s),
      ];
    case 'keysigner':
      return [
        {
          title: 'Certificate signing time',
          unit: 's',
          queries: quantiles('persona_certification_seconds', s, [], pct),
        },
        {
          title: 'Certificates signed/s',
          unit: 'ops',
          queries: [{ expr: `sum(rate(persona_certification_seconds_count${s}${RATE}))`, legend: 'signed' }],
        },
      ];
    case 'verifier':
      return [
        {
          title: '/verify outcomes/s',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (outcome) (rate(persona_verifications_total${s}${RATE}))`,
              legend: '{{outcome}}',
            },
          ],
        },
        {
          title: 'Assertion verification time',
          unit: 's',
          queries: quantiles('persona_assertion_verification_seconds', s, [], pct),
        },
        discoveryPanel(s),
      ];
    default:
      return [];
  }
}

function overviewPanels(): PanelSpec[] {
  const jobs = RUNNING_TIERS.map(jobOf).join('|');
  return [
    {
      title: 'Instances up by tier',
      unit: 'short',
      queries: [{ expr: `sum by (tier) (up{job=~"${jobs}"})`, legend: '{{tier}}' }],
    },
    {
      title: 'Requests/s by tier',
      unit: 'reqps',
      queries: [{ expr: 'tier:persona_http_requests:rate1m', legend: '{{tier}}' }],
    },
    {
      title: 'p95 latency by tier',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (tier, le) (rate(${HTTP}_bucket${RATE})))`,
          legend: '{{tier}}',
        },
      ],
    },
    {
      title: 'p50 latency by tier',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.5, sum by (tier, le) (rate(${HTTP}_bucket${RATE})))`,
          legend: '{{tier}}',
        },
      ],
    },
    {
      title: '5xx ratio by tier',
      unit: 'percentunit',
      queries: [{ expr: 'tier:persona_http_5xx:ratio_rate5m', legend: '{{tier}}' }],
    },
    {
      title: 'Shed requests and 503s by tier',
      unit: 'reqps',
      queries: [
        { expr: 'tier:persona_requests_shed:rate5m', legend: 'shed {{tier}}' },
        { expr: 'tier:persona_http_503:rate5m', legend: '503 {{tier}}' },
      ],
    },
    {
      title: 'Event-loop lag by tier (max)',
      unit: 's',
      queries: [{ expr: 'max by (tier) (persona_event_loop_lag_seconds)', legend: '{{tier}}' }],
    },
    {
      title: 'bcrypt waiting and p95',
      unit: 'short',
      queries: [
        { expr: 'sum by (tier) (persona_bcrypt_queue{state="waiting"})', legend: 'waiting {{tier}}' },
        {
          expr: `histogram_quantile(0.95, sum by (tier, le) (rate(persona_bcrypt_seconds_bucket${RATE})))`,
          legend: 'p95 s {{tier}}',
        },
      ],
    },
    {
      title: 'Database errors/s by tier',
      unit: 'ops',
      queries: [{ expr: 'tier:persona_db_errors:rate5m', legend: '{{tier}}' }],
    },
    {
      title: 'Crypto p95: signing a certificate, verifying an assertion',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (le) (rate(persona_certification_seconds_bucket${RATE})))`,
          legend: 'certificate',
        },
        {
          expr: `histogram_quantile(0.95, sum by (le) (rate(persona_assertion_verification_seconds_bucket${RATE})))`,
          legend: 'assertion',
        },
      ],
    },
    {
      title: 'Sign-ins and /verify outcomes/s',
      unit: 'ops',
      queries: [
        { expr: `sum by (outcome) (rate(persona_signins_total${RATE}))`, legend: 'sign-in {{outcome}}' },
        { expr: `sum by (outcome) (rate(persona_verifications_total${RATE}))`, legend: 'verify {{outcome}}' },
      ],
    },
    {
      title: 'Failure ratios: /verify, discovery',
      unit: 'percentunit',
      queries: [
        { expr: 'persona_verifications:failure_ratio_rate10m', legend: '/verify' },
        { expr: 'persona_discovery:failure_ratio_rate15m', legend: 'discovery' },
      ],
    },
  ];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function dashboard(
  uid: string,
  title: string,
  panels: PanelSpec[],
  description: string,
): Record<string, unknown> {
  return {
    uid,
    title,
    description,
    tags: ['persona'],
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus' }],
    },
    links: [{ type: 'dashboards', tags: ['persona'], asDropdown: true, title: 'Persona' }],
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: DATASOURCE,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: p.queries.map((q, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: DATASOURCE,
        expr: q.expr,
        legendFormat: q.legend,
      })),
    })),
  };
}

/** The overview and one dashboard per running tier that has instances in this deployment. */
export function grafanaDashboards(config: Config): Dashboard[] {
  const deployment = deploymentOf(config);
  const tiers = RUNNING_TIERS.filter((t) => instancesOf(deployment, t).length > 0);
  return [
    {
      uid: 'persona-overview',
      title: 'Persona: overview',
      tier: undefined,
      json: dashboard(
        'persona-overview',
        'Persona: overview',
        overviewPanels(),
        'Every tier at a glance: up, traffic, latency, errors, shedding, bcrypt, database and crypto.',
      ),
    },
    ...tiers.map((tier) => ({
      uid: `persona-${tier}`,
      title: `Persona: ${tier}`,
      tier,
      json: dashboard(
        `persona-${tier}`,
        `Persona: ${tier}`,
        [...commonPanels(tier), ...tierPanels(tier)],
        `The ${tier} tier: traffic, latency, errors, shedding, event loop and its own work.`,
      ),
    })),
  ];
}

/** Every PromQL expression of the dashboards. */
export const dashboardExpressions = (dashboards: readonly Dashboard[]): string[] =>
  dashboards.flatMap((d) =>
    (d.json.panels as { targets: { expr: string }[] }[]).flatMap((p) => p.targets.map((t) => t.expr)),
  );
