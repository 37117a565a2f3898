// Builds real auth apps for component tests: a fresh MongoDB database per test file
// (from the MONGO_URL the jest global setup provides), a RabbitMQ exchange of its own
// for session_revoked, the real app from createApp, and a recorder that keeps every
// response body and log line so a suite can prove no password hash ever left the
// service.
import { parleyEventSchema, type ParleyEvent } from '@parley/contracts';
import {
  connectMongo,
  createAmqpConnection,
  createEventPublisher,
  createLogger,
  createMetrics,
  createMetricsListener,
  createMongoReadinessCheck,
  type AmqpConnection,
  type EventPublisher,
  type MongoConnection,
} from '@parley/server-kit';
import { amqpUrl, uniqueDbName, uniqueName } from '@parley/testing';
import type { Express } from 'express';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp, createAuthServices, type AuthServices } from '../../src/app';
import { authSettingsFrom, loadAuthConfig, type AuthEnv } from '../../src/config';
import { ensureAuthIndexes } from '../../src/ensure-indexes';
import { loadStoredSigningKeys, type SigningKeys } from '../../src/signing-keys';

export function mongoBaseUrl(): string {
  const url = process.env['MONGO_URL'];
  if (!url)
    throw new Error('MONGO_URL is not set: run through jest (its global setup provides it)');
  return url;
}

export async function connectTestDb(prefix = 'auth'): Promise<MongoConnection> {
  const mongo = await connectMongo({
    url: mongoBaseUrl(),
    dbName: uniqueDbName(prefix),
    logger: createLogger({ name: 'test', level: 'silent' }),
  });
  await ensureAuthIndexes(mongo.db);
  return mongo;
}

/** Everything the apps of one test file said: response bodies and log lines. */
export class Recorder {
  readonly bodies: string[] = [];
  readonly logLines: string[] = [];

  /** Wraps an app so each response body is kept. */
  wrap(app: Express): RequestListener {
    return (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      const keep = (chunk: unknown) => {
        if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
        else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
      };
      res.write = ((chunk: unknown, ...rest: unknown[]) => {
        keep(chunk);
        return write(chunk, ...rest);
      }) as typeof res.write;
      res.end = ((chunk?: unknown, ...rest: unknown[]) => {
        if (typeof chunk !== 'function') keep(chunk);
        this.bodies.push(Buffer.concat(chunks).toString('utf8'));
        return end(chunk, ...rest);
      }) as typeof res.end;
      app(req, res);
    };
  }

  logDestination(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        this.logLines.push(chunk.toString());
        callback();
      },
    });
  }
}

export interface TestApp {
  app: Express;
  /** The use cases behind the app (the session_revoked outbox: `services.revocations`). */
  services: AuthServices;
  /** The exchange its session_revoked events go to. */
  exchange: string;
  /** GET /metrics as the metrics port serves it (never the public port). */
  metricsText(): Promise<string>;
  /** The app wrapped by the recorder: hand this to supertest. */
  listener: RequestListener;
  http: ReturnType<typeof request>;
  env: AuthEnv;
  signingKeys: SigningKeys;
}

export interface TestAppOptions {
  /** Environment variables on top of the test defaults (BCRYPT_COST=4). */
  env?: Record<string, string>;
  now?: () => Date;
  signingKeys?: SigningKeys;
  /** The RabbitMQ its events go to; default the test broker (`AMQP_URL`). */
  amqpUrl?: string;
  /** Default a unique one per app. */
  exchange?: string;
}

export async function createTestApp(
  mongo: MongoConnection,
  recorder: Recorder,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const env = loadAuthConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', ...options.env });
  const signingKeys =
    options.signingKeys ?? (await loadStoredSigningKeys(mongo.db, { alg: env.JWT_ALGORITHM }));
  const logger = createLogger({
    name: 'auth-test',
    level: 'debug',
    destination: recorder.logDestination(),
  });
  const metrics = createMetrics({ service: 'auth', defaultMetrics: false });
  const exchange = options.exchange ?? uniqueName('auth_events');
  const amqp = createAmqpConnection({
    url: options.amqpUrl ?? amqpUrl(),
    connectionName: uniqueName('auth-test'),
    logger,
  });
  const publisher = createEventPublisher<ParleyEvent>(amqp, {
    exchange,
    publishTimeoutMs: 1_000,
    schema: parleyEventSchema,
  });
  const services = createAuthServices({
    db: mongo.db,
    signingKeys,
    settings: authSettingsFrom(env),
    publisher,
    metrics,
    logger,
    ...(options.now ? { now: options.now } : {}),
  });
  const app = createApp({
    logger,
    metrics,
    services,
    corsOrigins: '*',
    trustProxy: env.TRUST_PROXY,
    readiness: [createMongoReadinessCheck(mongo)],
  });
  const listener = recorder.wrap(app);
  const metricsText = async () =>
    (await request(createMetricsListener(metrics)).get('/metrics').expect(200)).text;
  openBrokers.push({ amqp, publisher, services, exchange });
  return {
    app,
    services,
    exchange,
    metricsText,
    listener,
    http: request(listener),
    env,
    signingKeys,
  };
}

// Every app's broker side, closed by closeTestApps() (useAuthHarness does it after the file).
const openBrokers: {
  amqp: AmqpConnection;
  publisher: EventPublisher<ParleyEvent>;
  services: AuthServices;
  exchange: string;
}[] = [];

/**
 * Waits for the publishes in flight, closes every app's RabbitMQ connection and
 * deletes the exchanges the apps made.
 */
export async function closeTestApps(): Promise<void> {
  for (const { amqp, publisher, services, exchange } of openBrokers.splice(0)) {
    await services.revocations.drain();
    await publisher.close().catch(() => undefined);
    const channel = await amqp.manager.connection?.createChannel().catch(() => undefined);
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await amqp.close();
  }
}

/** A username no other test uses (3–32 chars of a-z 0-9 _ . -). */
export function uniqueUsername(prefix = 'u'): string {
  return uniqueName(prefix)
    .replace(/[^a-z0-9_.-]/gi, '_')
    .slice(0, 32);
}

export const PASSWORD = 'correct horse battery staple';

export async function registerAndLogin(
  http: TestApp['http'],
  username = uniqueUsername(),
  password = PASSWORD,
): Promise<{ username: string; accessToken: string; refreshToken: string; userId: string }> {
  await http.post('/auth/register').send({ username, password }).expect(201);
  const login = await http.post('/auth/login').send({ username, password }).expect(200);
  const body = login.body as { accessToken: string; refreshToken: string; user: { id: string } };
  return {
    username,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    userId: body.user.id,
  };
}

/** Asserts that no response body and no log line carries a password hash. */
export function expectNoPasswordHashes(recorder: Recorder): void {
  expect(recorder.bodies.length).toBeGreaterThan(0);
  for (const text of [...recorder.bodies, ...recorder.logLines]) {
    expect(text).not.toContain('$2b$');
    expect(text).not.toContain('passwordHash');
  }
}

/** One test file's app: its own database, recorder, and the no-hash check at the end. */
export interface AuthHarness extends TestApp {
  readonly mongo: MongoConnection;
  readonly recorder: Recorder;
}

/**
 * Registers the beforeAll/afterAll hooks every component test file needs: a fresh
 * database named after `prefix`, the app over it, and — once the file is done — the
 * proof that no response or log line carried a password hash, then the database
 * dropped. Fields are readable from inside tests (after beforeAll ran).
 */
export function useAuthHarness(prefix: string, options: TestAppOptions = {}): AuthHarness {
  const recorder = new Recorder();
  let mongo: MongoConnection | undefined;
  let app: TestApp | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useAuthHarness: read before beforeAll ran');
    return value;
  };

  beforeAll(async () => {
    mongo = await connectTestDb(prefix);
    app = await createTestApp(mongo, recorder, options);
  });

  afterAll(async () => {
    expectNoPasswordHashes(recorder);
    await closeTestApps();
    if (mongo) {
      await mongo.db.dropDatabase();
      await mongo.close();
    }
  });

  return {
    recorder,
    get mongo() {
      return ready(mongo);
    },
    get app() {
      return ready(app).app;
    },
    get services() {
      return ready(app).services;
    },
    get exchange() {
      return ready(app).exchange;
    },
    metricsText: () => ready(app).metricsText(),
    get listener() {
      return ready(app).listener;
    },
    get http() {
      return ready(app).http;
    },
    get env() {
      return ready(app).env;
    },
    get signingKeys() {
      return ready(app).signingKeys;
    },
  };
}
