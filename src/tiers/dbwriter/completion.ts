/**
 * Following a mailed link (reference/persona.md §5.6–5.8): each completion needs either this browser to be
 * the one that staged it (the token is its session's pending one) or proof of the password chosen at
 * staging or of the account's. That stops an attacker from staging a victim's address and waiting for the
 * victim to click. Unknown, used and expired tokens answer 200 {success:false} (SPEC §4.2), never 503.
 */
import { StorageError } from '../../db/write.ts';
import { ServiceError } from '../../http/errors.ts';
import type { WsapiContext } from '../../wsapi/framework.ts';
import type { Session } from '../../wsapi/session.ts';
import type { Handlers, Kit } from './kit.ts';

type Completion =
  | 'complete_user_creation'
  | 'complete_email_confirmation'
  | 'complete_reset'
  | 'complete_transition';

type PendingField = 'pendingCreation' | 'pendingAddition' | 'pendingReset' | 'pendingReverification';

const authRequired = (reason: string) => new ServiceError('authentication-required', reason);
const FAILED = { success: false } as const;

/** Forgets the token in the session's pending fields (it is used or dead either way). */
function forgetPending(session: Session, token: string, fields: readonly PendingField[]): void {
  for (const field of fields) if (session[field] === token) session[field] = undefined;
}

/** The data layer's "no such secret" (unknown, used, expired, or claimed by a racing completion). */
const isUnknownSecret = (err: unknown): boolean =>
  err instanceof StorageError && err.code === 'unknown-secret';

export function completionHandlers(kit: Kit): Handlers {
  const { writer, hasher } = kit;

  /** Password proof against the staged hash (or the account's); 401 as the original when missing or wrong. */
  async function provePassword(ctx: WsapiContext<Completion>, hash: string | null, missing: string): Promise<void> {
    const pass = ctx.args.pass;
    if (pass === undefined) throw authRequired(missing);
    if (hash === null || !(await hasher.compare(pass, hash))) {
      ctx.request.log.info(
        { event: 'verification_password_mismatch' },
        'completion refused: password mismatch',
      );
      throw authRequired('password mismatch');
    }
  }

  /** Runs the completion; an unknown secret at that point (a racing completion took it) is {success:false}. */
  async function complete<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      if (isUnknownSecret(err)) return undefined;
      throw err;
    }
  }

  return {
    async complete_user_creation(ctx) {
      const token = ctx.args.token;
      const auth = await writer.authForVerificationSecret(token);
      if (auth === undefined) {
        forgetPending(ctx.session, token, ['pendingCreation']);
        return FAILED;
      }
      if (ctx.session.pendingCreation !== token) await provePassword(ctx, auth.hash, 'Provide your password');
      const account = await complete(() => writer.completeCreateUser(token));
      forgetPending(ctx.session, token, ['pendingCreation']);
      if (account === undefined) return FAILED;
      ctx.authenticate(account.userId, 'password', account.lastPasswordReset, false);
      ctx.request.log.info({ event: 'account_created', userid: account.userId }, 'account created');
      return { success: true };
    },

    async complete_email_confirmation(ctx) {
      const token = ctx.args.token;
      const fields: PendingField[] = ['pendingAddition', 'pendingReverification'];
      const auth = await writer.authForVerificationSecret(token);
      if (auth === undefined) {
        forgetPending(ctx.session, token, fields);
        return FAILED;
      }
      const { userid, authLevel } = ctx.session;
      const isStager = userid !== undefined && userid === auth.userId && authLevel === 'password';
      if (!isStager) await provePassword(ctx, auth.hash, 'password required');
      const confirmed = await complete(() => writer.completeConfirmEmail(token));
      forgetPending(ctx.session, token, fields);
      if (confirmed === undefined) return FAILED;
      const lastPasswordReset = (await writer.lastPasswordReset(confirmed.userId)) ?? 0;
      ctx.authenticate(confirmed.userId, 'password', lastPasswordReset, false);
      ctx.request.log.info({ event: 'email_confirmed', userid: confirmed.userId }, 'address confirmed');
      return { success: true };
    },

    async complete_reset(ctx) {
      const token = ctx.args.token;
      const auth = await writer.authForVerificationSecret(token);
      if (auth === undefined) {
        forgetPending(ctx.session, token, ['pendingReset']);
        return FAILED;
      }
      let newHash: string | undefined;
      if (auth.staged) {
        // Old flow: the password was chosen in the dialog when the reset was staged.
        if (ctx.session.pendingReset !== token) await provePassword(ctx, auth.hash, 'Provide your password');
      } else {
        // New flow: the link proves the address; `pass` is the new password.
        const pass = ctx.args.pass;
        if (pass === undefined) throw authRequired('Provide your password');
        newHash = await hasher.hash(pass);
      }
      const account = await complete(() => writer.completePasswordReset(token, newHash));
      forgetPending(ctx.session, token, ['pendingReset']);
      if (account === undefined) return FAILED;
      // lastPasswordReset moved: every other session of the account ends; this one carries the new value.
      ctx.authenticate(account.userId, 'password', account.lastPasswordReset, false);
      ctx.request.log.info({ event: 'password_reset', userid: account.userId }, 'password reset');
      return { success: true };
    },

    async complete_transition(ctx) {
      const token = ctx.args.token;
      const auth = await writer.authForVerificationSecret(token);
      if (auth === undefined) {
        forgetPending(ctx.session, token, ['pendingReset']);
        return FAILED;
      }
      if (ctx.session.pendingReset !== token) await provePassword(ctx, auth.hash, 'Provide your password');
      // The hash staged with the transition becomes the account's password.
      const account = await complete(() => writer.completePasswordReset(token));
      forgetPending(ctx.session, token, ['pendingReset']);
      if (account === undefined) return FAILED;
      ctx.authenticate(account.userId, 'password', account.lastPasswordReset, false);
      ctx.request.log.info({ event: 'transition_completed', userid: account.userId }, 'transition completed');
      return { success: true };
    },
  };
}
