// The errors the client throws. A REST call that is answered with a non-2xx status
// throws ParleyApiError carrying the server's problem+json; a body that does not
// match the contract throws ParleyResponseError; a realtime send that fails throws
// ParleyRealtimeError.
import type {
  ATTACHMENT_ROUTES,
  ErrorCode,
  Problem,
  RouteName,
  ValidationIssue,
  WsErrorCode,
} from '@parley/contracts';

type AttachmentRouteName = keyof typeof ATTACHMENT_ROUTES;

/** `unexpected_response`: the answer was not problem+json (a proxy's HTML page, say). */
export type ApiErrorCode = ErrorCode | 'unexpected_response';

export class ParleyApiError extends Error {
  override readonly name = 'ParleyApiError';
  readonly route: RouteName | AttachmentRouteName;
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly detail: string;
  readonly errors: ValidationIssue[];
  /** Seconds to wait before retrying, from `Retry-After` (429, 503). */
  readonly retryAfter: number | undefined;
  /** The problem+json body as sent, when it was one. */
  readonly problem: Problem | undefined;

  constructor(init: {
    route: RouteName | AttachmentRouteName;
    status: number;
    code: ApiErrorCode;
    detail: string;
    errors?: ValidationIssue[] | undefined;
    retryAfter?: number | undefined;
    problem?: Problem | undefined;
  }) {
    super(`${init.route}: ${init.status} ${init.code}: ${init.detail}`);
    this.route = init.route;
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.errors = init.errors ?? [];
    this.retryAfter = init.retryAfter;
    this.problem = init.problem;
  }
}

/** A 2xx answer whose body does not match the route's response schema. */
export class ParleyResponseError extends Error {
  override readonly name = 'ParleyResponseError';
  constructor(
    readonly route: RouteName | AttachmentRouteName,
    readonly status: number,
    readonly issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
  ) {
    super(
      `${route}: the ${status} response does not match the contract: ` +
        issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  }
}

/**
 * A realtime operation that failed: an `error` frame from the server (its code), no
 * `ack` in time (`timeout`), or the connection closed for good (`closed`).
 */
export class ParleyRealtimeError extends Error {
  override readonly name = 'ParleyRealtimeError';
  constructor(
    readonly code: WsErrorCode | 'timeout' | 'closed',
    message: string,
    readonly ref?: string,
  ) {
    super(message);
  }
}

/** Whether an error means the session is gone for good (log in again). */
export function isSessionRejected(error: unknown): boolean {
  return (
    error instanceof ParleyApiError &&
    error.status === 401 &&
    (error.code === 'unauthorized' || error.code === 'invalid_credentials')
  );
}
