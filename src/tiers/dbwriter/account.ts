/**
 * Changes a signed-in user makes to their account (reference/persona.md §2.2): the password, addresses
 * proved by a primary, how an address was last used, removing an address, cancelling the account.
 */
import { BrowserIdError } from '../../browserid/index.ts';
import { ServiceError } from '../../http/errors.ts';
import { sessionUser, type Handlers, type Kit } from './kit.ts';

export function accountHandlers(kit: Kit): Handlers {
  const { writer, passwords, primaries } = kit;

  return {
    async update_password(ctx) {
      const userid = sessionUser(ctx);
      try {
        const result = await passwords.change(userid, ctx.args.oldpass, ctx.args.newpass);
        if (result.kind === 'refused') {
          ctx.request.log.info({ event: 'password_update_refused', userid }, result.reason);
          return { success: false, reason: result.reason };
        }
        // This browser's session carries on under a new id: copies of its cookie saved before die (SPEC §4.12).
        ctx.renewSessionId();
        if (result.lastPasswordReset !== undefined) {
          // Every other session ends; this one proved the password and carries on at password level,
          // keeping its own lifetime.
          ctx.session = {
            ...ctx.session,
            authLevel: 'password',
            lastPasswordReset: result.lastPasswordReset,
          };
        }
        ctx.request.log.info(
          { event: 'password_updated', userid, sessionsEnded: result.lastPasswordReset !== undefined },
          'password updated',
        );
        return { success: true };
      } catch (err) {
        // The original answered this op's overload as JSON.
        if (err instanceof ServiceError && err.code === 'too-busy') {
          await ctx.reply.code(503).send({ success: false, reason: err.reason });
          return undefined;
        }
        throw err;
      }
    },

    async remove_email(ctx) {
      const userid = sessionUser(ctx);
      // Not the owner: the data layer refuses, answered 400 with its reason. The last address may go.
      await writer.removeEmail(userid, ctx.args.email);
      ctx.request.log.info({ event: 'email_removed', userid }, 'address removed');
      return { success: true };
    },

    async account_cancel(ctx) {
      const userid = sessionUser(ctx);
      await writer.cancelAccount(userid);
      // Revokes this session's id too; the account's other sessions end with the account.
      ctx.logout();
      ctx.request.log.info({ event: 'account_cancelled', userid }, 'account cancelled');
      return { success: true };
    },

    async add_email_with_assertion(ctx) {
      const userid = sessionUser(ctx);
      let email: string;
      try {
        email = await primaries.verifyAssertion(ctx.args.assertion);
      } catch (err) {
        if (!(err instanceof BrowserIdError)) throw err;
        ctx.request.log.info({ event: 'primary_assertion_refused', code: err.code }, err.message);
        return { success: false, reason: err.message };
      }
      // Proved by its primary: the address moves here, from any other account.
      await writer.addPrimaryEmailToAccount(userid, email);
      ctx.request.log.info({ event: 'primary_email_added', userid }, 'primary address added');
      return { success: true };
    },

    async used_address_as_primary(ctx) {
      const userid = sessionUser(ctx);
      const email = ctx.args.email;
      if (!(await writer.userOwnsEmail(userid, email)))
        throw new ServiceError('bad-request', 'that email does not belong to you');
      if (!(await primaries.isPrimary(email)))
        throw new ServiceError('bad-request', 'email is not a primary');
      await writer.updateEmailLastUsedAs(email, 'primary');
      return { success: true };
    },
  };
}
