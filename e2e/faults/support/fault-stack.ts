// A stack (startStack from @parley/testing) whose links to MongoDB and RabbitMQ run
// through Toxiproxy, so a test cuts, stalls and restores them for real, plus what the
// fault tests measure: plain HTTP calls with their status and latency, the messages
// stored per conversation, and the RSS of each service process.
import { readFileSync } from 'node:fs';
import type { Message } from '@parley/contracts';
import { MongoClient } from 'mongodb';
import {
  amqpUrl,
  connect,
  createUsers,
  Inbox,
  type ProxyLink,
  type Stack,
  type StackOptions,
  startStack,
  startToxiproxy,
  tokenOf,
  type TestUser,
  type ToxiproxyServer,
  upstreamOf,
  useStarted,
  viaProxy,
  waitFor,
} from '@parley/testing';
import type { RealtimeConnection, RealtimeOptions, WebSocketConstructor } from '@parley/client';

export interface FaultStack {
  stack: Stack;
  toxiproxy: ToxiproxyServer;
  /** auth's and chat's link to MongoDB. */
  mongo: ProxyLink;
  /** chat's link to RabbitMQ (and each websocket's, with `websocketsThroughAmqpProxy`). */
  amqp: ProxyLink;
  /** A direct (unproxied) client on the stack's database, to inspect what was stored. */
  db: MongoClient;
  stop(): Promise<void>;
}

export interface FaultStackOptions extends Omit<StackOptions, 'serviceEnv'> {
  /** Route the websocket instances' RabbitMQ link through the proxy too (default true). */
  websocketsThroughAmqpProxy?: boolean;
  serviceEnv?: {
    auth?: Record<string, string>;
    chat?: Record<string, string>;
    websocket?: Record<string, string>;
  };
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const toxiproxy = await startToxiproxy();
  const mongoBase = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
  const mongo = await toxiproxy.client.createProxy({
    name: 'mongo',
    upstream: upstreamOf(mongoBase),
  });
  const amqp = await toxiproxy.client.createProxy({
    name: 'amqp',
    upstream: upstreamOf(amqpUrl()),
  });
  const throughWs = options.websocketsThroughAmqpProxy ?? true;
  let stack: Stack;
  try {
    stack = await startStack({
      ...options,
      serviceEnv: {
        auth: (env) => ({
          MONGO_URL: viaProxy(env.MONGO_URL ?? '', mongo),
          ...options.serviceEnv?.auth,
        }),
        chat: (env) => ({
          MONGO_URL: viaProxy(env.MONGO_URL ?? '', mongo),
          AMQP_URL: viaProxy(env.AMQP_URL ?? '', amqp),
          ...options.serviceEnv?.chat,
        }),
        websocket: (env) => ({
          ...(throughWs ? { AMQP_URL: viaProxy(env.AMQP_URL ?? '', amqp) } : {}),
          ...options.serviceEnv?.websocket,
        }),
      },
    });
  } catch (err) {
    await toxiproxy.stop();
    throw err;
  }
  const db = await MongoClient.connect(stack.mongoUrl, { serverSelectionTimeoutMS: 5_000 });
  return {
    stack,
    toxiproxy,
    mongo,
    amqp,
    db,
    async stop() {
      await db.close().catch(() => undefined);
      await toxiproxy.client.reset().catch(() => undefined);
      await stack.stop();
      await toxiproxy.stop();
    },
  };
}

/**
 * A fault stack per test file (jest hooks, as useStack): started before the file's
 * tests, its logs printed under a failed test, and after them every realtime
 * connection closed and everything stopped. Read its fields inside tests.
 */
export function useFaultStack(options: FaultStackOptions = {}): FaultStack {
  const started = useStarted(
    () => startFaultStack(options),
    (faults) => faults.stack,
    180_000,
  );
  return {
    get stack() {
      return started().stack;
    },
    get toxiproxy() {
      return started().toxiproxy;
    },
    get mongo() {
      return started().mongo;
    },
    get amqp() {
      return started().amqp;
    },
    get db() {
      return started().db;
    },
    stop: () => started().stop(),
  };
}

export interface Call {
  status: number;
  ms: number;
  body: Record<string, unknown>;
  /** Set when no HTTP answer came (connection refused/reset, timeout). */
  error?: string;
}

/** One HTTP call with its status, latency and JSON body; never throws. */
export async function call(
  url: string,
  {
    method = 'GET',
    token,
    body,
    timeoutMs = 10_000,
  }: { method?: string; token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<Call> {
  const started = Date.now();
  try {
    const response = await fetch(url, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: response.status, ms: Date.now() - started, body: parsed };
  } catch (err) {
    return { status: 0, ms: Date.now() - started, body: {}, error: String(err) };
  }
}

/** POST /chat/send as `user`; the message on 200/201. */
export async function send(
  stack: Stack,
  user: TestUser,
  input: { conversationId?: string; to?: string; text: string; clientMsgId?: string },
  timeoutMs?: number,
): Promise<Call & { message?: Message }> {
  const result = await call(`${stack.chatUrl}/chat/send`, {
    method: 'POST',
    token: tokenOf(user),
    body: input,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  const message = result.body.message as Message | undefined;
  return message ? { ...result, message } : result;
}

/** Stored messages of a conversation, straight from MongoDB (seq ascending). */
export async function storedMessages(
  db: MongoClient,
  conversationId: string,
): Promise<{ _id: unknown; seq?: number; outboxCount?: number }[]> {
  return db
    .db()
    .collection<{ _id: unknown; seq?: number; outboxCount?: number }>('messages')
    .find({ conversationId })
    .sort({ seq: 1 })
    .toArray();
}

/** Every document still carrying unpublished outbox events, across collections. */
export async function pendingOutbox(db: MongoClient): Promise<number> {
  let total = 0;
  for (const { name } of await db.db().listCollections().toArray()) {
    total += await db
      .db()
      .collection(name)
      .countDocuments({ outboxDueAt: { $exists: true } });
  }
  return total;
}

/** Asserts seqs 1..n with no hole and no message without a seq. */
export function expectGapFree(messages: readonly { seq?: number }[]): void {
  const seqs = messages.map((m) => m.seq);
  expect(seqs.every((s) => typeof s === 'number')).toBe(true);
  expect(seqs).toEqual(seqs.map((_s, i) => i + 1));
}

export interface Participant {
  user: TestUser;
  rt: RealtimeConnection;
  inbox: Inbox;
}

/** Connects each user (ready and caught up) and records what its app sees. */
export async function connectAll(
  users: readonly TestUser[],
  options: (index: number) => RealtimeOptions & { webSocket?: WebSocketConstructor } = () => ({}),
): Promise<Participant[]> {
  return Promise.all(
    users.map(async (user, index) => {
      const rt = await connect(user, options(index));
      return { user, rt, inbox: new Inbox(rt) };
    }),
  );
}

export interface Expected {
  message: Message;
  /** User ids that must see it (everyone connected who is a member). */
  recipients: readonly string[];
}

export interface DeliveryReport {
  expected: number;
  /** (message, recipient) pairs expected. */
  deliveriesExpected: number;
  lost: number;
  doubled: number;
  sources: Record<string, number>;
}

/** Counts, over every participant, missing and repeated deliveries of `expected`. */
export function deliveryReport(
  participants: readonly Participant[],
  expected: readonly Expected[],
): DeliveryReport {
  const byUser = new Map(participants.map((p) => [p.user.user.id, p]));
  let lost = 0;
  let doubled = 0;
  let deliveriesExpected = 0;
  const sources: Record<string, number> = {};
  for (const { message, recipients } of expected) {
    for (const recipient of recipients) {
      const participant = byUser.get(recipient);
      if (!participant) continue;
      deliveriesExpected += 1;
      const seen = participant.inbox.messages.filter((d) => d.message.id === message.id);
      if (seen.length === 0) lost += 1;
      if (seen.length > 1) doubled += seen.length - 1;
      for (const d of seen) sources[d.source] = (sources[d.source] ?? 0) + 1;
    }
  }
  return { expected: expected.length, deliveriesExpected, lost, doubled, sources };
}

/** Waits (bounded) until nothing is lost, then returns the final report. */
export async function waitForDelivery(
  participants: readonly Participant[],
  expected: readonly Expected[],
  timeoutMs = 30_000,
): Promise<DeliveryReport> {
  try {
    await waitFor(() => deliveryReport(participants, expected).lost === 0, {
      timeoutMs,
      intervalMs: 100,
      description: 'every expected message at every recipient',
    });
  } catch {
    // fall through: the report says what is missing
  }
  return deliveryReport(participants, expected);
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

export { createUsers, type TestUser, type Stack };
