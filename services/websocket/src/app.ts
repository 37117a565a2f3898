// Builds one websocket service instance from its dependencies: the HTTP side
// (/healthz, /readyz, GET /presence, OpenAPI; /metrics is served by main.ts on its own
// port), the upgrade handler, the per-connection lifecycle, the consumers of the two
// exchanges (chat.events, chat.presence) and the presence heartbeat. It reads no
// env and listens on nothing: main.ts (or a test) creates the HTTP server, routes its
// `upgrade` events to `handleUpgrade`, then calls start(); close() undoes it all.
import { randomUUID } from 'node:crypto';
import {
  ROUTES,
  WS_CLOSE,
  parleyEventSchema,
  presenceQuerySchema,
  routesOf,
  type EventType,
  type ParleyEvent,
  type PresenceResponse,
} from '@parley/contracts';
import {
  createClientAddress,
  createEventPublisher,
  createHttpApp,
  createMetrics,
  createOpenApiDocument,
  finishHttpApp,
  getAuth,
  parseQuery,
  requireAuth,
  DependencyUnavailableError,
  RateLimitedError,
  UnauthorizedError,
  type AmqpConnection,
  type EventConsumer,
  type Logger,
  type Metrics,
  type Principal,
  type TokenVerifier,
} from '@parley/server-kit';
import type { Express } from 'express';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ChatRequestError, type ChatClient } from './chat-client';
import { createClientFrames } from './client-frames';
import type { WebsocketConfig } from './config';
import { createConnectionRegistry, type ConnectionRegistry } from './connection-registry';
import { createEventDispatch } from './event-dispatch';
import { createEventsConsumer } from './events-consumer';
import { createWebsocketMetrics } from './metrics';
import {
  createPresenceTracker,
  createPresenceWatchers,
  type PresenceTracker,
} from './presence-tracker';
import { createPresenceVisibility } from './presence-visibility';
import { InflightSends } from './recent-ids';
import { createRevokedSessions, type RevokedSessions } from './revoked-sessions';
import { createSocketGateway } from './socket-gateway';
import { createSocketSession, type SessionLimits, type SocketSession } from './socket-session';
import { createTokenExpiry } from './token-expiry';
import { createUpgradeHandler, type UpgradeHandler } from './upgrade-auth';

export type WebsocketAppConfig = Omit<
  WebsocketConfig,
  | 'NODE_ENV'
  | 'LOG_LEVEL'
  | 'HOST'
  | 'PORT'
  | 'METRICS_PORT'
  | 'METRICS_HOST'
  | 'AMQP_URL'
  | 'CHAT_URL'
  | 'JWKS_URL'
  | 'JWT_ISSUER'
  | 'JWT_AUDIENCE'
  | 'CORS_ORIGINS'
  | 'SHUTDOWN_TIMEOUT_MS'
  | 'BODY_LIMIT'
  | 'CHAT_TIMEOUT_MS'
>;

export interface WebsocketAppDeps {
  config: WebsocketAppConfig;
  logger: Logger;
  verifier: TokenVerifier;
  chat: ChatClient;
  /** The process's RabbitMQ connection; the app opens its consumer and publisher on it. */
  amqp: AmqpConnection;
  corsOrigins: '*' | readonly string[];
  metrics?: Metrics;
  now?: () => number;
}

export interface WebsocketApp {
  readonly http: Express;
  /** Give it the HTTP server's `upgrade` events. */
  readonly handleUpgrade: UpgradeHandler;
  readonly instanceId: string;
  readonly registry: ConnectionRegistry;
  readonly presence: PresenceTracker;
  /** Users whose sessions were revoked (session_revoked), with the cut-off of their tokens. */
  readonly revoked: RevokedSessions;
  readonly metrics: Metrics;
  /** Starts consuming and the heartbeats; resolves once the queue is bound. */
  start(): Promise<void>;
  /** Refuses new sockets and closes the open ones with 1001; resolves when they are gone (bounded). */
  closeSockets(): Promise<void>;
  /** closeSockets, then the heartbeats, the consumer and the publisher. Idempotent. */
  close(): Promise<void>;
}

/**
 * The chat events that only become frames for their recipients' sockets: one none of
 * whose recipients is connected here is dropped unread. (session_revoked is kept: the
 * revocation is remembered for sockets that open later.)
 */
const FANNED_OUT: ReadonlySet<string> = new Set<EventType>([
  'new_message',
  'message_updated',
  'reaction',
  'typing',
  'read',
  'conversation_updated',
]);

/** How long the sending socket is remembered after a WS send, to suppress its echo. */
const INFLIGHT_TTL_MS = 120_000;
const INFLIGHT_CAPACITY = 50_000;
/** RFC 6455 "service restart": the client reconnects (and resumes) after a short wait. */
const SERVICE_RESTART = 1012;

export function createApp(deps: WebsocketAppDeps): WebsocketApp {
  const { config, logger, verifier, chat, amqp } = deps;
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? createMetrics({ service: 'websocket' });
  const wsMetrics = createWebsocketMetrics(metrics);
  const registry = createConnectionRegistry();
  const watchers = createPresenceWatchers();
  const inflight = new InflightSends(INFLIGHT_CAPACITY, INFLIGHT_TTL_MS, now);
  let accepting = true;

  const gateway = createSocketGateway({
    registry,
    metrics: wsMetrics,
    logger,
    softLimitBytes: config.SEND_BUFFER_SOFT_LIMIT_BYTES,
    hardLimitBytes: config.SEND_BUFFER_LIMIT_BYTES,
    closeGraceMs: config.CLOSE_GRACE_MS,
    now,
  });

  // presence goes to its own exchange: this instance's broker user may write there only
  const publisher = createEventPublisher<ParleyEvent>(amqp, {
    exchange: config.PRESENCE_EXCHANGE,
    schema: parleyEventSchema,
  });
  const pendingPublishes = new Set<Promise<void>>();
  const presence = createPresenceTracker({
    instanceId: config.INSTANCE_ID,
    local: registry,
    publisher: {
      publish(event) {
        const publishing = publisher.publish(event);
        pendingPublishes.add(publishing);
        void publishing.catch(() => undefined).finally(() => pendingPublishes.delete(publishing));
        return publishing;
      },
    },
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    timeoutMs: config.PRESENCE_TIMEOUT_MS,
    offlineGraceMs: config.PRESENCE_OFFLINE_GRACE_MS,
    now,
    logger: logger.child({ component: 'presence' }),
    onChange(userId, status) {
      for (const watcher of watchers.watchersOf(userId))
        gateway.send(watcher, { type: 'presence', userId, status });
    },
  });

  const revoked = createRevokedSessions({ ttlMs: config.SESSION_REVOCATION_TTL_MS, now });
  // the user's sockets whose token the revocation covers (a socket opened with a token
  // issued after it, when the event arrives late, stays open)
  const endRevokedSessionsOf = (userId: string) => {
    for (const session of [...registry.socketsOf(userId)]) {
      if (revoked.isRevoked({ userId, iat: session.tokenIat }))
        gateway.close(session, WS_CLOSE.tokenExpired, 'session revoked');
    }
  };
  const dispatch = createEventDispatch({
    gateway,
    presence,
    inflight,
    revoked,
    endRevokedSessionsOf,
    logger,
  });
  const visibility = createPresenceVisibility({
    chat,
    ttlMs: config.PRESENCE_VISIBILITY_TTL_MS,
    now,
  });
  const ackBatch = { max: config.EVENTS_ACK_BATCH, windowMs: config.EVENTS_ACK_WINDOW_MS };
  let consumer: EventConsumer | undefined;
  let presenceConsumer: EventConsumer | undefined;

  const expiry = createTokenExpiry({
    now,
    onExpired: (session) => gateway.close(session, WS_CLOSE.tokenExpired, 'token expired'),
  });
  const armExpiry = (session: SocketSession) => expiry.arm(session);
  const sessionLimits: SessionLimits = {
    ratePerSecond: config.RATE_LIMIT_PER_SECOND,
    rateBurst: config.RATE_LIMIT_BURST,
    abuseMax: config.ABUSE_MAX_BAD_FRAMES,
    abuseWindowMs: config.ABUSE_WINDOW_MS,
    now,
  };

  const clientFrames = createClientFrames({
    chat,
    verifier,
    gateway,
    presence,
    watchers,
    visibility,
    inflight,
    metrics: wsMetrics,
    logger,
    maxPresenceWatch: config.MAX_PRESENCE_WATCH,
    isRevoked: (principal) => revoked.isRevoked(principal),
    onTokenRefreshed: armExpiry,
  });

  // One set of listeners for every socket (`this` is the socket), its session found in
  // `sessions`: a closure per socket and event would cost each idle socket ~0.5 KiB.
  const sessions = new WeakMap<WebSocket, SocketSession>();
  function onPong(this: WebSocket): void {
    const session = sessions.get(this);
    if (session) session.isAlive = true;
  }
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    const session = sessions.get(this);
    if (session) clientFrames.handle(session, data, isBinary);
  }
  function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
    const session = sessions.get(this);
    if (!session) return;
    // ws already closes the socket (1009 for an oversized frame, 1002 for bad framing).
    if (!session.closing) {
      session.closing = true;
      session.closeCode =
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? WS_CLOSE.messageTooBig : 1002;
      wsMetrics.closed(session.closeCode);
    }
    logger.debug({ err, connectionId: session.connectionId }, 'socket error');
  }
  function onSocketClose(this: WebSocket, code: number): void {
    const session = sessions.get(this);
    if (!session) return;
    sessions.delete(this);
    expiry.disarm(session);
    if (session.closeCode === undefined) wsMetrics.closed(code);
    session.closing = true;
    watchers.unwatchAll(session);
    if (registry.remove(session)) presence.localOffline(session.userId);
    wsMetrics.connectionEnded();
    wsMetrics.setConnectedUsers(registry.userCount);
  }

  function onConnection(ws: WebSocket, principal: Principal, ip: string): void {
    const session = createSocketSession({
      connectionId: randomUUID(),
      ws,
      ip,
      user: { userId: principal.userId, username: principal.username },
      token: principal.token,
      tokenExp: principal.exp,
      tokenIat: principal.iat,
      limits: sessionLimits,
    });
    sessions.set(ws, session);
    wsMetrics.connectionOpened();
    gateway.send(session, {
      type: 'ready',
      userId: session.userId,
      username: session.username,
      connectionId: session.connectionId,
    });
    if (registry.add(session)) presence.localOnline(session.userId);
    wsMetrics.setConnectedUsers(registry.userCount);
    armExpiry(session);
    // a session_revoked consumed while this upgrade was being verified
    if (revoked.isRevoked(principal))
      gateway.close(session, WS_CLOSE.tokenExpired, 'session revoked');

    ws.on('pong', onPong);
    ws.on('message', onMessage);
    ws.on('error', onSocketError);
    ws.once('close', onSocketClose);
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });

  const handleUpgrade = createUpgradeHandler({
    wss,
    verifier,
    registry,
    maxConnectionsPerUser: config.MAX_CONNECTIONS_PER_USER,
    maxConnectionsPerIp: config.MAX_CONNECTIONS_PER_IP,
    clientAddress: createClientAddress(config.TRUST_PROXY),
    isRevoked: (principal) => revoked.isRevoked(principal),
    logger,
    isAccepting: () => accepting,
    onConnection,
  });

  let heartbeat: NodeJS.Timeout | undefined;
  function beat(): void {
    for (const session of registry.all()) {
      if (!session.isAlive) {
        logger.debug(
          { connectionId: session.connectionId },
          'no pong since the last ping, terminating',
        );
        session.closing = true;
        session.closeCode ??= 1006;
        wsMetrics.closed(1006);
        session.ws.terminate();
        continue;
      }
      session.isAlive = false;
      session.ws.ping();
    }
  }

  const http = createHttpApp({
    logger,
    metrics,
    corsOrigins: deps.corsOrigins,
    readiness: [
      {
        name: 'rabbitmq',
        check: async () => {
          if (
            !amqp.isConnected() ||
            consumer?.queueName() === undefined ||
            presenceConsumer?.queueName() === undefined
          ) {
            throw new DependencyUnavailableError('The event consumers are not up');
          }
        },
      },
    ],
    openapi: createOpenApiDocument({
      title: 'Parley websocket service',
      version: '0.1.0',
      description:
        'WebSocket at ws://host:5003/ws?token=<accessToken> (protocol in services/websocket/README.md); REST presence below.',
      register: (api) => api.routes(routesOf('websocket').map(([, route]) => route)),
    }),
  });
  http.get(ROUTES.presence.path, requireAuth(verifier), async (req, res) => {
    const { userIds } = parseQuery(presenceQuerySchema, req);
    const visible = await visibility.visibleTo(getAuth(res), userIds).catch((err: unknown) => {
      throw chatFailure(err);
    });
    const body: PresenceResponse = {
      presence: userIds.map((userId) => ({
        userId,
        status: visible.has(userId) ? presence.status(userId) : 'unknown',
      })),
    };
    res.json(body);
  });
  finishHttpApp(http);

  let sockets: Promise<void> | undefined;
  function closeSockets(): Promise<void> {
    sockets ??= (async () => {
      accepting = false;
      for (const session of registry.all())
        gateway.close(session, WS_CLOSE.goingAway, 'server shutting down');
      await waitUntil(() => registry.connectionCount === 0, config.CLOSE_GRACE_MS + 500);
    })();
    return sockets;
  }

  let closing: Promise<void> | undefined;
  return {
    http,
    handleUpgrade,
    instanceId: config.INSTANCE_ID,
    registry,
    presence,
    revoked,
    metrics,
    async start() {
      presenceConsumer ??= createEventsConsumer({
        connection: amqp,
        exchange: config.PRESENCE_EXCHANGE,
        prefetch: config.EVENTS_PREFETCH,
        ackBatch,
        dedupeSize: config.EVENT_DEDUPE_SIZE,
        deliver: dispatch.dispatchPresenceEvent,
        // presence is stale in seconds: a poison one is logged and dropped
        deadLetter: false,
        metrics: wsMetrics,
        logger,
      });
      consumer ??= createEventsConsumer({
        connection: amqp,
        exchange: config.EVENTS_EXCHANGE,
        prefetch: config.EVENTS_PREFETCH,
        ackBatch,
        dedupeSize: config.EVENT_DEDUPE_SIZE,
        deliver: dispatch.dispatchChatEvent,
        concernsLocal: (envelope) =>
          !FANNED_OUT.has(envelope.type) || envelope.recipients.some(registry.hasUser),
        metrics: wsMetrics,
        logger,
        // Fix (found by e2e/faults/test/rabbitmq-cut.test.ts): this instance's queue is
        // exclusive, so it died with the lost connection and events published before it
        // was re-bound never arrive here. Closing with 1012 makes every client reconnect
        // and `resume` from MongoDB, so nothing stored during the gap goes unseen.
        onResubscribed: () => {
          const sessions = [...registry.all()];
          logger.warn(
            { sockets: sessions.length },
            'event queue re-created after a broker outage; asking clients to reconnect and resume',
          );
          for (const session of sessions)
            gateway.close(session, SERVICE_RESTART, 'resume after broker outage');
        },
      });
      await Promise.all([consumer.waitForConnect(), presenceConsumer.waitForConnect()]);
      presence.start();
      if (!heartbeat && config.HEARTBEAT_INTERVAL_MS > 0) {
        heartbeat = setInterval(beat, config.HEARTBEAT_INTERVAL_MS);
        heartbeat.unref();
      }
    },
    closeSockets,
    close() {
      closing ??= (async () => {
        await closeSockets();
        clearInterval(heartbeat);
        expiry.stop();
        presence.stop();
        // Let the offline announcements of the sockets just closed reach the bus.
        await Promise.race([
          Promise.allSettled([...pendingPublishes]),
          delay(config.CLOSE_GRACE_MS),
        ]);
        await consumer?.close();
        await presenceConsumer?.close();
        await publisher.close();
        wss.close();
      })();
      return closing;
    },
  };
}

/** chat's refusal of a presence check, as this service's own answer (503 when unreachable). */
function chatFailure(err: unknown): unknown {
  if (!(err instanceof ChatRequestError)) return err;
  if (err.code === 'rate_limited')
    return new RateLimitedError(err.retryAfterSeconds ?? 1, err.message);
  if (err.code === 'unauthorized') return new UnauthorizedError(err.message);
  return new DependencyUnavailableError('The presence check could not ask the chat service');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await delay(20);
}
