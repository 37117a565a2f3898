// Test harness: real websocket instances on port 0 against the real RabbitMQ (a
// unique exchange per test file), real `ws` clients, and a publisher to inject
// contract-valid events. Everything waits with bounded polls. useWebsocketHarness() is
// the jest wiring a test file uses.
import { once } from 'node:events';
import {
  createEvent,
  parleyEventSchema,
  serverFrameSchema,
  type ServerFrame,
  type ServerFrameOf,
} from '@parley/contracts';
import {
  createAmqpConnection,
  createEventPublisher,
  createMetrics,
  loadConfig,
  startHttpServer,
  startMetricsServer,
  type AmqpConnection,
  type EventPublisher,
  type Metrics,
  type RunningHttpServer,
  type TokenVerifier,
} from '@parley/server-kit';
import {
  amqpUrl,
  createSilentLogger,
  createTestIssuer,
  uniqueName,
  waitFor,
  type TestIssuer,
} from '@parley/testing';
import amqplib from 'amqplib';
import WebSocket from 'ws';
import { createApp, type WebsocketApp } from '../../src/app';
import { createChatClient } from '../../src/chat-client';
import { websocketEnvSchema } from '../../src/config';
import { startChatStub, type ChatStub } from './chat-stub';
import type { EventInjector } from './event-injector';

export const AMQP_URL = amqpUrl();

export function amqpConnection(name: string, metrics?: Metrics): AmqpConnection {
  return createAmqpConnection({
    url: AMQP_URL,
    connectionName: uniqueName(name),
    logger: createSilentLogger(),
    ...(metrics ? { metrics } : {}),
  });
}

export interface Instance {
  app: WebsocketApp;
  server: RunningHttpServer;
  amqp: AmqpConnection;
  /** `ws://127.0.0.1:port` */
  wsBase: string;
  httpUrl: string;
  /** The /metrics listener (its own port, as in production). */
  metricsUrl: string;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  issuer: TestIssuer;
  /** Default the issuer's verifier. */
  verifier?: TokenVerifier;
  exchange: string;
  chatUrl?: string;
  env?: Record<string, string>;
}

export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const config = loadConfig(websocketEnvSchema, {
    EVENTS_EXCHANGE: options.exchange,
    PRESENCE_EXCHANGE: presenceExchangeOf(options.exchange),
    INSTANCE_ID: uniqueName('ws'),
    CLOSE_GRACE_MS: '1000',
    ...options.env,
  });
  // as main.ts wires it: the connection counts its deliveries and acks on the app's /metrics
  const metrics = createMetrics({ service: 'websocket' });
  const amqp = amqpConnection('ws-test', metrics);
  const logger = createSilentLogger();
  const app = createApp({
    config,
    logger,
    metrics,
    verifier: options.verifier ?? options.issuer.verifier(),
    chat: createChatClient({ baseUrl: options.chatUrl ?? 'http://127.0.0.1:9', timeoutMs: 5_000 }),
    amqp,
    corsOrigins: '*',
  });
  const server = await startHttpServer(app.http, {
    port: 0,
    host: '127.0.0.1',
    drainTimeoutMs: 2_000,
  });
  server.server.on('upgrade', app.handleUpgrade);
  await app.start();
  const metricsServer = await startMetricsServer(app.metrics, { port: 0 });
  let stopping: Promise<void> | undefined;
  return {
    app,
    server,
    amqp,
    wsBase: `ws://127.0.0.1:${server.port}`,
    httpUrl: server.url,
    metricsUrl: metricsServer.url,
    stop() {
      stopping ??= (async () => {
        const closed = server.close();
        await app.close();
        await closed;
        await metricsServer.close();
        await amqp.close();
      })();
      return stopping;
    },
  };
}

export function createInjector(exchange: string): EventInjector {
  const amqp = amqpConnection('ws-test-injector');
  const publisher: EventPublisher<{ id: string; type: string }> = createEventPublisher(amqp, {
    exchange,
  });
  return {
    async publish(type, data, recipients) {
      const event = parleyEventSchema.parse(createEvent(type, data, recipients));
      await publisher.publish(event);
      return event;
    },
    publishEvent: (event) => publisher.publish(parleyEventSchema.parse(event)),
    publishRaw: (envelope) => publisher.publish(envelope),
    async close() {
      await publisher.close();
      await amqp.close();
    },
  };
}

export interface TestClient {
  ws: WebSocket;
  frames: ServerFrame[];
  /** Frames that did not match the server frame schema (a contract bug). */
  invalidFrames: unknown[];
  ready: ServerFrameOf<'ready'>;
  /** Waits for (and returns) the first frame not yet taken that matches. */
  next<T extends ServerFrame['type']>(
    type: T,
    match?: (f: ServerFrameOf<T>) => boolean,
    timeoutMs?: number,
  ): Promise<ServerFrameOf<T>>;
  sendJson(value: unknown): void;
  /** Resolves with the close code. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  path?: string;
  headers?: Record<string, string>;
}

export async function connect(
  wsBase: string,
  token: string,
  options: ConnectOptions = {},
): Promise<TestClient> {
  const path = options.path ?? '/ws';
  const url = options.headers
    ? `${wsBase}${path}`
    : `${wsBase}${path}?token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(url, { headers: options.headers ?? {} });
  const frames: ServerFrame[] = [];
  const invalidFrames: unknown[] = [];
  const taken = new Set<ServerFrame>();
  ws.on('message', (data) => {
    const json: unknown = JSON.parse(String(data));
    const parsed = serverFrameSchema.safeParse(json);
    if (parsed.success) frames.push(parsed.data);
    else invalidFrames.push(json);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => undefined);

  const next: TestClient['next'] = async (type, match, timeoutMs = 10_000) => {
    const frame = await waitFor(
      () =>
        frames.find(
          (f) =>
            !taken.has(f) &&
            f.type === type &&
            (match ? match(f as ServerFrameOf<typeof type>) : true),
        ),
      { timeoutMs, intervalMs: 10, description: `a ${type} frame` },
    );
    taken.add(frame);
    return frame as ServerFrameOf<typeof type>;
  };

  await once(ws, 'open');
  const client: TestClient = {
    ws,
    frames,
    invalidFrames,
    ready: undefined as unknown as ServerFrameOf<'ready'>,
    next,
    sendJson: (value) => ws.send(JSON.stringify(value)),
    closed,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  client.ready = await next('ready');
  return client;
}

/** Tries an upgrade that should be refused; returns the HTTP status and body. */
export function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; rawHeaders: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, rawHeaders: res.rawHeaders }),
      );
    });
    ws.on('error', (err) => reject(err));
  });
}

export function newUser(
  issuer: TestIssuer,
  expiresInSeconds = 900,
): { userId: string; username: string; token: string } {
  const username = uniqueName('u')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '')
    .slice(0, 32);
  const userId = uniqueName('uid');
  return { userId, username, token: issuer.mint({ userId, username, expiresInSeconds }) };
}

/** The presence exchange the instances of a test file use beside its events exchange. */
export function presenceExchangeOf(exchange: string): string {
  return `${exchange}.presence`;
}

/**
 * Removes a test exchange, its presence exchange and what the kit declared beside
 * them (dead-letter exchange and queue).
 */
export async function deleteExchange(exchange: string): Promise<void> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(`${exchange}.dead-letter`);
    await channel.deleteExchange(`${exchange}.dlx`);
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(presenceExchangeOf(exchange));
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export interface WebsocketHarnessOptions {
  /** Prefix of the file's exchange name (made unique). */
  name: string;
  /** Variables for the file's instance (startInstance's defaults otherwise). */
  env?: Record<string, string>;
  /** Start the file's instance (default true); tests may start their own. */
  instance?: boolean;
  /** A chat stand-in announcing on the exchange, called by the file's instance. */
  chatStub?: boolean;
}

export interface WebsocketHarness {
  readonly issuer: TestIssuer;
  readonly exchange: string;
  /** The file's instance (with `instance: false`, there is none). */
  readonly instance: Instance;
  /** With `chatStub: true`. */
  readonly chat: ChatStub;
  /** Publishes on the exchange; opened on first use. */
  readonly injector: EventInjector;
  /**
   * Another instance, on the file's exchange and issuer unless given; stopped after
   * the file's tests if a test has not stopped it.
   */
  startInstance(options?: Partial<InstanceOptions>): Promise<Instance>;
  /** Another exchange, deleted (with its dead-letter parts) after the file's tests. */
  newExchange(prefix: string): string;
}

/**
 * Registers the beforeAll/afterAll hooks of a component test file: a test issuer, the
 * exchange and (by default) one instance before the file's tests; after them, every
 * instance stopped, the stand-ins closed and the exchanges deleted. Read the fields
 * inside tests (after beforeAll ran).
 */
export function useWebsocketHarness(options: WebsocketHarnessOptions): WebsocketHarness {
  const exchanges = [uniqueName(options.name)];
  const instances: Instance[] = [];
  let issuer: TestIssuer | undefined;
  let instance: Instance | undefined;
  let chat: ChatStub | undefined;
  let injector: EventInjector | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useWebsocketHarness: no ${what} (yet)`);
    return value;
  };
  const harness: WebsocketHarness = {
    get issuer() {
      return ready(issuer, 'issuer');
    },
    exchange: exchanges[0] as string,
    get instance() {
      return ready(instance, 'instance');
    },
    get chat() {
      return ready(chat, 'chat stub');
    },
    get injector() {
      injector ??= createInjector(harness.exchange);
      return injector;
    },
    async startInstance(instanceOptions = {}) {
      const started = await startInstance({
        issuer: harness.issuer,
        exchange: harness.exchange,
        ...instanceOptions,
      });
      instances.push(started);
      return started;
    },
    newExchange(prefix) {
      const exchange = uniqueName(prefix);
      exchanges.push(exchange);
      return exchange;
    },
  };

  beforeAll(async () => {
    issuer = await createTestIssuer();
    if (options.chatStub) chat = await startChatStub(issuer, harness.injector);
    if (options.instance ?? true) {
      instance = await harness.startInstance({
        ...(chat ? { chatUrl: chat.url } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
    }
  });

  afterAll(async () => {
    await Promise.all(instances.map((started) => started.stop()));
    await chat?.close();
    await injector?.close();
    await issuer?.close();
    for (const exchange of exchanges) await deleteExchange(exchange);
  });

  return harness;
}
