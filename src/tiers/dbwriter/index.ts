/**
 * The dbwriter (SPEC §2): the only tier with write credentials and the SMTP account. It runs every wsapi op
 * the catalogue marks `writes`, the router's (end users', with their session cookie and CSRF token) and
 * the webhead's internal ones (proven by the webhead's tier signature), and hashes passwords with bcrypt.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { createPasswords } from '../../accounts/passwords.ts';
import { createStaging } from '../../accounts/staging.ts';
import { createVerifications } from '../../accounts/verification.ts';
import type { IssuerDirectory } from '../../browserid/index.ts';
import type { RateLimit, Writer } from '../../db/write.ts';
import { createTierApp, type TierApp } from '../../http/app.ts';
import type { Tier } from '../../http/tier-auth.ts';
import type { Mailer } from '../../mail/index.ts';
import type { PasswordHasher } from '../../passwords/index.ts';
import { registerWsapi } from '../../wsapi/framework.ts';
import type { SessionCodec } from '../../wsapi/session.ts';
import { accountHandlers } from './account.ts';
import { completionHandlers } from './completion.ts';
import { internalHandlers } from './internal.ts';
import type { Kit } from './kit.ts';
import { createPrimaries } from './primary.ts';
import { DEFAULT_RATE_LIMITS, DEFAULT_STAGING_LIMIT, longestWindowMs } from '../../wsapi/rate-limits.ts';
import { stagingHandlers } from './staging.ts';

export { DEFAULT_RATE_LIMITS, DEFAULT_STAGING_LIMIT } from '../../wsapi/rate-limits.ts';

export interface DbwriterDeps {
  readonly writer: Writer;
  readonly hasher: PasswordHasher;
  readonly mailer: Mailer;
  /** The session cookie codec; its secret is the webhead's too. */
  readonly codec: SessionCodec;
  /** The public origin: the audience of assertions made for us, and our own issuer name (its host). */
  readonly publicUrl: string;
  /** Secure cookies; default: the public URL is https. */
  readonly https?: boolean;
  readonly sessionDurationMs: number;
  readonly ephemeralSessionDurationMs: number;
  /** One verification mail per address per this long (the original's 60 s). */
  readonly minTimeBetweenEmailsMs: number;
  /** Verification mails per client address (SPEC §4.4); default 20 per 10 minutes. */
  readonly stagingLimit?: RateLimit;
  /** Limits of the buckets the webhead counts through `hit_rate_limit`, by `<kind>:<scope>` prefix. */
  readonly rateLimits?: Readonly<Record<string, RateLimit>>;
  /** Support documents of mail domains (a Discovery): primaries' assertions, and which domains are primaries. */
  readonly discovery: IssuerDirectory;
  /** Public keys of the tiers that call this one: the router (end users' ops) and the webhead (internal ops). */
  readonly callerKeys: ReadonlyMap<Tier, KeyObject>;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
  /** How often expired tokens and stale rate-limit counters are deleted; 0 never. Default 10 minutes. */
  readonly housekeepingIntervalMs?: number;
  /** Epoch ms; tests move time (give the writer the same clock). */
  readonly now?: () => number;
}

const DEFAULT_HOUSEKEEPING_MS = 10 * 60_000;

export function buildDbwriter(deps: DbwriterDeps): TierApp {
  const now = deps.now ?? Date.now;
  const https = deps.https ?? deps.publicUrl.startsWith('https:');
  const tierApp = createTierApp({
    tier: 'dbwriter',
    // bcrypt hashes read the request's deadline.
    deadlineContext: true,
    logger: deps.logger,
    callerKeys: deps.callerKeys,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
    https,
    healthChecks: { database: () => deps.writer.ping() },
  });
  const { app, logger } = tierApp;
  const { registry } = tierApp.metrics;

  const operations = new Counter({
    name: 'persona_wsapi_operations_total',
    help: 'wsapi ops served, by op',
    labelNames: ['op'],
    registers: [registry],
  });
  const mailsSent = new Counter({
    name: 'persona_mails_sent_total',
    help: 'Verification mails, by kind and whether the SMTP server took them',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  const rateLimitHits = new Counter({
    name: 'persona_rate_limit_hits_total',
    help: 'Rate-limit decisions, by limit (email throttle, stage:ip, the webhead buckets) and outcome',
    labelNames: ['limit', 'outcome'],
    registers: [registry],
  });

  // Mail goes after the answer, as the original's; close() waits for what is still being sent.
  const sending = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...sending]);
  });

  const stagingLimit = deps.stagingLimit ?? DEFAULT_STAGING_LIMIT;
  const rateLimits = new Map(
    Object.entries({ ...DEFAULT_RATE_LIMITS, ...deps.rateLimits, 'stage:ip': stagingLimit }),
  );

  const kit: Kit = {
    writer: deps.writer,
    passwords: createPasswords(deps.writer, deps.hasher),
    staging: createStaging(deps.writer, deps.hasher, {
      minTimeBetweenEmailsMs: deps.minTimeBetweenEmailsMs,
      perIpLimit: stagingLimit,
      onLimit: (limit, allowed) => {
        rateLimitHits.inc({ limit, outcome: allowed ? 'allowed' : 'refused' });
      },
    }),
    verifications: createVerifications(deps.writer, deps.hasher),
    primaries: createPrimaries(deps.discovery, deps.publicUrl, now),
    rateLimits,
    rateLimitHits,
    sendMail(ctx, mail) {
      const log = ctx.request.log;
      const delivery = deps.mailer
        .send(mail)
        .then(() => {
          mailsSent.inc({ kind: mail.kind, outcome: 'sent' });
        })
        .catch((err: unknown) => {
          mailsSent.inc({ kind: mail.kind, outcome: 'failed' });
          // The message only: the error object may hold the message and its link.
          log.error(
            { event: 'mail_failed', kind: mail.kind, error: err instanceof Error ? err.message : 'unknown' },
            'verification mail not sent',
          );
        })
        .finally(() => sending.delete(delivery));
      sending.add(delivery);
    },
  };

  registerWsapi(
    app,
    {
      codec: deps.codec,
      https,
      sessionDurationMs: deps.sessionDurationMs,
      ephemeralSessionDurationMs: deps.ephemeralSessionDurationMs,
      lastPasswordReset: (userid) => deps.writer.lastPasswordReset(userid),
      internalCallers: ['webhead'],
      now,
      onOperation: (name) => {
        operations.inc({ op: name });
      },
    },
    {
      ...stagingHandlers(kit),
      ...completionHandlers(kit),
      ...accountHandlers(kit),
      ...internalHandlers(kit),
    },
  );

  // Expired tokens already behave as absent and stale counters as empty; deleting them keeps tables small.
  const intervalMs = deps.housekeepingIntervalMs ?? DEFAULT_HOUSEKEEPING_MS;
  if (intervalMs > 0) {
    const keepCountersMs = longestWindowMs(rateLimits.values());
    const timer = setInterval(() => {
      Promise.all([deps.writer.purgeExpiredTokens(), deps.writer.pruneRateLimits(keepCountersMs)])
        .then(([tokens, counters]) => {
          if (tokens + counters > 0) logger.info({ event: 'housekeeping', tokens, counters }, 'housekeeping');
        })
        .catch((err: unknown) => {
          logger.warn(
            { event: 'housekeeping_failed', error: err instanceof Error ? err.message : 'unknown' },
            'housekeeping failed',
          );
        });
    }, intervalMs);
    timer.unref();
    app.addHook('onClose', () => {
      clearInterval(timer);
    });
  }

  return tierApp;
}
