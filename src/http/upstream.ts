/**
 * Calls from one tier to the instances of another (SPEC §2): keep-alive connection pools, round-robin over
 * healthy instances, and ejection: an instance that refuses a connection or times out is taken out until
 * its `/__heartbeat__` answers again. Every call is signed with the calling tier's key, and carries the
 * request's deadline (deadline.ts): a call still queued or unanswered when it passes is given up at once
 * with 503 + Retry-After, never answered late.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { currentDeadline, DEADLINE_HEADER } from './deadline.ts';
import { exchange } from './exchange.ts';
import { ServiceError } from './errors.ts';
import { signTierRequest, type Tier } from './tier-auth.ts';

export interface UpstreamRequest {
  readonly method: string;
  /** Path and query string. */
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** When the answer is no use any more (ms since the epoch); default the current request's, else timeoutMs. */
  readonly deadline?: number;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface UpstreamOptions {
  readonly tier: Tier;
  readonly urls: readonly string[];
  readonly caller: Tier;
  readonly callerKey: KeyObject;
  readonly logger?: Logger;
  /** Per-request time limit, ms. */
  readonly timeoutMs?: number;
  /** How often an ejected instance's heartbeat is tried, ms. */
  readonly probeIntervalMs?: number;
  /** Connections per instance; calls past them queue, until their deadline. */
  readonly connections?: number;
}

export interface Upstream {
  readonly tier: Tier;
  call(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Instances currently in rotation. */
  healthy(): string[];
  /**
   * Rejects unless at least one instance answers its heartbeat; `deep` asks for theirs (a tier's deep
   * heartbeat checks its own dependencies), and the rejection carries what they said was wrong.
   */
  checkHealth(options?: { deep?: boolean }): Promise<void>;
  close(): Promise<void>;
}

interface Instance {
  readonly url: string;
  readonly pool: Pool;
  up: boolean;
  probe?: NodeJS.Timeout;
}

/**
 * Connections per instance by default. Enough that a burst reaches the tier behind rather than queueing
 * here: that tier's own admission (the bcrypt queue, the database pool) knows what a request costs and
 * refuses the excess at once, where a queue here could only time it out (issue 10: 120 sign-ins queued
 * behind 32 connections were answered after up to 27 s).
 */
export const CONNECTIONS_PER_INSTANCE = 128;

class DeadlinePassed extends Error {}

// Errors that prove the request never reached an instance: safe to send it to another one.
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']);
// A reset socket may or may not have delivered the request: only reads are tried again.
const SOCKET_ERRORS = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);
const isRead = (method: string): boolean => method === 'GET' || method === 'HEAD';

export function createUpstream(options: UpstreamOptions): Upstream {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  if (options.urls.length === 0) throw new Error(`no ${options.tier} instances configured`);
  const instances: Instance[] = options.urls.map((url) => ({
    url,
    pool: new Pool(url, {
      connections: options.connections ?? CONNECTIONS_PER_INSTANCE,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    }),
    up: true,
  }));
  let next = 0;
  let closed = false;

  /** Undefined when healthy, else why not. */
  async function heartbeatProblem(instance: Instance, deep = false): Promise<string | undefined> {
    try {
      const res = await instance.pool.request({
        method: 'GET',
        path: deep ? '/__heartbeat__?deep' : '/__heartbeat__',
        headersTimeout: 4500,
        bodyTimeout: 4500,
      });
      const body = await res.body.text();
      if (res.statusCode === 200) return undefined;
      const said = body.split('\n').slice(1).filter(Boolean).join('; ');
      return said || `heartbeat answered ${res.statusCode}`;
    } catch (err) {
      return `no answer (${(err as { code?: string }).code ?? 'error'})`;
    }
  }
  const heartbeat = async (instance: Instance): Promise<boolean> =>
    (await heartbeatProblem(instance)) === undefined;

  function eject(instance: Instance, why: string): void {
    if (!instance.up || closed) return;
    instance.up = false;
    options.logger?.warn(
      { upstream: options.tier, instance: instance.url, why },
      'instance taken out of rotation',
    );
    const probe = async () => {
      if (closed) return;
      if (await heartbeat(instance)) {
        instance.up = true;
        instance.probe = undefined;
        options.logger?.info({ upstream: options.tier, instance: instance.url }, 'instance back in rotation');
        return;
      }
      instance.probe = setTimeout(() => void probe(), probeIntervalMs);
      instance.probe.unref();
    };
    instance.probe = setTimeout(() => void probe(), probeIntervalMs);
    instance.probe.unref();
  }

  function pick(tried: Set<Instance>): Instance | undefined {
    for (let i = 0; i < instances.length; i++) {
      const instance = instances[(next + i) % instances.length];
      if (instance && instance.up && !tried.has(instance)) {
        next = (next + i + 1) % instances.length;
        return instance;
      }
    }
    return undefined;
  }

  /** One attempt, given up when the deadline passes (exchange.ts). */
  const attempt = (
    instance: Instance,
    request: UpstreamRequest,
    headers: Record<string, string>,
    deadline: number,
  ): Promise<UpstreamResponse> =>
    exchange(
      instance.pool,
      { method: request.method, path: request.url, headers, body: request.body },
      { at: deadline, error: () => new DeadlinePassed() },
    );

  async function call(request: UpstreamRequest): Promise<UpstreamResponse> {
    const deadline = request.deadline ?? currentDeadline() ?? Date.now() + timeoutMs;
    const tried = new Set<Instance>();
    for (;;) {
      if (deadline <= Date.now()) throw new ServiceError('too-busy', 'request deadline passed');
      const instance = pick(tried);
      if (!instance) throw new ServiceError('upstream-unavailable', `${options.tier} unavailable`);
      tried.add(instance);
      const signature = signTierRequest(options.caller, options.callerKey, options.tier, {
        method: request.method,
        url: request.url,
        body: request.body,
      });
      const headers = { ...request.headers, [DEADLINE_HEADER]: String(deadline), ...signature };
      try {
        return await attempt(instance, request, headers, deadline);
      } catch (err) {
        // Our own time ran out: the instance is not at fault.
        if (err instanceof DeadlinePassed) throw new ServiceError('too-busy', 'request deadline passed');
        const code = (err as { code?: string }).code ?? '';
        eject(instance, code || String(err));
        const retry = CONNECT_ERRORS.has(code) || (SOCKET_ERRORS.has(code) && isRead(request.method));
        if (!retry) throw new ServiceError('upstream-unavailable', `${options.tier} unavailable`);
      }
    }
  }

  return {
    tier: options.tier,
    call,
    healthy: () => instances.filter((i) => i.up).map((i) => i.url),
    async checkHealth(check = {}) {
      const problems = await Promise.all(instances.map((i) => heartbeatProblem(i, check.deep)));
      if (problems.some((p) => p === undefined)) return;
      throw new Error(problems[0] ?? `no ${options.tier} instance answers`);
    },
    async close() {
      closed = true;
      for (const instance of instances) clearTimeout(instance.probe);
      await Promise.all(instances.map((i) => i.pool.close()));
    },
  };
}
