// The HTML report rendered in Chromium: one self-contained page, every chart drawn, the figures shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ACTIVITY_KINDS } from '../../src/loadgen/model.ts';
import { renderReport } from '../../src/loadgen/report.ts';
import { buildResult, holdVerdict } from '../../src/loadgen/result.ts';
import { Recorder } from '../../src/loadgen/stats.ts';
import { missing } from '../helpers/components.ts';
import { CHROMIUM, launchChromium } from '../browser/chromium.ts';

const skip = await missing(CHROMIUM);

/** A run of 30 s with every activity, some 503s and two tiers sampled, recorded as the load would. */
function sampleResult(mode: 'capacity' | 'hold' = 'capacity') {
  const started = performance.now() - 30_000;
  const recorder = new Recorder(started);
  for (let t = 0; t < 30; t++) {
    const at = started + t * 1000 + 500;
    const s = recorder.second(at);
    for (const [i, kind] of ACTIVITY_KINDS.entries()) {
      s.completed[kind] += 10 - i + (t % 3);
      recorder.activityMs[kind].push(20 + 10 * i + t);
    }
    for (let r = 0; r < 40; r++) s.requestMs.push(5 + ((r * 7 + t * 13) % 120));
    s.requests += 40;
    if (t > 20) s.http503 += 2;
  }
  recorder.errors.set('signin: POST /wsapi/cert_key → 503 <busy>', 3);
  const tiers = ['router', 'webhead', 'loadgen'].map((name, i) => ({
    name,
    samples: Array.from({ length: 29 }, (_, t) => ({
      t: t + 1,
      cpu: 10 * (i + 1) + (t % 5),
      rssMb: 100 + 20 * i,
    })),
  }));
  return buildResult({
    deployment: 'http://127.0.0.1:10000',
    machine: 'test',
    mode,
    options: {
      users: mode === 'hold' ? 600_000 : 0,
      durationS: 30,
      boundMs: 1000,
      maxFailureRate: 0.001,
      pool: 50,
    },
    bcrypt: { cost: 12, comparesPerSecond: 8, before: 8 },
    recorder,
    usersAt: Array.from({ length: 30 }, (_, t) => (t < 15 ? 400_000 : 600_000)),
    steps: [
      ...(mode === 'hold'
        ? []
        : [
            {
              users: 400_000,
              from: 3,
              to: 15,
              activitiesPerSecond: 185,
              p95Ms: 300,
              failureRate: 0,
              unstartedRate: 0,
              http503: 0,
              held: true,
              loadgenCpu: 5,
            },
          ]),
      {
        users: 600_000,
        from: 18,
        to: 30,
        activitiesPerSecond: 270,
        p95Ms: 1400,
        failureRate: 0.01,
        unstartedRate: 0,
        http503: 18,
        held: false,
        loadgenCpu: 7,
      },
    ],
    capacityUsers: 400_000,
    tiers,
    seeded: 50,
    startedAt: new Date().toISOString(),
  });
}

test(
  'the report renders offline in Chromium with every chart drawn and the capacity figure',
  { skip },
  async () => {
    const result = sampleResult();
    const html = renderReport(result);
    assert.doesNotMatch(html, /<script|src="https?:|href="https?:/, 'nothing to fetch or run');
    const dir = mkdtempSync(join(tmpdir(), 'persona-loadgen-report-'));
    const browser = await launchChromium();
    try {
      const file = join(dir, 'loadgen.html');
      writeFileSync(file, html);
      const page = await browser.context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
      );
      const charts = await page.$$eval('svg.chart', (svgs) =>
        svgs.map((svg) => ({
          title: svg.getAttribute('aria-label') ?? '',
          lines: svg.querySelectorAll('polyline').length,
          width: svg.getBoundingClientRect().width,
        })),
      );
      const titles = charts.map((c) => c.title).join(' | ');
      for (const wanted of [/active users/i, /latency/i, /activities/i, /503/, /CPU/, /memory/i])
        assert.match(titles, wanted);
      for (const chart of charts) {
        assert.ok(chart.lines > 0, `${chart.title} has no line`);
        assert.ok(chart.width > 600, `${chart.title} is ${chart.width} px wide`);
      }
      const figure = await page.textContent('.figure');
      // 400,000 users of 8 compares/s ÷ the mix's bcrypt work per user
      assert.match(figure ?? '', /400,000 active users = \d+ % of the bcrypt-bound limit/);
      assert.match((await page.textContent('body')) ?? '', /cert_key → 503/);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a held load that did not hold says so, and why, in the summary and the report', () => {
  const result = sampleResult('hold');
  const verdict = holdVerdict(result);
  assert.equal(
    verdict,
    'did not hold 600,000 active users (p95 1400 ms > 1000 ms; failures 1.00 % > 0.10 %)',
  );
  assert.ok(renderReport(result).includes(verdict.replaceAll('>', '&gt;')), 'the report says it too');
  const held = { ...result, steps: [{ ...result.steps[0]!, p95Ms: 300, failureRate: 0, held: true }] };
  assert.equal(holdVerdict(held), 'held 600,000 active users');
  const starved = {
    ...result,
    steps: [{ ...result.steps[0]!, p95Ms: 300, failureRate: 0, unstartedRate: 0.05, held: false }],
  };
  assert.match(holdVerdict(starved), /\(not started 5\.00 % > 0\.10 %: raise --pool\)$/);
});
