/** Reads on `mail_outbox` (SPEC §4.13): how much mail waits, for metrics. */
import { toNumber, type Scope } from '../scope.ts';

/** What the mail says but its token: `kind`, `to`, `site` and whatever the templates take. */
export type MailOrder = Readonly<Record<string, string>>;

export interface OutboxDepth {
  readonly waiting: number;
  /** Epoch ms the oldest waiting mail was written, or undefined when none waits. */
  readonly oldestCreatedAt: number | undefined;
}

export async function outboxDepth({ db }: Scope): Promise<OutboxDepth> {
  const row = await db
    .selectFrom('mail_outbox')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('created_at').as('oldest')])
    .executeTakeFirstOrThrow();
  // MIN over no rows is NULL, whatever Kysely's type says.
  const oldest = row.oldest as number | string | null;
  return { waiting: toNumber(row.n), oldestCreatedAt: oldest === null ? undefined : toNumber(oldest) };
}
