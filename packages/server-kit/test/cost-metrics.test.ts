// The round-trip counters (cost-metrics.ts) against the real servers: they must move
// by exactly what was sent, since the bench divides them by sends and events.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import amqplib from 'amqplib';
import { eventEnvelopeSchema, type EventEnvelope } from '@parley/contracts';
import {
  connectMongo,
  createAmqpConnection,
  createEventConsumer,
  createEventPublisher,
  createLogger,
  createMetrics,
  type Metrics,
} from '@parley/server-kit';
import { amqpUrl, createSilentLogger, uniqueDbName, uniqueName, waitFor } from '@parley/testing';

const logger = createSilentLogger();

async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}) {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, unknown> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('cost metrics', () => {
  it('When a service sends MongoDB commands, then each is counted once by command and collection', async () => {
    const metrics = createMetrics({ service: 'kit', defaultMetrics: false });
    const url = new URL(process.env['MONGO_URL'] ?? 'mongodb://127.0.0.1:27017');
    url.pathname = `/${uniqueDbName('kitcost')}`;
    const mongo = await connectMongo({ url: url.toString(), logger, metrics });
    try {
      const things = mongo.db.collection('things');
      await things.insertOne({ n: 1 });
      await things.insertMany([{ n: 2 }, { n: 3 }]);
      await things.updateOne({ n: 1 }, { $set: { m: 1 } });
      await things.find({}).toArray();
      await mongo.ping();
      const m = 'parley_mongo_commands_total';
      expect(await value(metrics, m, { command: 'insert', collection: 'things' })).toBe(2);
      expect(await value(metrics, m, { command: 'update', collection: 'things' })).toBe(1);
      expect(await value(metrics, m, { command: 'find', collection: 'things' })).toBe(1);
      expect(await value(metrics, m, { command: 'ping', collection: '' })).toBe(1);
      await mongo.db.dropDatabase();
    } finally {
      await mongo.close();
    }
  });

  it('When events are published, consumed and acked, then publishes, confirms, deliveries and acks are counted', async () => {
    const metrics = createMetrics({ service: 'kit', defaultMetrics: false });
    const exchange = uniqueName('kit.cost');
    const conn = createAmqpConnection({
      url: amqpUrl(),
      connectionName: uniqueName('kit-cost'),
      logger,
      metrics,
    });
    const seen = new Set<string>();
    const consumer = createEventConsumer<EventEnvelope>(conn, {
      exchange,
      schema: eventEnvelopeSchema,
      logger,
      deadLetterExchange: false,
      handle: async (event) => void seen.add(event.id),
    });
    const publisher = createEventPublisher<EventEnvelope>(conn, { exchange });
    try {
      await consumer.waitForConnect();
      for (let n = 0; n < 3; n++) {
        await publisher.publish({
          id: randomUUID(),
          type: 'new_message',
          version: 1,
          occurredAt: new Date().toISOString(),
          recipients: ['u1'],
          data: { n },
        });
      }
      await waitFor(() => seen.size === 3, { timeoutMs: 5_000, description: '3 deliveries' });
      await waitFor(async () => (await value(metrics, 'parley_amqp_acks_total')) === 3, {
        timeoutMs: 5_000,
        description: '3 acks',
      });
      expect(await value(metrics, 'parley_amqp_publishes_total', { exchange })).toBe(3);
      expect(await value(metrics, 'parley_amqp_confirms_total')).toBe(3);
      expect(await value(metrics, 'parley_amqp_deliveries_total')).toBe(3);
    } finally {
      await consumer.close();
      await publisher.close();
      await conn.close();
      const admin = await amqplib.connect(amqpUrl());
      const channel = await admin.createChannel();
      await channel.deleteExchange(exchange).catch(() => undefined);
      await admin.close();
    }
  });

  it('When lines are logged, then each one written is counted by level, children included', async () => {
    const metrics = createMetrics({ service: 'kit', defaultMetrics: false });
    let written = 0;
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        written += chunk.toString().split('\n').filter(Boolean).length;
        cb();
      },
    });
    const log = createLogger({ name: 'kit', level: 'info', destination, metrics });
    log.info('one');
    log.child({ component: 'x' }).warn('two');
    log.debug('below the level: neither written nor counted');
    await waitFor(() => written === 2, { timeoutMs: 2_000, description: 'two lines written' });
    expect(await value(metrics, 'parley_log_lines_total', { level: 'info' })).toBe(1);
    expect(await value(metrics, 'parley_log_lines_total', { level: 'warn' })).toBe(1);
    expect(await value(metrics, 'parley_log_lines_total', { level: 'debug' })).toBe(0);
  });
});
