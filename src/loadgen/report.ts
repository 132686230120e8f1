/**
 * The HTML report: one self-contained file (inline SVG charts, no scripts, no network), viewable offline.
 * Charts are drawn here rather than with a chart library: five line charts need ~100 lines, and the file
 * stays a few hundred kB with nothing to fetch or run.
 */
import { holdVerdict, type LoadgenResult } from './result.ts';
import { errorKind } from './stats.ts';

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
];

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const escape = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** A round step giving about `n` ticks over `span`. */
function tickStep(span: number, n = 5): number {
  const raw = span / n;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3 ? 2 : unit < 7 ? 5 : 10) * power;
}

const fmt = (v: number): string =>
  Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(Math.abs(v) < 10 ? 1 : 0)}`;

export function lineChart(
  title: string,
  series: readonly Series[],
  options: { yLabel: string; xLabel?: string; bound?: { y: number; label: string } } = { yLabel: '' },
): string {
  const W = 720;
  const H = 260;
  const M = { left: 56, right: 150, top: 28, bottom: 36 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1, ...ys, options.bound?.y ?? 0) * 1.05;
  const yStep = tickStep(yMax);
  const xStep = tickStep(xMax, 8);
  const X = (x: number) => M.left + (x / xMax) * (W - M.left - M.right);
  const Y = (y: number) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const parts: string[] = [
    `<svg class="chart" role="img" aria-label="${escape(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${M.left}" y="18" class="title">${escape(title)}</text>`,
  ];
  for (let y = 0; y <= yMax; y += yStep)
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${Y(y)}" y2="${Y(y)}" class="grid"/>`,
      `<text x="${M.left - 6}" y="${Y(y) + 4}" text-anchor="end">${fmt(y)}</text>`,
    );
  for (let x = 0; x <= xMax; x += xStep)
    parts.push(`<text x="${X(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`);
  parts.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 4}" text-anchor="middle">${escape(options.xLabel ?? 'seconds')}</text>`,
    `<text transform="translate(12 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" class="axis"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" class="axis"/>`,
  );
  if (options.bound)
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${Y(options.bound.y)}" y2="${Y(options.bound.y)}" class="bound"/>`,
      `<text x="${W - M.right - 4}" y="${Y(options.bound.y) - 4}" text-anchor="end" class="boundlabel">${escape(options.bound.label)}</text>`,
    );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    if (s.points.length > 0)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${s.points
          .map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`)
          .join(' ')}"><title>${escape(s.name)}</title></polyline>`,
      );
    const ly = M.top + 6 + i * 17;
    parts.push(
      `<rect x="${W - M.right + 12}" y="${ly - 8}" width="14" height="4" fill="${color}"/>`,
      `<text x="${W - M.right + 32}" y="${ly - 2}" class="legend">${escape(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
const pct = (v: number) => `${(100 * v).toFixed(v < 0.01 ? 2 : 1)} %`;

export function renderReport(r: LoadgenResult): string {
  const secs = r.seconds;
  const latency = lineChart(
    'Request latency per second',
    (['p50', 'p95', 'p99'] as const).map((q) => ({ name: q, points: secs.map((s) => [s.t, s[q]] as const) })),
    { yLabel: 'ms', bound: { y: r.options.boundMs, label: `bound ${r.options.boundMs} ms` } },
  );
  const kinds = Object.keys(r.totals.completed).filter((k) => secs.some((s) => (s.completed[k] ?? 0) > 0));
  const activities = lineChart(
    'Activities completed per second, by kind',
    kinds.map((k) => ({ name: k, points: secs.map((s) => [s.t, s.completed[k] ?? 0] as const) })),
    { yLabel: 'activities/s' },
  );
  const errors = lineChart(
    'Failures, 503s and activities not started',
    [
      { name: 'failed activities', points: secs.map((s) => [s.t, s.failed] as const) },
      { name: '503 answers', points: secs.map((s) => [s.t, s.http503] as const) },
      { name: 'not started (behind)', points: secs.map((s) => [s.t, s.shed] as const) },
    ],
    { yLabel: 'per second' },
  );
  const cpu = lineChart(
    'CPU per process (from each tier’s /metrics)',
    r.tiers.map((t) => ({ name: t.name, points: t.samples.map((s) => [s.t, s.cpu] as const) })),
    { yLabel: '% of one core' },
  );
  const memory = lineChart(
    'Resident memory per process',
    r.tiers.map((t) => ({ name: t.name, points: t.samples.map((s) => [s.t, s.rssMb] as const) })),
    { yLabel: 'MB' },
  );
  const users = lineChart(
    'Active users simulated',
    [{ name: 'active users', points: secs.map((s) => [s.t, s.users] as const) }],
    { yLabel: 'users' },
  );
  const rows = (cells: readonly (string | number)[][]) =>
    cells.map((row) => `<tr>${row.map((c) => `<td>${escape(String(c))}</td>`).join('')}</tr>`).join('\n');
  const steps = r.steps.length
    ? `<h2>Capacity search</h2><table><tr><th>active users</th><th>activities/s</th><th>p95</th><th>failures</th><th>not started</th><th>held</th></tr>${rows(
        r.steps.map((s) => [
          s.users.toLocaleString('en'),
          s.activitiesPerSecond.toFixed(1),
          ms(s.p95Ms),
          pct(s.failureRate),
          pct(s.unstartedRate),
          s.held ? 'yes' : 'no',
        ]),
      )}</table>`
    : '';
  const c = r.capacity;
  const errorCounts = new Map<string, number>();
  for (const [message, n] of Object.entries(r.errors))
    errorCounts.set(errorKind(message), (errorCounts.get(errorKind(message)) ?? 0) + n);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>persona loadgen: ${escape(r.deployment)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
.figure{font-size:18px;background:#f3f6fa;border:1px solid #c9d6e6;padding:10px 14px}
svg.chart{display:block;margin:10px 0;font-size:11px;background:#fff}
svg .title{font-size:13px;font-weight:600}svg .grid{stroke:#eee}svg .axis{stroke:#888}
svg .bound{stroke:#d62728;stroke-dasharray:5 4}svg .boundlabel{fill:#d62728}
</style></head><body>
<h1>persona loadgen: ${escape(r.deployment)}</h1>
<p>${escape(r.startedAt)} · ${r.mode === 'capacity' ? 'capacity search' : escape(holdVerdict(r))} · ${r.machine}</p>
<p class="figure">${
    c
      ? `Capacity: <b>${c.users.toLocaleString('en')} active users</b> = <b>${c.percentOfLimit.toFixed(0)} %</b> of the bcrypt-bound limit (${Math.round(c.limitUsers).toLocaleString('en')} users at ${r.bcrypt.comparesPerSecond.toFixed(1)} compares/s, cost ${r.bcrypt.cost}); p95 ${ms(c.p95Ms)}, failures ${pct(c.failureRate)}`
      : `Held ${r.options.users.toLocaleString('en')} active users: p95 ${ms(r.totals.latency.p95)}, failures ${pct(r.totals.failureRate)}`
  }</p>
<table>
<tr><th>activities</th><td>${r.totals.activities}</td><th>requests</th><td>${r.totals.requests}</td></tr>
<tr><th>activities/s</th><td>${r.totals.activitiesPerSecond.toFixed(1)}</td><th>requests/s</th><td>${r.totals.requestsPerSecond.toFixed(1)}</td></tr>
<tr><th>request p50 / p95 / p99</th><td>${ms(r.totals.latency.p50)} / ${ms(r.totals.latency.p95)} / ${ms(r.totals.latency.p99)}</td><th>failures, 503s, not started</th><td>${r.totals.failures - r.totals.shed}, ${r.totals.http503}, ${r.totals.shed}</td></tr>
<tr><th>mail links followed</th><td>${r.linksFollowed}</td><th>bcrypt operations asked</th><td>${r.bcryptOps}</td></tr>
</table>
${steps}
<h2>Over time</h2>
${users}
${latency}
${activities}
${errors}
${cpu}
${memory}
<h2>By activity</h2>
<table><tr><th>activity</th><th>model share</th><th>completed</th><th>failed</th><th>p50</th><th>p95</th></tr>
${rows(
  Object.keys(r.totals.completed).map((k) => [
    k,
    pct(r.model.weights[k] ?? 0),
    r.totals.completed[k] ?? 0,
    r.totals.failed[k] ?? 0,
    ms(r.activityLatency[k]?.p50 ?? 0),
    ms(r.activityLatency[k]?.p95 ?? 0),
  ]),
)}</table>
<h2>Requests</h2>
<table><tr><th>request</th><th>count</th></tr>${rows(Object.entries(r.requestsByWhat).sort((a, b) => b[1] - a[1]))}</table>
${
  errorCounts.size
    ? `<h2>Errors</h2><table><tr><th>error</th><th>count</th></tr>${rows([...errorCounts].sort((a, b) => b[1] - a[1]).slice(0, 25))}</table>`
    : '<h2>Errors</h2><p>none</p>'
}
</body></html>
`;
}
