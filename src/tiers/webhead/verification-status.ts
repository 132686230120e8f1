/**
 * Emailed verifications, seen from the webhead (reference/persona.md §2.2, §5.6): what a landing page
 * needs to know about its token (`email_for_token`), and the `*_status` ops the dialog polls until the
 * link has been followed.
 */
import type { HandlersOf, WsapiContext, WsapiHandler } from '../../wsapi/framework.ts';
import type { Runtime } from './runtime.ts';

type StatusOp =
  | 'email_for_token'
  | 'user_creation_status'
  | 'email_addition_status'
  | 'email_reverify_status'
  | 'password_reset_status'
  | 'transition_status';

export function verificationStatusHandlers(rt: Runtime): HandlersOf<StatusOp> {
  const { reader } = rt;
  const signedIn = (ctx: WsapiContext): number | undefined =>
    ctx.session.authLevel === undefined ? undefined : ctx.session.userid;

  /** The session's pending token of this kind is still staged; a dead one is forgotten. */
  async function stillPending(
    ctx: WsapiContext,
    field: 'pendingCreation' | 'pendingAddition',
  ): Promise<boolean> {
    const pending = ctx.session[field];
    if (pending === undefined) return false;
    if (await reader.haveVerificationSecret(pending)) return true;
    ctx.session[field] = undefined;
    return false;
  }

  // Reset and transition: pending while the address is staged; then complete for its signed-in owner.
  const resetLike: WsapiHandler<'password_reset_status' | 'transition_status'> = async (ctx) => {
    const email = ctx.args.email;
    if (await reader.isStaged(email)) return { status: 'pending' };
    const userid = signedIn(ctx);
    if (userid !== undefined && (await reader.userOwnsEmail(userid, email)))
      return { status: 'complete', userid };
    return { status: 'mustAuth' };
  };

  return {
    email_for_token: async (ctx) => {
      const token = ctx.args.token;
      const pending = await reader.emailForVerificationSecret(token);
      // SPEC §4.2: unknown and expired tokens look alike, and are not an error.
      if (pending === undefined) return { success: false, reason: 'no such secret' };
      const { session } = ctx;
      // The same browser that asked for a sign-up or a reset may complete it without a password; an
      // addition or re-verification needs that browser signed in with the password as the account,
      // which is what its completion on the dbwriter accepts (reference/persona.md §2.2).
      let mustAuth = true;
      if (token === session.pendingCreation || token === session.pendingReset) mustAuth = false;
      if (token === session.pendingAddition || token === session.pendingReverification) {
        mustAuth = !(
          session.authLevel === 'password' &&
          session.userid !== undefined &&
          session.userid === pending.existingUser
        );
      }
      return {
        success: true,
        email: pending.email,
        must_auth: mustAuth,
        needs_password: !pending.hasStagedPassword,
      };
    },

    user_creation_status: async (ctx) => {
      const userid = signedIn(ctx);
      if (userid !== undefined && (await reader.userOwnsEmail(userid, ctx.args.email)))
        return { status: 'complete', userid };
      // Verified in another browser, or replaced: this one must sign in.
      return { status: (await stillPending(ctx, 'pendingCreation')) ? 'pending' : 'mustAuth' };
    },

    email_addition_status: async (ctx) => {
      const userid = signedIn(ctx);
      if (userid !== undefined && (await reader.userOwnsEmail(userid, ctx.args.email))) {
        delete ctx.session.pendingAddition;
        return { status: 'complete' };
      }
      return { status: (await stillPending(ctx, 'pendingAddition')) ? 'pending' : 'failed' };
    },

    // Unlike the original, only the account's own addresses can read as complete: the verified flag of
    // someone else's address is not this session's business.
    email_reverify_status: async (ctx) => {
      const info = await reader.emailInfo(ctx.args.email);
      const complete = info !== undefined && info.userId === signedIn(ctx) && info.verified;
      return { status: complete ? 'complete' : 'pending' };
    },

    password_reset_status: resetLike,
    transition_status: resetLike,
  };
}
