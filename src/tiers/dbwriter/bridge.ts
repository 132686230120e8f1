/**
 * What the bridge asks of the dbwriter (docs/bridge.md): the alias fallback's code, mailed to the typed
 * address by the only tier that holds SMTP credentials. Declared in the catalogue (`bridgeOperations`)
 * and answered only to the bridge's signed calls. One attempt, not the outbox: the outbox's rows are
 * staging tokens whose retries run for hours, a code lives 10 minutes and its page offers a new one.
 */
import type { Counter } from 'prom-client';
import { ServiceError } from '../../http/errors.ts';
import type { TierFastify } from '../../http/app.ts';
import type { Mailer } from '../../mail/index.ts';
import { bridgeOperations } from '../../wsapi/catalogue.ts';

export function registerBridgeOps(
  app: TierFastify,
  mailer: Mailer,
  mailsSent: Counter<'kind' | 'outcome'>,
): void {
  const op = bridgeOperations.send_alias_code;
  app.post('/wsapi/send_alias_code', async (request, reply) => {
    reply.header('cache-control', 'no-cache, max-age=0');
    if (request.caller !== 'bridge') throw new ServiceError('not-found', 'no such api');
    const args = op.args.safeParse(request.body ?? {});
    if (!args.success)
      throw new ServiceError(
        'bad-request',
        args.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    if (mailer.sendAliasCode === undefined)
      throw new ServiceError('upstream-unavailable', 'mail unavailable');
    try {
      await mailer.sendAliasCode({ to: args.data.email, code: args.data.code, provider: args.data.provider });
    } catch (err) {
      mailsSent.inc({ kind: 'alias-code', outcome: 'failed' });
      request.log.warn(
        { event: 'mail_failed', kind: 'alias-code', error: err instanceof Error ? err.message : 'unknown' },
        'alias code mail not sent',
      );
      throw new ServiceError('upstream-unavailable', 'mail unavailable');
    }
    mailsSent.inc({ kind: 'alias-code', outcome: 'sent' });
    return op.response.parse({ success: true });
  });
}
