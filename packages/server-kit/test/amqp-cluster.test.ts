// The kit on a RabbitMQ cluster of its own (docs/design.md §14): a comma-separated
// AMQP_URL names the nodes, a connection moves to a surviving node when its node
// stops, and the dead-letter queue is a quorum queue, so what it holds outlives the
// node. Skipped (one line) where rabbitmq-server is not installed.
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { eventEnvelopeSchema, type EventEnvelope } from '@parley/contracts';
import {
  createAmqpConnection,
  createEventConsumer,
  createEventPublisher,
  type AmqpConnection,
} from '@parley/server-kit';
import {
  createSilentLogger,
  rabbitmqSbin,
  startRabbitCluster,
  uniqueName,
  waitFor,
  type RabbitCluster,
} from '@parley/testing';

const installed = rabbitmqSbin() !== undefined;
if (!installed) process.stderr.write('skipped: rabbitmq-server is not installed (cluster tests)\n');
const describeCluster = installed ? describe : describe.skip;

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

describeCluster('the kit on a 3-node RabbitMQ cluster', () => {
  let cluster: RabbitCluster;
  const closing: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    cluster = await startRabbitCluster({ nodes: 3, name: 'kit' });
  }, 300_000);
  afterAll(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined);
    await cluster?.stop();
  }, 120_000);

  test('When the cluster is up, then every node is running in one cluster', async () => {
    const status = await cluster.ctl(['cluster_status', '--formatter', 'json']);
    const running = (JSON.parse(status) as { running_nodes: string[] }).running_nodes;
    expect([...running].sort()).toEqual(cluster.nodes.map((node) => node.name).sort());
  });

  test('When the node a connection is on stops, then it reconnects to the next node, a poison message is dead-lettered there, and the dead letters outlive their node', async () => {
    const exchange = uniqueName('kit.cluster');
    const name = uniqueName('kit-cluster');
    // node 1 first: the connection lands there; nodes 2 and 0 are the fall-backs
    const connection: AmqpConnection = createAmqpConnection({
      url: cluster.urlFrom(1),
      connectionName: name,
      logger,
      reconnectTimeInSeconds: 0.2,
    });
    closing.push(() => connection.close());
    await connection.waitForConnect(20_000);
    const onNode = async () => {
      const byNode = await cluster.connectionsByNode();
      return [...byNode].find(([, names]) => names.includes(name))?.[0];
    };
    expect(await waitFor(onNode, { description: 'the connection listed' })).toBe(1);

    const seen: number[] = [];
    const consumer = createEventConsumer(connection, {
      exchange,
      logger,
      schema: eventEnvelopeSchema,
      handle: async (event) => {
        seen.push((event.data as { n: number }).n);
      },
    });
    closing.push(() => consumer.close());
    await consumer.waitForConnect();
    const publisher = createEventPublisher(connection, { exchange });
    closing.push(() => publisher.close());

    // a poison message goes to the dead-letter queue, a quorum queue led by one node
    const admin = await amqplib.connect(cluster.nodes[0]?.url ?? '');
    closing.push(() => admin.close());
    const adminChannel = await admin.createChannel();
    adminChannel.publish(exchange, '', Buffer.from('not json'));
    const dlq = `${exchange}.dead-letter`;
    await waitFor(async () => (await adminChannel.checkQueue(dlq)).messageCount === 1, {
      description: 'the poison message dead-lettered',
    });
    const queues = await cluster.ctl(['list_queues', 'name', 'type', 'leader', '-q']);
    const row = queues.split('\n').find((line) => line.startsWith(`${dlq}\t`)) ?? '';
    expect(row.split('\t')[1]).toBe('quorum');
    await admin.close();
    closing.pop();

    await cluster.stopNode(1);
    await waitFor(async () => connection.isConnected() && (await onNode()) !== undefined, {
      timeoutMs: 30_000,
      description: 'the connection back on a surviving node',
    });
    expect(await onNode()).not.toBe(1);
    await consumer.waitForConnect();
    await waitFor(
      async () => {
        await publisher.publish(makeEvent(1));
        return seen.includes(1);
      },
      { timeoutMs: 20_000, intervalMs: 500, description: 'an event through the new node' },
    );

    // the dead letter is still there with node 1 gone (a classic queue led by it is not)
    const survivor = await amqplib.connect(cluster.nodes[2]?.url ?? '');
    closing.push(() => survivor.close());
    const channel = await survivor.createChannel();
    const kept = await waitFor(
      async () => {
        const message = await channel.get(dlq, { noAck: true });
        return message === false ? undefined : message.content.toString();
      },
      { timeoutMs: 20_000, description: 'the dead letter read from a surviving node' },
    );
    expect(kept).toBe('not json');
  }, 180_000);
});
