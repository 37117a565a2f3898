// Outgoing webhooks end to end (docs/design.md §12): auth, chat, websocket and the webhook
// worker as real processes, and a real HTTP receiver on loopback that checks every
// signature the way docs/design.md tells receivers to (HMAC-SHA256 over "<t>.<body>",
// compared in constant time). It sees retries after answering 500, and gets every
// event once and in order across a restart of the worker.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createdWebhookResponseSchema,
  webhookAttemptsResponseSchema,
  type Conversation,
} from '@parley/contracts';
import { createUsers, tokenOf, useStack, waitFor, type TestUser } from '@parley/testing';

const e2e = useStack({
  name: 'webhooks',
  webhooks: true,
  serviceEnv: { webhooks: { WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '800' } },
});

interface Received {
  deliveryId: string;
  event: string;
  body: { id: string; type: string; data: { message?: { text: string; seq: number } } } & Record<
    string,
    unknown
  >;
  signatureValid: boolean;
}

/** A receiver as a bot would write one: verify, then answer (500 while `failNext` > 0). */
class Receiver {
  readonly received: Received[] = [];
  failNext = 0;
  secret = '';
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        const signatureValid = verify(
          this.secret,
          String(req.headers['x-parley-signature']),
          raw,
          Date.now(),
        );
        if (this.failNext > 0) {
          this.failNext -= 1;
          res.writeHead(500).end();
          return;
        }
        this.received.push({
          deliveryId: String(req.headers['x-parley-delivery']),
          event: String(req.headers['x-parley-event']),
          body: JSON.parse(raw) as Received['body'],
          signatureValid,
        });
        res.writeHead(204).end();
      });
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  texts(): string[] {
    return this.received.map((r) => r.body.data.message?.text ?? '');
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

/** What docs/design.md §12 asks of receivers: recompute, compare in constant time, bound the age. */
function verify(secret: string, header: string, body: string, nowMs: number): boolean {
  const fields = Object.fromEntries(
    header.split(',').map((kv) => kv.split('=') as [string, string]),
  );
  const t = Number(fields.t);
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > 300 || !fields.v1) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(fields.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

let owner: TestUser;
let member: TestUser;
let room: Conversation;
const receivers: Receiver[] = [];

async function call(user: TestUser, method: string, path: string, body?: unknown) {
  const res = await fetch(`${e2e.stack.chatUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokenOf(user)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as unknown };
}

async function registered(receiver: Receiver, url: string): Promise<string> {
  const res = await call(owner, 'POST', `/chat/rooms/${room.id}/webhooks`, {
    url,
    events: ['new_message'],
  });
  expect(res.status).toBe(201);
  const { webhook } = createdWebhookResponseSchema.parse(res.body);
  receiver.secret = webhook.secret;
  return webhook.id;
}

async function newReceiver(): Promise<{ receiver: Receiver; url: string }> {
  const receiver = new Receiver();
  receivers.push(receiver);
  return { receiver, url: await receiver.start() };
}

beforeAll(async () => {
  [owner, member] = (await createUsers(e2e.stack, ['owner', 'member'])) as [TestUser, TestUser];
  room = await owner.client.createRoom({ name: 'bots', members: [member.username] });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
});

it('When the owner registers a webhook, then each new message reaches it signed, without the recipients; others may not register', async () => {
  const { receiver, url } = await newReceiver();
  const byMember = await call(member, 'POST', `/chat/rooms/${room.id}/webhooks`, {
    url,
    events: ['new_message'],
  });
  const notHttp = await call(owner, 'POST', `/chat/rooms/${room.id}/webhooks`, {
    url: 'ftp://127.0.0.1/hook',
    events: ['new_message'],
  });
  expect([byMember.status, notHttp.status]).toEqual([403, 400]);

  await registered(receiver, url);
  const sent = await owner.client.send({ conversationId: room.id, text: 'hello bots' });

  const got = await waitFor(() => receiver.received.find((r) => r.body.id !== undefined), {
    description: 'the webhook delivery',
  });
  expect(got).toMatchObject({ event: 'new_message', signatureValid: true });
  expect(got.body.type).toBe('new_message');
  expect(got.body.data.message).toMatchObject({ id: sent.id, text: 'hello bots' });
  expect(got.deliveryId).toBe(got.body.id);
  expect(got.body).not.toHaveProperty('recipients');
});

it('When the receiver answers 500, then the same delivery is retried until it succeeds, later ones wait their turn, and the attempts are listed', async () => {
  const { receiver, url } = await newReceiver();
  const webhookId = await registered(receiver, url);
  receiver.failNext = 2;

  await owner.client.send({ conversationId: room.id, text: 'retry 1' });
  await owner.client.send({ conversationId: room.id, text: 'retry 2' });

  await waitFor(() => receiver.received.length >= 2, {
    timeoutMs: 15_000,
    description: 'both deliveries after the retries',
  });
  expect(receiver.texts()).toEqual(['retry 1', 'retry 2']);
  expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
  const attempts = await waitFor(async () => {
    const res = await call(owner, 'GET', `/chat/rooms/${room.id}/webhooks/${webhookId}/deliveries`);
    const list = webhookAttemptsResponseSchema.parse(res.body).attempts;
    return list.length >= 4 ? list : undefined;
  });
  // newest first: two deliveries, the first of them after two 500s
  expect(attempts.map((a) => [a.status, a.delivered, a.attempt])).toEqual([
    [204, true, 1],
    [204, true, 3],
    [500, false, 2],
    [500, false, 1],
  ]);
});

it('When the worker restarts in the middle of a stream of messages, then every event arrives once and in order', async () => {
  const { receiver, url } = await newReceiver();
  await registered(receiver, url);
  const worker = e2e.stack.services.webhooks;
  if (!worker) throw new Error('the stack has no webhook worker');
  const texts = Array.from({ length: 12 }, (_, i) => `stream ${i + 1}`);

  for (const text of texts.slice(0, 4)) await owner.client.send({ conversationId: room.id, text });
  await waitFor(() => receiver.received.length >= 1, { description: 'the first deliveries' });
  const stopping = worker.stop();
  for (const text of texts.slice(4, 8)) await owner.client.send({ conversationId: room.id, text });
  await stopping;
  for (const text of texts.slice(8)) await owner.client.send({ conversationId: room.id, text });
  await worker.start();

  await waitFor(() => receiver.received.length >= texts.length, {
    timeoutMs: 20_000,
    description: 'all twelve deliveries',
  });
  expect(receiver.texts()).toEqual(texts);
  expect(new Set(receiver.received.map((r) => r.deliveryId)).size).toBe(texts.length);
});
