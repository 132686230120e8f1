/**
 * The operations status page (docs/monitoring.md "Status page"): each tier instance up or down from its
 * heartbeat, requests/s, p50/p95, error ratio and shed requests over the last minutes, with charts. Not
 * public: it runs only when PERSONA_STATUS_TOKEN_FILE names the operators' token, and every page but the
 * sign-in form needs that token (a form that sets a session cookie, or `Authorization: Bearer`). The token
 * is compared in constant time, failures are rate limited, and the log says method, path and status only.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { figuresBetween, type Figures, type Sample, type Sampler } from './sampler.ts';
import { STATUS_CSS, STATUS_JS } from './assets.ts';

export interface StatusPageOptions {
  readonly sampler: Sampler;
  readonly token: string;
  /** One line per request: method, path and status, nothing else. */
  readonly log?: (entry: { method: string; path: string; status: number }) => void;
  /** The table's window (default 60 s). */
  readonly windowMs?: number;
  /** Set the cookie's Secure flag (behind TLS). */
  readonly secureCookie?: boolean;
}

export const MIN_TOKEN_LENGTH = 32;
const COOKIE = 'persona_status';
const SESSION_MS = 12 * 3600_000;
const MAX_FAILURES_PER_MINUTE = 10;
const BODY_LIMIT = 4096;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Persona operations: sign in</title><link rel="stylesheet" href="/status.css"></head>
<body class="signin"><main>
<h1>Persona operations</h1>
<p>This page is for the people who run this service.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/login">
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></main></body></html>`;
}

const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Persona operations</title><link rel="stylesheet" href="/status.css"></head>
<body><header><h1>Persona operations</h1><p id="updated">Loading…</p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form></header>
<main>
<section><h2>Instances <span class="hint" id="window"></span></h2>
<table id="instances"><thead><tr><th>Instance</th><th>Heartbeat</th><th>Requests/s</th><th>p50</th><th>p95</th>
<th>Errors (5xx)</th><th>Shed/s</th></tr></thead><tbody></tbody></table></section>
<section><h2>Last minutes, by tier</h2><div class="charts">
<figure><figcaption>Requests/s</figcaption><div class="chart" data-series="requestsPerSecond" data-unit="rps"></div></figure>
<figure><figcaption>Latency p95 (ms)</figcaption><div class="chart" data-series="p95" data-unit="ms"></div></figure>
<figure><figcaption>Error ratio (5xx)</figcaption><div class="chart" data-series="errorRatio" data-unit="pct"></div></figure>
<figure><figcaption>Shed requests/s</figcaption><div class="chart" data-series="shedPerSecond" data-unit="rps"></div></figure>
</div><p class="legend" id="legend"></p></section>
</main><script src="/status.js"></script></body></html>`;

interface TierSeries {
  readonly requestsPerSecond: (number | null)[];
  readonly p50: (number | null)[];
  readonly p95: (number | null)[];
  readonly errorRatio: (number | null)[];
  readonly shedPerSecond: (number | null)[];
  readonly up: number[];
}

export interface StatusData {
  readonly now: number;
  readonly windowSeconds: number;
  readonly instances: { name: string; tier: string; up: boolean | null; figures: Figures | null }[];
  readonly series: { at: number[]; tiers: Record<string, TierSeries> };
}

/** The table's figures over the window and the charts' series, from the sampler's history. */
export function statusData(sampler: Sampler, windowMs = 60_000): StatusData {
  const samples = sampler.samples();
  const last = samples.at(-1);
  const since = last
    ? (samples.find((s) => s.at >= last.at - windowMs && s !== last) ?? samples.at(-2))
    : undefined;
  const tiers = [...new Set(sampler.targets.map((t) => t.tier))];
  const namesOf = (tier: string) => sampler.targets.filter((t) => t.tier === tier).map((t) => t.name);
  const pairs = samples.flatMap((s, i): [Sample, Sample][] => {
    const before = samples[i - 1];
    return before ? [[before, s]] : [];
  });
  return {
    now: last?.at ?? Date.now(),
    windowSeconds: last && since ? Math.round((last.at - since.at) / 1000) : 0,
    instances: sampler.targets.map((t) => ({
      name: t.name,
      tier: t.tier,
      up: last ? (last.up.get(t.name) ?? false) : null,
      figures: last && since ? figuresBetween(since, last, [t.name]) : null,
    })),
    series: {
      at: pairs.map(([, s]) => s.at),
      tiers: Object.fromEntries(
        tiers.map((tier) => {
          const names = namesOf(tier);
          // A tier with no instance up has no figures then (a gap in its line, not a fall to zero).
          const figures = pairs.map(([a, b]) =>
            names.some((n) => b.up.get(n) === true) ? figuresBetween(a, b, names) : undefined,
          );
          return [
            tier,
            {
              requestsPerSecond: figures.map((f) => f?.requestsPerSecond ?? null),
              p50: figures.map((f) => f?.p50 ?? null),
              p95: figures.map((f) => f?.p95 ?? null),
              errorRatio: figures.map((f) => f?.errorRatio ?? null),
              shedPerSecond: figures.map((f) => f?.shedPerSecond ?? null),
              up: pairs.map(([, s]) => names.filter((n) => s.up.get(n) === true).length),
            },
          ];
        }),
      ),
    },
  };
}

const cookieOf = (req: IncomingMessage): string | undefined =>
  (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`))
    ?.slice(COOKIE.length + 1);

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > BODY_LIMIT) {
        resolve(undefined);
        req.destroy();
      }
    });
    req.on('end', () => {
      resolve(body);
    });
    req.on('error', () => {
      resolve(undefined);
    });
  });
}

export function createStatusServer(options: StatusPageOptions): Server {
  if (options.token.length < MIN_TOKEN_LENGTH)
    throw new Error(`the status page token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const expected = digest(options.token);
  const sessions = new Map<string, number>();
  let failures: number[] = [];

  const tokenMatches = (given: string): boolean => timingSafeEqual(digest(given), expected);
  const signedIn = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return tokenMatches(auth.slice(7));
    const sid = cookieOf(req);
    if (sid === undefined) return false;
    const until = sessions.get(sid);
    if (until === undefined || until < Date.now()) {
      sessions.delete(sid);
      return false;
    }
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const send = (status: number, type: string, body: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...HEADERS, 'content-type': type, ...extra });
      res.end(body);
    };
    const html = 'text/html; charset=utf-8';
    if (req.method === 'GET' && path === '/status.css') {
      send(200, 'text/css; charset=utf-8', STATUS_CSS);
      return;
    }
    if (req.method === 'POST' && path === '/login') {
      const now = Date.now();
      failures = failures.filter((t) => t > now - 60_000);
      if (failures.length >= MAX_FAILURES_PER_MINUTE) {
        send(429, html, signInPage('Too many attempts: wait a minute.'), { 'retry-after': '60' });
        return;
      }
      const body = await readBody(req);
      const given = new URLSearchParams(body ?? '').get('token') ?? '';
      if (!tokenMatches(given)) {
        failures.push(now);
        send(401, html, signInPage('That is not the operator token.'));
        return;
      }
      const sid = randomBytes(32).toString('base64url');
      sessions.set(sid, now + SESSION_MS);
      const secure = options.secureCookie ? '; Secure' : '';
      send(303, html, '', {
        location: '/',
        'set-cookie': `${COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}${secure}`,
      });
      return;
    }
    if (!signedIn(req)) {
      if (req.method === 'GET' && path === '/') {
        send(401, html, signInPage(''));
        return;
      }
      send(401, 'text/plain; charset=utf-8', 'sign in first\n');
      return;
    }
    if (req.method === 'POST' && path === '/logout') {
      const sid = cookieOf(req);
      if (sid !== undefined) sessions.delete(sid);
      send(303, html, '', {
        location: '/',
        'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
      });
      return;
    }
    if (req.method !== 'GET') {
      send(405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/') {
      send(200, html, STATUS_PAGE);
      return;
    }
    if (path === '/status.js') {
      send(200, 'text/javascript; charset=utf-8', STATUS_JS);
      return;
    }
    if (path === '/data.json') {
      send(200, 'application/json', JSON.stringify(statusData(options.sampler, options.windowMs)));
      return;
    }
    send(404, 'text/plain; charset=utf-8', 'no such page\n');
  };

  return createServer((req, res) => {
    res.on('finish', () =>
      options.log?.({
        method: req.method ?? '?',
        path: (req.url ?? '/').split('?', 1)[0] ?? '/',
        status: res.statusCode,
      }),
    );
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, HEADERS);
      res.end();
    });
  });
}
