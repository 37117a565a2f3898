// The one place where errors become HTTP responses: typed errors, body-parser and
// router errors, dependency outages and unknown bugs all leave as problem+json
// (RFC 9457) with a contract code. Unknown errors are logged with their stack and
// answered with a generic 500, so nothing internal ever reaches the client.
import { ERROR_TITLES, problemType, type ErrorCode, type Problem } from '@parley/contracts';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { STATUS_CODES } from 'node:http';
import {
  DependencyUnavailableError,
  HttpError,
  MalformedJsonError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  isDependencyFailure,
} from './errors';
import type { Logger } from './logger';
import { REQUEST_ID_HEADER } from './request-id';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: Problem;
}

/** Renders an HttpError as the contract's problem body. */
export function problemFromHttpError(err: HttpError): ProblemResponse {
  const body: Problem = {
    type: problemType(err.code),
    title: ERROR_TITLES[err.code],
    status: err.status,
    detail: err.detail,
    code: err.code,
  };
  if (err.errors) body.errors = err.errors;
  return { status: err.status, headers: { ...err.headers }, body };
}

/**
 * A problem as a complete HTTP/1.1 response with `Connection: close`, for the places
 * that answer on a raw socket rather than through express: requests Node's parser
 * refuses, and WebSocket upgrades refused before the handshake.
 */
export function rawProblemResponse(problem: ProblemResponse, requestId: string): string {
  const payload = JSON.stringify(problem.body);
  const head = [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}`,
    'Connection: close',
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(payload)}`,
    `${REQUEST_ID_HEADER}: ${requestId}`,
    ...Object.entries(problem.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${head.join('\r\n')}\r\n\r\n${payload}`;
}

/**
 * Classifies any thrown value as an HttpError: typed errors as they are, known
 * framework/driver failures as their contract code, anything else as `internal`.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isDependencyFailure(err)) return new DependencyUnavailableError(undefined, err);
  const status = readProperty(err, 'status') ?? readProperty(err, 'statusCode');
  // the router could not percent-decode a path parameter (decodeParam): no resource
  // has that name, so 404 like any unknown path, not a 500
  if (err instanceof URIError && status === 400) {
    return new NotFoundError('No such resource', { cause: err });
  }
  // body-parser passes on zlib's failure to inflate a corrupt or truncated
  // gzip/deflate/br body as a bare 400, which would read as validation_failed
  if (status === 400 && isZlibError(err)) {
    return new MalformedJsonError('The request body could not be decompressed', err);
  }
  const type = readProperty(err, 'type');
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(undefined, err);
    case 'entity.parse.failed':
      return new MalformedJsonError(undefined, err);
    case 'request.aborted':
    case 'request.size.invalid':
      return new MalformedJsonError('The request body was incomplete', err);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('Unsupported body encoding or charset', err);
  }
  if (typeof status === 'number' && status >= 400 && status < 500 && readProperty(err, 'expose')) {
    const code = CLIENT_STATUS_CODES[status];
    if (code) return new HttpError(code, ERROR_TITLES[code], { cause: err });
  }
  return new HttpError('internal', 'An unexpected error occurred', { cause: err });
}

const CLIENT_STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

function isZlibError(err: unknown): boolean {
  const code = readProperty(err, 'code');
  return (
    err instanceof Error &&
    typeof code === 'string' &&
    // zlib: Z_DATA_ERROR, Z_BUF_ERROR…; brotli: ERR__ERROR_FORMAT_PADDING_1…
    /^(Z_[A-Z_]+|ERR__ERROR_[A-Z0-9_]+)$/.test(code)
  );
}

function readProperty(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && key in value
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** The 404 for any request no route matched. Mount after every route. */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new NotFoundError(`No route for ${req.method} ${req.path}`));
  };
}

/** res.locals key set when the request deadline already answered 503 (http-app.ts). */
export const TIMED_OUT = 'parleyTimedOut';

/** res.locals key set when the request was answered before its body was read (http-app.ts). */
export const ANSWERED_EARLY = 'parleyAnsweredEarly';

/** The single error middleware. Mount last. */
export function problemErrorHandler(fallbackLogger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    const log: Logger = (req as { log?: Logger }).log ?? fallbackLogger;
    if (res.locals[TIMED_OUT] === true) {
      // the deadline answered 503 already; this is the handler's late failure or reply
      log.debug({ err }, 'late outcome of a request answered at its deadline');
      return;
    }
    if (res.locals[ANSWERED_EARLY] === true) {
      // a 413 went out while the body was arriving; this is the cut upload's error
      log.debug({ err }, 'outcome of a request answered before its body was read');
      return;
    }
    const httpError = toHttpError(err);
    if (httpError.code === 'internal') {
      log.error({ err }, 'unhandled error');
    } else if (httpError.code === 'dependency_unavailable') {
      log.warn({ err }, 'dependency unavailable');
    }
    if (res.headersSent) {
      // Too late for a problem body; let express abort the connection.
      next(err);
      return;
    }
    const problem = problemFromHttpError(httpError);
    res.status(problem.status);
    for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
    res.type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.body));
  };
}
