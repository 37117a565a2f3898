// Component tests against the real RabbitMQ (AMQP_URL). Every test declares its own
// exchange and queues and deletes them afterwards.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { eventEnvelopeSchema, type EventEnvelope } from '@parley/contracts';
import {
  createAmqpConnection,
  createAmqpReadinessCheck,
  createEventConsumer,
  createEventPublisher,
  DependencyUnavailableError,
  type AmqpConnection,
  type EventConsumer,
  type EventPublisher,
} from '@parley/server-kit';
import { amqpUrl, createSilentLogger, freePort, uniqueName, waitFor } from '@parley/testing';

const AMQP_URL = amqpUrl();
const logger = createSilentLogger();
const run = promisify(execFile);

function makeEvent(n: number, type = 'new_message'): EventEnvelope {
  return {
    id: randomUUID(),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    recipients: ['u1'],
    data: { n },
  };
}

/**
 * Closes, from the broker side, every connection whose connection_name is `name`.
 * (The JSON formatter prints pids as `#PID<…>`, which close_connection does not
 * accept, so the tab-separated table is parsed instead.)
 */
async function closeFromBroker(name: string): Promise<number> {
  const marker = `{"connection_name","${name}"}`;
  const pids = await waitFor(
    async () => {
      const { stdout } = await run('rabbitmqctl', [
        'list_connections',
        'pid',
        'client_properties',
        '-q',
        '--no-table-headers',
      ]);
      const found = stdout
        .split('\n')
        .map((line) => line.split('\t'))
        .filter(([pid, properties]) => pid?.startsWith('<') && properties?.includes(marker))
        .map(([pid]) => pid as string);
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 10_000, description: `broker connection ${name}` },
  );
  for (const pid of pids)
    await run('rabbitmqctl', ['close_connection', pid, 'closed by server-kit test']);
  return pids.length;
}

describe('RabbitMQ publisher and consumer', () => {
  let admin: amqplib.ChannelModel;
  let adminChannel: amqplib.Channel;
  let exchange: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    admin = await amqplib.connect(AMQP_URL);
    adminChannel = await admin.createChannel();
  });
  afterAll(async () => {
    await admin.close();
  });
  beforeEach(() => {
    exchange = uniqueName('kit.events');
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await adminChannel.deleteQueue(`${exchange}.dead-letter`).catch(() => undefined);
    await adminChannel.deleteExchange(`${exchange}.dlx`).catch(() => undefined);
    await adminChannel.deleteExchange(exchange).catch(() => undefined);
  });

  function connect(prefix: string): AmqpConnection {
    const conn = createAmqpConnection({
      url: AMQP_URL,
      connectionName: uniqueName(prefix),
      logger,
      heartbeatIntervalInSeconds: 2,
      reconnectTimeInSeconds: 0.2,
    });
    cleanups.push(() => conn.close());
    return conn;
  }

  function consume(
    conn: AmqpConnection,
    handle: (e: EventEnvelope) => Promise<void>,
    queueName?: string,
  ): EventConsumer {
    const consumer = createEventConsumer(conn, {
      exchange,
      logger,
      schema: eventEnvelopeSchema,
      handle,
      ...(queueName ? { queue: { name: queueName } } : {}),
    });
    cleanups.push(() => consumer.close());
    if (queueName) cleanups.push(() => adminChannel.deleteQueue(queueName));
    return consumer;
  }

  function publisherOn(
    conn: AmqpConnection,
    publishTimeoutMs = 5000,
  ): EventPublisher<EventEnvelope> {
    const publisher = createEventPublisher<EventEnvelope>(conn, {
      exchange,
      publishTimeoutMs,
      schema: eventEnvelopeSchema,
    });
    cleanups.push(() => publisher.close());
    return publisher;
  }

  /** Drains the dead-letter queue, adding what it held to `into`; returns `into`. */
  async function drainDeadLetters(into: amqplib.GetMessage[]): Promise<amqplib.GetMessage[]> {
    for (;;) {
      const msg = await adminChannel.get(`${exchange}.dead-letter`, { noAck: true });
      if (!msg) return into;
      into.push(msg);
    }
  }

  it('When an event is published, then it is confirmed and consumed with the contract message properties', async () => {
    const conn = connect('kit-basic');
    const received: { event: EventEnvelope; props: amqplib.MessageProperties }[] = [];
    const consumer = createEventConsumer(conn, {
      exchange,
      logger,
      schema: eventEnvelopeSchema,
      handle: async (event, raw) => void received.push({ event, props: raw.properties }),
    });
    cleanups.push(() => consumer.close());
    await consumer.waitForConnect();
    const publisher = publisherOn(conn);
    const events = [makeEvent(1), makeEvent(2), makeEvent(3, 'typing')];

    for (const event of events) await publisher.publish(event);
    await waitFor(() => received.length === 3, { description: 'three events consumed' });

    expect(conn.isConnected()).toBe(true);
    expect(received.map((r) => r.event)).toEqual(events);
    expect(received[2]?.props).toMatchObject({
      contentType: 'application/json',
      deliveryMode: 2,
      messageId: events[2]?.id,
      type: 'typing',
    });
    expect(consumer.queueName()).toMatch(/^amq\.gen-/);
  });

  it('When a message is not JSON or does not match the schema, then it is dead-lettered and consuming goes on', async () => {
    const conn = connect('kit-poison');
    const handled: string[] = [];
    const consumer = consume(conn, async (e) => void handled.push(e.id));
    await consumer.waitForConnect();
    const good = makeEvent(1);

    adminChannel.publish(exchange, '', Buffer.from('{not json'), { messageId: 'garbage' });
    adminChannel.publish(
      exchange,
      '',
      Buffer.from(JSON.stringify({ id: 'not-a-uuid', type: 'x' })),
      { messageId: 'mismatch' },
    );
    await publisherOn(conn).publish(good);
    await waitFor(() => handled.length === 1, { description: 'the good event' });
    const dead: amqplib.GetMessage[] = [];
    await waitFor(async () => (await drainDeadLetters(dead)).length >= 2, {
      description: 'two dead-lettered messages',
    });

    expect(handled).toEqual([good.id]);
    expect(dead.map((m) => m.properties.messageId).sort()).toEqual(['garbage', 'mismatch']);
  });

  it('When the handler fails, then the message is retried once and then dead-lettered', async () => {
    const conn = connect('kit-retry');
    const attempts = new Map<string, number>();
    const flaky = makeEvent(1);
    const broken = makeEvent(2);
    const done: string[] = [];
    const consumer = consume(conn, async (e) => {
      const n = (attempts.get(e.id) ?? 0) + 1;
      attempts.set(e.id, n);
      if (e.id === broken.id || (e.id === flaky.id && n === 1)) throw new Error('handler failed');
      done.push(e.id);
    });
    await consumer.waitForConnect();
    const publisher = publisherOn(conn);

    await publisher.publish(flaky);
    await publisher.publish(broken);
    const dead: amqplib.GetMessage[] = [];
    await waitFor(async () => (await drainDeadLetters(dead)).length >= 1, {
      description: 'the broken event dead-lettered',
    });

    expect(done).toEqual([flaky.id]);
    expect(attempts.get(flaky.id)).toBe(2);
    expect(attempts.get(broken.id)).toBe(2);
    expect(dead.map((m) => m.properties.messageId)).toEqual([broken.id]);
  });

  it('When RabbitMQ is unreachable, then publish rejects after its timeout instead of hanging', async () => {
    const port = await freePort();
    const conn = createAmqpConnection({
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      connectionName: uniqueName('kit-down'),
      logger,
    });
    cleanups.push(() => conn.close());
    const publisher = createEventPublisher(conn, { exchange, publishTimeoutMs: 300 });
    cleanups.push(() => publisher.close());
    const started = Date.now();

    await expect(publisher.publish(makeEvent(1))).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(conn.isConnected()).toBe(false);
    await expect(
      createAmqpReadinessCheck(conn).check(new AbortController().signal),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(conn.waitForConnect(200)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('When the broker closes the connections, then publisher and consumer reconnect and no confirmed event is lost', async () => {
    const pubConn = connect('kit-pub');
    const subConn = connect('kit-sub');
    let connects = 0;
    pubConn.manager.on('connect', () => (connects += 1));
    subConn.manager.on('connect', () => (connects += 1));
    const seen = new Set<string>();
    const consumer = consume(subConn, async (e) => void seen.add(e.id), uniqueName('kit.queue'));
    await consumer.waitForConnect();
    await pubConn.waitForConnect();
    const publisher = publisherOn(pubConn, 2000);
    const confirmed: string[] = [];
    // Like the chat outbox: an event whose publish was rejected is tried again later.
    const publishUntilConfirmed = async (event: EventEnvelope) => {
      for (;;) {
        try {
          await publisher.publish(event);
          confirmed.push(event.id);
          return;
        } catch (err) {
          expect(err).toBeInstanceOf(DependencyUnavailableError);
        }
      }
    };

    let stop = false;
    let n = 0;
    const publishing = (async () => {
      while (!stop) await publishUntilConfirmed(makeEvent(n++));
    })();
    await waitFor(() => confirmed.length >= 20, {
      description: '20 events confirmed before the close',
    });

    const connectsBefore = connects;
    const [closedPub, closedSub] = await Promise.all([
      closeFromBroker(pubConn.connectionName),
      closeFromBroker(subConn.connectionName),
    ]);
    await waitFor(
      () => connects >= connectsBefore + 2 && pubConn.isConnected() && subConn.isConnected(),
      {
        description: 'both connections re-established',
      },
    );
    const confirmedAtReconnect = confirmed.length;
    await waitFor(() => confirmed.length >= confirmedAtReconnect + 20, {
      description: '20 more events confirmed after',
    });
    stop = true;
    await publishing;

    await waitFor(() => confirmed.every((id) => seen.has(id)), {
      timeoutMs: 15_000,
      description: 'every confirmed event consumed',
    });
    expect([closedPub, closedSub]).toEqual([1, 1]);
    expect(confirmed.length).toBeGreaterThanOrEqual(40);
  }, 40_000);

  it('When close is called twice on consumer, publisher and connection, then each closes once without error', async () => {
    const conn = connect('kit-close');
    const consumer = consume(conn, async () => undefined);
    await consumer.waitForConnect();
    const publisher = publisherOn(conn);

    await Promise.all([consumer.close(), consumer.close()]);
    await Promise.all([publisher.close(), publisher.close()]);
    await Promise.all([conn.close(), conn.close()]);

    expect(conn.isConnected()).toBe(false);
    await expect(publisher.publish(makeEvent(1))).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
  });
});
