/**
 * What the dbwriter's op handlers share: the account rules they translate (src/accounts), the stores and
 * services they write through, and the mail queued with a staging and sent after its answer.
 */
import type { Counter } from 'prom-client';
import type { Passwords } from '../../accounts/passwords.ts';
import type { Staging } from '../../accounts/staging.ts';
import type { Verifications } from '../../accounts/verification.ts';
import type { RateLimit, Writer } from '../../db/write.ts';
import { ServiceError } from '../../http/errors.ts';
import type { VerificationMail } from '../../mail/index.ts';
import type { WsapiContext, WsapiHandlers } from '../../wsapi/framework.ts';
import type { Outbox } from './outbox.ts';
import type { Primaries } from './primary.ts';

export interface Kit {
  readonly writer: Writer;
  readonly passwords: Passwords;
  readonly staging: Staging;
  readonly verifications: Verifications;
  readonly primaries: Primaries;
  /** Limits of the buckets the webhead counts through `hit_rate_limit`, by prefix. */
  readonly rateLimits: ReadonlyMap<string, RateLimit>;
  /** Counts a rate-limit decision: `limit` names the limit, `allowed` what it decided. */
  readonly rateLimitHits: Counter<'limit' | 'outcome'>;
  /** Verification mail queued with each staging (SPEC §4.13). */
  readonly outbox: Outbox;
  /**
   * The staging's own attempt at its queued mail, after the answer: a failure is logged and left to the
   * outbox's retries, not answered.
   */
  sendMail(ctx: WsapiContext, mail: VerificationMail): void;
}

export type Handlers = WsapiHandlers;

/** The signed-in user of an op that requires authentication (the framework has checked it). */
export function sessionUser(ctx: WsapiContext): number {
  const userid = ctx.session.userid;
  if (userid === undefined) throw new ServiceError('bad-request', 'requires authentication');
  return userid;
}
