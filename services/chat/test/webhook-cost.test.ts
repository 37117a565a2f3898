// Issue 18, what a webhook delivery costs: the delivery worker's MongoDB commands per
// successful delivery, read where production exposes them (parley_mongo_commands_total
// on the worker's registry, counted by the driver's command monitoring), with the
// dispatcher as the worker runs it (events arriving one by one, in a stream, or together
// as the consumer hands over what it took, the lane delivering meanwhile) and a receiver
// that always answers 2xx.
import { connectMongo, createMetrics, type MongoConnection } from '@parley/server-kit';
import { createSilentLogger, waitFor } from '@parley/testing';
import { createWebhookStore } from '../src/webhooks/webhook-store';
import { useChatHarness } from './support/chat-harness';
import { insertWebhook, messageEvent, recordingDispatcher } from './support/webhook-lanes';

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

it.each([
  // per event: its room's webhooks (accept), the delivery stored before the ack, and the
  // one write settling it with its attempt; the webhook is read once, the owed deliveries
  // once (the lane keeps them after), the records to trim looked at every 50th
  ['one by one, each delivered before the next arrives', 304, 'one by one'],
  ['in a stream, each stored while earlier ones are delivered', 304, 'stream'],
  // one find and one insert for all, the owed deliveries read 50 at a time: about 1 each
  ['together (as the consumer hands them over, up to its prefetch)', 108, 'together'],
] as const)(
  'When 100 events reach one webhook %s, then they cost %d MongoDB commands in all (%s), and the last 100 are listed newest first',
  async (_case, expected, arrival) => {
    // the worker's commands are counted; the test's own go through the harness's client
    const store = createWebhookStore(mongo.db);
    const checks = createWebhookStore(h.db);
    const webhook = await insertWebhook(checks);
    const { roomId } = webhook;
    const { dispatcher, sent } = recordingDispatcher(store);
    const texts = Array.from({ length: 100 }, (_, i) => `m${i}`);
    try {
      const before = await commandsSent();
      if (arrival === 'together') {
        await Promise.all(texts.map((text) => dispatcher.accept(messageEvent(roomId, text))));
      } else {
        for (const text of texts) {
          await dispatcher.accept(messageEvent(roomId, text));
          if (arrival === 'one by one')
            await waitFor(() => sent.at(-1) === text, { description: text });
        }
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
      expect(delta.get('insert webhook_deliveries')).toBe(arrival === 'together' ? 1 : 100);
      expect(delta.get('update webhook_deliveries')).toBe(100);
      expect(total).toBe(expected);
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
