// Authentication happens in the HTTP `upgrade` handler, before any socket exists
// (the ws library's own pattern): a request for another path gets 404, one without a
// valid access token (or with one issued before its user's sessions were revoked)
// 401, one past a connection cap 429 — each a plain HTTP answer with a problem+json
// body and an X-Request-Id written on the raw socket. Only a verified request is
// handed to ws's handleUpgrade.
//
// The per-address cap counts handshakes still being authenticated as well as open
// sockets (docs/design.md §9.2): otherwise one address could hold any number of upgrades
// in flight, each waiting on token verification, past the cap. The address is the
// client's under TRUST_PROXY (the kit's createClientAddress), as auth reads it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  DependencyUnavailableError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  extractBearer,
  problemFromHttpError,
  rawProblemResponse,
  requestIdFrom,
  toHttpError,
  type HttpError,
  type Logger,
  type Principal,
  type TokenVerifier,
} from '@parley/server-kit';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ConnectionRegistry } from './connection-registry';

/** Paths a client may open the socket on: `/ws`, and `/` for older clients. */
export const WS_PATHS: ReadonlySet<string> = new Set(['/ws', '/']);

export interface UpgradeAuthOptions {
  wss: WebSocketServer;
  verifier: TokenVerifier;
  registry: ConnectionRegistry;
  maxConnectionsPerUser: number;
  /** Open sockets plus handshakes in progress, per client address. */
  maxConnectionsPerIp: number;
  /** The client address of a request (TRUST_PROXY decides whether X-Forwarded-For counts). */
  clientAddress(req: IncomingMessage): string;
  /** True for a token issued at or before its user's last session revocation. */
  isRevoked(principal: Principal): boolean;
  logger: Logger;
  /** False once shutdown began: new sockets are refused with 503. */
  isAccepting(): boolean;
  onConnection(ws: WebSocket, principal: Principal, ip: string): void;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function createUpgradeHandler(options: UpgradeAuthOptions): UpgradeHandler {
  const { logger } = options;
  /** Handshakes in progress per address (accepted for authentication, not yet open). */
  const pending = new Map<string, number>();

  async function authenticate(req: IncomingMessage, url: URL): Promise<Principal> {
    const token = url.searchParams.get('token') ?? extractBearer(req.headers.authorization);
    if (!token)
      throw new UnauthorizedError('An access token is required (?token= or Authorization: Bearer)');
    return options.verifier.verify(token);
  }

  return (req, socket, head) => {
    // Until ws owns it, errors on the raw socket are ours to swallow (the peer left).
    const onError = (err: Error) => logger.debug({ err }, 'socket error during upgrade');
    socket.on('error', onError);

    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!WS_PATHS.has(url.pathname)) {
      refuse(req, socket, new NotFoundError('WebSocket connections are served on /ws'));
      return;
    }
    if (!options.isAccepting()) {
      refuse(
        req,
        socket,
        new DependencyUnavailableError('This instance is shutting down; reconnect'),
      );
      return;
    }
    const ip = options.clientAddress(req);
    const inFlight = pending.get(ip) ?? 0;
    if (options.registry.countForIp(ip) + inFlight >= options.maxConnectionsPerIp) {
      refuse(req, socket, new RateLimitedError(10, 'Too many connections from this address'));
      return;
    }
    // counted until the socket is in the registry, or the handshake ended without one
    pending.set(ip, inFlight + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (pending.get(ip) ?? 1) - 1;
      if (left <= 0) pending.delete(ip);
      else pending.set(ip, left);
    };
    socket.once('close', release);

    authenticate(req, url).then(
      (principal) => {
        if (socket.destroyed) return release();
        if (options.isRevoked(principal)) {
          release();
          refuse(
            req,
            socket,
            new UnauthorizedError('The sessions of this user were ended; log in again'),
          );
          return;
        }
        if (options.registry.countForUser(principal.userId) >= options.maxConnectionsPerUser) {
          release();
          refuse(req, socket, new RateLimitedError(10, 'Too many connections for this user'));
          return;
        }
        socket.off('error', onError);
        options.wss.handleUpgrade(req, socket, head, (ws) => {
          options.onConnection(ws, principal, ip);
          release(); // now counted by the registry
          // and no longer listened to: the listener's scope holds the upgrade request,
          // which would otherwise live as long as the socket
          socket.off('close', release);
        });
      },
      (err: unknown) => {
        release();
        const httpError = toHttpError(err);
        if (httpError.status >= 500) logger.warn({ err }, 'could not verify a WebSocket token');
        refuse(req, socket, httpError);
      },
    );
  };
}

/**
 * Writes a complete HTTP error response on the raw socket and closes it. It carries
 * an X-Request-Id like every HTTP answer (docs/design.md §2.1): the client's if sane, else new.
 */
function refuse(req: IncomingMessage, socket: Duplex, error: HttpError): void {
  if (socket.destroyed) return;
  socket.end(
    rawProblemResponse(problemFromHttpError(error), requestIdFrom(req.headers['x-request-id'])),
  );
}
