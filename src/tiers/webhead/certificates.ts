/**
 * `cert_key` (reference/persona.md §2.2, §4.6): the webhead checks that the password-level session owns a
 * verified address, then asks the keysigner, the only holder of the domain key, to certify the user's key.
 */
import { REQUEST_ID_HEADER } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import type { HandlersOf, WsapiHandler } from '../../wsapi/framework.ts';
import type { Runtime } from './runtime.ts';

export function certificateHandlers(rt: Runtime): HandlersOf<'cert_key'> {
  const certKey: WsapiHandler<'cert_key'> = async (ctx) => {
    const email = ctx.args.email;
    const userid = ctx.session.userid;
    const info = await rt.reader.emailInfo(email);
    if (info === undefined || info.userId !== userid)
      throw new ServiceError('bad-request', 'that email does not belong to you');
    // After a password reset the other secondary addresses must be re-verified first (§5.7).
    if (!info.verified && ctx.args.allowUnverified !== true)
      throw new ServiceError('forbidden', 'that email requires (re)verification');

    const request = {
      email,
      pubkey: ctx.args.pubkey,
      ephemeral: ctx.args.ephemeral,
      ...(info.verified ? {} : { unverified: true }),
      ...(ctx.args.forceIssuer === undefined ? {} : { forceIssuer: ctx.args.forceIssuer }),
    };
    const signed = await rt.deps.keysigner.call({
      method: 'POST',
      url: '/wsapi/cert_key',
      headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: ctx.request.id },
      body: JSON.stringify(request),
    });
    if (signed.status === 400) {
      // The keysigner's own refusals (an issuer it may not use, a key it cannot read) reach the caller.
      await ctx.reply.code(400).type('text/plain').send(signed.body.toString('utf8'));
      return undefined;
    }
    if (signed.status !== 200) {
      ctx.request.log.error({ status: signed.status }, 'the keysigner did not certify');
      throw new ServiceError('upstream-unavailable', 'keysigner unavailable');
    }
    // Only a change of type is written (the original wrote on every certificate).
    if (info.lastUsedAs !== 'secondary') {
      void rt.dbwriter.inBackground(
        'user_used_email_as',
        { userid: info.userId, email: info.normalizedEmail, used_as: 'secondary' },
        ctx.request.log,
        ctx.request.id,
      );
    }
    ctx.request.log.info({ event: 'cert_key', userid, ephemeral: ctx.args.ephemeral }, 'key certified');
    return signed.body.toString('utf8');
  };
  return { cert_key: certKey };
}
