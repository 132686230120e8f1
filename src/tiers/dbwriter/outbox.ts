/**
 * The verification-mail outbox (SPEC §4.13). A staging queues its mail in its own transaction, leased to
 * the staging request, which tries SMTP right after answering. What that attempt does not settle (SMTP
 * refused, or the process died) the drainer takes once the lease or the backoff has run out, on whichever
 * dbwriter gets there first: retried with exponential backoff, given up (and logged) after a bound.
 * Delivery is at least once: a process dying between SMTP's acceptance and the row's deletion sends twice.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { OutboxEntry, QueuedMail, Writer } from '../../db/write.ts';
import type { MailDetails, Mailer, VerificationMail } from '../../mail/index.ts';
import type { MailKind } from '../../mail/templates.ts';

export interface OutboxOptions {
  /** Delay before the second attempt; it doubles with each further one, up to `maxRetryMs`. */
  readonly retryMs: number;
  readonly maxRetryMs: number;
  /** Attempts before giving up on a mail. */
  readonly maxAttempts: number;
  /** How long one attempt may take before another dbwriter may make the next (longer than SMTP's timeouts). */
  readonly leaseMs: number;
  /** How often the outbox is looked at for due mail; 0 never (tests drain by hand). */
  readonly pollMs: number;
}

export const DEFAULT_OUTBOX: OutboxOptions = {
  retryMs: 10_000,
  maxRetryMs: 15 * 60_000,
  maxAttempts: 10,
  leaseMs: 60_000,
  pollMs: 2_000,
};

export type DeliveryOutcome = 'sent' | 'failed' | 'given_up' | 'dropped';

export interface OutboxDeps {
  readonly writer: Writer;
  readonly mailer: Mailer;
  readonly logger: Log;
  readonly options: OutboxOptions;
  readonly now: () => number;
  /** Told each attempt's outcome, for metrics. */
  readonly onOutcome?: (kind: string, outcome: DeliveryOutcome) => void;
}

export interface Outbox {
  /** What a staging writes with its token so its mail survives anything after the commit. */
  entry(kind: MailKind, to: string, details: MailDetails): OutboxEntry;
  /** The staging request's own attempt, after its answer; never rejects. */
  deliverNow(mail: VerificationMail, log: Log): Promise<void>;
  /** One pass over the due mail; never rejects. */
  drain(): Promise<void>;
  /** Stops polling and waits for attempts in progress. */
  close(): Promise<void>;
}

/** Where attempts are logged: the tier's logger, or the staging request's. */
type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

const KINDS: ReadonlySet<string> = new Set<MailKind>(['new', 'add', 'reverify', 'reset', 'transition']);
const BATCH = 20;

/** The optional parts of a mail, as the outbox row's JSON keeps them (strings only, absent when not given). */
const OPTIONAL_DETAILS = ['siteName', 'backgroundColor', 'siteLogo', 'locale'] as const;

const why = (err: unknown): string => (err instanceof Error ? err.message : 'unknown');

export function createOutbox(deps: OutboxDeps): Outbox {
  const { writer, mailer, logger, options, now } = deps;
  const inFlight = new Set<Promise<void>>();
  let draining: Promise<void> | undefined;
  let closed = false;

  /** Exponential, jittered so mails that failed together do not retry in step. */
  const delayAfter = (attempts: number): number =>
    Math.min(options.retryMs * 2 ** (attempts - 1), options.maxRetryMs) * (0.8 + Math.random() * 0.4);

  const track = (work: Promise<void>): Promise<void> => {
    inFlight.add(work);
    return work.finally(() => inFlight.delete(work));
  };

  /** One attempt at a mail that has had `attempts` attempts, this one included; settles its row. */
  async function attempt(mail: VerificationMail, attempts: number, log: Log): Promise<void> {
    try {
      await mailer.send(mail);
    } catch (err) {
      // The message only: the error object may hold the message and its link.
      if (attempts >= options.maxAttempts) {
        log.error(
          { event: 'mail_given_up', kind: mail.kind, attempts, error: why(err) },
          'verification mail given up',
        );
        deps.onOutcome?.(mail.kind, 'given_up');
        await writer.removeMail(mail.token);
        return;
      }
      const retryAt = now() + Math.round(delayAfter(attempts));
      log.warn(
        { event: 'mail_failed', kind: mail.kind, attempts, retryAt, error: why(err) },
        'verification mail not sent, will retry',
      );
      deps.onOutcome?.(mail.kind, 'failed');
      await writer.deferMail(mail.token, retryAt);
      return;
    }
    deps.onOutcome?.(mail.kind, 'sent');
    // Failing here leaves the row: the mail goes again once its lease runs out (at least once).
    await writer.removeMail(mail.token);
  }

  function fromQueue(queued: QueuedMail): VerificationMail | undefined {
    const { kind, to, site } = queued.mail;
    if (kind === undefined || !KINDS.has(kind) || to === undefined || site === undefined) return undefined;
    const mail: { -readonly [K in keyof VerificationMail]: VerificationMail[K] } = {
      kind: kind as MailKind,
      to,
      site,
      token: queued.token,
    };
    // Rows written before these were kept have none of them: such a mail names the site by its host.
    for (const name of OPTIONAL_DETAILS) {
      const value = queued.mail[name];
      if (typeof value === 'string') mail[name] = value;
    }
    return mail;
  }

  async function pass(): Promise<void> {
    for (;;) {
      const due = await writer.claimDueMail(BATCH, options.leaseMs);
      for (const queued of due) {
        const mail = fromQueue(queued);
        if (!queued.live || mail === undefined) {
          // Its link was used, replaced by a newer staging, or has expired: nothing worth sending.
          logger.info(
            { event: 'mail_dropped', attempts: queued.attempts, live: queued.live },
            'queued verification mail dropped: its link is no longer valid',
          );
          deps.onOutcome?.(queued.mail.kind ?? 'unknown', 'dropped');
          await writer.removeMail(queued.token);
          continue;
        }
        await attempt(mail, queued.attempts, logger);
      }
      if (due.length < BATCH || closed) return;
    }
  }

  const drain = (): Promise<void> => {
    // One pass at a time per process; other dbwriters are kept apart by the claim.
    draining ??= pass()
      .catch((err: unknown) => {
        logger.warn({ event: 'outbox_drain_failed', error: why(err) }, 'mail outbox drain failed');
      })
      .finally(() => {
        draining = undefined;
      });
    return draining;
  };

  const timer =
    options.pollMs > 0
      ? setInterval(() => {
          void drain();
        }, options.pollMs)
      : undefined;
  timer?.unref();

  return {
    entry: (kind, to, details) => {
      const mail: Record<string, string> = { kind, to, site: details.site };
      for (const name of OPTIONAL_DETAILS) {
        const value = details[name];
        if (value !== undefined) mail[name] = value;
      }
      return { mail, leaseMs: options.leaseMs };
    },
    deliverNow: (mail, log) =>
      track(
        attempt(mail, 1, log).catch((err: unknown) => {
          log.warn({ event: 'outbox_update_failed', error: why(err) }, 'mail outbox not updated');
        }),
      ),
    drain,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...inFlight, draining]);
    },
  };
}
