// The websocket service's own Prometheus series, on the app's registry (see the
// kit's createMetrics). Labels are bounded: frame and event types come from the
// contracts' closed lists (anything else is counted as `other`), close codes are few.
import { CLIENT_FRAME_TYPES, EVENT_TYPES } from '@parley/contracts';
import type { Metrics } from '@parley/server-kit';

export interface WebsocketMetrics {
  connectionOpened(): void;
  connectionEnded(): void;
  /** Counted when the server decides to close (its code) or when the peer closed (theirs). */
  closed(code: number): void;
  setConnectedUsers(count: number): void;
  frameIn(type: string): void;
  /** `count` frames of one type written (a fan-out counts once). */
  frameOut(type: string, count?: number): void;
  frameDropped(type: string): void;
  eventConsumed(type: string): void;
  /** Seconds from the event's occurredAt to the socket writes of its frames (once per event). */
  deliveryLatency(seconds: number): void;
  /** A message delivered by RabbitMQ to one of this instance's consumers. */
  amqpDelivered(): void;
  /** One ack frame sent, covering `messages` handled events. */
  amqpAcked(messages: number): void;
}

const KNOWN_IN = new Set<string>([...CLIENT_FRAME_TYPES, 'malformed', 'invalid', 'binary']);
const KNOWN_EVENTS = new Set<string>(EVENT_TYPES);

export function createWebsocketMetrics(metrics: Metrics): WebsocketMetrics {
  const open = metrics.gauge({
    name: 'ws_open_connections',
    help: 'Open WebSocket connections on this instance',
  });
  const users = metrics.gauge({
    name: 'ws_connected_users',
    help: 'Distinct users connected to this instance',
  });
  const framesIn = metrics.counter({
    name: 'ws_frames_in_total',
    help: 'Client frames received, by type',
    labelNames: ['type'] as const,
  });
  const framesOut = metrics.counter({
    name: 'ws_frames_out_total',
    help: 'Server frames written, by type',
    labelNames: ['type'] as const,
  });
  const framesDropped = metrics.counter({
    name: 'ws_frames_dropped_total',
    help: 'Droppable frames (typing, presence) skipped because a client read too slowly',
    labelNames: ['type'] as const,
  });
  const events = metrics.counter({
    name: 'ws_events_consumed_total',
    help: 'Events consumed from the bus, by type',
    labelNames: ['type'] as const,
  });
  const latency = metrics.histogram({
    name: 'ws_delivery_latency_seconds',
    help: 'From an event occurredAt to the socket writes of its frames (observed once per event and instance)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  const closes = metrics.counter({
    name: 'ws_closes_total',
    help: 'Closed connections, by close code',
    labelNames: ['code'] as const,
  });

  // STUB until the kit's per-process AMQP counters land (issue 15, chat half): the same
  // names and meaning (ack FRAMES, so an ack with `multiple` counts 1). Remove these two
  // when the kit registers them, or the registry refuses the second registration.
  const amqpDeliveries = metrics.counter({
    name: 'parley_amqp_deliveries_total',
    help: 'Messages RabbitMQ delivered to this process',
  });
  const acked = metrics.counter({
    name: 'ws_events_acked_total',
    help: 'Events acknowledged to RabbitMQ (one ack with multiple=true covers many)',
  });
  const amqpAcks = metrics.counter({
    name: 'parley_amqp_acks_total',
    help: 'Ack frames sent to RabbitMQ (one with multiple=true counts once)',
  });

  return {
    amqpDelivered: () => amqpDeliveries.inc(),
    amqpAcked: (messages) => {
      amqpAcks.inc();
      acked.inc(messages);
    },
    connectionOpened: () => open.inc(),
    connectionEnded: () => open.dec(),
    closed: (code) => closes.inc({ code: String(code) }),
    setConnectedUsers: (count) => users.set(count),
    frameIn: (type) => framesIn.inc({ type: KNOWN_IN.has(type) ? type : 'other' }),
    frameOut: (type, count = 1) => framesOut.inc({ type }, count),
    frameDropped: (type) => framesDropped.inc({ type }),
    eventConsumed: (type) => events.inc({ type: KNOWN_EVENTS.has(type) ? type : 'other' }),
    deliveryLatency: (seconds) => latency.observe(Math.max(0, seconds)),
  };
}
