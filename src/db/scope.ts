/** What every query function receives: where to run (a handle or a transaction), and the time. */
import type { Kysely } from 'kysely';
import type { Engine } from './connection.ts';
import type { Database } from './schema.ts';

export interface Scope {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  /** The operation's clock reading, epoch milliseconds; every row it writes gets this time. */
  readonly now: number;
  readonly tokenTtlMs: number;
}

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Drivers return counts and BIGINTs as number, bigint or (MySQL DECIMAL) string. */
export const toNumber = (value: unknown): number => Number(value);
