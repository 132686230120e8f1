/**
 * Signing in (reference/persona.md §2.2, §5.4): with a password (`authenticate_user`, bcrypt compare here,
 * every write through the dbwriter) or with an assertion from the address's primary (`auth_with_assertion`).
 */
import { BrowserIdError, verifyBackedAssertion } from '../../browserid/index.ts';
import { ServiceError } from '../../http/errors.ts';
import type { HandlersOf, WsapiContext, WsapiHandler } from '../../wsapi/framework.ts';
import type { Runtime } from './runtime.ts';
import { DEFAULT_RATE_LIMITS } from '../../wsapi/rate-limits.ts';

/** A client address as a bucket name part: printable ASCII, bounded (the router sets it from the socket). */
const bucketValue = (ip: string): string => ip.replace(/[^\x21-\x7e]/g, '').slice(0, 100) || 'unknown';

// Firefox OS's 10-year sessions are not kept (the platform is gone), so the dialog always asks.
const SUPPRESS_ASK = false;

export function signInHandlers(
  rt: Runtime,
): HandlersOf<'authenticate_user' | 'auth_with_assertion'> {
  const { reader, dbwriter } = rt;

  const attemptsBucket = (ctx: WsapiContext) => `auth:ip:${bucketValue(ctx.clientIp).toLowerCase()}`;
  const attemptsLimit = rt.deps.signInLimit ??
    DEFAULT_RATE_LIMITS['auth:ip'] ?? { limit: 100, windowMs: 600_000 };

  /**
   * SPEC §4.4: failed sign-ins per client address, shared by every webhead through the database. Read
   * before bcrypt is spent; counted (a write, through the dbwriter) only when an attempt fails.
   */
  async function checkAttemptsFrom(ctx: WsapiContext): Promise<void> {
    const hits = await reader.rateLimitHits(attemptsBucket(ctx), attemptsLimit.windowMs);
    if (hits < attemptsLimit.limit) return;
    rt.signIns.inc({ outcome: 'rate_limited' });
    ctx.request.log.warn({ event: 'signin_rate_limited' }, 'too many failed sign-ins from one address');
    ctx.reply.header('retry-after', String(Math.ceil(attemptsLimit.windowMs / 1000)));
    throw new ServiceError('too-many-requests', 'too many sign-in attempts, try again later');
  }

  /**
   * A wrong password counts against the account (its lockout). Awaited, so the next attempt sees the
   * count; a dbwriter failure does not change the answer.
   */
  async function countFailureOf(ctx: WsapiContext, userid: number): Promise<void> {
    try {
      const answer = await dbwriter.call('increment_failed_auth_tries', { userid }, ctx.request.id);
      if (!answer.ok) ctx.request.log.warn({ status: answer.status }, 'failed sign-in not counted');
    } catch (err) {
      ctx.request.log.warn({ why: err instanceof Error ? err.message : String(err) }, 'failed sign-in not counted');
    }
  }

  async function countFailureFrom(ctx: WsapiContext): Promise<void> {
    try {
      await dbwriter.hitRateLimit(attemptsBucket(ctx), ctx.request.id);
    } catch (err) {
      // Sign-in stays available through a dbwriter outage (the original counted failures fire-and-forget).
      ctx.request.log.error(
        { event: 'rate_limit_unchecked', why: err instanceof Error ? err.message : String(err) },
        'failed sign-in not counted against its address',
      );
    }
  }

  const authenticateUser: WsapiHandler<'authenticate_user'> = async (ctx) => {
    const { email, pass } = ctx.args;
    await checkAttemptsFrom(ctx);
    const result = await rt.signIn.withPassword(email, pass);
    if (result.kind === 'refused') {
      const { outcome, reason, code, userId } = result;
      if (outcome === 'locked')
        ctx.request.log.warn({ event: 'signin_locked', userid: userId }, 'sign-in to a locked account');
      if (outcome === 'mismatch' && userId !== undefined) {
        ctx.request.log.info({ event: 'signin_failed', userid: userId }, 'wrong password');
        await countFailureOf(ctx, userId);
      }
      rt.signIns.inc({ outcome });
      if (outcome !== 'locked') await countFailureFrom(ctx);
      return { success: false, reason, ...(code === undefined ? {} : { code }) };
    }

    const { userId: userid, lastPasswordReset } = result;
    ctx.authenticate(userid, 'password', lastPasswordReset, ctx.args.ephemeral);
    if (result.clearFailures)
      void dbwriter.inBackground('reset_failed_auth_tries', { userid }, ctx.request.log, ctx.request.id);
    if (result.rehash)
      void dbwriter.inBackground('rehash_password', { userid, pass }, ctx.request.log, ctx.request.id);
    rt.signIns.inc({ outcome: 'password' });
    ctx.request.log.info({ event: 'signin', method: 'password', userid }, 'signed in');
    return { success: true, userid, suppress_ask_if_users_computer: SUPPRESS_ASK };
  };

  const authWithAssertion: WsapiHandler<'auth_with_assertion'> = async (ctx) => {
    let email: string;
    try {
      ({ email } = await verifyBackedAssertion(ctx.args.assertion, {
        audience: rt.origin,
        directory: rt.directory,
        fallbackIssuer: rt.issuer,
        fallbackKey: rt.deps.domainPublicKey,
        now: ctx.now,
      }));
    } catch (err) {
      if (!(err instanceof BrowserIdError)) {
        // A bug of ours, not the caller's input: logged in full, answered as the verifier would.
        ctx.request.log.error({ err }, 'assertion verification failed unexpectedly');
        return { success: false, reason: 'internal error while verifying' };
      }
      rt.signIns.inc({ outcome: 'bad_assertion' });
      ctx.request.log.info({ event: 'signin_failed', method: 'assertion', code: err.code }, err.message);
      return { success: false, reason: err.message };
    }

    const ephemeral = ctx.args.ephemeral;
    const info = await reader.emailInfo(email);
    if (info !== undefined) {
      const lastPasswordReset = await reader.lastPasswordReset(info.userId);
      if (lastPasswordReset === undefined) return { success: false, reason: 'no such user' };
      ctx.authenticate(info.userId, 'assertion', lastPasswordReset, ephemeral);
      // The address is now used through its primary (the dialog's transition states read this).
      if (info.lastUsedAs !== 'primary') {
        void dbwriter.inBackground(
          'user_used_email_as',
          { userid: info.userId, email: info.normalizedEmail, used_as: 'primary' },
          ctx.request.log,
          ctx.request.id,
        );
      }
      rt.signIns.inc({ outcome: 'assertion' });
      ctx.request.log.info({ event: 'signin', method: 'assertion', userid: info.userId }, 'signed in');
      return { success: true, userid: info.userId, suppress_ask_if_users_computer: SUPPRESS_ASK };
    }

    // First sign-in of this address: the dbwriter makes an account without a password.
    const created = await dbwriter.call('create_account_with_assertion', { email }, ctx.request.id);
    if (!created.ok) {
      ctx.request.log.error({ status: created.status }, 'the dbwriter did not create a primary account');
      return { success: false, reason: 'internal error creating account' };
    }
    const { userid, lastPasswordReset } = created.body;
    ctx.authenticate(userid, 'assertion', lastPasswordReset, ephemeral);
    rt.signIns.inc({ outcome: 'assertion_new_account' });
    ctx.request.log.info(
      { event: 'account_created', method: 'assertion', userid },
      'primary account created',
    );
    return { success: true, userid, suppress_ask_if_users_computer: SUPPRESS_ASK };
  };

  return { authenticate_user: authenticateUser, auth_with_assertion: authWithAssertion };
}
