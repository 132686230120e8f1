/**
 * A simulated browser (one device of one user): its own client address, cookie jar and CSRF token, JSON in
 * and out of the wsapi, every request timed. Addresses come from 127.0.0.0/8 when the deployment is on
 * loopback (every 127.x.y.z reaches lo on Linux), so per-address limits count as they would in production.
 */
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher } from 'undici';
import { exchange, type Exchanged } from '../http/exchange.ts';

export interface RequestSample {
  /** What was asked, e.g. `POST /wsapi/cert_key` or `GET /include.js`. */
  readonly what: string;
  /** From the first attempt to the final answer, waits before retries included. */
  readonly ms: number;
  /** The final answer's status. */
  readonly status: number;
  /** 503 answers on the way (each one retried, and the final answer when it is one). */
  readonly refusals: number;
}

/**
 * The dialog's answer to a 503 (src/browser/wsapi.ts, kept equal by test/loadgen/client.test.ts): a wsapi
 * call is tried again after 0.5, 1.5 and 3 s, or after the Retry-After when that is longer (up to 5 s),
 * each with ±25 % jitter; then the person is offered "Try again".
 */
export const RETRY_DELAYS_MS: readonly number[] = [500, 1500, 3000];
export const MAX_RETRY_AFTER_MS = 5000;

/** How long to wait before retry number `attempt` (0-based) of a 503, or undefined to give up. */
export function retryDelayMs(
  attempt: number,
  retryAfter: string | string[] | undefined,
  random: () => number = Math.random,
): number | undefined {
  const base = RETRY_DELAYS_MS[attempt];
  if (base === undefined) return undefined;
  const after = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  const asked = Number.isFinite(after) && after > 0 ? after * 1000 : 0;
  if (asked > MAX_RETRY_AFTER_MS) return undefined;
  return Math.max(base, asked) * (0.75 + random() * 0.5);
}

export type Observe = (sample: RequestSample) => void;

export interface Answer {
  readonly status: number;
  readonly text: string;
  json(): Record<string, unknown>;
}

export class HttpError extends Error {
  readonly what: string;
  readonly status: number;
  constructor(what: string, status: number, text: string) {
    super(`${what} → ${status} ${text.slice(0, 160)}`);
    this.what = what;
    this.status = status;
  }
}

/** Client addresses: `count` of them in 127.1.0.1 … , or none (the system's choice) off loopback. */
export function clientAddresses(base: string, count: number): (string | undefined)[] {
  const host = new URL(base).hostname;
  const loopback = host === 'localhost' || /^127\./.test(host);
  return Array.from({ length: count }, (_, i) =>
    loopback ? `127.${1 + Math.floor(i / 64_516)}.${Math.floor(i / 254) % 254}.${(i % 254) + 1}` : undefined,
  );
}

/** One connection pool per client address, shared by the devices that use it. */
export class Dispatchers {
  private readonly agents = new Map<string, Agent>();
  private readonly fallback: Agent;
  /** How the service's name is resolved (default the system's resolver; docs/regions.md: a DNS server). */
  private readonly connect: { lookup: LookupFunction } | undefined;

  constructor(lookup?: LookupFunction) {
    this.connect = lookup ? { lookup } : undefined;
    this.fallback = new Agent({
      keepAliveTimeout: 10_000,
      ...(this.connect ? { connect: this.connect } : {}),
    });
  }

  for(address: string | undefined): Dispatcher {
    if (address === undefined) return this.fallback;
    let agent = this.agents.get(address);
    if (!agent) {
      agent = new Agent({
        localAddress: address,
        keepAliveTimeout: 10_000,
        connections: 4,
        ...(this.connect ? { connect: this.connect } : {}),
      });
      this.agents.set(address, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values(), this.fallback].map((a) => a.close()));
  }
}

export interface DeviceOptions {
  readonly base: string;
  readonly dispatcher: Dispatcher;
  readonly observe: Observe;
  readonly timeoutMs?: number;
  /**
   * Retry a wsapi call answered 503 as the dialog does (`retryDelayMs`). The load generator's browsers
   * do; the drills' do not, so that a refused write is counted as refused.
   */
  readonly retryBusy?: boolean;
}

export class Device {
  readonly cookies = new Map<string, string>();
  private csrf: string | undefined;
  private readonly options: DeviceOptions;
  /** The deployment's origin, and the path its URL may put before every request's. */
  private readonly origin: string;
  private readonly prefix: string;

  constructor(options: DeviceOptions) {
    this.options = options;
    const base = new URL(options.base);
    this.origin = base.origin;
    this.prefix = base.pathname.replace(/\/$/, '');
  }

  /** Forgets the session: a browser whose cookies were cleared. */
  clear(): void {
    this.cookies.clear();
    this.csrf = undefined;
  }

  async send(method: 'GET' | 'POST', path: string, body?: string, contentType?: string): Promise<Answer> {
    const what = `${method} ${path.split('?', 1)[0] ?? path}`;
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    const started = performance.now();
    const retries = this.options.retryBusy === true && path.startsWith('/wsapi/');
    let status = 0;
    let refusals = 0;
    try {
      let res: Exchanged;
      for (let attempt = 0; ; attempt++) {
        res = await exchange(this.options.dispatcher, {
          origin: this.origin,
          path: `${this.prefix}${path}`,
          method,
          headers,
          body,
          headersTimeout: this.options.timeoutMs ?? 30_000,
          bodyTimeout: this.options.timeoutMs ?? 30_000,
        });
        status = res.status;
        if (status !== 503) break;
        refusals++;
        const delay = retries ? retryDelayMs(attempt, res.headers['retry-after']) : undefined;
        if (delay === undefined) break;
        await sleep(delay);
      }
      for (const line of [res.headers['set-cookie'] ?? []].flat()) {
        const [pair = ''] = line.split(';', 1);
        const eq = pair.indexOf('=');
        if (eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const text = res.body.toString('utf8');
      return { status, text, json: () => JSON.parse(text) as Record<string, unknown> };
    } finally {
      this.options.observe({ what, ms: performance.now() - started, status, refusals });
    }
  }

  /** A GET that must answer 200. */
  async get(path: string): Promise<Answer> {
    const answer = await this.send('GET', path);
    if (answer.status !== 200) throw new HttpError(`GET ${path}`, answer.status, answer.text);
    return answer;
  }

  /** GET /wsapi/session_context, keeping its CSRF token. */
  async context(): Promise<Record<string, unknown>> {
    const context = (await this.get('/wsapi/session_context')).json();
    this.csrf = String(context.csrf_token);
    return context;
  }

  /** A wsapi POST with the CSRF token; must answer 200. */
  async post(op: string, body: Record<string, unknown>): Promise<Answer> {
    if (this.csrf === undefined) await this.context();
    const answer = await this.send('POST', `/wsapi/${op}`, JSON.stringify({ csrf: this.csrf, ...body }));
    if (answer.status !== 200) throw new HttpError(`POST /wsapi/${op}`, answer.status, answer.text);
    return answer;
  }

  /** A wsapi POST that must answer `{ success: true }`. */
  async succeed(op: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await this.post(op, body);
    const json = answer.json();
    if (json.success !== true) throw new HttpError(`POST /wsapi/${op}`, answer.status, answer.text);
    return json;
  }
}
