// Acks in batches (ackBatch) against the real RabbitMQ: one ack with `multiple` per
// batch, flushed when full, before a nack and at close; never before handling, so a
// consumer that dies with a batch unacked gets it redelivered.
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { eventEnvelopeSchema, type EventEnvelope } from '@parley/contracts';
import {
  createAmqpConnection,
  createEventConsumer,
  createEventPublisher,
  type AmqpConnection,
} from '@parley/server-kit';
import { amqpUrl, createSilentLogger, uniqueName, waitFor } from '@parley/testing';

const AMQP_URL = amqpUrl();
const logger = createSilentLogger();

function makeEvent(n: number): EventEnvelope {
  return {
    id: randomUUID(),
    type: 'new_message',
    version: 1,
    occurredAt: new Date().toISOString(),
    recipients: ['u1'],
    data: { n },
  };
}

describe('event consumer acks in batches', () => {
  let admin: amqplib.ChannelModel;
  let adminChannel: amqplib.Channel;
  let exchange: string;
  let queue: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    admin = await amqplib.connect(AMQP_URL);
    adminChannel = await admin.createChannel();
  });
  afterAll(async () => {
    await admin.close();
  });
  beforeEach(() => {
    exchange = uniqueName('kit.ackbatch');
    queue = `${exchange}.q`;
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await adminChannel.deleteQueue(queue).catch(() => undefined);
    await adminChannel.deleteQueue(`${exchange}.dead-letter`).catch(() => undefined);
    await adminChannel.deleteExchange(`${exchange}.dlx`).catch(() => undefined);
    await adminChannel.deleteExchange(exchange).catch(() => undefined);
  });

  function connect(): AmqpConnection {
    const conn = createAmqpConnection({
      url: AMQP_URL,
      connectionName: uniqueName('kit-ackbatch'),
      logger,
      reconnectTimeInSeconds: 0.2,
    });
    cleanups.push(() => conn.close());
    return conn;
  }

  async function publish(conn: AmqpConnection, events: EventEnvelope[]): Promise<void> {
    const publisher = createEventPublisher(conn, { exchange });
    for (const event of events) await publisher.publish(event);
    await publisher.close();
  }

  test('When 7 messages are handled with batches of 3, then 3 ack frames cover them (3, 3, and 1 at close)', async () => {
    const conn = connect();
    const handled: number[] = [];
    const acks: number[] = [];
    const consumer = createEventConsumer(conn, {
      exchange,
      queue: { name: queue },
      prefetch: 20,
      logger,
      schema: eventEnvelopeSchema,
      ackBatch: { max: 3, windowMs: 60_000 },
      onAck: (messages) => acks.push(messages),
      handle: async (event) => void handled.push((event.data as { n: number }).n),
    });
    await consumer.waitForConnect();
    await publish(
      conn,
      Array.from({ length: 7 }, (_, i) => makeEvent(i)),
    );
    await waitFor(() => handled.length === 7, { description: '7 handled' });
    await waitFor(() => acks.length === 2, { description: 'two full batches acked' });
    expect(acks).toEqual([3, 3]);
    await consumer.close();
    expect(acks).toEqual([3, 3, 1]);
    // all acked: nothing is left in the queue for the next consumer
    expect((await adminChannel.checkQueue(queue)).messageCount).toBe(0);
  });

  test('When the consumer dies with a batch handled but not acked, then the batch is redelivered', async () => {
    const first = connect();
    const handled: number[] = [];
    const consumer = createEventConsumer(first, {
      exchange,
      queue: { name: queue },
      logger,
      schema: eventEnvelopeSchema,
      ackBatch: { max: 50, windowMs: 60_000 },
      handle: async (event) => void handled.push((event.data as { n: number }).n),
    });
    await consumer.waitForConnect();
    await publish(
      first,
      Array.from({ length: 5 }, (_, i) => makeEvent(i)),
    );
    await waitFor(() => handled.length === 5, { description: '5 handled' });
    await first.close(); // the connection goes, the batch's ack never left

    const second = connect();
    const redelivered: boolean[] = [];
    const again = createEventConsumer(second, {
      exchange,
      queue: { name: queue },
      logger,
      schema: eventEnvelopeSchema,
      ackBatch: { max: 50, windowMs: 50 },
      handle: async (_event, raw) => void redelivered.push(raw.fields.redelivered),
    });
    cleanups.push(() => again.close());
    await waitFor(() => redelivered.length === 5, { description: 'the batch redelivered' });
    expect(redelivered).toEqual([true, true, true, true, true]);
  });

  test('When a handler fails after others were handled, then their batch is acked before the failed one is requeued', async () => {
    const conn = connect();
    const acks: number[] = [];
    const seen: string[] = [];
    const consumer = createEventConsumer(conn, {
      exchange,
      queue: { name: queue },
      logger,
      schema: eventEnvelopeSchema,
      ackBatch: { max: 50, windowMs: 60_000 },
      onAck: (messages) => acks.push(messages),
      handle: async (event, raw) => {
        const n = (event.data as { n: number }).n;
        seen.push(`${n}${raw.fields.redelivered ? 'r' : ''}`);
        if (n === 2 && !raw.fields.redelivered) throw new Error('once');
      },
    });
    await consumer.waitForConnect();
    await publish(
      conn,
      Array.from({ length: 3 }, (_, i) => makeEvent(i)),
    );
    await waitFor(() => seen.includes('2r'), { description: 'the failed one redelivered' });
    // 0 and 1 were acked (one frame) before 2 was nacked; not redelivered
    expect(acks[0]).toBe(2);
    expect(seen.filter((s) => s.startsWith('0') || s.startsWith('1'))).toEqual(['0', '1']);
    await consumer.close();
  });
});
