/**
 * Every migration, in order, listed in code (no file globbing: the same list works under tsx and after a
 * tsc build). Only additive changes: new tables, indexes, and columns with defaults (SPEC §3).
 */
import type { Migration } from 'kysely';
import { originalSchema } from './0001-original-schema.ts';
import { stagedTsIndex } from './0002-staged-ts-index.ts';
import { rateLimitTable } from './0003-rate-limit.ts';
import { mailOutboxTable } from './0005-mail-outbox.ts';
import { revokedSessionTable } from './0006-revoked-session.ts';

export function migrations(kind: 'sqlite' | 'mysql'): Record<string, Migration> {
  return {
    '0001-original-schema': originalSchema(kind),
    '0002-staged-ts-index': stagedTsIndex(kind),
    '0003-rate-limit': rateLimitTable(kind),
    '0005-mail-outbox': mailOutboxTable(kind),
    '0006-revoked-session': revokedSessionTable(kind),
  };
}
