/** The data layer (SPEC §5): what the tiers import. See docs/storage.md. */
export {
  openReader,
  openWriter,
  connectionOf,
  type Reader,
  type Writer,
  type HandleOptions,
  type OperationEvent,
  type PendingVerification,
  type VerificationAuth,
  type RateLimit,
  type EmailInfo,
  type Auth,
  type RateLimitHit,
  type ConfirmedEmail,
  type CreatedAccount,
  type PrimaryAccount,
  type UnverifiedAccount,
  type EmailType,
} from './handles.ts';
export {
  databaseSettings,
  databaseSettingsFrom,
  parseDatabaseUrl,
  describeTarget,
  DatabaseConfigError,
  DEFAULT_QUERY_TIMEOUT_MS,
  DEFAULT_TOKEN_TTL_MS,
  type DatabaseSettings,
  type DatabaseTarget,
  type DatabaseOptions,
} from './config.ts';
export { migrateToLatest, migrationStatus, type MigrationStatus } from './migrate.ts';
export { DatabaseUnavailableError, StorageError, storageErrors, type StorageErrorCode } from './errors.ts';
export { generateSecret } from './secrets.ts';
