// Issue 18, what a webhook delivery costs: the delivery worker's MongoDB commands per
// successful delivery, read where production exposes them (parley_mongo_commands_total
// on the worker's registry, counted by the driver's command monitoring), with the
// dispatcher as the worker runs it (one event at a time, each stored before the next,
// the lane delivering meanwhile) and a receiver that always answers 2xx.
import { createEvent, type ParleyEvent } from '@parley/contracts';
import { connectMongo, createMetrics, type MongoConnection } from '@parley/server-kit';
import { createSilentLogger, waitFor } from '@parley/testing';
import { ObjectId } from 'mongodb';
import { createWebhookDispatcher } from '../src/webhooks/webhook-dispatcher';
import { createWebhookStore } from '../src/webhooks/webhook-store';
import { useChatHarness } from './support/chat-harness';

const h = useChatHarness();
let mongo: MongoConnection;
const metrics = createMetrics({ service: 'webhooks', defaultMetrics: false });

beforeAll(async () => {
  mongo = await connectMongo({
    url: h.mongoUrl,
    logger: createSilentLogger('webhooks'),
    appName: 'webhook-cost',
    metrics,
  });
});
afterAll(() => mongo.close());

async function commandsSent(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { labels, value } of (await metrics.cost.mongoCommands.get()).values)
    counts.set(`${labels.command} ${labels.collection}`, value);
  return counts;
}

function messageEvent(roomId: string, text: string): ParleyEvent {
  return createEvent(
    'new_message',
    {
      message: {
        id: new ObjectId().toHexString(),
        conversationId: roomId,
        seq: 1,
        sender: { id: 'u1', username: 'alice' },
        text,
        reactions: {},
        createdAt: new Date().toISOString(),
      },
      conversation: { id: roomId, kind: 'room', name: 'hooks' },
    },
    ['u1'],
  );
}

it.each([
  ['one by one, each delivered before the next arrives', true],
  ['in a stream, stored while earlier ones are delivered', false],
])(
  'When 100 events reach one webhook %s, then they cost 3.04 MongoDB commands each, and the last 100 are listed newest first',
  async (_case, oneByOne) => {
    // the worker's commands are counted; the test's own go through the harness's client
    const store = createWebhookStore(mongo.db);
    const checks = createWebhookStore(h.db);
    const roomId = `room-${new ObjectId().toHexString()}`;
    const webhook = await checks.insert({
      roomId,
      url: 'https://93.184.215.14/hook',
      events: ['new_message'],
      secret: 'whsec_test',
      createdBy: 'u1',
      createdAt: new Date(),
    });
    const sent: string[] = [];
    const dispatcher = createWebhookDispatcher({
      store,
      delivery: { timeoutMs: 1_000, allowPrivate: false },
      logger: createSilentLogger('webhooks'),
      send: (request) => {
        sent.push(JSON.parse(request.body).data.message.text as string);
        return Promise.resolve({ delivered: true, status: 204, durationMs: 1 });
      },
    });
    const texts = Array.from({ length: 100 }, (_, i) => `m${i}`);
    try {
      const before = await commandsSent();
      for (const text of texts) {
        await dispatcher.accept(messageEvent(roomId, text));
        if (oneByOne) await waitFor(() => sent.at(-1) === text, { description: text });
      }
      const webhookId = webhook._id.toHexString();
      await waitFor(
        async () =>
          (await checks.deliveries.countDocuments({
            webhookId,
            nextAttemptAt: { $exists: true },
          })) === 0,
        { description: 'nothing owed' },
      );
      const after = await commandsSent();
      const delta = new Map<string, number>();
      for (const [key, n] of after)
        if (n - (before.get(key) ?? 0) > 0) delta.set(key, n - (before.get(key) ?? 0));
      const total = [...delta.values()].reduce((sum, n) => sum + n, 0);
      process.stdout.write(
        `[webhook cost] ${total} MongoDB commands for 100 deliveries: ${JSON.stringify(Object.fromEntries(delta))}\n`,
      );
      expect(sent).toEqual(texts); // once each, in order
      // per event: its room's webhooks (accept), the delivery stored before the ack, and
      // the one write settling it with its attempt; the webhook is read once, the owed
      // deliveries once (the lane keeps them after), old records looked at every 50th
      expect(delta.get('find webhooks')).toBe(101);
      expect(delta.get('insert webhook_deliveries')).toBe(100);
      expect(delta.get('update webhook_deliveries')).toBe(100);
      expect(delta.get('find webhook_deliveries')).toBe(3);
      expect(total).toBe(304);
      const listed = await checks.recentAttempts(webhookId, 100);
      expect(listed.map((a) => [a.attempt, a.delivered, a.status])).toEqual(
        texts.map(() => [1, true, 204]),
      );
      expect(listed.map((a) => a.deliveryId)).toEqual(
        (await checks.deliveries.find({ webhookId }).sort({ _id: -1 }).toArray()).map(
          (d) => d.deliveryId,
        ),
      );
    } finally {
      await dispatcher.stop();
    }
  },
);
