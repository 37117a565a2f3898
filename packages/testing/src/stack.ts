// startStack(): auth, chat and N websocket instances as real processes, wired to each
// other and to the test infrastructure (MONGO_URL / AMQP_URL from the jest global
// setup) with a database and an events exchange of their own, so stacks in parallel
// test files never see each other's data or events.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqplib from 'amqplib';
import { MongoClient } from 'mongodb';
import { splitUrlList } from '@parley/server-kit';
import { uniqueName } from './unique-name';
import { amqpUrl, testMongoUrl } from './infra-urls';
import { ServiceProcess, type Env, type ExitInfo, type ServiceName } from './service-process';

/** Extra variables for one service, or a function of the variables the stack chose. */
export type EnvOverride = Env | ((defaults: Readonly<Env>) => Env);

export interface StackOptions {
  /** Names the database, exchange and log folder (a unique name is made from it). */
  name?: string;
  /** How many websocket instances behind the one exchange (default 1). */
  websocketInstances?: number;
  /**
   * How many chat instances (default 1), sharing the database and the exchange;
   * websocket instance i talks to chat instance i mod chatInstances.
   */
  chatInstances?: number;
  /**
   * AMQP_URL for every service (default the test setup's); e.g. a cluster's nodes,
   * comma-separated. A per-service AMQP_URL in serviceEnv overrides it.
   */
  amqpUrl?: string;
  /** Variables for every service (after the stack's defaults). */
  env?: Env;
  /**
   * Variables per service, applied last. A function gets the variables the stack chose,
   * e.g. to point chat's MONGO_URL at a proxy: `(env) => ({ MONGO_URL: viaProxy(env.MONGO_URL) })`.
   * `websocket` applies to every instance; a function also gets the instance index.
   */
  serviceEnv?: {
    auth?: EnvOverride;
    /** Applies to every chat instance; a function also gets the instance index. */
    chat?: Env | ((defaults: Readonly<Env>, index: number) => Env);
    websocket?: Env | ((defaults: Readonly<Env>, index: number) => Env);
    webhooks?: EnvOverride;
  };
  /**
   * Start the webhook delivery worker too (default false), on a queue of the stack's
   * own; chat and it then allow loopback targets (WEBHOOK_ALLOW_PRIVATE).
   */
  webhooks?: boolean;
  /** Bound on each service's wait for /readyz (default 20 000 ms). */
  readyTimeoutMs?: number;
  /** Where log files go (default a fresh folder under the OS temp dir). */
  logDir?: string;
  /** Keep the database and exchange after stop() (default: dropped). */
  keepData?: boolean;
}

export interface Stack {
  /** The unique name: database and exchange are named after it. */
  readonly name: string;
  readonly dbName: string;
  /** The events exchange (chat.events of this stack); auth and chat write it. */
  readonly exchange: string;
  /** The presence exchange (chat.presence of this stack); websocket instances write it. */
  readonly presenceExchange: string;
  /** MONGO_URL (with the stack's database) and AMQP_URL the services got by default. */
  readonly mongoUrl: string;
  readonly amqpUrl: string;
  readonly authUrl: string;
  /** The first chat instance (chatUrls[0]). */
  readonly chatUrl: string;
  /** One `http://127.0.0.1:<port>` per chat instance. */
  readonly chatUrls: readonly string[];
  /** One `http://127.0.0.1:<port>` per websocket instance (the socket is `ws://…/ws`). */
  readonly websocketUrls: readonly string[];
  readonly services: {
    auth: ServiceProcess;
    /** The first chat instance (chats[0]). */
    chat: ServiceProcess;
    chats: readonly ServiceProcess[];
    websockets: readonly ServiceProcess[];
    /** The webhook worker, when `webhooks` was asked for. */
    webhooks?: ServiceProcess;
  };
  /** Every process: auth, chat (chat-1…), websocket-0, websocket-1…, webhooks when asked */
  readonly all: readonly ServiceProcess[];
  /** The folder with one `<label>.log` per process. */
  readonly logDir: string;
  /** Exits no one asked for (stop/kill/restart), newest last. */
  readonly unexpectedExits: readonly { label: string; exit: ExitInfo }[];
  /** The last `lines` lines of every process's output, for a failure report. */
  logTails(lines?: number): string;
  /** Stops every process (SIGTERM, SIGKILL after a bound), drops the database and exchanges. */
  stop(): Promise<void>;
}

/** Quick timings so tests finish fast; every value is a knob of the service's config. */
const testDefaults: { common: Env; auth: Env; chat: Env; websocket: Env } = {
  common: {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    SHUTDOWN_TIMEOUT_MS: '5000',
  },
  auth: { BCRYPT_COST: '4' },
  chat: { OUTBOX_RELAY_INTERVAL_MS: '200', OUTBOX_GRACE_MS: '500', PUBLISH_TIMEOUT_MS: '2000' },
  websocket: {
    PRESENCE_HEARTBEAT_MS: '500',
    PRESENCE_TIMEOUT_MS: '2000',
    HEARTBEAT_INTERVAL_MS: '5000',
    CLOSE_GRACE_MS: '500',
  },
};

function applyOverride(defaults: Env, override: EnvOverride | undefined): Env {
  if (override === undefined) return defaults;
  return { ...defaults, ...(typeof override === 'function' ? override(defaults) : override) };
}

/**
 * Starts auth, then chat (which needs auth's URL), then `websocketInstances` websocket
 * processes in parallel (which need chat's), each on a port it binds itself, and
 * resolves once every /readyz answers 200. If any fails to start, the others are
 * stopped and the error carries its log tail.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const name = uniqueName(options.name ?? 'e2e');
  const dbName = name.slice(0, 60);
  const exchange = `parley.e2e.${name}`;
  const presenceExchange = `${exchange}.presence`;
  const webhookQueue = `${exchange}.webhooks`;
  const mongoUrl = testMongoUrl(dbName);
  const amqp = options.amqpUrl ?? amqpUrl();
  const logDir = options.logDir ?? path.join(tmpdir(), 'parley-e2e', name);
  mkdirSync(logDir, { recursive: true });

  const unexpectedExits: { label: string; exit: ExitInfo }[] = [];
  const onUnexpectedExit = (service: ServiceProcess, exit: ExitInfo) => {
    unexpectedExits.push({ label: service.label, exit });
    process.stderr.write(
      `[e2e] ${service.label} exited unexpectedly (code ${exit.code}, signal ${exit.signal})\n${service.tail()}\n`,
    );
  };
  const all: ServiceProcess[] = [];
  const make = (service: ServiceName, label: string, env: Env) => {
    const made = new ServiceProcess({
      service,
      label,
      env,
      logFile: path.join(logDir, `${label}.log`),
      onUnexpectedExit,
      ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    });
    all.push(made);
    return made;
  };
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      await Promise.all(all.map((service) => service.dispose()));
      if (!options.keepData) {
        await dropData(mongoUrl, amqp, [exchange, presenceExchange], [webhookQueue]);
      }
    })());

  try {
    const auth = make(
      'auth',
      'auth',
      applyOverride(
        {
          ...testDefaults.auth,
          ...testDefaults.common,
          ...options.env,
          MONGO_URL: mongoUrl,
          AMQP_URL: amqp,
          EVENTS_EXCHANGE: exchange,
        },
        options.serviceEnv?.auth,
      ),
    );
    await auth.start();
    const common: Env = {
      ...testDefaults.common,
      JWKS_URL: `${auth.url}/.well-known/jwks.json`,
      ...options.env,
    };
    const chats = Array.from({ length: options.chatInstances ?? 1 }, (_, index) => {
      const defaults: Env = {
        ...testDefaults.chat,
        ...common,
        MONGO_URL: mongoUrl,
        AMQP_URL: amqp,
        AUTH_URL: auth.url,
        EVENTS_EXCHANGE: exchange,
        ...(options.webhooks ? { WEBHOOK_ALLOW_PRIVATE: 'true' } : {}),
      };
      const override = options.serviceEnv?.chat;
      const env =
        override === undefined
          ? defaults
          : {
              ...defaults,
              ...(typeof override === 'function' ? override(defaults, index) : override),
            };
      return make('chat', index === 0 ? 'chat' : `chat-${index}`, env);
    });
    const chatsStarted = await Promise.allSettled(chats.map((chat) => chat.start()));
    const chatFailed = chatsStarted.find((result) => result.status === 'rejected');
    if (chatFailed) throw chatFailed.reason;
    const chat = chats[0] as ServiceProcess;
    const websockets = Array.from({ length: options.websocketInstances ?? 1 }, (_, index) => {
      const defaults: Env = {
        ...testDefaults.websocket,
        ...common,
        AMQP_URL: amqp,
        CHAT_URL: (chats[index % chats.length] as ServiceProcess).url,
        EVENTS_EXCHANGE: exchange,
        PRESENCE_EXCHANGE: presenceExchange,
        INSTANCE_ID: `${name}-ws${index}`,
      };
      const override = options.serviceEnv?.websocket;
      const env =
        override === undefined
          ? defaults
          : {
              ...defaults,
              ...(typeof override === 'function' ? override(defaults, index) : override),
            };
      return make('websocket', `websocket-${index}`, env);
    });
    const started = await Promise.allSettled(websockets.map((ws) => ws.start()));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const webhooks = options.webhooks
      ? make(
          'webhooks',
          'webhooks',
          applyOverride(
            {
              ...common,
              MONGO_URL: mongoUrl,
              AMQP_URL: amqp,
              EVENTS_EXCHANGE: exchange,
              WEBHOOK_QUEUE: webhookQueue,
              WEBHOOK_ALLOW_PRIVATE: 'true',
            },
            options.serviceEnv?.webhooks,
          ),
        )
      : undefined;
    await webhooks?.start();

    return {
      name,
      dbName,
      exchange,
      presenceExchange,
      mongoUrl,
      amqpUrl: amqp,
      authUrl: auth.url,
      chatUrl: chat.url,
      chatUrls: chats.map((c) => c.url),
      websocketUrls: websockets.map((ws) => ws.url),
      services: { auth, chat, chats, websockets, ...(webhooks ? { webhooks } : {}) },
      all,
      logDir,
      unexpectedExits,
      logTails: (lines = 40) => all.map((service) => service.tail(lines)).join('\n'),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

// Best effort, bounded: a leftover database or exchange is harmless, a hang is not. On
// a cluster with a node stopped, the first node of the list that answers is used.
async function dropData(
  mongoUrl: string,
  amqp: string,
  exchanges: string[],
  queues: string[],
): Promise<void> {
  const bound = <T>(work: Promise<T>) =>
    Promise.race([work, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]).catch(
      () => undefined,
    );
  await Promise.all([
    bound(
      (async () => {
        const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 3_000 });
        try {
          await client.db().dropDatabase();
        } finally {
          await client.close();
        }
      })(),
    ),
    bound(
      (async () => {
        let connection: amqplib.ChannelModel | undefined;
        for (const url of splitUrlList(amqp)) {
          connection = await amqplib.connect(url, { timeout: 2_000 }).catch(() => undefined);
          if (connection) break;
        }
        if (!connection) return;
        try {
          const channel = await connection.createChannel();
          for (const exchange of exchanges) await channel.deleteExchange(exchange);
          for (const queue of queues) await channel.deleteQueue(queue);
        } finally {
          await connection.close();
        }
      })(),
    ),
  ]);
}
