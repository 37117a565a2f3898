// Builds a real chat app for component tests, on port 0: a fresh database on the test
// MongoDB, a per-file exchange on the real RabbitMQ with an exclusive queue bound to it
// that records every event, a test issuer for tokens, and a small stand-in for auth's
// user lookup (GET /users/:username, GET /users?ids=) shaped by the contracts.
// useChatHarness() is the jest wiring a test file uses.
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  eventEnvelopeSchema,
  type EventType,
  type ParleyEvent,
  type User,
  type UserResponse,
  type UsersResponse,
} from '@parley/contracts';
import {
  connectMongo,
  createAmqpConnection,
  createEventPublisher,
  createMetrics,
  createMongoReadinessCheck,
  extractBearer,
  startHttpServer,
  startMetricsServer,
  type AmqpConnection,
  type RunningHttpServer,
} from '@parley/server-kit';
import amqplib from 'amqplib';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import {
  amqpUrl,
  createSilentLogger,
  createTestIssuer,
  testMongoUrl,
  uniqueName,
  waitFor,
  type TestIssuer,
} from '@parley/testing';
import { createApp } from '../../src/http/app';
import { createChatMetrics } from '../../src/chat-metrics';
import {
  createChatServices,
  type ChatServices,
  type RoomChangeHooks,
} from '../../src/chat-services';
import type { SendLimits } from '../../src/messages/send-admission';
import type { AttachmentSettings } from '../../src/attachments/attachment-upload';
import type { UserLimitSettings } from '../../src/rate-limits/user-limits';
import type { MessageStoreHooks } from '../../src/messages/message-store';
import { createOutboxRelay, type OutboxRelay } from '../../src/outbox/outbox-relay';
import { createUserDirectory } from '../../src/user-directory';

export interface TestUser {
  id: string;
  username: string;
  token: string;
}

/** auth's user lookup, good enough for chat: it knows the users tests register. */
export interface FakeAuth {
  url: string;
  add(user: { id: string; username: string }): void;
  /** 'up' answers; 'error' answers 500; 'hang' never answers (timeouts). */
  mode: 'up' | 'error' | 'hang';
  requests: number;
  close(): Promise<void>;
}

export async function startFakeAuth(): Promise<FakeAuth> {
  const users = new Map<string, User>();
  const hanging = new Set<ServerResponse>();
  const state = { mode: 'up' as FakeAuth['mode'], requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    if (state.mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (state.mode === 'error') {
      res.writeHead(500).end();
      return;
    }
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!extractBearer(req.headers.authorization)) return send(401, { code: 'unauthorized' });
    const url = new URL(req.url ?? '/', 'http://x');
    const byName = /^\/users\/([^/]+)$/.exec(url.pathname);
    if (byName?.[1]) {
      const user = users.get(decodeURIComponent(byName[1]).toLowerCase());
      if (!user) return send(404, { code: 'user_not_found' });
      return send(200, { user } satisfies UserResponse);
    }
    if (url.pathname === '/users') {
      const ids = (url.searchParams.get('ids') ?? '').split(',');
      const found = [...users.values()].filter((u) => ids.includes(u.id));
      return send(200, { users: found } satisfies UsersResponse);
    }
    send(404, { code: 'not_found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add(user) {
      users.set(user.username, {
        ...user,
        displayName: user.username,
        createdAt: new Date().toISOString(),
      });
    },
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    get requests() {
      return state.requests;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every event that reached the test queue, in arrival order. */
export interface EventLog {
  readonly events: ParleyEvent[];
  /** Waits (bounded) for an event matching `match`. */
  waitFor<T extends EventType>(
    type: T,
    match?: (event: Extract<ParleyEvent, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<ParleyEvent, { type: T }>>;
  ofType<T extends EventType>(type: T): Extract<ParleyEvent, { type: T }>[];
  close(): Promise<void>;
}

export async function recordEvents(exchange: string): Promise<EventLog> {
  const connection = await amqplib.connect(amqpUrl());
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'fanout', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, '');
  const events: ParleyEvent[] = [];
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      const body: unknown = JSON.parse(msg.content.toString('utf8'));
      const envelope = eventEnvelopeSchema.parse(body);
      // the AMQP properties docs/design.md §5 asks for travel with every event
      if (msg.properties.messageId !== envelope.id || msg.properties.type !== envelope.type) {
        throw new Error(`event ${envelope.id} has wrong AMQP properties`);
      }
      if (msg.properties.contentType !== 'application/json' || msg.properties.deliveryMode !== 2) {
        throw new Error(`event ${envelope.id} is not persistent application/json`);
      }
      events.push(body as ParleyEvent);
    },
    { noAck: true },
  );
  const ofType = <T extends EventType>(type: T) =>
    events.filter((e): e is Extract<ParleyEvent, { type: T }> => e.type === type);
  return {
    events,
    ofType,
    waitFor: (type, match = () => true, timeoutMs = 5_000) =>
      waitFor(() => ofType(type).find(match), { timeoutMs, description: `a ${type} event` }),
    async close() {
      await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

export interface ChatInstance {
  url: string;
  /** The instance's /metrics listener (its own port, as in production). */
  metricsUrl: string;
  services: ChatServices;
  relay: OutboxRelay;
  amqp: AmqpConnection;
  close(): Promise<void>;
  /**
   * Dies rather than stops: its own MongoDB connection (given `mongoUrl`) is cut first,
   * so its last checkpoint is never written, as after a SIGKILL.
   */
  kill(): Promise<void>;
}

export interface InstanceOptions {
  /** Default the test RabbitMQ; pass an unreachable one to test the outbox. */
  amqpUrl?: string;
  messageHooks?: MessageStoreHooks;
  /** Steps into room changes (rooms/membership-change.ts). */
  roomChangeHooks?: RoomChangeHooks;
  /** Per-user limits; each defaults to the service's. */
  limits?: Partial<UserLimitSettings>;
  /** How often the limits' counts sync with MongoDB; default 50 ms (the service's: 250). */
  rateLimitSyncIntervalMs?: number;
  /** ROOM_MAX_MEMBERS; default the service's. */
  roomMaxMembers?: number;
  /** ROOM_MEMBERS_INLINE_MAX; default the service's. */
  roomMembersInlineMax?: number;
  /** Load-shedding limits; default the service's. */
  sendLimits?: Partial<SendLimits>;
  /** The kit's request deadline (503 past it); default off, like createApp's. */
  requestDeadlineMs?: number;
  /** Start the relay loop (off by default: tests call relay.runOnce()). */
  relayIntervalMs?: number;
  outboxGraceMs?: number;
  publishTimeoutMs?: number;
  mongoUrl?: string;
  /** ConversationStore.findRecent's ttl; default the service's. */
  conversationCacheTtlMs?: number;
  /** Attachment size cap and daily quota; default the service's. */
  attachmentSettings?: Partial<AttachmentSettings>;
  /** WEBHOOK_ALLOW_PRIVATE; default true here (test receivers listen on loopback). */
  webhookAllowPrivate?: boolean;
  /** The message relay's checkpoint interval and lease; default 60 s and 180 s. */
  relayCheckpointIntervalMs?: number;
  relayLeaseMs?: number;
  /** Conversation activity's write window; default the service's. */
  activityWriteDelayMs?: number;
}

export interface ChatHarness {
  db: Db;
  /** The database's URL: an instance given it as `mongoUrl` has its own, counted connection. */
  mongoUrl: string;
  /** The client the instances share (unless given their own mongoUrl); emits commandStarted. */
  mongo: MongoClient;
  exchange: string;
  issuer: TestIssuer;
  auth: FakeAuth;
  events: EventLog;
  /** The instance most tests use. */
  app: ChatInstance;
  /** A further instance over the same database and exchange (another process). */
  startInstance(options?: InstanceOptions): Promise<ChatInstance>;
  newUser(prefix?: string): TestUser;
  close(): Promise<void>;
}

export async function startChatHarness(options: InstanceOptions = {}): Promise<ChatHarness> {
  const mongoUrl = testMongoUrl(uniqueName('chat'));
  // command events let a test count the database round trips a request makes
  const mongo = await MongoClient.connect(mongoUrl, {
    serverSelectionTimeoutMS: 5_000,
    monitorCommands: true,
  });
  const db = mongo.db();
  const exchange = uniqueName('chat_events');
  const issuer = await createTestIssuer();
  const verifier = issuer.verifier();
  const auth = await startFakeAuth();
  const events = await recordEvents(exchange);
  const instances: ChatInstance[] = [];

  async function startInstance(instanceOptions: InstanceOptions = {}): Promise<ChatInstance> {
    const logger = createSilentLogger('chat');
    const metrics = createMetrics({ service: 'chat', defaultMetrics: false });
    const chatMetrics = createChatMetrics(metrics);
    const amqp = createAmqpConnection({
      url: instanceOptions.amqpUrl ?? amqpUrl(),
      connectionName: uniqueName('chat-test'),
      logger,
    });
    const publisher = createEventPublisher<ParleyEvent>(amqp, {
      exchange,
      publishTimeoutMs: instanceOptions.publishTimeoutMs ?? 5_000,
    });
    // an unreachable MongoDB is allowed at start, as in production (503 until it is up)
    const ownMongo = instanceOptions.mongoUrl
      ? await connectMongo({
          url: instanceOptions.mongoUrl,
          logger,
          metrics, // its commands on the instance's /metrics, as in production
          requireAtStart: false,
        })
      : undefined;
    const instanceDb = ownMongo?.db ?? db;
    const services = createChatServices({
      db: instanceDb,
      publisher,
      users: createUserDirectory({
        authUrl: auth.url,
        // short enough for the 'hang' test, long enough for a 30-member room's lookups
        // on a loaded CI machine (the service's default is 2 s)
        timeoutMs: 1_500,
        ttlMs: 30_000,
        notFoundTtlMs: 0,
      }),
      logger,
      metrics: chatMetrics,
      isBrokerConnected: () => amqp.isConnected(),
      outboxGraceMs: instanceOptions.outboxGraceMs ?? 0,
      ...(instanceOptions.messageHooks ? { messageHooks: instanceOptions.messageHooks } : {}),
      ...(instanceOptions.roomChangeHooks
        ? { roomChangeHooks: instanceOptions.roomChangeHooks }
        : {}),
      ...(instanceOptions.limits ? { limits: instanceOptions.limits } : {}),
      rateLimitSyncIntervalMs: instanceOptions.rateLimitSyncIntervalMs ?? 50,
      ...(instanceOptions.roomMaxMembers !== undefined
        ? { roomMaxMembers: instanceOptions.roomMaxMembers }
        : {}),
      ...(instanceOptions.roomMembersInlineMax !== undefined
        ? { roomMembersInlineMax: instanceOptions.roomMembersInlineMax }
        : {}),
      ...(instanceOptions.sendLimits ? { sendLimits: instanceOptions.sendLimits } : {}),
      ...(instanceOptions.conversationCacheTtlMs !== undefined
        ? { conversationCacheTtlMs: instanceOptions.conversationCacheTtlMs }
        : {}),
      ...(instanceOptions.attachmentSettings
        ? { attachmentSettings: instanceOptions.attachmentSettings }
        : {}),
      webhookAllowPrivate: instanceOptions.webhookAllowPrivate ?? true,
      // like the outbox relay, the checkpoint loop is slow unless a test asks (its
      // commands would mix with the ones a test counts), and nobody is adopted early
      relayCheckpointIntervalMs: instanceOptions.relayCheckpointIntervalMs ?? 60_000,
      relayLeaseMs: instanceOptions.relayLeaseMs ?? 180_000,
      ...(instanceOptions.activityWriteDelayMs !== undefined
        ? { activityWriteDelayMs: instanceOptions.activityWriteDelayMs }
        : {}),
    });
    if (!ownMongo) await services.ensureIndexes();
    const relay = createOutboxRelay({
      outbox: services.outbox,
      intervalMs: instanceOptions.relayIntervalMs ?? 60_000,
      logger,
      metrics: chatMetrics,
    });
    if (instanceOptions.relayIntervalMs !== undefined) relay.start();
    await services.messageRelay.start();
    services.rateLimiter.start();
    const app = createApp({
      services,
      verifier,
      logger,
      metrics,
      corsOrigins: '*',
      bodyLimit: '64kb',
      ...(instanceOptions.requestDeadlineMs !== undefined
        ? { requestDeadlineMs: instanceOptions.requestDeadlineMs }
        : {}),
      readiness: [
        createMongoReadinessCheck({
          ping: async () => void (await instanceDb.command({ ping: 1 })),
        }),
      ],
    });
    const server: RunningHttpServer = await startHttpServer(app, { port: 0, host: '127.0.0.1' });
    const metricsServer = await startMetricsServer(metrics, { port: 0 });
    let closing: Promise<void> | undefined;
    const instance: ChatInstance = {
      url: server.url,
      metricsUrl: metricsServer.url,
      services,
      relay,
      amqp,
      close() {
        // idempotent: a test may stop an instance before the harness does
        closing ??= (async () => {
          await server.close();
          await metricsServer.close();
          await relay.stop();
          await services.messageRelay.stop();
          await services.conversations.flushActivity().catch(() => undefined);
          await services.rateLimiter.stop();
          await publisher.close().catch(() => undefined);
          await services.outbox.drain();
          await amqp.close();
          await ownMongo?.close();
        })();
        return closing;
      },
      async kill() {
        if (!ownMongo) throw new Error('kill() needs an instance with its own mongoUrl');
        await ownMongo.client.close(true);
        await instance.close();
      },
    };
    instances.push(instance);
    return instance;
  }

  const app = await startInstance(options);
  return {
    db,
    mongoUrl,
    mongo,
    exchange,
    issuer,
    auth,
    events,
    app,
    startInstance,
    newUser(prefix = 'u') {
      const id = new ObjectId().toHexString();
      const username = uniqueName(prefix).replace(/_/g, '-').slice(0, 32).toLowerCase();
      auth.add({ id, username });
      return { id, username, token: issuer.mint({ userId: id, username }) };
    },
    async close() {
      for (const instance of instances) await instance.close();
      await events.close();
      await auth.close();
      await issuer.close();
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

export function bearer(user: TestUser): { Authorization: string } {
  return { Authorization: `Bearer ${user.token}` };
}

/**
 * Registers the beforeAll/afterAll hooks of a component test file: the harness (and its
 * first instance, with `options`) started before the file's tests and closed after them,
 * with every further instance. Read its fields inside tests (after beforeAll ran); a
 * file's own beforeAll, registered after this call, runs after the harness started.
 */
export function useChatHarness(options: InstanceOptions = {}): ChatHarness {
  let harness: ChatHarness | undefined;
  const started = (): ChatHarness => {
    if (harness === undefined) throw new Error('useChatHarness: read before beforeAll ran');
    return harness;
  };
  beforeAll(async () => {
    harness = await startChatHarness(options);
  });
  afterAll(async () => {
    await harness?.close();
  });
  return {
    get db() {
      return started().db;
    },
    get mongoUrl() {
      return started().mongoUrl;
    },
    get mongo() {
      return started().mongo;
    },
    get exchange() {
      return started().exchange;
    },
    get issuer() {
      return started().issuer;
    },
    get auth() {
      return started().auth;
    },
    get events() {
      return started().events;
    },
    get app() {
      return started().app;
    },
    startInstance: (instanceOptions) => started().startInstance(instanceOptions),
    newUser: (prefix) => started().newUser(prefix),
    close: () => started().close(),
  };
}
