/**
 * The data layer's write entry point (SPEC §2, §5): the dbwriter's handle and the schema migrations, and
 * everything of ./read.ts. Only the dbwriter and the commands that migrate import this.
 */
export * from './read.ts';
export {
  openWriter,
  type Writer,
  type ConfirmedEmail,
  type CreatedAccount,
  type PrimaryAccount,
  type UnverifiedAccount,
  type OutboxEntry,
  type QueuedMail,
  type MailOrder,
  type OutboxDepth,
} from './writes/writer.ts';
export { migrateToLatest, migrationStatus, type MigrationStatus } from './migrate.ts';
export { generateSecret } from './secrets.ts';
