/**
 * `npm run bench:browser`: what the browser side costs a person, measured against the real stack (every tier
 * under the supervisor, SQLite):
 *  - the size of each bundle (raw and gzip -9) and of the HTML pages as served (they inline their script);
 *  - the dialog's time to interactive in Debian's Chromium: a relying party on http://localhost:<port> calls
 *    navigator.id.request() on a click; from the click until the dialog's email field is visible and has the
 *    focus. Beside it, measured in the same run and the same way: the same click opening a popup (same
 *    window features) on a minimal static page from the RP's own server, addressed as 127.0.0.1 so that it
 *    is another site than the RP, as the dialog is; its only content is an `<input id="email">` that a
 *    one-line script focuses, so that "the field has the focus" means the same thing for both.
 * BENCH_RUNS runs of each (default 20), interleaved, after 3 warm-up runs of each; a new popup every run.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { DIALOG_FEATURES } from '../src/browser/protocol.ts';
import { BUNDLE_ENTRIES, loadBundles } from '../src/tiers/webhead/static.ts';
import { CHROMIUM, launchChromium, type LaunchedBrowser } from '../test/browser/chromium.ts';
import { freePort, startStack, type Stack } from '../test/helpers/stack.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 3;
const STEP_TIMEOUT_MS = 10_000;

/** What an interruption must undo: the tiers and Chromium are processes of their own. */
const onInterrupt = new Set<() => Promise<unknown>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    void Promise.allSettled([...onInterrupt].map((undo) => undo())).finally(() => process.exit(130));
  });

const gzip9 = (body: Buffer | string): number => gzipSync(body, { level: 9 }).length;
const kb = (bytes: number): string => `${bytes}`.padStart(7) + ` B (${(bytes / 1024).toFixed(1)} KiB)`;

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

// ---- sizes ----------------------------------------------------------------------------------------------

async function printSizes(stack: Stack): Promise<void> {
  const bundles = await loadBundles();
  console.log('Bundles (src/tiers/webhead/static.ts loadBundles(): esbuild, minified)');
  console.log(`  ${'entry'.padEnd(24)} ${'raw'.padStart(20)} ${'gzip -9'.padStart(20)}`);
  for (const entry of BUNDLE_ENTRIES) {
    const code = Buffer.from(bundles[entry], 'utf8');
    console.log(`  ${`${entry}.js`.padEnd(24)} ${kb(code.length)} ${kb(gzip9(code))}`);
  }
  console.log('\nPages as served through the router (HTML with the script inlined)');
  console.log(`  ${'GET'.padEnd(24)} ${'raw'.padStart(20)} ${'gzip -9'.padStart(20)}`);
  for (const path of ['/sign_in', '/', '/verify_email_address']) {
    const res = await request(`${stack.base}${path}`, { headers: { 'accept-language': 'en' } });
    const body = Buffer.from(await res.body.arrayBuffer());
    const encoding = res.headers['content-encoding'];
    const note = `HTTP ${res.statusCode}${encoding === undefined ? '' : `, content-encoding ${String(encoding)}`}`;
    console.log(`  ${path.padEnd(24)} ${kb(body.length)} ${kb(gzip9(body))}   ${note}`);
  }
}

// ---- time to interactive --------------------------------------------------------------------------------

const rpPage = (persona: string, blankUrl: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bench RP</title>
<script src="${persona}/include.js"></script>
</head><body>
<button id="dialog" type="button">Sign in</button>
<button id="baseline" type="button">Open a blank page</button>
<script>
  window.benchReady = false;
  navigator.id.watch({
    loggedInUser: null,
    onlogin: function () {},
    onlogout: function () {},
    onready: function () { window.benchReady = true; },
  });
  document.getElementById('dialog').addEventListener('click', function (event) {
    window.benchClickAt = performance.timeOrigin + event.timeStamp;
    navigator.id.request({ siteName: 'Bench' });
  });
  document.getElementById('baseline').addEventListener('click', function (event) {
    window.benchClickAt = performance.timeOrigin + event.timeStamp;
    window.open(${JSON.stringify(blankUrl)}, 'bench_baseline', ${JSON.stringify(DIALOG_FEATURES)});
  });
</script>
</body></html>`;

/** Focused by a script as the dialog does (autofocus would fire no focusin to time it by). */
const BLANK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Blank</title></head>
<body><input id="email" type="email"><script>document.getElementById('email').focus();</script></body></html>`;
const BLANK_ETAG = '"bench-blank-1"';

/**
 * Runs in every page before its own scripts (through CDP, so the dialog's CSP does not apply): notes the
 * wall-clock time the email field first takes the focus while visible.
 */
const INIT_SCRIPT = `(() => {
  const note = () => {
    const el = document.activeElement;
    if (window.__benchFocusAt === undefined && el !== null && el.id === 'email' && el.checkVisibility())
      window.__benchFocusAt = performance.timeOrigin + performance.now();
  };
  document.addEventListener('focusin', note, true);
})()`;

const FOCUSED = `(() => {
  const el = document.activeElement;
  return el !== null && el.id === 'email' && el.checkVisibility();
})()`;
const LOADED = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return nav !== undefined && nav.domContentLoadedEventEnd > 0;
})()`;
const TIMING = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const mark = performance.getEntriesByName('persona:interactive')[0];
  return {
    timeOrigin: performance.timeOrigin,
    focusAt: window.__benchFocusAt ?? null,
    responseEnd: nav.responseEnd,
    domInteractive: nav.domInteractive,
    dclEnd: nav.domContentLoadedEventEnd,
    mark: mark === undefined ? null : mark.startTime,
  };
})()`;

interface PopupTiming {
  timeOrigin: number;
  focusAt: number | null;
  responseEnd: number;
  domInteractive: number;
  dclEnd: number;
  mark: number | null;
}

interface Sample {
  /** Click → field focused, in the driver (node's clock around the click and the popup's polling). */
  driver: number;
  /** The same in the browser: the click event's time → the focusin, both on the wall clock. */
  inPage: number | null;
  /** Click → the popup's navigation start (its timeOrigin). */
  navStart: number;
  /** From the popup's navigation start (Navigation Timing). */
  responseEnd: number;
  domInteractive: number;
  dclEnd: number;
  mark: number | null;
}

type Kind = 'dialog' | 'baseline';

/**
 * Polls `expression` in the popup from the driver until it is true. Not waitForFunction: that evaluates its
 * predicate with eval inside the page, which the dialog's CSP forbids; CDP's evaluate is not subject to it.
 */
async function until(popup: Page, expression: string, what: string): Promise<void> {
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await popup.evaluate(expression)) === true) return;
    } catch {
      // between documents (about:blank → the page): try again
    }
    if (performance.now() > deadline) throw new Error(`${what} within ${STEP_TIMEOUT_MS} ms: never`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function measureOnce(page: Page, kind: Kind): Promise<Sample> {
  const button = await page.locator(`#${kind}`).boundingBox();
  if (button === null) throw new Error(`the #${kind} button is not visible`);
  const popupOpened = page.waitForEvent('popup', { timeout: STEP_TIMEOUT_MS });
  const started = performance.now();
  await page.mouse.click(button.x + button.width / 2, button.y + button.height / 2);
  const popup = await popupOpened;
  try {
    await until(popup, FOCUSED, '#email visible and focused');
    const driver = performance.now() - started;
    await until(popup, LOADED, 'domContentLoadedEventEnd');
    const timing = await popup.evaluate<PopupTiming>(TIMING);
    const clickAt = await page.evaluate<number>('window.benchClickAt');
    return {
      driver,
      inPage: timing.focusAt === null ? null : timing.focusAt - clickAt,
      navStart: timing.timeOrigin - clickAt,
      responseEnd: timing.responseEnd,
      domInteractive: timing.domInteractive,
      dclEnd: timing.dclEnd,
      mark: timing.mark,
    };
  } finally {
    await popup.close();
  }
}

const ms = (value: number | null): string => (value === null ? '—' : value.toFixed(1)).padStart(10);

const COLUMNS: readonly [keyof Sample, string][] = [
  ['driver', 'driver'],
  ['inPage', 'in-page'],
  ['navStart', 'nav start'],
  ['responseEnd', 'respEnd'],
  ['domInteractive', 'domInter'],
  ['dclEnd', 'DCL end'],
  ['mark', 'mark'],
];

function printRuns(kind: Kind, samples: readonly Sample[]): void {
  console.log(`\n  ${kind} runs (ms)`);
  console.log(`  ${'run'.padStart(4)}${COLUMNS.map(([, label]) => label.padStart(10)).join('')}`);
  samples.forEach((sample, n) => {
    console.log(`  ${String(n + 1).padStart(4)}${COLUMNS.map(([key]) => ms(sample[key])).join('')}`);
  });
}

function summary(samples: readonly Sample[], key: keyof Sample): { median: number; p90: number } | null {
  const values = samples.map((s) => s[key]).filter((v): v is number => v !== null);
  if (values.length < samples.length || values.length === 0) return null;
  return { median: percentile(values, 0.5), p90: percentile(values, 0.9) };
}

function printSummary(dialog: readonly Sample[], baseline: readonly Sample[]): void {
  console.log(`\n  summary (ms, ${dialog.length} runs each)`);
  console.log(
    `  ${''.padEnd(44)}${'dialog p50'.padStart(11)}${'p90'.padStart(9)}${'blank p50'.padStart(11)}${'p90'.padStart(9)}${'ratio p50'.padStart(11)}${'p90'.padStart(8)}`,
  );
  const labels: Record<keyof Sample, string> = {
    driver: '(a) click → #email focused, driver',
    inPage: '(a) click → #email focused, in the browser',
    navStart: '    click → popup navigation start',
    responseEnd: '(b) responseEnd',
    domInteractive: '(b) domInteractive',
    dclEnd: '(b) domContentLoadedEventEnd',
    mark: "(b) mark 'persona:interactive'",
  };
  for (const [key] of COLUMNS) {
    const d = summary(dialog, key);
    const b = summary(baseline, key);
    const cell = (v: number | undefined, width: number) =>
      (v === undefined ? '—' : v.toFixed(1)).padStart(width);
    const ratio = (x: number | undefined, y: number | undefined) =>
      x === undefined || y === undefined || y <= 0 ? '—' : `${(x / y).toFixed(2)}×`;
    console.log(
      `  ${labels[key].padEnd(44)}${cell(d?.median, 11)}${cell(d?.p90, 9)}${cell(b?.median, 11)}${cell(b?.p90, 9)}${ratio(d?.median, b?.median).padStart(11)}${ratio(d?.p90, b?.p90).padStart(8)}`,
    );
  }
  if (dialog.every((s) => s.mark === null))
    console.log(
      "  (the dialog sets no 'persona:interactive' mark yet; (b) for it is shown as — until it does)",
    );
}

async function timeToInteractive(stack: Stack): Promise<boolean> {
  console.log('\nDialog time to interactive in Chromium (warm)');
  if (!(await CHROMIUM.present())) {
    console.log(
      `  *** SKIPPING: ${CHROMIUM.name} is not available here; install it with: ${CHROMIUM.install} ***`,
    );
    return true;
  }
  const port = await freePort();
  const page = rpPage(stack.base, `http://127.0.0.1:${port}/blank`);
  const rp = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/blank') {
      // Revalidated like /sign_in (max-age=0 and an ETag).
      const headers = { 'cache-control': 'public, max-age=0, must-revalidate', etag: BLANK_ETAG };
      if (req.headers['if-none-match'] === BLANK_ETAG) res.writeHead(304, headers).end();
      else res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(BLANK_PAGE);
      return;
    }
    res
      .writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
      .end(req.url === '/' ? page : 'not found');
  });
  await new Promise<void>((resolve) => rp.listen(port, '127.0.0.1', resolve));
  let browser: LaunchedBrowser | undefined;
  try {
    browser = await launchChromium();
    const launched = browser;
    onInterrupt.add(() => launched.close());
    await browser.context.addInitScript({ content: INIT_SCRIPT });
    const rpTab = await browser.context.newPage();
    // localhost vs the stack's 127.0.0.1: the RP is another site, as in real life.
    await rpTab.goto(`http://localhost:${port}/`);
    await rpTab.waitForFunction('window.benchReady === true', undefined, { timeout: STEP_TIMEOUT_MS });
    console.log(
      `  RP http://localhost:${port}, Persona ${stack.base}, popup features ${DIALOG_FEATURES}; ${WARMUP} warm-up runs of each, then ${RUNS} of each, interleaved`,
    );
    const samples: Record<Kind, Sample[]> = { dialog: [], baseline: [] };
    for (let n = 0; n < WARMUP + RUNS; n++) {
      for (const kind of ['dialog', 'baseline'] as const) {
        let sample: Sample;
        try {
          sample = await measureOnce(rpTab, kind);
        } catch (err) {
          console.log(`  the ${kind} run ${n + 1} failed: ${(err as Error).message.split('\n')[0] ?? ''}`);
          return false;
        }
        if (n >= WARMUP) samples[kind].push(sample);
        // Let include.js notice the closed window (it polls every 500 ms) before the next click.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    console.log(
      '  driver: node performance.now() from the click until the driver poll (every ~2 ms) sees #email focused and visible',
    );
    console.log(
      '  in-page: the click event → the first focusin on a visible #email, both wall-clock in the browser',
    );
    console.log(
      '  nav start: the click event → the popup navigation timeOrigin; respEnd, domInter, DCL end, mark: from that navigation start',
    );
    printRuns('dialog', samples.dialog);
    printRuns('baseline', samples.baseline);
    printSummary(samples.dialog, samples.baseline);
    return true;
  } finally {
    await browser?.close();
    await new Promise((resolve) => rp.close(resolve));
  }
}

// ---- main -----------------------------------------------------------------------------------------------

const stack = await startStack({ env: { PERSONA_LOG_LEVEL: 'error' } });
onInterrupt.add(() => stack.stop());
let ok = false;
try {
  console.log(`bench:browser — Node ${process.version}, Persona ${stack.base} (SQLite)\n`);
  await printSizes(stack);
  ok = await timeToInteractive(stack);
} catch (err) {
  console.error(err);
} finally {
  await stack.stop();
}
process.exit(ok ? 0 : 1);
