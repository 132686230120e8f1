/**
 * The four completions of a mailed link (src/accounts/verification.ts decides), translated to the wire:
 * a missing or wrong password is the original's 401, an unknown token 200 {success:false}, a completion
 * signs this browser in with the password.
 */
import { pendingFieldsOf, type Verification } from '../../accounts/verification.ts';
import { ServiceError } from '../../http/errors.ts';
import type { HandlersOf, WsapiContext } from '../../wsapi/framework.ts';
import type { Kit } from './kit.ts';

type Completion =
  'complete_user_creation' | 'complete_email_confirmation' | 'complete_reset' | 'complete_transition';

const LOGGED: Readonly<Record<Verification, readonly [event: string, message: string]>> = {
  creation: ['account_created', 'account created'],
  confirmation: ['email_confirmed', 'address confirmed'],
  reset: ['password_reset', 'password reset'],
  transition: ['transition_completed', 'transition completed'],
};

const authRequired = (reason: string) => new ServiceError('authentication-required', reason);

export function completionHandlers(kit: Kit): HandlersOf<Completion> {
  const completeBy =
    (verification: Verification) =>
    async (ctx: WsapiContext<Completion>): Promise<{ success: boolean }> => {
      const { token, pass } = ctx.args;
      const result = await kit.verifications.complete(verification, { token, pass, follower: ctx.session });
      if (result.kind === 'password-required') throw authRequired(result.reason);
      if (result.kind === 'password-mismatch') {
        ctx.request.log.info(
          { event: 'verification_password_mismatch' },
          'completion refused: password mismatch',
        );
        throw authRequired('password mismatch');
      }
      // Used or dead either way: the session forgets the token.
      for (const field of pendingFieldsOf(verification))
        if (ctx.session[field] === token) ctx.session[field] = undefined;
      if (result.kind === 'unknown-token') return { success: false };
      // A reset moved lastPasswordReset: every other session ends; this one carries the new value.
      ctx.authenticate(result.userId, 'password', result.lastPasswordReset, false);
      const [event, message] = LOGGED[verification];
      ctx.request.log.info({ event, userid: result.userId }, message);
      return { success: true };
    };

  return {
    complete_user_creation: completeBy('creation'),
    complete_email_confirmation: completeBy('confirmation'),
    complete_reset: completeBy('reset'),
    complete_transition: completeBy('transition'),
  };
}
