// Declaring only what is missing, against the real RabbitMQ: a service whose broker
// user may only write (or read) a shared exchange must not try to declare it, which
// would need the `configure` right (docs/design.md §9.6). The users and rights
// themselves are proved in e2e/test/broker-users.test.ts.
import type { Channel } from 'amqplib';
import {
  createAmqpConnection,
  ensureFanoutExchange,
  ensureQueue,
  type AmqpConnection,
} from '@parley/server-kit';
import { createSilentLogger, uniqueName } from '@parley/testing';

const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
let connection: AmqpConnection;

beforeAll(async () => {
  connection = createAmqpConnection({
    url: AMQP_URL,
    connectionName: uniqueName('topology-test'),
    logger: createSilentLogger(),
  });
  await connection.waitForConnect();
});
afterAll(async () => {
  await connection.close();
});

async function withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await connection.manager.connection!.createChannel();
  try {
    return await work(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

test('When an exchange or queue is missing, then it is declared; when it exists, it is left alone and the channel stays usable', async () => {
  const exchange = uniqueName('topology-exchange');
  const queue = uniqueName('topology-queue');
  try {
    const first = await withChannel((ch) => ensureFanoutExchange(connection, ch, exchange));
    const again = await withChannel(async (ch) => {
      const outcome = await ensureFanoutExchange(connection, ch, exchange);
      await ch.checkExchange(exchange); // the channel was not closed by a failed declare
      return outcome;
    });
    const queueFirst = await withChannel((ch) =>
      ensureQueue(connection, ch, queue, { durable: true }),
    );
    const queueAgain = await withChannel((ch) =>
      ensureQueue(connection, ch, queue, { durable: true }),
    );

    expect([first, again, queueFirst, queueAgain]).toEqual([
      'declared',
      'existed',
      'declared',
      'existed',
    ]);
  } finally {
    await withChannel(async (ch) => {
      await ch.deleteQueue(queue);
      await ch.deleteExchange(exchange);
    });
  }
});
