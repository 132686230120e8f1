/**
 * Signing in (reference/persona.md §2.2, §5.4): with a password (`authenticate_user`, bcrypt compare here,
 * every write through the dbwriter) or with an assertion from the address's primary (`auth_with_assertion`).
 */
import type { PasswordSignIn } from '../../accounts/sign-in.ts';
import { BrowserIdError, verifyBackedAssertion } from '../../browserid/index.ts';
import { ServiceError } from '../../http/errors.ts';
import type { HandlersOf, WsapiContext, WsapiHandler } from '../../wsapi/framework.ts';
import type { Runtime } from './runtime.ts';

// Firefox OS's 10-year sessions are not kept (the platform is gone), so the dialog always asks.
const SUPPRESS_ASK = false;

const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function signInHandlers(rt: Runtime): HandlersOf<'authenticate_user' | 'auth_with_assertion'> {
  const { reader, dbwriter } = rt;

  /**
   * A refusal counts in its buckets (SPEC §4.4, §4.11) and a wrong password against the account's
   * `failedAuthTries`, all through the dbwriter, awaited so the next attempt sees them. Sign-in stays
   * available through a dbwriter outage (the original counted failures fire-and-forget).
   */
  async function countFailure(
    ctx: WsapiContext,
    failure: Extract<PasswordSignIn, { kind: 'refused' }>,
  ): Promise<void> {
    const { userId, outcome } = failure;
    await Promise.all([
      ...failure.count.map((bucket) =>
        dbwriter.hitRateLimit(bucket, ctx.request.id).catch((err: unknown) => {
          ctx.request.log.error(
            { event: 'rate_limit_unchecked', why: why(err) },
            'failed sign-in not counted in its bucket',
          );
        }),
      ),
      outcome === 'mismatch' && userId !== undefined
        ? dbwriter.call('increment_failed_auth_tries', { userid: userId }, ctx.request.id).then(
            (answer) => {
              if (!answer.ok) ctx.request.log.warn({ status: answer.status }, 'failed sign-in not counted');
            },
            (err: unknown) => {
              ctx.request.log.warn({ why: why(err) }, 'failed sign-in not counted');
            },
          )
        : undefined,
    ]);
  }

  const authenticateUser: WsapiHandler<'authenticate_user'> = async (ctx) => {
    const { email, pass, ephemeral } = ctx.args;
    const device = rt.devices.read(ctx.request.headers.cookie, ctx.now);
    const result = await rt.signIn.withPassword(email, pass, {
      clientIp: ctx.clientIp,
      device,
      now: ctx.now,
      countFailure: (failure) => countFailure(ctx, failure),
    });

    if (result.kind === 'throttled') {
      const { outcome, scope, userId, retryAfterMs } = result;
      rt.signIns.inc({ outcome: outcome === 'locked' ? 'locked' : 'rate_limited' });
      ctx.request.log.warn(
        { event: outcome === 'locked' ? 'signin_locked' : 'signin_rate_limited', scope, userid: userId },
        'sign-in refused before the password was checked',
      );
      ctx.reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
      // The hourly cap keeps the original's answer (the dialog offers the reset, which signs in); delays
      // are short and say "try again later".
      if (outcome === 'locked')
        return { success: false, reason: 'account is locked', code: 'account locked' };
      throw new ServiceError('too-many-requests', 'too many sign-in attempts, try again later');
    }
    if (result.kind === 'refused') {
      const { outcome, reason, userId } = result;
      // Every refusal, by why (wrong password, no such user, no password): the KPI summary counts them.
      ctx.request.log.info(
        {
          event: 'signin_failed',
          method: 'password',
          reason: outcome,
          userid: userId,
          device: device !== undefined,
        },
        reason,
      );
      rt.signIns.inc({ outcome });
      return { success: false, reason };
    }

    const { userId: userid, lastPasswordReset } = result;
    ctx.authenticate(userid, 'password', lastPasswordReset, ephemeral);
    // The browser is the account's from now on; not one the person called shared ("ephemeral"). A cookie,
    // not a write (SPEC §4.7).
    if (!ephemeral) ctx.reply.header('set-cookie', rt.devices.issue(device, userid, ctx.now));
    if (result.clearFailures)
      void dbwriter.inBackground('reset_failed_auth_tries', { userid }, ctx.request.log, ctx.request.id);
    if (result.rehash)
      void dbwriter.inBackground('rehash_password', { userid, pass }, ctx.request.log, ctx.request.id);
    rt.signIns.inc({ outcome: 'password' });
    ctx.request.log.info(
      { event: 'signin', method: 'password', userid, known_device: result.knownDevice },
      'signed in',
    );
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
      ctx.request.log.info(
        { event: 'signin_failed', method: 'assertion', reason: err.code, code: err.code },
        err.message,
      );
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
