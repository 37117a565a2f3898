// Smoke test for the RabbitMQ the global setup provides: the fanout exchange plus
// exclusive queue per consumer that chat.events uses (docs/design.md §5), with
// publisher confirms. The reconnecting helpers are tested in packages/server-kit.
import amqp from 'amqplib';
import type { ChannelModel, ConsumeMessage } from 'amqplib';

import { amqpUrl, uniqueName, waitFor } from '@parley/testing';

let connection: ChannelModel;

beforeAll(async () => {
  connection = await amqp.connect(amqpUrl());
});

afterAll(async () => {
  await connection?.close();
});

describe('RabbitMQ from the test setup', () => {
  it('When AMQP_URL is used, then a connection opens and a channel answers', async () => {
    const channel = await connection.createChannel();
    const exchange = uniqueName('smoke');

    await expect(channel.assertExchange(exchange, 'fanout', { autoDelete: true })).resolves.toEqual(
      { exchange },
    );

    await channel.deleteExchange(exchange);
    await channel.close();
  });

  it('When a confirmed message is published to a fanout exchange, then every bound exclusive queue gets it', async () => {
    const channel = await connection.createConfirmChannel();
    const exchange = uniqueName('events');
    await channel.assertExchange(exchange, 'fanout', { durable: false, autoDelete: true });
    const received: Record<string, ConsumeMessage[]> = { first: [], second: [] };
    for (const name of Object.keys(received)) {
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, exchange, '');
      await channel.consume(queue, (message) => {
        if (!message) return;
        received[name]?.push(message);
        channel.ack(message);
      });
    }

    const body = { id: uniqueName('event'), type: 'new_message' };
    channel.publish(exchange, '', Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
      messageId: body.id,
      type: body.type,
    });
    await channel.waitForConfirms();

    await waitFor(() => received.first?.length === 1 && received.second?.length === 1, {
      description: 'both queues received the event',
    });
    for (const [message] of Object.values(received)) {
      expect(JSON.parse(message!.content.toString())).toEqual(body);
      expect(message!.properties).toMatchObject({ messageId: body.id, type: 'new_message' });
    }
    await channel.close();
  });
});
