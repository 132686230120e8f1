/**
 * The ops that mail a verification link (reference/persona.md §2.2, §5.6): sign-up, adding an address,
 * password reset, re-verification and the primary→secondary transition. Each checks the per-IP limit
 * (SPEC §4.4) and, but for re-verification, the original's per-address throttle, before any bcrypt work.
 *
 * Every staging passes a hash or null, never "keep": a row left by someone else's staging of the same
 * address must not carry their password into this account.
 */
import {
  limitStaging,
  throttleAddress,
  sessionUser,
  type Handlers,
  type Kit,
} from './kit.ts';

export function stagingHandlers(kit: Kit): Handlers {
  const { writer, hasher } = kit;

  return {
    async stage_user(ctx) {
      const email = ctx.args.email;
      const site = ctx.args.site;
      await limitStaging(kit, ctx);
      await throttleAddress(kit, ctx, email);
      // Staging a user signs out whoever this browser was.
      ctx.logout();
      const hash = await hasher.hash(ctx.args.pass);
      if (ctx.args.allowUnverified === true) {
        // The experimental unverified sign-up: the account exists now with its address unverified, and
        // this browser is signed in with the password just chosen, so it can get `unverified-email`
        // certificates until the link is followed.
        const account = await writer.createUnverifiedUser(email, hash);
        ctx.authenticate(account.userId, 'password', account.lastPasswordReset, false);
        ctx.session.pendingAddition = account.secret;
        kit.sendMail(ctx, { kind: 'add', to: email, token: account.secret, site });
        ctx.request.log.info({ event: 'user_staged', unverified: true, userid: account.userId }, 'staged');
        return { success: true, unverified: true };
      }
      const token = await writer.stageUser(email, hash);
      ctx.session.pendingCreation = token;
      kit.sendMail(ctx, { kind: 'new', to: email, token, site });
      ctx.request.log.info({ event: 'user_staged' }, 'sign-up staged');
      return { success: true };
    },

    async stage_email(ctx) {
      const userid = sessionUser(ctx);
      const email = ctx.args.email;
      const pass = ctx.args.pass;
      await limitStaging(kit, ctx);
      await throttleAddress(kit, ctx, email);
      // A password is chosen with the first secondary address of an account made through a primary,
      // and only then.
      const auth = await writer.checkAuth(userid);
      const needsPassword = !auth?.hash;
      if (needsPassword && pass === undefined)
        return { success: false, reason: 'user must choose a password' };
      if (!needsPassword && pass !== undefined)
        return { success: false, reason: 'a password may not be set at this time' };
      const hash = pass === undefined ? null : await hasher.hash(pass);
      const token = await writer.stageEmail(userid, email, hash);
      ctx.session.pendingAddition = token;
      kit.sendMail(ctx, { kind: 'add', to: email, token, site: ctx.args.site });
      ctx.request.log.info({ event: 'email_staged', userid }, 'address addition staged');
      return { success: true };
    },

    async stage_reset(ctx) {
      const email = ctx.args.email;
      await limitStaging(kit, ctx);
      await throttleAddress(kit, ctx, email);
      const userid = await writer.emailToUID(email);
      if (userid === undefined) return { success: false, reason: 'No such email address.' };
      ctx.logout();
      // New flow: the password is chosen on the landing page; null clears one an older staging left.
      const token = await writer.stageEmail(userid, email, null);
      ctx.session.pendingReset = token;
      kit.sendMail(ctx, { kind: 'reset', to: email, token, site: ctx.args.site });
      ctx.request.log.info({ event: 'reset_staged', userid }, 'password reset staged');
      return { success: true };
    },

    async stage_reverify(ctx) {
      const userid = sessionUser(ctx);
      const email = ctx.args.email;
      // Not throttled per address, as the original; the per-IP limit still applies.
      await limitStaging(kit, ctx);
      if (!(await writer.userOwnsEmail(userid, email)))
        return { success: false, reason: "you don't control that email address" };
      if (await writer.emailIsVerified(email)) return { success: false, reason: 'email is already verified' };
      const token = await writer.stageEmail(userid, email, null);
      ctx.session.pendingReverification = token;
      kit.sendMail(ctx, { kind: 'reverify', to: email, token, site: ctx.args.site });
      ctx.request.log.info({ event: 'reverify_staged', userid }, 're-verification staged');
      return { success: true };
    },

    async stage_transition(ctx) {
      const email = ctx.args.email;
      await limitStaging(kit, ctx);
      await throttleAddress(kit, ctx, email);
      const userid = await writer.emailToUID(email);
      if (userid === undefined) return { success: false, reason: 'No such email address.' };
      ctx.logout();
      const hash = await hasher.hash(ctx.args.pass);
      const token = await writer.stageEmail(userid, email, hash);
      ctx.session.pendingReset = token;
      kit.sendMail(ctx, { kind: 'transition', to: email, token, site: ctx.args.site });
      ctx.request.log.info({ event: 'transition_staged', userid }, 'transition staged');
      return { success: true };
    },
  };
}
