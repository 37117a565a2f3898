// The MongoDB connection with timeouts short enough that an outage turns into a fast
// 503 (docs/design.md §7.3: within 2 s) rather than requests hanging; the driver's own
// monitoring reconnects once the server is back, so nothing here retries by hand.
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import { DependencyUnavailableError } from './errors';
import { commandCollection } from './cost-metrics';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { ReadinessCheck } from './readiness';

export interface MongoOptions {
  url: string;
  /** Database name; default the one in the URL's path, else `parley`. */
  dbName?: string;
  logger: Logger;
  /** Shown in server logs and currentOp. */
  appName?: string;
  /** How long an operation waits for a usable server; default 2000 ms. */
  serverSelectionTimeoutMS?: number;
  /** TCP connect timeout; default 2000 ms. */
  connectTimeoutMS?: number;
  /** A socket silent this long is dropped; default 10000 ms. */
  socketTimeoutMS?: number;
  maxPoolSize?: number;
  /**
   * How long an operation waits for a pooled connection; default 1000 ms. Past it the
   * driver fails it (MongoWaitQueueTimeoutError, a 503), so when the database falls
   * behind, requests are answered now instead of queueing in the driver long after
   * their deadline: that queue held the memory that grew in the first 5-minute soak.
   */
  waitQueueTimeoutMS?: number;
  /**
   * Wait for the first connection before resolving (and fail with
   * DependencyUnavailableError if there is none); default true. With false the
   * service starts anyway, answers 503 until MongoDB is up, then recovers.
   */
  requireAtStart?: boolean;
  /**
   * When given, every command is counted on `parley_mongo_commands_total` through the
   * driver's command monitoring (one event per command the driver sends).
   */
  metrics?: Pick<Metrics, 'cost'>;
  /** Anything else for the driver. */
  clientOptions?: MongoClientOptions;
}

export interface MongoConnection {
  client: MongoClient;
  db: Db;
  /** Resolves when the server answers a ping. */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export async function connectMongo(options: MongoOptions): Promise<MongoConnection> {
  const client = new MongoClient(options.url, {
    appName: options.appName ?? 'parley',
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 2_000,
    connectTimeoutMS: options.connectTimeoutMS ?? 2_000,
    socketTimeoutMS: options.socketTimeoutMS ?? 10_000,
    maxPoolSize: options.maxPoolSize ?? 20,
    waitQueueTimeoutMS: options.waitQueueTimeoutMS ?? 1_000,
    ...(options.metrics ? { monitorCommands: true } : {}),
    ...options.clientOptions,
  });
  const commands = options.metrics?.cost.mongoCommands;
  if (commands) {
    client.on('commandStarted', (event) => {
      commands.inc({
        command: event.commandName,
        collection: commandCollection(event.commandName, event.command),
      });
    });
  }
  const log = options.logger;
  // during an outage the driver checks every 500 ms: keep those at debug, and log
  // the transitions (reachable ⇄ unreachable) below at info/warn
  client.on('serverHeartbeatFailed', (event) => {
    log.debug({ server: event.connectionId, err: event.failure }, 'MongoDB heartbeat failed');
  });
  client.on('serverDescriptionChanged', (event) => {
    const wasDown = event.previousDescription.type === 'Unknown';
    const isDown = event.newDescription.type === 'Unknown';
    if (wasDown && !isDown) log.info({ server: event.address }, 'MongoDB server reachable');
    if (!wasDown && isDown) log.warn({ server: event.address }, 'MongoDB server unreachable');
  });

  const db = client.db(options.dbName ?? (dbNameFromUrl(options.url) || 'parley'));

  if (options.requireAtStart !== false) {
    try {
      await client.connect();
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new DependencyUnavailableError('MongoDB is not reachable', err);
    }
    log.info({ db: db.databaseName }, 'MongoDB connected');
  } else {
    client.connect().catch((err: unknown) => log.warn({ err }, 'MongoDB not reachable yet'));
  }

  let closing: Promise<void> | undefined;
  return {
    client,
    db,
    async ping() {
      await db.command({ ping: 1 });
    },
    close() {
      closing ??= client.close();
      return closing;
    },
  };
}

function dbNameFromUrl(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  } catch {
    return '';
  }
}

export function createMongoReadinessCheck(
  mongo: Pick<MongoConnection, 'ping'>,
  name = 'mongo',
): ReadinessCheck {
  return { name, check: () => mongo.ping() };
}
