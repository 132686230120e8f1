/**
 * Writes on `mail_outbox` (SPEC §4.13): queueing a mail with its staging, claiming due mail for one attempt
 * (a lease: another dbwriter takes it only once the lease has run out), and settling an attempt.
 */
import { fresh } from '../tables/staged.ts';
import type { MailOrder } from '../tables/mail-outbox.ts';
import { toNumber, type Scope } from '../scope.ts';

/**
 * Queues the mail carrying `token`, in the caller's transaction. The first attempt is the staging
 * request's own, right after its answer: the row is leased to it for `leaseMs`.
 */
export async function enqueue(
  { db, now }: Scope,
  token: string,
  mail: MailOrder,
  leaseMs: number,
): Promise<void> {
  await db
    .insertInto('mail_outbox')
    .values({
      token,
      mail: JSON.stringify(mail),
      created_at: now,
      attempts: 1,
      next_attempt_at: now + leaseMs,
    })
    .execute();
}

export interface QueuedMail {
  readonly token: string;
  readonly mail: MailOrder;
  /** Attempts so far, this one included. */
  readonly attempts: number;
  readonly createdAt: number;
  /** The token is still staged and unexpired; a dead link is not worth sending. */
  readonly live: boolean;
}

/**
 * Claims up to `limit` due mails for one attempt each. Claiming is a compare-and-set on the due time, so
 * of several dbwriters draining at once exactly one gets each mail.
 */
export async function claimDue(scope: Scope, limit: number, leaseMs: number): Promise<QueuedMail[]> {
  const { db, now } = scope;
  const due = await db
    .selectFrom('mail_outbox')
    .leftJoin('staged', (join) =>
      join.onRef('staged.secret', '=', 'mail_outbox.token').on('staged.ts', '>', fresh(scope)),
    )
    .select([
      'mail_outbox.token',
      'mail_outbox.mail',
      'mail_outbox.attempts',
      'mail_outbox.created_at',
      'mail_outbox.next_attempt_at',
      'staged.secret',
    ])
    .where('mail_outbox.next_attempt_at', '<=', now)
    .orderBy('mail_outbox.next_attempt_at')
    .limit(limit)
    .execute();
  const claimed: QueuedMail[] = [];
  for (const row of due) {
    const attempts = toNumber(row.attempts) + 1;
    const result = await db
      .updateTable('mail_outbox')
      .set({ attempts, next_attempt_at: now + leaseMs })
      .where('token', '=', row.token)
      .where('next_attempt_at', '=', row.next_attempt_at)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) continue;
    claimed.push({
      token: row.token,
      mail: JSON.parse(row.mail) as MailOrder,
      attempts,
      createdAt: toNumber(row.created_at),
      live: row.secret !== null,
    });
  }
  return claimed;
}

/** Sent, given up on, or not worth sending: the row goes. */
export async function remove({ db }: Scope, token: string): Promise<void> {
  await db.deleteFrom('mail_outbox').where('token', '=', token).execute();
}

/** The attempt failed: the next is due at `retryAt`. */
export async function defer({ db }: Scope, token: string, retryAt: number): Promise<void> {
  await db.updateTable('mail_outbox').set({ next_attempt_at: retryAt }).where('token', '=', token).execute();
}
