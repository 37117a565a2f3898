// One load-generator process. run.mjs forks several (so the generator is not the
// bottleneck on a small machine) and drives them over IPC: create users, open
// sockets, run one paced step, collect what arrived. Everything that crosses the
// IPC boundary is small: counts and latency histograms, never per-message arrays.
//
// Open loop: message i of a step is due at startAt + i / rate on the machine's
// monotonic clock (shared by every process on the host), whatever happened to
// message i-1. Latency is measured from that due time, so a stalled server or a
// late generator shows up as latency instead of silently lowering the offered rate
// (coordinated omission).
import http from 'node:http';
import WebSocket from 'ws';
import { createHistogram, record } from './lib/histogram.mjs';

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const REQUEST_TIMEOUT_MS = 15_000;

// sockets per group ('parley', 'raw'): both targets stay connected side by side
/** @type {Map<string, {user: {id: string, username: string, token?: string}, ws: WebSocket, seen: Set<number>}[]>} */
const groups = new Map();
const closedUnexpectedly = [];
let sockets = []; // the group the current step runs on
let step = null; // the step whose deliveries are being counted
const pendingAcks = new Map(); // ref → {due}

function request(url, { method = 'GET', token, apiKey, body } = {}) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      {
        method,
        agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': payload.length }
            : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(apiKey ? { 'x-api-key': apiKey } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, body: json });
        });
        res.on('error', (err) => resolve({ status: 0, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
    req.end(payload);
  });
}

async function inParallel(items, concurrency, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index], index);
      }
    }),
  );
  return results;
}

// ---- users -------------------------------------------------------------------

/** A setup call, retried while the server answers 503/429 or not at all (a busy machine). */
async function retrying(call) {
  for (let attempt = 0; ; attempt += 1) {
    const res = await call();
    if (![0, 429, 503].includes(res.status) || attempt === 5) return res;
    await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
  }
}

async function createUsers({ authUrl, usernames, password, concurrency }) {
  const errors = [];
  const users = await inParallel(usernames, concurrency, async (username) => {
    const registered = await retrying(() =>
      request(`${authUrl}/auth/register`, { method: 'POST', body: { username, password } }),
    );
    if (registered.status !== 201 && registered.status !== 409) {
      errors.push(`register ${username}: ${registered.status} ${JSON.stringify(registered.body)}`);
      return null;
    }
    const login = await retrying(() =>
      request(`${authUrl}/auth/login`, { method: 'POST', body: { username, password } }),
    );
    if (login.status !== 200) {
      errors.push(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
      return null;
    }
    return { id: login.body.user.id, username, token: login.body.accessToken };
  });
  return { users: users.filter(Boolean), errors: errors.slice(0, 5), failed: errors.length };
}

// ---- sockets -----------------------------------------------------------------

/**
 * A Centrifugo frame: newline-separated JSON replies and pushes; a publication
 * becomes the `message` frame the counting below reads (its data is `{text}`).
 */
function onCentrifugoFrame(entry, data) {
  for (const line of data.toString().split('\n')) {
    if (line === '') continue;
    const reply = JSON.parse(line);
    if (Object.keys(reply).length === 0) {
      entry.ws.send('{}'); // the server's ping; a client answers with a pong
      continue;
    }
    const text = reply.push?.pub?.data?.text;
    if (text !== undefined) onParsedFrame(entry, { type: 'message', text });
  }
}

function onFrame(entry, data) {
  onParsedFrame(entry, JSON.parse(data.toString()));
}

function onParsedFrame(entry, frame) {
  if (frame.type === 'ack' || (frame.type === 'error' && frame.ref !== undefined)) {
    const pending = pendingAcks.get(frame.ref);
    if (!pending) return;
    pendingAcks.delete(frame.ref);
    pending.settle(frame.type === 'ack' ? 201 : `ws ${frame.code}`);
    return;
  }
  if (frame.type !== 'message' || !step) return;
  // Parley pushes the stored message; the raw pipeline pushes the bare text
  const text = frame.message?.text ?? frame.text;
  if (step.skipEcho && frame.message && frame.message.sender.id === entry.user.id) {
    step.echoes += 1; // a REST send reaches the sender's own socket too (other devices)
    return;
  }
  const [tag, indexText, dueText] = text.split(':');
  if (tag !== step.tag) {
    step.strays += 1;
    return;
  }
  const at = nowMs();
  const index = Number(indexText);
  if (entry.seen.has(index)) {
    step.duplicates += 1;
    return;
  }
  entry.seen.add(index);
  step.delivered += 1;
  step.lastDeliveryAt = at;
  if (at <= step.windowEnd) step.deliveredInWindow += 1;
  record(step.latency, at - Number(dueText));
}

async function connect({ group, kind, baseUrl, users, concurrency }) {
  const handshake = createHistogram();
  const errors = [];
  const started = nowMs();
  const opened = await inParallel(users, concurrency, (user) => {
    if (kind === 'centrifugo') return connectCentrifugo({ baseUrl, user, handshake, errors });
    const url =
      kind === 'raw'
        ? `${baseUrl}/?user=${encodeURIComponent(user.id)}`
        : `${baseUrl}/ws?token=${encodeURIComponent(user.token)}`;
    return openSocket({
      url,
      user,
      handshake,
      errors,
      // the first frame must be `ready`
      isReady: (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'ready') throw new Error(`first frame ${frame.type}`);
        return true;
      },
      onFrame,
    });
  });
  const elapsedMs = nowMs() - started;
  const fresh = opened.filter(Boolean);
  if (!groups.has(group)) groups.set(group, []);
  groups.get(group).push(...fresh);
  return {
    connected: fresh.length,
    failed: errors.length,
    errors: [...new Set(errors)].slice(0, 5),
    elapsedMs,
    handshake,
  };
}
/**
 * A Centrifugo client over its JSON protocol: connect with the user's token, then
 * subscribe to the bench channel; ready once the subscribe is answered.
 */
function connectCentrifugo({ baseUrl, user, handshake, errors }) {
  return openSocket({
    url: `${baseUrl}/connection/websocket`,
    user,
    handshake,
    errors,
    greet: (ws) =>
      ws.send(
        `${JSON.stringify({ id: 1, connect: { token: user.token } })}\n` +
          JSON.stringify({ id: 2, subscribe: { channel: user.channel } }),
      ),
    isReady: (data) => {
      for (const line of data.toString().split('\n')) {
        if (line === '') continue;
        const reply = JSON.parse(line);
        if (reply.error) throw new Error(`centrifugo ${reply.id}: ${JSON.stringify(reply.error)}`);
        if (reply.id === 2) return true;
      }
      return false;
    },
    onFrame: onCentrifugoFrame,
  });
}

/**
 * Opens one socket; `greet` speaks first once it is open, `isReady` reads frames until
 * it says the socket is ready (or throws why not), then `onFrame` gets every frame.
 * Resolves with the socket's entry, or null (the reason in `errors`).
 */
function openSocket({ url, user, handshake, errors, greet, isReady, onFrame: frames }) {
  return new Promise((resolve) => {
    const begun = nowMs();
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const entry = { user, ws, seen: new Set(), conversations: new Map() };
    const fail = (why) => {
      errors.push(why);
      ws.terminate();
      resolve(null);
    };
    ws.once('unexpected-response', (_req, res) => fail(`upgrade ${res.statusCode}`));
    ws.once('error', (err) => fail(err.message));
    if (greet) ws.once('open', () => greet(ws));
    const onSetup = (data) => {
      let ready;
      try {
        ready = isReady(data);
      } catch (err) {
        return fail(err.message);
      }
      if (!ready) return;
      record(handshake, nowMs() - begun);
      ws.off('message', onSetup);
      ws.removeAllListeners('error');
      ws.on('error', () => {});
      ws.on('message', (more) => frames(entry, more));
      ws.on('close', (code) => {
        if (!entry.closing) closedUnexpectedly.push(code);
      });
      resolve(entry);
    };
    ws.on('message', onSetup);
  });
}

async function disconnect({ group }) {
  const members = groups.get(group) ?? [];
  const closing = members.map(
    (entry) =>
      new Promise((resolve) => {
        entry.closing = true;
        if (entry.ws.readyState === WebSocket.CLOSED) return resolve();
        entry.ws.once('close', resolve);
        entry.ws.terminate();
      }),
  );
  await Promise.all(closing);
  groups.delete(group);
  return { closed: members.length };
}

// ---- one paced step ----------------------------------------------------------

/** Who sends message `local` (this worker's n-th send) and to whom, per mode. */
function pairFor(local) {
  // a step may use only the first `pairs` pairs (the fixed-rate cost step: 50 conversations)
  const pairs = Math.min(step.pairs ?? Infinity, Math.floor(sockets.length / 2));
  const pair = local % pairs;
  const flip = Math.floor(local / pairs) % 2 === 1;
  const a = sockets[2 * pair];
  const b = sockets[2 * pair + 1];
  return flip ? { from: b, to: a } : { from: a, to: b };
}

function addressOf(spec, from, to) {
  const conversationId = from.conversations.get(to.user.id);
  return spec.address === 'conversation' && conversationId
    ? { conversationId }
    : { to: to.user.username };
}

function sendOne(spec, index, due) {
  const text = `${spec.tag}:${index}:${due.toFixed(3)}`;
  switch (spec.mode) {
    case 'rest': {
      const { from, to } = pairFor(step.sends);
      step.expect.push({ index, entry: to });
      return request(`${spec.url}/chat/send`, {
        method: 'POST',
        token: from.user.token,
        body: { ...addressOf(spec, from, to), text },
      }).then((res) => res.status || res.error);
    }
    case 'raw': {
      const { to } = pairFor(step.sends);
      step.expect.push({ index, entry: to });
      return request(`${spec.url}/send`, {
        method: 'POST',
        body: { to: to.user.id, text },
      }).then((res) => res.status || res.error);
    }
    case 'ws': {
      const { from, to } = pairFor(step.sends);
      step.expect.push({ index, entry: to });
      const ref = `${spec.tag}-${index}`;
      return new Promise((settle) => {
        const timer = setTimeout(() => {
          pendingAcks.delete(ref);
          settle('ack timeout');
        }, REQUEST_TIMEOUT_MS);
        pendingAcks.set(ref, {
          settle: (result) => {
            clearTimeout(timer);
            settle(result);
          },
        });
        from.ws.send(JSON.stringify({ type: 'send', ref, ...addressOf(spec, from, to), text }));
      });
    }
    case 'room':
      return request(`${spec.url}/chat/send`, {
        method: 'POST',
        token: spec.senderToken,
        body: { conversationId: spec.conversationId, text },
      }).then((res) => res.status || res.error);
    case 'peer':
      // Centrifugo's server API: one publish to the channel every subscriber is on
      return request(`${spec.url}/api/publish`, {
        method: 'POST',
        apiKey: spec.apiKey,
        body: { channel: spec.channel, data: { text } },
      }).then((res) => (res.status === 200 && !res.body?.error ? 201 : res.status || res.error));
    case 'broadcast':
      sockets[0].ws.send(JSON.stringify({ broadcast: text }));
      return Promise.resolve(201);
    default:
      throw new Error(`unknown mode ${spec.mode}`);
  }
}

function newStep(spec) {
  sockets = groups.get(spec.group) ?? [];
  for (const entry of sockets) entry.seen.clear();
  step = {
    tag: spec.tag,
    // 1:1 REST: the sender's own socket gets its message too; not a delivery we count
    skipEcho: spec.mode === 'rest',
    pairs: spec.pairs,
    windowEnd: spec.startAt + spec.durationMs,
    latency: createHistogram(),
    response: createHistogram(),
    sends: 0,
    ok: [],
    expect: [],
    errors: 0,
    errorSamples: new Set(),
    delivered: 0,
    deliveredInWindow: 0,
    duplicates: 0,
    echoes: 0,
    strays: 0,
    lastDeliveryAt: 0,
    lateStarts: 0,
  };
}

/** Sends this worker's share of the step (if it is a sender) and waits for the answers. */
async function runStep(spec) {
  newStep(spec);
  if (!spec.sender) return { sends: 0 };
  const interval = 1000 / spec.rate;
  const total = Math.round((spec.rate * spec.durationMs) / 1000);
  const inFlight = [];
  let next = spec.senderIndex;
  await new Promise((done) => {
    const pump = () => {
      const now = nowMs();
      while (next < total && spec.startAt + next * interval <= now) {
        const index = next;
        const due = spec.startAt + index * interval;
        if (now - due > 5) step.lateStarts += 1;
        inFlight.push(
          sendOne(spec, index, due).then((result) => {
            record(step.response, nowMs() - due);
            if (result === 200 || result === 201) step.ok.push(index);
            else {
              step.errors += 1;
              if (step.errorSamples.size < 5) step.errorSamples.add(String(result));
            }
          }),
        );
        step.sends += 1;
        next += spec.senders;
      }
      if (next >= total) return done();
      setTimeout(pump, Math.max(0, spec.startAt + next * interval - nowMs()));
    };
    setTimeout(pump, Math.max(0, spec.startAt - nowMs()));
  });
  await Promise.all(inFlight);
  return {
    sends: step.sends,
    ok: step.ok,
    errors: step.errors,
    errorSamples: [...step.errorSamples],
    lateStarts: step.lateStarts,
    response: step.response,
  };
}

/**
 * Waits until every expected delivery arrived, or nothing arrived for `stallMs`, or
 * `maxMs` passed; then counts. `okAll` (room/broadcast): indices every local socket
 * must get; otherwise this worker's own accepted 1:1 sends.
 */
async function collect({ okAll, stallMs, maxMs }) {
  const okLocal = new Set(step.ok);
  const expectations = okAll
    ? okAll.flatMap((index) => sockets.map((entry) => ({ index, entry })))
    : step.expect.filter(({ index }) => okLocal.has(index));
  const expected = expectations.length;
  const begun = nowMs();
  let lastCount = -1;
  let lastChange = begun;
  while (step.delivered < expected) {
    const now = nowMs();
    if (step.delivered !== lastCount) {
      lastCount = step.delivered;
      lastChange = now;
    }
    if (now - lastChange > stallMs || now - begun > maxMs) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let lost = 0;
  for (const { index, entry } of expectations) if (!entry.seen.has(index)) lost += 1;
  const result = {
    expected,
    delivered: step.delivered,
    deliveredInWindow: step.deliveredInWindow,
    lost,
    duplicates: step.duplicates,
    echoes: step.echoes,
    strays: step.strays,
    lastDeliveryAt: step.lastDeliveryAt,
    latency: step.latency,
    unexpectedCloses: closedUnexpectedly.splice(0),
  };
  return result;
}

// ---- auth throughput (closed loop: N callers back to back) ---------------------

async function authThroughput({ url, path, method, body, token, seconds, concurrency }) {
  const latency = createHistogram();
  let count = 0;
  let errors = 0;
  const errorSamples = new Set();
  const deadline = nowMs() + seconds * 1000;
  const started = nowMs();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowMs() < deadline) {
        const begun = nowMs();
        const res = await request(`${url}${path}`, { method, body, token });
        record(latency, nowMs() - begun);
        count += 1;
        if (res.status !== 200) {
          errors += 1;
          if (errorSamples.size < 5)
            errorSamples.add(`${res.status} ${res.body?.code ?? res.error}`);
        }
      }
    }),
  );
  return { count, errors, errorSamples: [...errorSamples], elapsedMs: nowMs() - started, latency };
}

async function createRoom({ chatUrl, owner, members, concurrency }) {
  const created = await request(`${chatUrl}/chat/rooms`, {
    method: 'POST',
    token: owner.token,
    body: { name: `bench room ${Date.now().toString(36)}` },
  });
  if (created.status !== 201)
    throw new Error(`create room: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.conversation.id;
  const failures = [];
  await inParallel(members, concurrency, async (member) => {
    const joined = await retrying(() =>
      request(`${chatUrl}/chat/rooms/${id}/join`, { method: 'POST', token: member.token }),
    );
    if (joined.status !== 200) failures.push(`${joined.status} ${joined.body?.code}`);
  });
  if (failures.length) throw new Error(`join room: ${failures.length} failed, e.g. ${failures[0]}`);
  return { conversationId: id };
}

/** One REST send per pair of the group (closed loop, retried), before measuring. */
async function warmPairs({ group, chatUrl, concurrency }) {
  const members = groups.get(group) ?? [];
  const pairs = Array.from({ length: Math.floor(members.length / 2) }, (_, i) => [
    members[2 * i],
    members[2 * i + 1],
  ]);
  let failed = 0;
  await inParallel(pairs, concurrency, async ([from, to]) => {
    const res = await retrying(() =>
      request(`${chatUrl}/chat/send`, {
        method: 'POST',
        token: from.user.token,
        body: { to: to.user.username, text: 'warm:0:0' },
      }),
    );
    if (res.status !== 201) return void (failed += 1);
    // an open chat sends by conversation id from now on (--address conversation)
    from.conversations.set(to.user.id, res.body.message.conversationId);
    to.conversations.set(from.user.id, res.body.message.conversationId);
  });
  return { pairs: pairs.length, failed };
}

const handlers = {
  warmPairs,
  createUsers,
  connect,
  disconnect,
  runStep,
  collect,
  authThroughput,
  createRoom,
  socketCount: ({ group }) => ({ sockets: groups.get(group)?.length ?? 0 }),
};

process.on('message', async ({ id, cmd, args }) => {
  try {
    const result = await handlers[cmd](args ?? {});
    process.send({ id, result });
  } catch (err) {
    process.send({ id, error: err instanceof Error ? err.stack : String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
