/**
 * The service's error registry: a closed set of codes, each with its HTTP status. Bodies follow the
 * original's helpers: text/plain `"<Status Text>: <reason>"` (reference/persona.md §2.1).
 */
export const serviceErrors = {
  'bad-request': 400,
  'authentication-required': 401,
  forbidden: 403,
  'not-found': 404,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'too-many-requests': 429,
  'server-error': 500,
  'database-unavailable': 503,
  'too-busy': 503,
  'upstream-unavailable': 503,
} as const;

export type ServiceErrorCode = keyof typeof serviceErrors;

export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Authentication Required',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Server Error',
  503: 'Service Unavailable',
};

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ServiceErrorCode;
  readonly status: number;
  /** The reason shown to the caller; never carries secrets or internals. */
  readonly reason: string;
  constructor(code: ServiceErrorCode, reason: string) {
    super(reason);
    this.code = code;
    this.status = serviceErrors[code];
    this.reason = reason;
  }
}

export const plainBody = (status: number, reason: string): string =>
  `${STATUS_TEXT[status] ?? 'Error'}: ${reason}`;
