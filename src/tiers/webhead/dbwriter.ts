/**
 * The webhead's calls to the dbwriter's internal ops (SPEC §2: the webhead never writes). Each is a signed
 * POST with JSON arguments naming the user explicitly (src/wsapi/catalogue.ts). Calls made in the
 * background never fail the request that caused them; they are logged (without their arguments, which
 * can hold a password) and awaited when the app closes.
 */
import type { FastifyBaseLogger } from 'fastify';
import { REQUEST_ID_HEADER } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import type { Upstream } from '../../http/upstream.ts';
import type { EmailType } from '../../db/read.ts';

export interface InternalArgs {
  create_account_with_assertion: { email: string };
  user_used_email_as: { userid: number; email: string; used_as: EmailType };
  increment_failed_auth_tries: { userid: number };
  reset_failed_auth_tries: { userid: number };
  rehash_password: { userid: number; pass: string };
  hit_rate_limit: { bucket: string };
  saw_idp: { domain: string };
  forget_idp: { domain: string };
}

export type InternalOp = keyof InternalArgs;

export interface InternalAnswer {
  readonly status: number;
  /** The JSON object answered, if the body was one. */
  readonly body: Readonly<Record<string, unknown>> | undefined;
}

export interface RateLimitAnswer {
  readonly allowed: boolean;
  /** When the window ends, epoch ms, if the dbwriter said. */
  readonly resetAt: number | undefined;
}

export interface DbwriterClient {
  /** Rejects with 503 `dbwriter unavailable` when no instance answers or one answers 5xx. */
  call<Op extends InternalOp>(op: Op, args: InternalArgs[Op], requestId?: string): Promise<InternalAnswer>;
  /** Not awaited by the request; failures are logged on `log`. The promise settles when done, never rejects. */
  inBackground<Op extends InternalOp>(
    op: Op,
    args: InternalArgs[Op],
    log: FastifyBaseLogger,
    requestId?: string,
  ): Promise<void>;
  /** Counts a hit on a bucket the dbwriter knows (src/wsapi/rate-limits.ts). */
  hitRateLimit(bucket: string, requestId?: string): Promise<RateLimitAnswer>;
  /** Waits for background calls still running. */
  drain(): Promise<void>;
}

const unavailable = () => new ServiceError('upstream-unavailable', 'dbwriter unavailable');

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function createDbwriterClient(upstream: Upstream): DbwriterClient {
  const running = new Set<Promise<unknown>>();

  const call: DbwriterClient['call'] = async (op, args, requestId) => {
    const res = await upstream.call({
      method: 'POST',
      url: `/wsapi/${op}`,
      headers: {
        'content-type': 'application/json',
        ...(requestId === undefined ? {} : { [REQUEST_ID_HEADER]: requestId }),
      },
      body: JSON.stringify(args),
    });
    if (res.status >= 500) throw unavailable();
    return { status: res.status, body: parseObject(res.body) };
  };

  return {
    call,
    inBackground(op, args, log, requestId) {
      const work = call(op, args, requestId).then(
        (answer) => {
          if (answer.status !== 200)
            log.warn({ op, status: answer.status }, 'dbwriter refused an internal call');
        },
        (err: unknown) => {
          log.warn({ op, why: err instanceof Error ? err.message : String(err) }, 'internal call failed');
        },
      );
      running.add(work);
      return work.finally(() => running.delete(work));
    },
    async hitRateLimit(bucket, requestId) {
      const answer = await call('hit_rate_limit', { bucket }, requestId);
      // A refusal here is a disagreement between the tiers (an unknown bucket), not an outage.
      if (answer.status !== 200 || typeof answer.body?.allowed !== 'boolean')
        throw new Error(`the dbwriter answered hit_rate_limit with ${answer.status}`);
      const resetAt = answer.body.resetAt;
      return { allowed: answer.body.allowed, resetAt: typeof resetAt === 'number' ? resetAt : undefined };
    },
    async drain() {
      await Promise.allSettled([...running]);
    },
  };
}
