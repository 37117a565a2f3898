// The express app every Parley service starts from: request ids and request logs,
// security headers, CORS, a strict JSON body parser, health/readiness and the OpenAPI
// document. Services add their routes, then call finishHttpApp() for the 404 and the
// one problem+json error middleware. /metrics is not here: it has a port of its own
// (metrics-server.ts), so the public port answers 404 for it.
import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { IncomingMessage } from 'node:http';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import {
  DependencyUnavailableError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors';
import {
  ANSWERED_EARLY,
  notFoundHandler,
  problemErrorHandler,
  problemFromHttpError,
  TIMED_OUT,
} from './error-middleware';
import { redactQuery, redactUrl, type Logger } from './logger';
import type { Metrics } from './metrics';
import { runReadinessChecks, type ReadinessCheck } from './readiness';
import { assignRequestId, REQUEST_ID_HEADER } from './request-id';

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  /** `'*'` for every origin, or the allowed origins (see resolveCorsOrigins). */
  corsOrigins: '*' | readonly string[];
  /** Largest accepted JSON body, in bytes or as `100kb`; default `100kb`. */
  bodyLimit?: string | number;
  /** Dependencies /readyz asks; default none (always ready). */
  readiness?: readonly ReadinessCheck[];
  /** Per-check timeout for /readyz; default 1500 ms, so /readyz answers within 2 s. */
  readinessTimeoutMs?: number;
  /** The service's OpenAPI document; enables GET /openapi.json and GET /docs. */
  openapi?: object;
  /** express `trust proxy` setting, for req.ip behind a reverse proxy; default false. */
  trustProxy?: boolean | number | string;
  /**
   * A request still unanswered after this long gets 503 dependency_unavailable;
   * default 0 (off); services pass REQUEST_DEADLINE_MS (1500 ms by default, so an
   * outage answers within 2 s, docs/design.md §7.3).
   */
  requestDeadlineMs?: number;
  /**
   * Routes that read their own (non-JSON) request bodies as streams, such as a file
   * upload: mounted after CORS and before the JSON body rules, and left out of the
   * request deadline (a large upload or download legitimately takes longer).
   */
  streamingRoutes?: { paths: readonly string[]; router: RequestHandler };
}

const QUIET_PATHS = new Set(['/healthz', '/readyz']);

/**
 * res.locals key: the epoch ms at which the request deadline answers 503 (set only
 * when requestDeadlineMs is on), so handlers can skip work nobody will wait for.
 */
export const REQUEST_DEADLINE_AT = 'parleyDeadlineAt';

/**
 * Response headers a page on another origin may read (Access-Control-Expose-Headers;
 * beyond these a browser shows a cross-origin script only the CORS-safelisted ones):
 * the request id, Retry-After of a 429 or 503, WWW-Authenticate of a 401, and what a
 * download answers (docs/design.md §11.3) — its validator, ranges and file name.
 * Content-Length is safelisted by today's Fetch standard, named for older browsers.
 * No route sets Location (a 201 answers the created thing in its body).
 */
export const EXPOSED_HEADERS = [
  REQUEST_ID_HEADER,
  'Retry-After',
  'WWW-Authenticate',
  'ETag',
  'Accept-Ranges',
  'Content-Range',
  'Content-Length',
  'Content-Disposition',
] as const;

export function createHttpApp(options: HttpAppOptions): Express {
  const { logger, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.set('query parser', 'simple');
  app.locals.parleyLogger = logger;

  app.use(
    pinoHttp({
      logger,
      genReqId: assignRequestId,
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'requestId' },
      autoLogging: { ignore: (req) => QUIET_PATHS.has(req.url?.split('?')[0] ?? '') },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      // wrapped by pino-http: gets the standard serialized request, never the live one
      serializers: { req: redactLoggedRequest },
    }),
  );
  app.use(metrics.httpMiddleware());
  if ((options.requestDeadlineMs ?? 0) > 0) {
    const deadline = requestDeadline(options.requestDeadlineMs ?? 0);
    const streaming = options.streamingRoutes?.paths ?? [];
    app.use((req, res, next) => {
      if (streaming.some((path) => req.path.startsWith(path))) return next();
      deadline(req, res, next);
    });
  }
  // helmet's default CSP minus upgrade-insecure-requests: with it, /docs (Swagger UI)
  // served over plain HTTP on a LAN address would have its CSS and JS upgraded to https
  // and fail to load.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(
    cors({
      origin: options.corsOrigins === '*' ? true : [...options.corsOrigins],
      exposedHeaders: [...EXPOSED_HEADERS],
      maxAge: 600,
    }),
  );
  if (options.streamingRoutes) app.use(options.streamingRoutes.router);
  app.use(requireJsonBodies());
  app.use(rejectOversizedBodies(bodyLimitBytes(options.bodyLimit ?? '100kb')));
  app.use(express.json({ limit: options.bodyLimit ?? '100kb', strict: true, type: isJsonType }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const checks = options.readiness ?? [];
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 1500;
  app.get('/readyz', async (_req, res) => {
    const report = await runReadinessChecks(checks, readinessTimeoutMs);
    if (report.ready) {
      res.json({ status: 'ready', checks: report.checks });
      return;
    }
    const down = Object.keys(report.checks).filter((name) => report.checks[name] === 'down');
    const problem = problemFromHttpError(
      new DependencyUnavailableError(`Not ready: ${down.join(', ')} unavailable`),
    );
    res
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify({ ...problem.body, checks: report.checks }));
  });

  if (options.openapi) {
    const document = options.openapi;
    app.get('/openapi.json', (_req, res) => {
      res.json(document);
    });
    // serveFiles (not serve) keeps the UI's init script per app, not per process
    app.use(
      '/docs',
      swaggerUi.serveFiles(document as swaggerUi.JsonObject),
      swaggerUi.setup(document as swaggerUi.JsonObject),
    );
  }

  return app;
}

/**
 * Fix (found by e2e/faults/test/mongo-cut.test.ts): with the MongoDB link silently
 * stalled, requests waited on pooled connections until the driver's socket timeout
 * (10 s and more with retries; driver 7 has no per-operation timeoutMS any more).
 * This answers 503 at the deadline instead. The handler may still finish later: its
 * single-document writes are atomic, so the outcome is "done" or "not done", as for
 * any lost response (clients retry with their idempotency keys); its late answer is
 * dropped (see TIMED_OUT in error-middleware.ts).
 */
function requestDeadline(deadlineMs: number): RequestHandler {
  return (req, res, next) => {
    res.locals[REQUEST_DEADLINE_AT] = Date.now() + deadlineMs;
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      res.locals[TIMED_OUT] = true;
      const problem = problemFromHttpError(
        new DependencyUnavailableError('The request did not complete in time; try again'),
      );
      (req as { log?: Logger }).log?.warn({ deadlineMs }, 'request deadline passed, answering 503');
      // Retry-After too, as every other 503 has it
      for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
      res.status(problem.status).type('application/problem+json').end(JSON.stringify(problem.body));
    }, deadlineMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    next();
  };
}

/** The logged request with credentials in its URL and query replaced (see redactUrl). */
function redactLoggedRequest(req: { url?: unknown; query?: unknown }): unknown {
  if (typeof req.url === 'string') req.url = redactUrl(req.url);
  if (req.query !== undefined) req.query = redactQuery(req.query);
  return req;
}

/** `100kb`, `1mb`, `512` (bytes) or a number of bytes, as envVars.bodyLimit() accepts. */
export function bodyLimitBytes(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(limit.trim());
  if (!match) throw new Error(`Not a body size: ${limit}`);
  const unit = (match[2] ?? 'b').toLowerCase();
  return Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

/**
 * Answers 413 as soon as a body is known to be over the limit: at once from its
 * Content-Length, or when a chunked body passes the limit. The rest is discarded,
 * never buffered, and the connection closed shortly after.
 * Fix (found by packages/server-kit/test/security/slow-clients.test.ts): body-parser
 * reads an oversized body to its end before it answers 413, so a client announcing
 * 10 MB held the request (and a socket) until it had uploaded all of it.
 */
function rejectOversizedBodies(limit: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      answerTooLarge(req, res);
      return;
    }
    if (req.headers['transfer-encoding'] !== undefined) {
      // counts alongside the body parser's own reader (both listen to 'data')
      let seen = 0;
      const count = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen <= limit) return;
        req.off('data', count);
        answerTooLarge(req, res);
      };
      req.on('data', count);
    }
    next();
  };
}

/**
 * Answers 413 at once, discards what is still arriving, and drops the connection
 * shortly after; for streaming routes that find a body too large while reading it.
 */
export function answerTooLarge(req: IncomingMessage, res: express.Response): void {
  if (res.headersSent) return;
  res.locals[ANSWERED_EARLY] = true;
  const problem = problemFromHttpError(new PayloadTooLargeError());
  res.setHeader('Connection', 'close');
  res.status(problem.status).type('application/problem+json').end(JSON.stringify(problem.body));
  // discard what is still arriving (a brief linger lets the client read the 413
  // before the close), then drop the connection
  req.resume();
  res.once('finish', () => {
    setTimeout(() => req.socket.destroy(), 200).unref();
  });
}

/** Adds the 404 for unknown routes and the problem+json error middleware. Call last. */
export function finishHttpApp(app: Express): Express {
  app.use(notFoundHandler());
  app.use(problemErrorHandler(app.locals.parleyLogger as Logger));
  return app;
}

function isJsonType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && JSON_TYPE.test(type);
}

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** A request that carries a body must say it is JSON; an empty body needs no type. */
function requireJsonBodies(): RequestHandler {
  return (req, _res, next) => {
    if (!hasBody(req)) return next();
    const type = req.headers['content-type'];
    if (typeof type === 'string' && JSON_TYPE.test(type)) return next();
    next(new UnsupportedMediaTypeError());
  };
}

function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}
