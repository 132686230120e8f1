/**
 * The webhead's calls to the dbwriter's internal ops (SPEC §2: the webhead never writes). Each is a signed
 * POST with JSON arguments naming the user explicitly, typed and its answer checked by the op's declaration
 * (src/wsapi/catalogue.ts). Calls made in the
 * background never fail the request that caused them; they are logged (without their arguments, which
 * can hold a password) and awaited when the app closes.
 */
import type { FastifyBaseLogger } from 'fastify';
import { REQUEST_ID_HEADER } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import type { Upstream } from '../../http/upstream.ts';
import {
  operations,
  type ArgsIn,
  type InternalOperationName,
  type ResponseOf,
} from '../../wsapi/catalogue.ts';

/** The dbwriter's answer: 200 with the body its declaration promises, or a refusal's status. */
export type InternalAnswer<Op extends InternalOperationName> =
  | { readonly ok: true; readonly body: ResponseOf<Op> }
  | { readonly ok: false; readonly status: number };

export interface RateLimitAnswer {
  readonly allowed: boolean;
  /** When the window ends, epoch ms, if the dbwriter said. */
  readonly resetAt: number | undefined;
}

export interface DbwriterClient {
  /** Rejects with 503 `dbwriter unavailable` when no instance answers or one answers 5xx. */
  call<Op extends InternalOperationName>(
    op: Op,
    args: ArgsIn<Op>,
    requestId?: string,
  ): Promise<InternalAnswer<Op>>;
  /** Not awaited by the request; failures are logged on `log`. The promise settles when done, never rejects. */
  inBackground<Op extends InternalOperationName>(
    op: Op,
    args: ArgsIn<Op>,
    log: FastifyBaseLogger,
    requestId?: string,
  ): Promise<void>;
  /** Counts a hit on a bucket the dbwriter knows (src/wsapi/rate-limits.ts). */
  hitRateLimit(bucket: string, requestId?: string): Promise<RateLimitAnswer>;
  /** Waits for background calls still running. */
  drain(): Promise<void>;
}

const unavailable = () => new ServiceError('upstream-unavailable', 'dbwriter unavailable');

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
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
    if (res.status !== 200) return { ok: false, status: res.status };
    // A 200 outside the declaration is a disagreement between the tiers' versions, not an answer.
    const body = operations[op].response.safeParse(parseJson(res.body));
    if (!body.success) throw new Error(`the dbwriter answered ${op} outside its declaration`);
    return { ok: true, body: body.data as ResponseOf<typeof op> };
  };

  return {
    call,
    inBackground(op, args, log, requestId) {
      const work = call(op, args, requestId).then(
        (answer) => {
          if (!answer.ok) log.warn({ op, status: answer.status }, 'dbwriter refused an internal call');
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
      if (!answer.ok) throw new Error(`the dbwriter answered hit_rate_limit with ${answer.status}`);
      return { allowed: answer.body.allowed, resetAt: answer.body.resetAt };
    },
    async drain() {
      await Promise.allSettled([...running]);
    },
  };
}
