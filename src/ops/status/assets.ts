/** The status page's stylesheet and script (served from the page's own origin: its CSP allows only that). */

export const STATUS_CSS = `
:root { --ink: #1d2330; --muted: #5c6475; --line: #e3e6ec; --bg: #f6f7f9; --card: #fff;
  --up: #18794e; --up-bg: #e6f4ec; --down: #b42318; --down-bg: #fdeceb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; background: var(--card);
  border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header p { margin: 0; color: var(--muted); flex: 1; }
main { padding: 20px 24px; max-width: 1280px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
  margin-bottom: 18px; }
h2 { font-size: 15px; margin: 0 0 12px; }
.hint { color: var(--muted); font-weight: normal; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 7px 10px; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
tr.down td { background: var(--down-bg); }
.badge { display: inline-block; min-width: 52px; text-align: center; padding: 1px 8px; border-radius: 10px;
  font-size: 12px; font-weight: 600; }
.badge.up { color: var(--up); background: var(--up-bg); }
.badge.down { color: #fff; background: var(--down); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 14px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.chart svg { width: 100%; height: 180px; display: block; }
.chart text { font-size: 11px; fill: var(--muted); }
.legend { margin: 12px 0 0; display: flex; gap: 16px; flex-wrap: wrap; color: var(--muted); }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 3px; margin-right: 6px;
  vertical-align: middle; background: var(--c); }
button { font: inherit; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--card);
  cursor: pointer; }
.signin main { max-width: 380px; margin: 12vh auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 24px; }
.signin h1 { font-size: 20px; margin-top: 0; }
.signin label { display: block; font-weight: 600; margin: 12px 0 4px; }
.signin input { width: 100%; padding: 8px; font: inherit; border: 1px solid #c4c9d4; border-radius: 6px; }
.signin button { margin-top: 14px; background: #1f4fd1; color: #fff; border-color: #1f4fd1; }
.error { color: var(--down); background: var(--down-bg); padding: 8px 10px; border-radius: 6px; }
`;

export const STATUS_JS = `'use strict';
const COLOURS = ['#1f4fd1', '#d1711f', '#18794e', '#8e3fd1', '#c0264b', '#0f8a9a', '#6b7280'];
const SVG = 'http://www.w3.org/2000/svg';
const el = (name, attrs, text) => {
  const node = name.startsWith('svg:') ? document.createElementNS(SVG, name.slice(4)) : document.createElement(name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
};
const ms = (s) => (s === null ? '–' : s < 0.01 ? (s * 1000).toFixed(1) + ' ms' : Math.round(s * 1000) + ' ms');
const pct = (r) => (r === null ? '–' : (r * 100).toFixed(r < 0.1 ? 2 : 1) + ' %');
const num = (n) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

function table(data) {
  const body = document.querySelector('#instances tbody');
  body.replaceChildren();
  for (const i of data.instances) {
    // A down instance has no figures to show (its counters are not reachable).
    const f = i.up ? i.figures : null;
    const row = el('tr', { class: i.up ? 'up' : 'down', 'data-instance': i.name });
    row.append(el('td', {}, i.name));
    const state = el('td');
    state.append(el('span', { class: 'badge ' + (i.up ? 'up' : 'down') }, i.up ? 'up' : 'down'));
    row.append(state);
    row.append(el('td', {}, f ? num(f.requestsPerSecond) : '–'), el('td', {}, f ? ms(f.p50) : '–'),
      el('td', {}, f ? ms(f.p95) : '–'), el('td', {}, f ? pct(f.errorRatio) : '–'),
      el('td', {}, f ? num(f.shedPerSecond) : '–'));
    body.append(row);
  }
  document.getElementById('window').textContent = data.windowSeconds ? 'over the last ' + data.windowSeconds + ' s' : '';
}

function chart(node, data, series, unit) {
  const W = 560, H = 180, L = 44, R = 8, T = 8, B = 22;
  const at = data.series.at;
  const tiers = Object.keys(data.series.tiers);
  const scale = unit === 'ms' ? 1000 : unit === 'pct' ? 100 : 1;
  const values = tiers.map((t) => data.series.tiers[t][series].map((v) => (v === null ? null : v * scale)));
  // A round step (1, 2 or 5 times a power of ten) and four of them on the axis.
  const top = Math.max(unit === 'pct' ? 1 : 0.5, ...values.flat().filter((v) => v !== null));
  const raw = top / 4, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const max = step * 4;
  const svg = el('svg:svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img' });
  const t0 = at[0] || data.now, t1 = Math.max(at[at.length - 1] || data.now, t0 + 1);
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(el('svg:line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e3e6ec' }));
    const label = (step < 1 ? v.toFixed(Math.min(3, -Math.floor(Math.log10(step)))) : String(Math.round(v))) + (unit === 'pct' ? ' %' : '');
    svg.append(el('svg:text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, label));
  }
  const span = Math.round((t1 - t0) / 1000);
  svg.append(el('svg:text', { x: L, y: H - 6 }, span >= 120 ? '-' + Math.round(span / 60) + ' min' : '-' + span + ' s'));
  svg.append(el('svg:text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, 'now'));
  tiers.forEach((tier, n) => {
    let d = '';
    values[n].forEach((v, i) => {
      if (v === null) return;
      d += (d === '' || values[n][i - 1] === null ? 'M' : 'L') + x(at[i]).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
    });
    if (d) svg.append(el('svg:path', { d, fill: 'none', stroke: COLOURS[n % COLOURS.length], 'stroke-width': 2,
      'data-tier': tier }));
  });
  node.replaceChildren(svg);
}

function legend(data) {
  const node = document.getElementById('legend');
  node.replaceChildren(...Object.keys(data.series.tiers).map((t, n) => {
    const s = el('span', {}, t);
    s.style.setProperty('--c', COLOURS[n % COLOURS.length]);
    return s;
  }));
}

async function refresh() {
  try {
    const res = await fetch('/data.json', { credentials: 'same-origin' });
    if (res.status === 401) { location.reload(); return; }
    const data = await res.json();
    table(data);
    for (const node of document.querySelectorAll('.chart')) chart(node, data, node.dataset.series, node.dataset.unit);
    legend(data);
    const up = data.instances.filter((i) => i.up).length;
    document.getElementById('updated').textContent = up + ' of ' + data.instances.length + ' instances up · updated ' +
      new Date(data.now).toLocaleTimeString();
    document.body.dataset.loaded = 'true';
  } catch (err) {
    document.getElementById('updated').textContent = 'Cannot reach the status service: ' + err.message;
  }
}
refresh();
setInterval(refresh, 5000);
`;
