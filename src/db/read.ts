/**
 * The data layer's read entry point (SPEC §2, §5): what a tier with read credentials only (the webhead)
 * imports. Nothing reachable from here writes; the writes are in ./write.ts. See docs/storage.md.
 */
export {
  openReader,
  connectionOf,
  type Reader,
  type HandleOptions,
  type OperationEvent,
  type PendingVerification,
  type VerificationAuth,
  type RateLimit,
  type EmailInfo,
  type Auth,
  type RateLimitHit,
  type SessionStanding,
  type EmailType,
} from './reader.ts';
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
export { DatabaseUnavailableError, StorageError, storageErrors, type StorageErrorCode } from './errors.ts';
