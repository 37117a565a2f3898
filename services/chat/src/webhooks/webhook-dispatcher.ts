// The delivery worker's core (docs/design.md §12): events taken from the queue become
// deliveries owed to each webhook that asked for them (webhook_deliveries, in the
// order taken), and one lane per webhook works through its own, oldest first. A lane
// that fails waits (exponential backoff with jitter) before trying the same delivery
// again, so later events never overtake it; a webhook failing for the give-up period
// (24 h) is disabled and what it was owed is dropped.
import {
  WEBHOOK_ATTEMPTS_KEPT,
  WEBHOOK_EVENT_TYPES,
  type ParleyEvent,
  type WebhookEventType,
} from '@parley/contracts';
import type { Logger } from '@parley/server-kit';
import { deliver, type DeliveryOptions, type DeliveryOutcome } from './webhook-delivery';
import type { DeliveryDoc, WebhookDoc, WebhookStore } from './webhook-store';

export interface RetryPolicy {
  /** First retry after about this long. */
  baseMs: number;
  /** No wait between two attempts is longer. */
  maxMs: number;
  /** A webhook failing this long is disabled. */
  giveUpMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseMs: 1_000,
  maxMs: 60 * 60 * 1000,
  giveUpMs: 24 * 60 * 60 * 1000,
};

/** Wait before attempt `attempt + 1`: base·2^(attempt−1), capped, then "equal jitter" (½ to 1×). */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The room an event belongs to, for the event types a webhook may ask for. */
export function roomOf(event: ParleyEvent): string | undefined {
  switch (event.type) {
    case 'new_message':
    case 'message_updated':
      return event.data.message.conversationId;
    case 'reaction':
      return event.data.conversationId;
    case 'conversation_updated':
      return event.data.conversation.kind === 'room' ? event.data.conversation.id : undefined;
    default:
      return undefined;
  }
}

/** What a receiver gets: the event without its recipients (who is in the room is not theirs). */
export function webhookBody(event: ParleyEvent): string {
  const { recipients: _recipients, ...rest } = event;
  return JSON.stringify(rest);
}

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  delivery: Omit<DeliveryOptions, 'now'>;
  retry?: RetryPolicy;
  logger: Logger;
  now?: () => Date;
  /** Counts attempts by outcome (metrics). */
  onAttempt?: (outcome: DeliveryOutcome) => void;
  /** A seam for tests; default deliver(). */
  send?: typeof deliver;
}

export interface WebhookDispatcher {
  /** Queues the event for each webhook of its room that asked for it; resolves once stored. */
  accept(event: ParleyEvent): Promise<void>;
  /** Resumes every webhook that is still owed deliveries (at start). */
  resumeAll(): Promise<void>;
  /** Stops starting attempts and waits for the ones under way. */
  stop(): Promise<void>;
}

/** Old attempts are trimmed every this many attempts of a webhook, not on each one. */
const TRIM_EVERY = 10;

interface Lane {
  /** Attempts recorded by this process, for trimming every TRIM_EVERY. */
  recorded: number;
  running?: Promise<void>;
  /** Set when work arrived while running: run once more. */
  again: boolean;
  timer?: NodeJS.Timeout;
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const retry = options.retry ?? DEFAULT_RETRY_POLICY;
  const send = options.send ?? deliver;
  const log = options.logger.child({ component: 'webhook-dispatcher' });
  const lanes = new Map<string, Lane>();
  let stopped = false;

  function kick(webhookId: string): void {
    if (stopped) return;
    let lane = lanes.get(webhookId);
    if (!lane) {
      lane = { again: false, recorded: 0 };
      lanes.set(webhookId, lane);
    }
    if (lane.timer) {
      clearTimeout(lane.timer);
      delete lane.timer;
    }
    if (lane.running) {
      lane.again = true;
      return;
    }
    const current = lane;
    current.running = runLane(webhookId)
      .catch((err: unknown) => {
        log.warn({ err, webhookId }, 'webhook lane failed; retrying shortly');
        schedule(webhookId, retry.baseMs);
      })
      .finally(() => {
        delete current.running;
        if (current.again && !stopped) {
          current.again = false;
          kick(webhookId);
        }
      });
  }

  function schedule(webhookId: string, delayMs: number): void {
    if (stopped) return;
    const lane = lanes.get(webhookId) ?? { again: false, recorded: 0 };
    lanes.set(webhookId, lane);
    if (lane.timer) clearTimeout(lane.timer);
    // setTimeout holds at most ~24.8 days; the delays here are far below that
    lane.timer = setTimeout(() => kick(webhookId), Math.max(0, delayMs));
    lane.timer.unref();
  }

  async function runLane(webhookId: string): Promise<void> {
    // read once per run: it changes only by being removed (its deliveries go with it)
    // or disabled (by this lane)
    let webhook: WebhookDoc | null | undefined;
    while (!stopped) {
      const delivery = await store.nextDelivery(webhookId);
      if (!delivery) return;
      const wait = delivery.nextAttemptAt.getTime() - now().getTime();
      if (wait > 0) {
        schedule(webhookId, wait);
        return;
      }
      webhook ??= await store.findById(webhookId);
      if (!webhook || webhook.disabledAt) {
        await store.deliveries.deleteMany({ webhookId });
        return;
      }
      const ok = await attempt(webhook, delivery);
      if (!ok) return;
      if (webhook.failingSince) {
        // the success just cleared it in the database; a later failure starts anew
        const { failingSince: _cleared, ...healthy } = webhook;
        webhook = healthy;
      }
    }
  }

  /** One attempt; true when the lane may go on to the next delivery. */
  async function attempt(webhook: WebhookDoc, delivery: DeliveryDoc): Promise<boolean> {
    const webhookId = webhook._id.toHexString();
    const at = now();
    const outcome = await send(
      {
        url: webhook.url,
        secret: webhook.secret,
        body: delivery.body,
        eventType: delivery.eventType,
        deliveryId: delivery.deliveryId,
      },
      { ...options.delivery, now },
    );
    options.onAttempt?.(outcome);
    const lane = lanes.get(webhookId);
    const recorded = lane ? ++lane.recorded : 1;
    await store.recordAttempt(
      webhookId,
      {
        deliveryId: delivery.deliveryId,
        eventType: delivery.eventType,
        attempt: delivery.attempts + 1,
        at: at.toISOString(),
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        durationMs: outcome.durationMs,
        delivered: outcome.delivered,
      },
      WEBHOOK_ATTEMPTS_KEPT,
      recorded % TRIM_EVERY === 1,
    );
    if (outcome.delivered) {
      await store.delivered(delivery);
      if (webhook.failingSince) await store.markHealthy(webhookId);
      return true;
    }
    const failingSince = webhook.failingSince ?? at;
    if (!webhook.failingSince) await store.markFailing(webhookId, at);
    if (at.getTime() - failingSince.getTime() >= retry.giveUpMs) {
      log.warn({ webhookId, failingSince }, 'webhook failed for the give-up period; disabled');
      await store.disable(webhookId, at);
      return false;
    }
    const delay = retryDelayMs(delivery.attempts + 1, retry);
    await store.retryLater(delivery, new Date(at.getTime() + delay));
    schedule(webhookId, delay);
    return false;
  }

  return {
    async accept(event) {
      if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event.type)) return;
      const roomId = roomOf(event);
      if (roomId === undefined) return;
      const webhooks = await store.activeFor(roomId, event.type as WebhookEventType);
      if (webhooks.length === 0) return;
      const body = webhookBody(event);
      for (const webhook of webhooks) {
        const webhookId = webhook._id.toHexString();
        await store.enqueue({
          webhookId,
          deliveryId: event.id,
          eventType: event.type,
          body,
          nextAttemptAt: now(),
        });
        kick(webhookId);
      }
    },
    async resumeAll() {
      for (const webhookId of await store.webhooksWithDeliveries()) kick(webhookId);
    },
    async stop() {
      stopped = true;
      for (const lane of lanes.values()) if (lane.timer) clearTimeout(lane.timer);
      await Promise.all([...lanes.values()].map((lane) => lane.running));
    },
  };
}
