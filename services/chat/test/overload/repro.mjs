// Overload reproduction for chat's send path: a chat instance in its own process
// (so its memory is measured alone) against real MongoDB/FerretDB and RabbitMQ, and a
// load generator here that fires /chat/send far above capacity, retrying like a
// client does (same clientMsgId, honouring Retry-After). It prints the server's RSS
// and heap every few seconds during the load and a cool-down, then checks what got
// stored: every 2xx clientMsgId stored once, seqs 1..N per room without holes.
//
//   pnpm build && node services/chat/test/overload/repro.mjs [--rate 300] [--seconds 60]
//     [--users 50] [--rooms 10] [--cooldown 20] [--attempts 5] [--connections 100]
//
// MONGO_URL (no database) and AMQP_URL are used when set; otherwise it starts the
// FerretDB dev server (tools/ferretdb) in a temp dir and uses RabbitMQ on 127.0.0.1.
// Processes and test tokens come from @parley/testing (built by `pnpm build`).
// Send limits for the server come from SEND_MAX_PENDING, SEND_MAX_ACTIVE, SEND_CONVERSATION_QUEUE_MAX
// and SEND_MIN_TIME_LEFT_MS when set (README.md), else the service defaults. The
// per-user rate limit is off: this measures the queue, not the limiter.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createSilentLogger,
  createTestIssuer,
  localAmqpUrl,
  spawnNode,
  startFerretDb,
} from '@parley/testing';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = (line) => process.stdout.write(`${line}\n`);
const mb = (bytes) => Math.round(bytes / 1024 / 1024);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

if (process.argv.includes('--server')) {
  await runServer();
} else {
  await runLoad();
}

// ---------------------------------------------------------------- the chat process
async function runServer() {
  // REPRO_CHAT_DIST: another build of chat to measure (e.g. the code before a change)
  const dist = process.env.REPRO_CHAT_DIST ?? path.join(here, '..', '..', 'dist');
  const load = (name) => import(pathToFileURL(path.join(dist, `${name}.js`)).href);
  const [{ createApp }, { createChatMetrics }, { createChatServices }, { createUserDirectory }] =
    await Promise.all([
      load('http/app'),
      load('chat-metrics'),
      load('chat-services'),
      load('user-directory'),
    ]);
  const { createOutboxRelay } = await load('outbox/outbox-relay');
  const kit = await import('@parley/server-kit');

  const env = process.env;
  const logger = createSilentLogger('chat');
  const metrics = createMetrics(kit);
  const chatMetrics = createChatMetrics(metrics);
  const mongo = await kit.connectMongo({ url: env.REPRO_MONGO_URL, logger });
  const amqp = kit.createAmqpConnection({ url: env.REPRO_AMQP_URL, logger });
  const exchange = `chat_overload_${Date.now()}`;
  const publisher = kit.createEventPublisher(amqp, { exchange, publishTimeoutMs: 5_000 });
  const sendLimits = {};
  if (env.SEND_MAX_PENDING) sendLimits.maxPending = Number(env.SEND_MAX_PENDING);
  if (env.SEND_MAX_ACTIVE) sendLimits.maxActive = Number(env.SEND_MAX_ACTIVE);
  if (env.SEND_CONVERSATION_QUEUE_MAX)
    sendLimits.maxQueuedPerConversation = Number(env.SEND_CONVERSATION_QUEUE_MAX);
  if (env.SEND_MIN_TIME_LEFT_MS) sendLimits.minTimeLeftMs = Number(env.SEND_MIN_TIME_LEFT_MS);
  const services = createChatServices({
    db: mongo.db,
    publisher,
    users: createUserDirectory({ authUrl: 'http://127.0.0.1:9' }),
    logger,
    metrics: chatMetrics,
    isBrokerConnected: () => amqp.isConnected(),
    // the send limit off (0), so the queue is measured, not the limiter
    limits: { send: { points: 0, windowMs: 10_000 } },
    sendLimits,
  });
  await services.ensureIndexes();
  const relay = createOutboxRelay({
    outbox: services.outbox,
    intervalMs: 1_000,
    logger,
    metrics: chatMetrics,
  });
  relay.start();
  const issuer = await createTestIssuer();
  const app = createApp({
    services,
    verifier: issuer.verifier(),
    logger,
    metrics,
    corsOrigins: '*',
    requestDeadlineMs: 1_500,
  });
  const server = await kit.startHttpServer(app, { port: 0, host: '127.0.0.1' });

  const { ObjectId } = await import('mongodb');
  const users = Array.from({ length: Number(env.REPRO_USERS) }, (_, i) => {
    const id = new ObjectId().toHexString();
    const username = `load-${i}`;
    return { id, username, token: issuer.mint({ userId: id, username, expiresInSeconds: 3_600 }) };
  });
  const call = async (user, method, url, body) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const rooms = [];
  for (let r = 0; r < Number(env.REPRO_ROOMS); r++) {
    const { conversation } = await call(users[0], 'POST', '/chat/rooms', { name: `load ${r}` });
    rooms.push(conversation.id);
    for (const user of users.slice(1)) {
      await call(user, 'POST', `/chat/rooms/${conversation.id}/join`);
    }
  }

  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const sample = () => {
    const usage = process.memoryUsage();
    const loopP99Ms = Math.round(loopDelay.percentile(99) / 1e6);
    loopDelay.reset();
    process.send({
      type: 'sample',
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      lanes: services.sendQueue.size,
      queued: services.sendQueue.queued ?? null,
      pending: services.sendAdmission?.pending ?? null,
      loopP99Ms,
    });
  };
  setInterval(sample, 1_000).unref();
  process.on('message', async (msg) => {
    if (msg.type === 'gc') {
      globalThis.gc?.();
      sample();
    } else if (msg.type === 'stop') {
      await server.close();
      await relay.stop();
      await services.outbox.drain();
      await publisher.close().catch(() => undefined);
      await amqp.close();
      await mongo.close();
      await issuer.close();
      process.exit(0);
    }
  });
  process.send({ type: 'ready', url: server.url, users, rooms, db: mongo.db.databaseName });
}

/** POST JSON over a keep-alive agent; 10 s budget (queueing for a socket included). */
function post(agent, url, token, body) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
      signal: AbortSignal.timeout(10_000),
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function createMetrics(kit) {
  return kit.createMetrics({ service: 'chat', defaultMetrics: false });
}

// ---------------------------------------------------------------- the load generator
async function runLoad() {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '300' },
      seconds: { type: 'string', default: '60' },
      users: { type: 'string', default: '50' },
      rooms: { type: 'string', default: '10' },
      cooldown: { type: 'string', default: '20' },
      attempts: { type: 'string', default: '5' },
      connections: { type: 'string', default: '100' },
    },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const maxAttempts = Number(values.attempts);
  // clients keep connections open, a couple per user: not one per request
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(values.connections) });

  let ferret;
  let dataDir;
  let mongoBase = process.env.MONGO_URL;
  if (!mongoBase) {
    dataDir = await mkdtemp(path.join(tmpdir(), 'chat-overload-'));
    ferret = await startFerretDb({ dataDir });
    mongoBase = ferret.url;
  }
  const dbName = `chat_overload_${Date.now()}`;
  const parsed = new URL(mongoBase);
  parsed.pathname = `/${dbName}`;
  const mongoUrl = parsed.href;
  const amqpUrl = process.env.AMQP_URL ?? localAmqpUrl;

  const { child } = spawnNode({
    label: 'chat',
    args: ['--expose-gc', fileURLToPath(import.meta.url), '--server'],
    cwd: here,
    env: {
      ...process.env,
      REPRO_MONGO_URL: mongoUrl,
      REPRO_AMQP_URL: amqpUrl,
      REPRO_USERS: values.users,
      REPRO_ROOMS: values.rooms,
    },
    ipc: true,
    onLine: (line) => process.stderr.write(`[chat] ${line}\n`),
  });
  const samples = [];
  let latest;
  const ready = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg.type === 'ready') resolve(msg);
      if (msg.type === 'sample') {
        latest = msg;
        samples.push({ ...msg, at: Date.now() });
      }
    });
    child.once('exit', (code) => reject(new Error(`chat process exited (${code})`)));
  });
  const { url, users, rooms } = await ready;
  out(`chat ${url}, ${users.length} users, ${rooms.length} rooms, db ${mongoUrl}`);

  const attemptsByStatus = new Map();
  const finals = new Map(); // clientMsgId -> final status
  const conversationOf = new Map();
  let started = 0;
  let open = 0;
  let answeredMs = 0;
  let answered = 0;

  async function send() {
    const user = users[Math.floor(Math.random() * users.length)];
    const conversationId = rooms[Math.floor(Math.random() * rooms.length)];
    const clientMsgId = randomUUID();
    conversationOf.set(clientMsgId, conversationId);
    open += 1;
    let status = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let retryAfterS = 1;
      const t0 = Date.now();
      try {
        const res = await post(agent, `${url}/chat/send`, user.token, {
          conversationId,
          text: `load ${clientMsgId}`,
          clientMsgId,
        });
        status = res.status;
        retryAfterS = Number(res.retryAfter ?? '1') || 1;
      } catch {
        status = -1;
      }
      answeredMs += Date.now() - t0;
      answered += 1;
      attemptsByStatus.set(status, (attemptsByStatus.get(status) ?? 0) + 1);
      if (status !== 503 && status !== 429 && status !== -1) break;
      if (attempt < maxAttempts) await sleep(retryAfterS * 1_000 * (1 + Math.random()));
    }
    finals.set(clientMsgId, status);
    open -= 1;
  }

  const t0 = Date.now();
  const report = (phase) => {
    const ok = [...finals.values()].filter((s) => s === 200 || s === 201).length;
    const s = latest ?? {};
    out(
      `${phase} t=${Math.round((Date.now() - t0) / 1000)}s started=${started} open=${open} ` +
        `done=${finals.size} ok=${ok} attempts=${JSON.stringify(Object.fromEntries(attemptsByStatus))} ` +
        `avgAnswerMs=${answered ? Math.round(answeredMs / answered) : 0} ` +
        `rssMB=${mb(s.rss ?? 0)} heapMB=${mb(s.heapUsed ?? 0)} lanes=${s.lanes} queued=${s.queued} pending=${s.pending} loopP99Ms=${s.loopP99Ms}`,
    );
  };
  const reporter = setInterval(() => report('load'), 5_000);
  const inflight = new Set();
  const fire = setInterval(() => {
    const due = Math.min(rate * seconds, Math.floor(((Date.now() - t0) / 1000) * rate));
    while (started < due) {
      started += 1;
      const p = send();
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
  }, 10);
  await sleep(seconds * 1_000);
  clearInterval(fire);
  await Promise.all([...inflight]);
  clearInterval(reporter);
  report('load-end');
  const peakRss = Math.max(...samples.map((s) => s.rss));
  const peakHeap = Math.max(...samples.map((s) => s.heapUsed));
  for (let i = 0; i < Number(values.cooldown); i += 5) {
    await sleep(5_000);
    report('cooldown');
  }
  child.send({ type: 'gc' });
  await sleep(1_500);
  report('after-gc');

  // what was stored, straight from the database
  const { MongoClient } = await import('mongodb');
  const mongo = await MongoClient.connect(mongoUrl);
  const docs = await mongo
    .db()
    .collection('messages')
    .find({}, { projection: { conversationId: 1, seq: 1, clientMsgId: 1 } })
    .toArray();
  const stored = new Map();
  for (const doc of docs) stored.set(doc.clientMsgId, (stored.get(doc.clientMsgId) ?? 0) + 1);
  let okNotStored = 0;
  let failedButStored = 0;
  let duplicates = 0;
  for (const [id, status] of finals) {
    const count = stored.get(id) ?? 0;
    if (count > 1) duplicates += 1;
    if ((status === 200 || status === 201) && count === 0) okNotStored += 1;
    if (status !== 200 && status !== 201 && count > 0) failedButStored += 1;
  }
  const seqHoles = rooms.filter((room) => {
    const seqs = docs
      .filter((d) => d.conversationId === room)
      .map((d) => d.seq)
      .sort((a, b) => a - b);
    return seqs.some((seq, i) => seq !== i + 1);
  }).length;
  const ok = [...finals.values()].filter((s) => s === 200 || s === 201).length;
  const firstRss = samples[0]?.rss ?? 0;
  out(
    JSON.stringify(
      {
        rate,
        seconds,
        sends: finals.size,
        ok,
        failed: finals.size - ok,
        attemptsByStatus: Object.fromEntries(attemptsByStatus),
        stored: docs.length,
        okNotStored,
        failedButStored,
        duplicates,
        roomsWithSeqHoles: seqHoles,
        rssMB: { start: mb(firstRss), peak: mb(peakRss), afterCooldownGc: mb(latest?.rss ?? 0) },
        heapMB: { peak: mb(peakHeap), afterCooldownGc: mb(latest?.heapUsed ?? 0) },
      },
      null,
      2,
    ),
  );
  await mongo.db().dropDatabase();
  await mongo.close();
  child.send({ type: 'stop' });
  await new Promise((resolve) => child.once('exit', resolve));
  await ferret?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
