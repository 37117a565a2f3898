// Publishes domain events to the fanout exchange with publisher confirms: publish()
// resolves only once the broker has taken responsibility for the message, and rejects
// (DependencyUnavailableError) after a bounded wait when RabbitMQ is unreachable, so
// the caller — the chat outbox — keeps the event and retries later.
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { z } from 'zod';
import type { AmqpConnection } from './amqp-connection';
import { ensureFanoutExchange } from './amqp-topology';
import { DependencyUnavailableError } from './errors';

/** What the publisher needs of an event: the envelope's id and type (docs/design.md §5). */
export interface PublishableEvent {
  id: string;
  type: string;
}

export interface EventPublisherOptions<E extends PublishableEvent> {
  /**
   * Default `chat.events`. Declared as a durable fanout exchange on (re)connect when it
   * does not exist yet.
   */
  exchange?: string;
  /** How long publish() waits for a confirm (queued while disconnected); default 5 s. */
  publishTimeoutMs?: number;
  /** When given, every event is parsed with it before publishing (same codec as consumers). */
  schema?: z.ZodType<E>;
}

export interface EventPublisher<E extends PublishableEvent> {
  readonly exchange: string;
  /** Resolves when the broker confirmed the message. */
  publish(event: E): Promise<void>;
  /** Idempotent; unconfirmed publishes are rejected. */
  close(): Promise<void>;
}

export const DEFAULT_EXCHANGE = 'chat.events';

export function createEventPublisher<E extends PublishableEvent>(
  connection: AmqpConnection,
  options: EventPublisherOptions<E> = {},
): EventPublisher<E> {
  const exchange = options.exchange ?? DEFAULT_EXCHANGE;
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const channel: ChannelWrapper = connection.manager.createChannel({
    name: `publisher:${exchange}`,
    confirm: true,
    json: false,
    setup: async (ch: ConfirmChannel) => {
      // a publisher may hold write rights only (auth on chat.events): see amqp-topology.ts
      await ensureFanoutExchange(connection, ch, exchange);
    },
  });
  // ChannelWrapper emits 'error' for failed setups; it retries on the next connect.
  channel.on('error', (err: unknown) => {
    connection.logger.error({ err, exchange }, 'publisher channel setup failed');
  });

  let closing: Promise<void> | undefined;
  return {
    exchange,
    async publish(event) {
      if (closing) throw new DependencyUnavailableError('The event publisher is closed');
      const body = options.schema ? options.schema.parse(event) : event;
      connection.cost?.amqpPublishes.inc({ exchange });
      try {
        await channel.publish(exchange, '', Buffer.from(JSON.stringify(body)), {
          contentType: 'application/json',
          persistent: true,
          messageId: event.id,
          type: event.type,
          timestamp: Math.floor(Date.now() / 1000),
          timeout: publishTimeoutMs,
        });
        connection.cost?.amqpConfirms.inc();
      } catch (err) {
        throw new DependencyUnavailableError(
          `RabbitMQ did not confirm event ${event.id} (${event.type})`,
          err,
        );
      }
    },
    close() {
      closing ??= channel.close();
      return closing;
    },
  };
}
