// Listening and, above all, stopping: close() stops accepting, closes idle keep-alive
// connections, lets in-flight requests finish (telling their clients not to reuse
// the connection), and only then resolves. Safe to call twice.
import { once } from 'node:events';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
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
