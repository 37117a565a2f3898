// Typed errors that domain code throws and the one error middleware turns into
// problem+json. Each carries a stable contract `code`; the HTTP status always comes
// from the contracts' ERROR_STATUS table so the two can never disagree.
import { ERROR_STATUS, type ErrorCode, type ValidationIssue } from '@parley/contracts';
import type { ZodError } from 'zod';

export interface HttpErrorOptions {
  /** Validation issues, sent as the problem's `errors`. */
  errors?: ValidationIssue[];
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error that maps to a problem+json response with a contract error code. */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Human-readable, safe to send to the client. */
  readonly detail: string;
  readonly errors: ValidationIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, detail: string, options: HttpErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.detail = detail;
    this.errors = options.errors;
    this.headers = { ...options.headers };
  }
}

export function isHttpError(err: unknown): err is HttpError {
  return err instanceof HttpError;
}

/** Turns zod issues into the contract's `{path: 'a.b', message}` list. */
export function toValidationIssues(error: ZodError, pathPrefix = ''): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const segments = issue.path.map((segment) =>
      typeof segment === 'symbol' ? segment.toString() : String(segment),
    );
    // a strict object reports its unknown keys in one issue; name each as its own path
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: joinPath(pathPrefix, [...segments, key].join('.')),
        message: 'Unknown field',
      }));
    }
    return [{ path: joinPath(pathPrefix, segments.join('.')), message: issue.message }];
  });
}

function joinPath(prefix: string, path: string): string {
  if (!prefix) return path;
  return path ? `${prefix}.${path}` : prefix;
}

export class ValidationError extends HttpError {
  constructor(errors: ValidationIssue[], detail = 'The request is not valid', cause?: unknown) {
    super('validation_failed', detail, { errors, cause });
  }

  /**
   * @param where what was validated, e.g. 'body', 'query', 'path parameters' — used in
   *   the detail only ("The request body is not valid", "… path parameters are not valid").
   */
  static fromZod(error: ZodError, where?: string): ValidationError {
    const verb = where?.endsWith('s') ? 'are' : 'is';
    const detail = where ? `The request ${where} ${verb} not valid` : 'The request is not valid';
    return new ValidationError(toValidationIssues(error), detail, error);
  }
}

export class MalformedJsonError extends HttpError {
  constructor(detail = 'The request body is not valid JSON', cause?: unknown) {
    super('malformed_json', detail, { cause });
  }
}

export type NotFoundCode =
  | 'not_found'
  | 'user_not_found'
  | 'conversation_not_found'
  | 'message_not_found'
  | 'attachment_not_found'
  | 'webhook_not_found';

export class NotFoundError extends HttpError {
  constructor(detail = 'Not found', options: { code?: NotFoundCode; cause?: unknown } = {}) {
    super(options.code ?? 'not_found', detail, { cause: options.cause });
  }
}

export class UnauthorizedError extends HttpError {
  constructor(detail = 'A valid bearer token is required', cause?: unknown) {
    super('unauthorized', detail, { cause, headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}

/** Same answer for an unknown user and a wrong password (no user enumeration). */
export class InvalidCredentialsError extends HttpError {
  constructor(detail = 'Invalid username or password') {
    super('invalid_credentials', detail);
  }
}

export type ForbiddenCode = 'forbidden' | 'not_a_member' | 'blocked' | 'banned';

export class ForbiddenError extends HttpError {
  constructor(detail = 'Forbidden', options: { code?: ForbiddenCode; cause?: unknown } = {}) {
    super(options.code ?? 'forbidden', detail, { cause: options.cause });
  }
}

export type ConflictCode = 'username_taken' | 'too_many_reactions' | 'room_full';

export class ConflictError extends HttpError {
  constructor(detail: string, options: { code?: ConflictCode; cause?: unknown } = {}) {
    super(options.code ?? 'username_taken', detail, { cause: options.cause });
  }
}

export class RateLimitedError extends HttpError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, detail = 'Too many requests, try again later') {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super('rate_limited', detail, { headers: { 'Retry-After': String(seconds) } });
    this.retryAfterSeconds = seconds;
  }
}

export class DependencyUnavailableError extends HttpError {
  constructor(
    detail = 'A service this request depends on is unavailable, try again later',
    cause?: unknown,
  ) {
    super('dependency_unavailable', detail, { cause, headers: { 'Retry-After': '1' } });
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(detail = 'The request body is too large', cause?: unknown) {
    super('payload_too_large', detail, { cause });
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(detail = 'Request bodies must be application/json', cause?: unknown) {
    super('unsupported_media_type', detail, { cause });
  }
}

const MONGO_DEPENDENCY_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'MongoWaitQueueTimeoutError',
]);

/**
 * True for failures that mean "a dependency is down", not "this request is wrong":
 * MongoDB network/server-selection errors, and AMQP channel/connection failures.
 * Walks the `cause` chain, so wrapped errors are recognised too. Matching is by
 * error name (plus message for amqplib, whose errors have no dedicated class), so it
 * also works when two copies of a driver are loaded.
 */
export function isDependencyFailure(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (current instanceof DependencyUnavailableError) return true;
    if (MONGO_DEPENDENCY_ERRORS.has(current.name)) return true;
    if (isAmqpFailure(current)) return true;
    if (isNetworkSystemError(current)) return true;
    current = current.cause;
  }
  return false;
}

/**
 * A socket-level failure reaching a handler unwrapped: the mongodb driver sometimes
 * surfaces the raw Node error of a connection the server side closed (EPIPE, "This
 * socket has been ended by the other party") instead of a MongoNetworkError — found by
 * e2e/faults/test/mongo-cut.test.ts, where it turned a cut link into a 500.
 */
const NETWORK_ERROR_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

function isNetworkSystemError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && NETWORK_ERROR_CODES.has(code);
}

function isAmqpFailure(err: Error): boolean {
  if (err.name === 'IllegalOperationError') return true; // amqplib: operation on a closed channel/connection
  const message = err.message.toLowerCase();
  return (
    /\b(channel|connection) (closed|ended)\b/.test(message) ||
    message.includes('socket closed unexpectedly')
  );
}
