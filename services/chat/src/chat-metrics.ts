// The chat service's own Prometheus series, next to the kit's HTTP histogram and
// process metrics on the same per-instance registry.
import type { Metrics } from '@parley/server-kit';

type Counter = ReturnType<Metrics['counter']>;
type Gauge = ReturnType<Metrics['gauge']>;

export interface ChatMetrics {
  messagesSent: Counter;
  eventsPublished: Counter;
  publishFailures: Counter;
  outboxPending: Gauge;
  relayOpen: Gauge;
  sendsShed: Counter;
  sendsPending: Gauge;
  lastSeqWriteFailures: Counter;
  rateLimited: Counter;
  rateLimitSyncFailures: Counter;
}

export function createChatMetrics(metrics: Metrics): ChatMetrics {
  return {
    messagesSent: metrics.counter({
      name: 'chat_messages_sent_total',
      help: 'Messages stored by /chat/send (idempotent repeats not counted)',
    }),
    eventsPublished: metrics.counter({
      name: 'chat_events_published_total',
      help: 'Events confirmed by RabbitMQ, by event type',
      labelNames: ['type'] as const,
    }),
    publishFailures: metrics.counter({
      name: 'chat_event_publish_failures_total',
      help: 'Publishes RabbitMQ did not confirm in time (stored events are retried by the relay)',
      labelNames: ['type'] as const,
    }),
    outboxPending: metrics.gauge({
      name: 'chat_outbox_pending',
      help: 'Documents with events stored but not yet confirmed by RabbitMQ (updated by the relay)',
    }),
    relayOpen: metrics.gauge({
      name: 'chat_relay_unconfirmed',
      help: 'Messages this instance stored (or is storing) whose new_message event the broker has not confirmed yet',
    }),
    sendsShed: metrics.counter({
      name: 'chat_sends_shed_total',
      help: 'Sends answered 503 without being stored, by reason: overloaded, conversation_busy, deadline, client_gone',
      labelNames: ['reason'] as const,
    }),
    sendsPending: metrics.gauge({
      name: 'chat_sends_pending',
      help: 'Sends this instance is working on (bounded by SEND_MAX_PENDING)',
    }),
    lastSeqWriteFailures: metrics.counter({
      name: 'chat_last_seq_write_failures_total',
      help: 'Bulk writes of conversation activity (lastSeq, lastMessageAt) that failed; retried with the next window',
    }),
    rateLimited: metrics.counter({
      name: 'chat_rate_limited_total',
      help: 'Requests refused (429) or typing events dropped by a per-user limit, by rule',
      labelNames: ['rule'] as const,
    }),
    rateLimitSyncFailures: metrics.counter({
      name: 'chat_rate_limit_sync_failures_total',
      help: 'Syncs of the rate limit counts with MongoDB that failed (limits judged on the counts known)',
    }),
  };
}
