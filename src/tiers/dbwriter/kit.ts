/**
 * What the dbwriter's op handlers share: the stores and services they write through, and the checks every
 * mail-sending op makes (the per-address throttle of the original, the per-IP limit of SPEC §4.4).
 */
import type { Counter } from 'prom-client';
import type { RateLimit, Writer } from '../../db/write.ts';
import { ServiceError } from '../../http/errors.ts';
import type { VerificationMail } from '../../mail/index.ts';
import type { PasswordHasher } from '../../passwords/index.ts';
import type { WsapiContext, WsapiHandlers } from '../../wsapi/framework.ts';
import type { Primaries } from './primary.ts';

export interface Kit {
  readonly writer: Writer;
  readonly hasher: PasswordHasher;
  readonly primaries: Primaries;
  readonly minTimeBetweenEmailsMs: number;
  readonly stagingLimit: RateLimit;
  /** Limits of the buckets the webhead counts through `hit_rate_limit`, by prefix. */
  readonly rateLimits: ReadonlyMap<string, RateLimit>;
  /** Counts a rate-limit decision: `limit` names the limit, `allowed` what it decided. */
  readonly rateLimitHits: Counter<'limit' | 'outcome'>;
  /** Sends a verification mail after the answer, as the original: a failure is logged, not answered. */
  sendMail(ctx: WsapiContext, mail: VerificationMail): void;
}

export type Handlers = WsapiHandlers;

const tooMany = (reason: string) => new ServiceError('too-many-requests', reason);

/** Seconds until `at`, for Retry-After (at least 1). */
const retryAfter = (at: number, now: number): string => String(Math.max(1, Math.ceil((at - now) / 1000)));

/** SPEC §4.4: verification mails per client address, counted across instances in the database. */
export async function limitStaging(kit: Kit, ctx: WsapiContext): Promise<void> {
  const hit = await kit.writer.hitRateLimit(`stage:ip:${ctx.clientIp.toLowerCase()}`, kit.stagingLimit);
  kit.rateLimitHits.inc({ limit: 'stage:ip', outcome: hit.allowed ? 'allowed' : 'refused' });
  if (!hit.allowed) {
    ctx.request.log.warn({ event: 'rate_limited', limit: 'stage:ip' }, 'staging refused: per-IP limit');
    ctx.reply.header('retry-after', retryAfter(hit.resetAt, ctx.now));
    throw tooMany('Too many requests from your address, try again later.');
  }
}

/** The original's mail throttle: one verification mail per address per `minTimeBetweenEmailsMs`. */
export async function throttleAddress(kit: Kit, ctx: WsapiContext, email: string): Promise<void> {
  const last = await kit.writer.lastStaged(email);
  const throttled = last !== undefined && ctx.now - last.getTime() < kit.minTimeBetweenEmailsMs;
  kit.rateLimitHits.inc({ limit: 'email', outcome: throttled ? 'refused' : 'allowed' });
  if (throttled) {
    ctx.request.log.warn({ event: 'rate_limited', limit: 'email' }, 'staging refused: mail throttle');
    ctx.reply.header('retry-after', retryAfter(last.getTime() + kit.minTimeBetweenEmailsMs, ctx.now));
    throw tooMany('Too many emails sent to that address, try again later.');
  }
}

/** The signed-in user of an op that requires authentication (the framework has checked it). */
export function sessionUser(ctx: WsapiContext): number {
  const userid = ctx.session.userid;
  if (userid === undefined) throw new ServiceError('bad-request', 'requires authentication');
  return userid;
}
