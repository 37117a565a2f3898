// Listening and, above all, stopping: close() stops accepting, closes idle keep-alive
// connections, lets in-flight requests finish (telling their clients not to reuse
// the connection), and only then resolves. Safe to call twice.
import type { ErrorCode } from '@parley/contracts';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { problemFromHttpError, rawProblemResponse } from './error-middleware';
import { HttpError } from './errors';

export interface StartHttpServerOptions {
  port: number;
  host?: string;
  /** After this long, close() drops connections still busy; default 10 s. */
  drainTimeoutMs?: number;
  /** A client must have sent its whole request head within this; default 10 s. */
  headersTimeoutMs?: number;
  /** A client must have sent its whole request (head and body) within this; default 30 s. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this; default 5 s. */
  keepAliveTimeoutMs?: number;
}

/**
 * Fix (found by packages/server-kit/test/security/slow-clients.test.ts): Node's
 * defaults (60 s for headers, 300 s per request, checked every 30 s) let a
 * slowloris client dribbling header bytes hold a socket for minutes. These bounds cut
 * it off in seconds; the check interval follows the smallest bound.
 */
export const HTTP_TIMEOUT_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
} as const;

export interface RunningHttpServer {
  server: Server;
  /** The bound port (the real one when started on port 0). */
  port: number;
  /** `http://host:port`, with 127.0.0.1 for a wildcard host. */
  url: string;
  close(): Promise<void>;
}

export async function startHttpServer(
  app: RequestListener,
  options: StartHttpServerOptions,
): Promise<RunningHttpServer> {
  const headersTimeout = options.headersTimeoutMs ?? HTTP_TIMEOUT_DEFAULTS.headersTimeoutMs;
  // Node refuses a request timeout below the headers timeout (0 means none)
  const requestTimeout = Math.max(
    options.requestTimeoutMs ?? HTTP_TIMEOUT_DEFAULTS.requestTimeoutMs,
    headersTimeout,
  );
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? HTTP_TIMEOUT_DEFAULTS.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(
        100,
        Math.min(1_000, Math.floor((headersTimeout || 1_000) / 4)),
      ),
    },
    app,
  );
  const host = options.host ?? '0.0.0.0';
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;

  // the response in progress on each socket (until it is finished: a keep-alive
  // socket's next request may fail to parse), so a client error after it started
  // writing does not corrupt it (answerClientError)
  const current = new WeakMap<object, ServerResponse>();

  server.on('request', (req, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    current.set(req.socket, res);
    const done = () => {
      if (current.get(req.socket) === res) current.delete(req.socket);
    };
    res.once('finish', done);
    res.once('close', () => {
      inFlight.delete(res);
      done();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(err, socket, current.get(socket)?.headersSent === true);
  });

  server.listen(options.port, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      for (const res of inFlight) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
        res.shouldKeepAlive = false;
      }
      const force = setTimeout(
        () => server.closeAllConnections(),
        options.drainTimeoutMs ?? 10_000,
      );
      force.unref();
      server.close((err) => {
        clearTimeout(force);
        if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
        else resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  return { server, port, url: `http://${urlHost}:${port}`, close };
}

/** The message announceListening() sends. */
export interface ListeningAnnouncement {
  type: 'parley:listening';
  url: string;
  /** Where its GET /metrics listener is (METRICS_PORT), for a service that has one. */
  metricsUrl?: string;
}

/**
 * Tells the process that started this one where the server listens, when it was
 * started with an IPC channel (the launcher of packages/testing: tests, the bench,
 * `pnpm start`), whatever LOG_LEVEL hides; with PORT=0 (and METRICS_PORT=0) that is
 * the only way it learns the ports. A no-op without a channel (production, containers). Call it from main.ts
 * only: a jest worker has a channel of its own.
 */
export function announceListening(url: string, metricsUrl?: string): void {
  process.send?.({
    type: 'parley:listening',
    url,
    ...(metricsUrl === undefined ? {} : { metricsUrl }),
  } satisfies ListeningAnnouncement);
}

/** What Node's parser reports (err.code) and the answer it gets; anything else is a 400. */
const CLIENT_ERROR_ANSWERS: Record<string, { status: number; code: ErrorCode; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'payload_too_large',
    detail: 'The request headers are too large',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    code: 'payload_too_large',
    detail: 'The chunk extensions of the request body are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'validation_failed',
    detail: 'The request was not received in time',
  },
};
const BAD_REQUEST = {
  status: 400,
  code: 'validation_failed' as ErrorCode,
  detail: 'The request is not valid HTTP',
};

/**
 * Fix (found by packages/server-kit/test/edge-errors.test.ts): requests Node's own
 * HTTP parser refuses (a bare CR in a header, headers over 16 KB, a slow client at
 * the headers/request timeout) never reach express, and Node answered them with a
 * bare status line: no problem+json, no X-Request-Id. The status stays Node's (400,
 * 431, 413, 408); the body is a problem with the nearest contract code, and the
 * connection is closed, as Node does. Nothing is written on a socket that is gone or
 * whose response has started.
 */
function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  responseStarted: boolean,
): void {
  if (err.code === 'ECONNRESET' || !socket.writable || responseStarted) {
    socket.destroy();
    return;
  }
  const answer = (err.code && CLIENT_ERROR_ANSWERS[err.code]) || BAD_REQUEST;
  // Node's status (408, 431) need not be the code's usual one: the body says the real one
  const problem = problemFromHttpError(new HttpError(answer.code, answer.detail));
  problem.status = answer.status;
  problem.body.status = answer.status;
  // destroy once written (the peer may keep its half open); a backstop if it never drains
  const backstop = setTimeout(() => socket.destroy(), 1_000);
  backstop.unref();
  socket.end(rawProblemResponse(problem, randomUUID()), () => {
    clearTimeout(backstop);
    socket.destroy();
  });
}
