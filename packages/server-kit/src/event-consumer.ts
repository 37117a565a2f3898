// A RabbitMQ consumer is an entry point like a route: it parses each message with
// the contracts' schema, hands it to the handler, and acks only after the handler
// resolved. A message that can never succeed (not JSON, not the schema) is
// dead-lettered at once; a handler failure is retried once (requeue) and then
// dead-lettered, so nothing loops forever. The queue and its binding are declared on
// every (re)connect; the exchanges and the dead-letter queue when they are missing.
//
// Unknown event types or versions (docs/design.md §5: consumers ignore them) are the schema's
// and handler's business: give a schema that accepts any envelope and let the
// handler return without doing anything for types it does not speak — the message
// is then acked. A schema that rejects them would dead-letter them instead.
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { z } from 'zod';
import type { AmqpConnection } from './amqp-connection';
import { ensureFanoutExchange, ensureQueue } from './amqp-topology';
import { DEFAULT_EXCHANGE } from './event-publisher';
import type { Logger } from './logger';

export interface ConsumerQueueOptions {
  /** Omit for a server-named queue (exclusive, auto-deleted with the connection). */
  name?: string;
  /** Default: true for a server-named queue, false for a named one. */
  exclusive?: boolean;
  /** Default: false for a server-named queue, true for a named one. */
  durable?: boolean;
  /** Default: true for a server-named queue, false for a named one. */
  autoDelete?: boolean;
  /**
   * Further queue arguments, such as `{'x-queue-type': 'quorum'}` for a queue that must
   * survive a broker node, or `{'x-single-active-consumer': true}`.
   */
  arguments?: Record<string, unknown>;
}

export interface EventConsumerOptions<E> {
  /** Default `chat.events` (durable fanout). */
  exchange?: string;
  queue?: ConsumerQueueOptions;
  /** Unacked messages in flight; default 50. */
  prefetch?: number;
  /** Parses the JSON body; a failure is a poison message. */
  schema: z.ZodType<E>;
  handle(event: E, raw: ConsumeMessage): Promise<void>;
  logger: Logger;
  /**
   * Where poison and repeatedly failing messages go; default `<exchange>.dlx` (a
   * fanout with a durable `<exchange>.dead-letter` queue). `false` drops them.
   */
  deadLetterExchange?: string | false;
  /**
   * Handle one message at a time, in broker order (default true): websocket pushes
   * keep per-conversation order. false runs up to `prefetch` handlers at once.
   */
  ordered?: boolean;
  /**
   * Called each time consuming (re)starts, with `resubscribed` true after the first:
   * a server-named queue is deleted with its connection, so events published while
   * it was gone never reach this consumer and the owner must recover them elsewhere.
   */
  onConsuming?: (info: { queue: string; resubscribed: boolean }) => void;
  /**
   * Ack handled messages in batches (ordered consumers only): one ack with `multiple`
   * covers every message handled since the last, sent once `max` are waiting or
   * `windowMs` after the first of them, whichever comes first, and before any nack and
   * on close. Still only after handling: a crash before the ack redelivers the batch,
   * so the handler must drop what it has seen (by event id). `max` is kept below half
   * the prefetch, or the broker would stop delivering while the batch waits.
   */
  ackBatch?: { max: number; windowMs: number };
  /** Each ack frame sent, with how many messages it covered (for the cost counters). */
  onAck?: (messages: number) => void;
}

export interface EventConsumer {
  /** The queue currently consumed (server-named queues get a new name per reconnect). */
  queueName(): string | undefined;
  /** Resolves once the first setup (exchange, queue, binding, consume) is done. */
  waitForConnect(): Promise<void>;
  /** Stops consuming, waits (bounded) for running handlers, closes the channel. Idempotent. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * A dead letter must outlive the broker node it landed on (docs/design.md §14): a
 * quorum queue is replicated over the cluster's nodes (on one node it is simply
 * durable). An existing classic one is left as it is (declaring only what is missing).
 */
const DEAD_LETTER_QUEUE = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

export function createEventConsumer<E>(
  connection: AmqpConnection,
  options: EventConsumerOptions<E>,
): EventConsumer {
  const exchange = options.exchange ?? DEFAULT_EXCHANGE;
  const named = options.queue?.name;
  const queueOptions = {
    exclusive: options.queue?.exclusive ?? named === undefined,
    durable: options.queue?.durable ?? named !== undefined,
    autoDelete: options.queue?.autoDelete ?? named === undefined,
  };
  const deadLetterExchange =
    options.deadLetterExchange === undefined ? `${exchange}.dlx` : options.deadLetterExchange;
  const prefetch = options.prefetch ?? 50;
  const ordered = options.ordered ?? true;
  if (options.ackBatch && !ordered)
    // with handlers in parallel, `multiple` would ack messages still being handled
    throw new Error('ackBatch needs an ordered consumer');
  const batchMax = options.ackBatch
    ? Math.max(1, Math.min(options.ackBatch.max, Math.floor(prefetch / 2)))
    : 1;
  const log = options.logger.child({ component: 'event-consumer', exchange });

  let currentQueue: string | undefined;
  let current: { channel: Channel; consumerTag: string } | undefined;
  let chain: Promise<void> = Promise.resolve();
  const running = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  /** The last handled message not yet acked, and how many it stands for. */
  let unacked: { channel: Channel; msg: ConsumeMessage; count: number } | undefined;
  let ackTimer: NodeJS.Timeout | undefined;

  const wrapper: ChannelWrapper = connection.manager.createChannel({
    name: `consumer:${named ?? exchange}`,
    confirm: false,
    setup: async (channel: ConfirmChannel | Channel) => {
      // a consumer may hold read rights only on the exchange (websocket on
      // chat.events): what exists is not declared again (amqp-topology.ts)
      await ensureFanoutExchange(connection, channel, exchange);
      const args: Record<string, unknown> = { ...options.queue?.arguments };
      if (deadLetterExchange) {
        await ensureFanoutExchange(connection, channel, deadLetterExchange);
        const dlq = `${exchange}.dead-letter`;
        if (
          deadLetterExchange === `${exchange}.dlx` &&
          (await ensureQueue(connection, channel, dlq, DEAD_LETTER_QUEUE)) === 'declared'
        ) {
          await channel.bindQueue(dlq, deadLetterExchange, '');
        }
        args['x-dead-letter-exchange'] = deadLetterExchange;
      }
      const { queue } = await channel.assertQueue(named ?? '', {
        ...queueOptions,
        arguments: args,
      });
      await channel.bindQueue(queue, exchange, '');
      await channel.prefetch(prefetch);
      const { consumerTag } = await channel.consume(queue, (msg) => onMessage(channel, msg));
      const resubscribed = current !== undefined;
      currentQueue = queue;
      current = { channel, consumerTag };
      log.info({ queue, resubscribed }, 'consuming');
      options.onConsuming?.({ queue, resubscribed });
    },
  });
  wrapper.on('error', (err: unknown) => log.error({ err }, 'consumer channel setup failed'));

  function onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      log.warn({ queue: currentQueue }, 'consumer cancelled by the broker');
      return;
    }
    const task = ordered
      ? chain.then(() => processMessage(channel, msg))
      : processMessage(channel, msg);
    if (ordered) chain = task;
    running.add(task);
    void task.finally(() => running.delete(task));
  }

  async function processMessage(channel: Channel, msg: ConsumeMessage): Promise<void> {
    const meta = {
      messageId: msg.properties.messageId as unknown,
      type: msg.properties.type as unknown,
      redelivered: msg.fields.redelivered,
    };
    let event: E;
    try {
      const parsed = options.schema.safeParse(JSON.parse(msg.content.toString('utf8')));
      if (!parsed.success) {
        log.error(
          { ...meta, issues: parsed.error.issues },
          'poison message: schema mismatch, dead-lettering',
        );
        settle(channel, msg, 'reject');
        return;
      }
      event = parsed.data;
    } catch (err) {
      log.error({ ...meta, err }, 'poison message: not JSON, dead-lettering');
      settle(channel, msg, 'reject');
      return;
    }
    try {
      await options.handle(event, msg);
      ack(channel, msg);
    } catch (err) {
      if (msg.fields.redelivered) {
        log.error({ ...meta, err }, 'handler failed again, dead-lettering');
        settle(channel, msg, 'reject');
      } else {
        log.warn({ ...meta, err }, 'handler failed, requeueing once');
        settle(channel, msg, 'requeue');
      }
    }
  }

  function ack(channel: Channel, msg: ConsumeMessage): void {
    if (batchMax === 1) return settle(channel, msg, 'ack');
    // a batch never spans two channels: delivery tags are per channel
    if (unacked && unacked.channel !== channel) flushAcks();
    unacked = { channel, msg, count: (unacked?.count ?? 0) + 1 };
    if (unacked.count >= batchMax) flushAcks();
    else ackTimer ??= setTimeout(flushAcks, options.ackBatch?.windowMs ?? 0).unref();
  }

  function flushAcks(): void {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    const batch = unacked;
    unacked = undefined;
    if (batch) settle(batch.channel, batch.msg, 'ack', batch.count);
  }

  function settle(
    channel: Channel,
    msg: ConsumeMessage,
    outcome: 'ack' | 'reject' | 'requeue',
    /** For an ack: how many handled messages it covers (more than 1: `multiple`). */
    count = 1,
  ): void {
    // in order: what was handled before this message is acked before it is nacked
    if (outcome !== 'ack') flushAcks();
    try {
      if (outcome === 'ack') {
        channel.ack(msg, count > 1);
        options.onAck?.(count);
      } else channel.nack(msg, false, outcome === 'requeue');
    } catch (err) {
      // The channel closed under us (connection lost): the broker redelivers the message.
      log.warn(
        { err, messageId: msg.properties.messageId as unknown },
        `could not ${outcome} a message`,
      );
    }
  }

  return {
    queueName: () => currentQueue,
    waitForConnect: () => wrapper.waitForConnect(),
    close(closeOptions = {}) {
      closing ??= (async () => {
        if (current) {
          await current.channel.cancel(current.consumerTag).catch(() => undefined);
        }
        const drained = Promise.allSettled([...running]);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          drained,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, closeOptions.drainTimeoutMs ?? 5_000);
          }),
        ]);
        clearTimeout(timer);
        flushAcks();
        await wrapper.close();
      })();
      return closing;
    },
  };
}
