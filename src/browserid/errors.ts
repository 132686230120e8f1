/**
 * The closed set of reasons a BrowserID operation fails with. Each code carries the reason string the
 * original verifier returned, because relying parties match on those strings (SPEC §3).
 */
export const reasons = {
  'malformed-backed-assertion': 'malformed backed assertion',
  'no-certificates': 'no certificates provided',
  'chain-too-long': 'certificate chaining is not yet allowed',
  'malformed-signature': 'malformed signature',
  'bad-signature': 'bad signature in chain',
  expired: 'assertion has expired',
  'issued-in-future': 'assertion issued later than verification date',
  // SPEC §4.1: the original accepted objects without `exp`; we do not.
  'missing-expiry': 'assertion has no expiration date',
  'audience-mismatch': 'audience mismatch',
  'malformed-audience': 'malformed domain',
  'unverified-email': 'unverified email',
  'missing-email': 'missing email',
  'invalid-email': 'invalid email',
  'issuer-not-authoritative': 'issuer may not speak for emails from this domain',
  'no-public-key': "can't get public key for issuer",
  'malformed-key': 'malformed public key',
  'unsupported-algorithm': 'unsupported algorithm',
  'malformed-support-document': 'malformed support document',
  'discovery-failed': 'support document could not be fetched',
  'delegation-loop': 'Circular reference in delegating authority',
  'too-many-hops': 'Too many hops while delegating authority',
  // A bug of ours, never the caller's input; details go to the log, not the reason.
  'internal-error': 'internal error while verifying',
} as const;

export type ErrorCode = keyof typeof reasons;

/** A failure with a code from the closed set; `message` is the reason given to callers. */
export class BrowserIdError extends Error {
  override readonly name = 'BrowserIdError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string = reasons[code]) {
    super(message);
    this.code = code;
  }
}

export function fail(code: ErrorCode, message?: string): never {
  throw new BrowserIdError(code, message);
}
