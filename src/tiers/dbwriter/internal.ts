/**
 * Ops only the webhead calls (catalogue: `internal`), proven by its tier signature rather than by replaying
 * the end user's cookie and CSRF token as the original did, so they name the user explicitly. The webhead
 * has done the checking (password compared, assertion verified); these only write.
 */
import { ServiceError } from '../../http/errors.ts';
import { bucketPrefix } from '../../wsapi/rate-limits.ts';
import type { Handlers, Kit } from './kit.ts';

export function internalHandlers(kit: Kit): Handlers {
  const { writer } = kit;

  return {
    async create_account_with_assertion(ctx) {
      // First sign-in through a primary: an account without a password. A racing sign-in for the same
      // address gets the account the other one made.
      const account = await writer.createUserWithPrimaryEmail(ctx.args.email);
      if (account.created)
        ctx.request.log.info(
          { event: 'account_created', userid: account.userId, via: 'primary' },
          'account created',
        );
      return { success: true, userid: account.userId, lastPasswordReset: account.lastPasswordReset };
    },

    async user_used_email_as(ctx) {
      const userid = ctx.args.userid;
      const email = ctx.args.email;
      if (!(await writer.userOwnsEmail(userid, email)))
        throw new ServiceError('bad-request', 'that email does not belong to you');
      await writer.updateEmailLastUsedAs(email, ctx.args.used_as);
      return { success: true };
    },

    async increment_failed_auth_tries(ctx) {
      await writer.incAuthFailures(ctx.args.userid);
      return { success: true };
    },

    async reset_failed_auth_tries(ctx) {
      // Writes only when there were failures (SPEC §4.7).
      await writer.clearAuthFailures(ctx.args.userid);
      return { success: true };
    },

    async rehash_password(ctx) {
      const result = await kit.passwords.rehash(ctx.args.userid, ctx.args.pass);
      if (result.kind === 'refused') return { success: false, reason: result.reason };
      return { success: true, rehashed: result.kind === 'rehashed' };
    },

    async hit_rate_limit(ctx) {
      const bucket = ctx.args.bucket.toLowerCase();
      const prefix = bucketPrefix(bucket);
      const limit = prefix === undefined ? undefined : kit.rateLimits.get(prefix);
      if (prefix === undefined || limit === undefined)
        throw new ServiceError('bad-request', 'unknown rate-limit bucket');
      const hit = await writer.hitRateLimit(bucket, limit);
      kit.rateLimitHits.inc({ limit: prefix, outcome: hit.allowed ? 'allowed' : 'refused' });
      return {
        success: true,
        allowed: hit.allowed,
        hits: hit.hits,
        limit: limit.limit,
        resetAt: hit.resetAt,
      };
    },

    async saw_idp(ctx) {
      await writer.updateIDPLastSeen(ctx.args.domain);
      return { success: true };
    },

    async forget_idp(ctx) {
      await writer.forgetIDP(ctx.args.domain);
      return { success: true };
    },

    // A logout on a webhead (SPEC §4.12): the session id is dead for every tier from now on.
    async revoke_session(ctx) {
      await writer.revokeSession(ctx.args.sid, ctx.args.expiresAt);
      return { success: true };
    },
  };
}
