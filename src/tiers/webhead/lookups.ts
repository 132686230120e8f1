/**
 * What the dialog asks before signing in (reference/persona.md §2.2–2.3): `address_info` (how an address
 * must authenticate right now) and `have_email`.
 */
import { bucketValue } from '../../accounts/sign-in.ts';
import { BrowserIdError, emailDomain } from '../../browserid/index.ts';
import type { DiscoveryResult } from '../../browserid/discovery.ts';
import { ServiceError } from '../../http/errors.ts';
import type { HandlersOf, WsapiContext, WsapiHandler } from '../../wsapi/framework.ts';
import { DEFAULT_RATE_LIMITS } from '../../wsapi/rate-limits.ts';
import { addressState, idpBookkeeping } from './address-info.ts';
import { DAY_MS, type Runtime } from './runtime.ts';

const OFFLINE_GRACE_MS = 5 * DAY_MS;
// The idp row only needs to be younger than the grace period; refreshing hourly keeps writes rare.
const IDP_REFRESH_MS = 3_600_000;

export function lookupHandlers(rt: Runtime): HandlersOf<'address_info' | 'have_email'> {
  const graceMs = rt.deps.idpOfflineGracePeriodMs ?? OFFLINE_GRACE_MS;
  // One saw_idp per domain in flight from this process, whatever the traffic.
  const recording = new Set<string>();

  const lookupLimit = rt.deps.addressInfoLimit ??
    DEFAULT_RATE_LIMITS['info:ip'] ?? { limit: 200, windowMs: 600_000 };

  /**
   * address_info tells whether an address has an account, as the original's did (the dialog needs it):
   * lookups per client address are limited, shared by every webhead (SPEC §4.4). Read before answering,
   * counted after in the background, so the answer waits for no write.
   */
  async function limitLookupsFrom(ctx: WsapiContext): Promise<void> {
    const bucket = `info:ip:${bucketValue(ctx.clientIp)}`;
    const window = await rt.reader.rateLimitWindow(bucket, lookupLimit.windowMs);
    if (window !== undefined && window.hits >= lookupLimit.limit) {
      ctx.request.log.warn(
        { event: 'address_info_rate_limited' },
        'too many address lookups from one address',
      );
      const retryMs = window.windowStart + lookupLimit.windowMs - ctx.now;
      ctx.reply.header('retry-after', String(Math.max(1, Math.ceil(retryMs / 1000))));
      throw new ServiceError('too-many-requests', 'too many address lookups, try again later');
    }
    void rt.dbwriter.hitRateLimit(bucket, ctx.request.id).catch((err: unknown) => {
      ctx.request.log.error(
        { event: 'rate_limit_unchecked', why: err instanceof Error ? err.message : String(err) },
        'address lookup not counted',
      );
    });
  }

  const addressInfo: WsapiHandler<'address_info'> = async (ctx) => {
    await limitLookupsFrom(ctx);
    const email = ctx.args.email;
    const forced = ctx.args.issuer;

    if (forced !== undefined) {
      // Only names the keysigner would sign as are worth telling the dialog about.
      if (!rt.deps.forcibleIssuers.includes(forced.toLowerCase())) {
        await ctx.reply.code(400).send({ success: false, reason: 'issuer: not a forcible issuer' });
        return undefined;
      }
      const info = await rt.reader.emailInfo(email);
      const state = addressState({
        account: info,
        typeNow: 'secondary',
        disabled: false,
        primarySeenRecently: false,
        forcedIssuer: true,
      });
      return {
        type: 'secondary',
        issuer: forced.toLowerCase(),
        disabled: false,
        state,
        ...(info === undefined ? {} : { normalizedEmail: info.normalizedEmail }),
      };
    }

    const domain = emailDomain(email);
    const discovering = rt.directory.discover(domain).then(
      (result): DiscoveryResult | undefined => result,
      (err: unknown) => {
        // Whatever went wrong finding a primary, the address can still be served as a secondary.
        const why = err instanceof Error ? err.message : String(err);
        if (err instanceof BrowserIdError)
          ctx.request.log.info({ domain, why }, 'not a primary, falling back to secondary');
        else ctx.request.log.error({ domain, why }, 'discovery failed unexpectedly');
        return undefined;
      },
    );
    const [discovered, lastSeen, info] = await Promise.all([
      discovering,
      rt.reader.getIDPLastSeen(domain),
      rt.reader.emailInfo(email),
    ]);
    const primary = discovered?.kind === 'supported' ? discovered : undefined;
    const disabled = discovered?.kind === 'disabled';
    const typeNow = primary === undefined ? 'secondary' : 'primary';

    const idp = idpBookkeeping({
      lastSeen: lastSeen?.getTime(),
      now: ctx.now,
      graceMs,
      refreshMs: IDP_REFRESH_MS,
      typeNow,
      disabled,
    });
    if (idp.action !== 'none' && !recording.has(domain)) {
      // Bookkeeping never fails or delays the answer (reference/persona.md §4.7 idp_seen).
      recording.add(domain);
      void rt.dbwriter
        .inBackground(
          idp.action === 'saw' ? 'saw_idp' : 'forget_idp',
          { domain },
          ctx.request.log,
          ctx.request.id,
        )
        .finally(() => recording.delete(domain));
    }

    const state = addressState({
      account: info,
      typeNow,
      disabled,
      primarySeenRecently: idp.primarySeenRecently,
      forcedIssuer: false,
    });
    const normalized = info === undefined ? {} : { normalizedEmail: info.normalizedEmail };
    if (primary !== undefined) {
      return {
        type: 'primary',
        issuer: primary.authoritativeDomain,
        auth: primary.authentication,
        prov: primary.provisioning,
        state,
        ...normalized,
      };
    }
    return { type: 'secondary', issuer: rt.issuer, disabled, state, ...normalized };
  };

  return {
    address_info: addressInfo,
    have_email: async (ctx) => ({ email_known: await rt.reader.emailKnown(ctx.args.email) }),
  };
}
