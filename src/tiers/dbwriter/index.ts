/**
 * The dbwriter (SPEC §2): the only tier with write credentials and the SMTP account. It runs every wsapi op
 * the catalogue marks `writes`, the router's (end users', with their session cookie and CSRF token) and
 * the webhead's internal ones (proven by the webhead's tier signature), and hashes passwords with bcrypt.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
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
import { registerBridgeOps } from './bridge.ts';
import { createOutbox, DEFAULT_OUTBOX, type OutboxOptions } from './outbox.ts';

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
  /** Retries of verification mail that SMTP did not take at once (SPEC §4.13); defaults: DEFAULT_OUTBOX. */
  readonly outbox?: Partial<OutboxOptions>;
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
    help: 'Verification mail attempts, by kind and outcome (sent; failed, to be retried; given_up; dropped)',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  // Read at scrape time: one indexed aggregate over a table that is empty when all is well.
  const outboxState = async () => {
    const depth = await deps.writer.outboxDepth();
    return { ...depth, at: now() };
  };
  new Gauge({
    name: 'persona_mail_outbox_depth',
    help: 'Verification mails waiting in the outbox',
    registers: [registry],
    async collect() {
      this.set((await outboxState()).waiting);
    },
  });
  new Gauge({
    name: 'persona_mail_outbox_oldest_age_seconds',
    help: 'Age of the oldest verification mail waiting in the outbox (0 when none waits)',
    registers: [registry],
    async collect() {
      const { oldestCreatedAt, at } = await outboxState();
      this.set(oldestCreatedAt === undefined ? 0 : Math.max(0, (at - oldestCreatedAt) / 1000));
    },
  });
  const rateLimitHits = new Counter({
    name: 'persona_rate_limit_hits_total',
    help: 'Rate-limit decisions, by limit (email throttle, stage:ip, the webhead buckets) and outcome',
    labelNames: ['limit', 'outcome'],
    registers: [registry],
  });

  // Mail is queued with the staging and tried after the answer; close() waits for attempts in progress.
  const outbox = createOutbox({
    writer: deps.writer,
    mailer: deps.mailer,
    logger,
    options: { ...DEFAULT_OUTBOX, ...deps.outbox },
    now,
    onOutcome: (kind, outcome) => {
      mailsSent.inc({ kind, outcome });
    },
  });
  app.addHook('onClose', async () => {
    await outbox.close();
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
    outbox,
    sendMail(ctx, mail) {
      void outbox.deliverNow(mail, ctx.request.log);
    },
  };

  registerWsapi(
    app,
    {
      codec: deps.codec,
      https,
      sessionDurationMs: deps.sessionDurationMs,
      ephemeralSessionDurationMs: deps.ephemeralSessionDurationMs,
      sessionStanding: (userid, sid) => deps.writer.sessionStanding(userid, sid),
      revokeSession: ({ sid, expiresAt }) => deps.writer.revokeSession(sid, expiresAt),
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

  registerBridgeOps(app, deps.mailer, mailsSent);

  // Expired tokens already behave as absent and stale counters as empty; deleting them keeps tables small.
  const intervalMs = deps.housekeepingIntervalMs ?? DEFAULT_HOUSEKEEPING_MS;
  if (intervalMs > 0) {
    const keepCountersMs = longestWindowMs(rateLimits.values());
    const timer = setInterval(() => {
      Promise.all([
        deps.writer.purgeExpiredTokens(),
        deps.writer.pruneRateLimits(keepCountersMs),
        deps.writer.purgeRevokedSessions(),
      ])
        .then(([tokens, counters, revocations]) => {
          if (tokens + counters + revocations > 0)
            logger.info({ event: 'housekeeping', tokens, counters, revocations }, 'housekeeping');
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
