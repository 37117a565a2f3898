// The bus entry point, in three small named steps (novu's worker → use case →
// gateway): `receive` reads the envelope with the contracts' codec and drops unknown
// types/versions and redeliveries, `deliver` (event-dispatch.ts, the function for this
// exchange) maps the event to frames, the gateway writes them. The kit's consumer acks
// only after this resolves.
//
// Each instance consumes two exchanges, chat.events and chat.presence, each through a
// queue of its own: exclusive, server-named, auto-deleted, bound to that fanout
// exchange, so every instance sees every event and keeps what concerns its own sockets.
import {
  eventEnvelopeSchema,
  readEvent,
  type EventEnvelope,
  type ParleyEvent,
} from '@parley/contracts';
import {
  createEventConsumer,
  type AmqpConnection,
  type EventConsumer,
  type Logger,
} from '@parley/server-kit';

import type { WebsocketMetrics } from './metrics';
import { RecentIds } from './recent-ids';

/** A known event type at a version we speak whose data does not match: never retried into success. */
export class PoisonEventError extends Error {
  override readonly name = 'PoisonEventError';
}

export interface EventsConsumerOptions {
  connection: AmqpConnection;
  exchange: string;
  prefetch: number;
  /** Handled events share one ack (`multiple`): at most `max`, within `windowMs`. */
  ackBatch: { max: number; windowMs: number };
  dedupeSize: number;
  /** What an event from this exchange becomes. */
  deliver(event: ParleyEvent): void;
  /**
   * False for an event that concerns no one connected here: it is dropped before its
   * data is read (the costly part of parsing it) and before any per-socket work.
   */
  concernsLocal?(envelope: EventEnvelope): boolean;
  /** Dead-letter poison messages (`<exchange>.dlx`); false drops them. Default true. */
  deadLetter?: boolean;
  metrics: WebsocketMetrics;
  logger: Logger;
  /** After a broker outage: the queue was re-created and events may have been missed. */
  onResubscribed?: () => void;
}

export function createEventsConsumer(options: EventsConsumerOptions): EventConsumer {
  const { metrics, logger } = options;
  const seen = new RecentIds(options.dedupeSize);

  /** Step 1: the envelope becomes an event we speak, or nothing. */
  function receive(envelope: EventEnvelope): ParleyEvent | undefined {
    metrics.eventConsumed(envelope.type);
    if (options.concernsLocal?.(envelope) === false) return undefined;
    const read = readEvent(envelope);
    if (read.kind === 'unknown') {
      logger.debug(
        { id: envelope.id, type: envelope.type, version: envelope.version },
        'ignoring an event we do not speak',
      );
      return undefined;
    }
    if (read.kind === 'invalid') {
      throw new PoisonEventError(
        `event ${envelope.id} (${envelope.type}) does not match its schema: ${read.issues}`,
      );
    }
    if (!seen.add(read.event.id)) {
      logger.debug({ id: read.event.id }, 'dropping a duplicate event');
      return undefined;
    }
    return read.event;
  }

  return createEventConsumer(options.connection, {
    exchange: options.exchange,
    prefetch: options.prefetch,
    // one ack per batch: a redelivered batch (a crash before its ack) is dropped by `seen`
    ackBatch: options.ackBatch,
    onAck: (messages) => metrics.amqpAcked(messages),
    ...(options.deadLetter === false ? { deadLetterExchange: false as const } : {}),
    schema: eventEnvelopeSchema,
    logger,
    onConsuming: ({ resubscribed }) => {
      if (resubscribed) options.onResubscribed?.();
    },
    async handle(envelope) {
      metrics.amqpDelivered();
      const event = receive(envelope);
      // Steps 2 and 3: frames for the recipients connected here, written by the gateway.
      if (event) options.deliver(event);
    },
  });
}
