/**
 * The ops that mail a verification link (src/accounts/staging.ts decides), translated to the wire: a limit
 * is 429 with Retry-After, a refusal 200 {success:false, reason}; a staging keeps its token in this
 * browser's session; its mail, queued with it, is tried right after the answer and retried by the outbox.
 */
import type { Stager, StagingResult } from '../../accounts/staging.ts';
import { ServiceError } from '../../http/errors.ts';
import type { MailDetails } from '../../mail/index.ts';
import { acceptedLanguages, negotiateLocale } from '../../text/i18n.ts';
import { mailMessages } from '../../text/messages/mail.ts';
import type { HandlersOf, WsapiContext } from '../../wsapi/framework.ts';
import { sessionUser, type Kit } from './kit.ts';

type StagingOp = 'stage_user' | 'stage_email' | 'stage_reset' | 'stage_reverify' | 'stage_transition';

const LOGGED: Readonly<Record<StagingOp, readonly [event: string, message: string]>> = {
  stage_user: ['user_staged', 'sign-up staged'],
  stage_email: ['email_staged', 'address addition staged'],
  stage_reset: ['reset_staged', 'password reset staged'],
  stage_reverify: ['reverify_staged', 're-verification staged'],
  stage_transition: ['transition_staged', 'transition staged'],
};

const LIMIT_LOGGED = { 'stage:ip': 'per-IP limit', email: 'mail throttle' } as const;

/** Seconds until `at`, for Retry-After (at least 1). */
const retryAfter = (at: number, now: number): string => String(Math.max(1, Math.ceil((at - now) / 1000)));

const MAIL_LOCALES = Object.keys(mailMessages);

/**
 * What the mail says about the site (its name, colour and logo, as the stage_* call gave them) and the
 * language it is written in (the person's, from the Accept-Language the router forwards).
 */
function mailDetails(ctx: WsapiContext<StagingOp>): MailDetails {
  const { site, siteName, backgroundColor, siteLogo } = ctx.args;
  return {
    site,
    locale: negotiateLocale(acceptedLanguages(ctx.request.headers['accept-language']), MAIL_LOCALES),
    ...(siteName === undefined ? {} : { siteName }),
    // The wsapi takes the colour with or without its '#'; the mail wants it with.
    ...(backgroundColor === undefined ? {} : { backgroundColor: backgroundColor.replace(/^#?/, '#') }),
    ...(siteLogo === undefined ? {} : { siteLogo }),
  };
}

export function stagingHandlers(kit: Kit): HandlersOf<StagingOp> {
  const stager = (ctx: WsapiContext<StagingOp>): Stager => ({
    clientIp: ctx.clientIp,
    now: ctx.now,
    signOut: () => {
      ctx.logout();
    },
    outbox: (kind, to) => kit.outbox.entry(kind, to, mailDetails(ctx)),
  });

  type Staged = { success: true; unverified?: true };
  function answer(
    op: StagingOp,
    ctx: WsapiContext<StagingOp>,
    result: Exclude<StagingResult, { kind: 'refused' }>,
  ): Staged;
  function answer(
    op: StagingOp,
    ctx: WsapiContext<StagingOp>,
    result: StagingResult,
  ): Staged | { success: false; reason: string };
  function answer(
    op: StagingOp,
    ctx: WsapiContext<StagingOp>,
    result: StagingResult,
  ): Staged | { success: false; reason: string } {
    if (result.kind === 'refused') return { success: false, reason: result.reason };
    if (result.kind === 'limited') {
      ctx.request.log.warn(
        { event: 'rate_limited', limit: result.limit },
        `staging refused: ${LIMIT_LOGGED[result.limit]}`,
      );
      ctx.reply.header('retry-after', retryAfter(result.retryAt, ctx.now));
      throw new ServiceError('too-many-requests', result.reason);
    }
    if (result.signIn)
      ctx.authenticate(result.signIn.userId, 'password', result.signIn.lastPasswordReset, false);
    ctx.session[result.pending] = result.token;
    kit.sendMail(ctx, { kind: result.mail, to: ctx.args.email, token: result.token, ...mailDetails(ctx) });
    const [event, message] = LOGGED[op];
    ctx.request.log.info(
      {
        event,
        ...(result.userId === undefined ? {} : { userid: result.userId }),
        ...(result.signIn ? { unverified: true } : {}),
      },
      message,
    );
    return result.signIn ? { success: true, unverified: true } : { success: true };
  }

  const { staging } = kit;
  return {
    stage_user: async (ctx) =>
      answer(
        'stage_user',
        ctx,
        await staging.stageUser(
          stager(ctx),
          ctx.args.email,
          ctx.args.pass,
          ctx.args.allowUnverified === true,
        ),
      ),
    stage_email: async (ctx) =>
      answer(
        'stage_email',
        ctx,
        await staging.stageEmail(stager(ctx), sessionUser(ctx), ctx.args.email, ctx.args.pass),
      ),
    stage_reset: async (ctx) =>
      answer('stage_reset', ctx, await staging.stageReset(stager(ctx), ctx.args.email)),
    stage_reverify: async (ctx) =>
      answer(
        'stage_reverify',
        ctx,
        await staging.stageReverify(stager(ctx), sessionUser(ctx), ctx.args.email),
      ),
    stage_transition: async (ctx) =>
      answer(
        'stage_transition',
        ctx,
        await staging.stageTransition(stager(ctx), ctx.args.email, ctx.args.pass),
      ),
  };
}
