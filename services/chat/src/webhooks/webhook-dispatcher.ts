// The delivery worker's core (docs/design.md §12): events taken from the queue become
// deliveries owed to each webhook that asked for them (webhook_deliveries, in the
// order taken), and one lane per webhook works through its own, oldest first. A lane
// that fails waits (exponential backoff with jitter) before trying the same delivery
// again, so later events never overtake it; a webhook failing for the give-up period
// (24 h) is disabled and what it was owed is dropped.
import { WEBHOOK_ATTEMPTS_KEPT, WEBHOOK_EVENT_TYPES, type ParleyEvent } from '@parley/contracts';
import { backoffDelayMs, isDependencyFailure, type Logger } from '@parley/server-kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { deliver, type DeliveryOptions, type DeliveryOutcome } from './webhook-delivery';
import { ObjectId } from 'mongodb';
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

/**
 * Wait before attempt `attempt + 1`: the kit's backoff (base·2^(attempt−1), capped, then
 * "equal jitter", ½ to 1×), in whole milliseconds.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  return Math.round(
    backoffDelayMs(attempt, { baseMs: policy.baseMs, maxMs: policy.maxMs, random }),
  );
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
  /**
   * Queues the event for each webhook of its room that asked for it; resolves once stored
   * (events accepted together are stored together, in the order accepted). While MongoDB
   * is down it keeps trying; it rejects only once stopped or on another failure.
   */
  accept(event: ParleyEvent): Promise<void>;
  /** Resumes every webhook that is still owed deliveries (at start). */
  resumeAll(): Promise<void>;
  /** Stops starting attempts and waits for the ones under way. */
  stop(): Promise<void>;
}

/** Old attempt records are trimmed every this many records of a webhook, not on each one. */
const TRIM_EVERY = 50;
/** Deliveries a lane reads at once: one find per this many, not one per delivery. */
const READ_AHEAD = 50;
/** Events stored by one find and one insert at most. */
const ACCEPT_BATCH_MAX = 100;

interface Lane {
  /** Successes and failures recorded by this process, for trimming every TRIM_EVERY. */
  succeeded: number;
  failed: number;
  /**
   * The next deliveries owed, oldest first. Only this lane settles them and only accept()
   * adds to them, so once a read found them all (`complete`) the lane keeps the list
   * itself and reads again only after a failure or at start.
   */
  ahead: DeliveryDoc[];
  complete: boolean;
  reading: boolean;
  /** The newest delivery the lane has had in `ahead`: what accept() adds must be newer. */
  newest?: ObjectId;
  /**
   * The webhook, read once and kept: it changes only by being removed (the next write
   * settling a delivery finds no delivery left: see attempt()), or by this lane.
   */
  webhook?: WebhookDoc;
  running?: Promise<void>;
  /** Set when work arrived while running: run once more. */
  again: boolean;
  timer?: NodeJS.Timeout;
}

const newLane = (): Lane => ({
  again: false,
  succeeded: 0,
  failed: 0,
  ahead: [],
  complete: false,
  reading: false,
});

/** Forgets what the lane knew: it reads again on its next run. */
function forget(lane: Lane): void {
  lane.ahead = [];
  lane.complete = false;
  delete lane.webhook;
}

type Outcome = 'delivered' | 'failed' | 'gone';

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
    const lane = laneOf(webhookId);
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
        forget(current);
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
    const lane = laneOf(webhookId);
    if (lane.timer) clearTimeout(lane.timer);
    // setTimeout holds at most ~24.8 days; the delays here are far below that
    lane.timer = setTimeout(() => kick(webhookId), Math.max(0, delayMs));
    lane.timer.unref();
  }

  function laneOf(webhookId: string): Lane {
    let lane = lanes.get(webhookId);
    if (!lane) {
      lane = newLane();
      lanes.set(webhookId, lane);
    }
    return lane;
  }

  async function readAhead(webhookId: string, lane: Lane): Promise<void> {
    lane.reading = true;
    const failuresBefore = storeFailures;
    try {
      const read = await store.nextDeliveries(webhookId, READ_AHEAD);
      lane.complete = read.length < READ_AHEAD && storeFailures === failuresBefore;
      // what accept() added meanwhile is kept only when the read saw the end of the list
      const all = lane.complete ? [...read, ...lane.ahead] : read;
      const seen = new Set<string>();
      lane.ahead = all
        .filter((d) => !seen.has(d._id.toHexString()) && seen.add(d._id.toHexString()))
        .sort((a, b) => a._id.toHexString().localeCompare(b._id.toHexString()));
      const last = lane.ahead.at(-1);
      if (last && (!lane.newest || last._id.toHexString() > lane.newest.toHexString()))
        lane.newest = last._id;
    } finally {
      lane.reading = false;
    }
  }

  async function runLane(webhookId: string): Promise<void> {
    const lane = laneOf(webhookId);
    while (!stopped) {
      if (lane.ahead.length === 0 && !lane.complete) await readAhead(webhookId, lane);
      const delivery = lane.ahead[0];
      if (!delivery) return;
      const wait = delivery.nextAttemptAt.getTime() - now().getTime();
      if (wait > 0) {
        schedule(webhookId, wait);
        return;
      }
      const webhook = lane.webhook ?? (await store.findById(webhookId));
      if (webhook) lane.webhook = webhook;
      if (!webhook || webhook.disabledAt) {
        forget(lane);
        if (webhook) await store.dropOwed(webhookId);
        else await store.deliveries.deleteMany({ webhookId });
        return;
      }
      const outcome = await attempt(webhook, delivery);
      if (outcome !== 'delivered') {
        forget(lane);
        return;
      }
      lane.ahead.shift();
      if (webhook.failingSince) {
        // the success just cleared it in the database; a later failure starts anew
        const { failingSince: _cleared, ...healthy } = webhook;
        lane.webhook = healthy;
      }
    }
  }

  /** One attempt, recorded. */
  async function attempt(webhook: WebhookDoc, delivery: DeliveryDoc): Promise<Outcome> {
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
    const lane = lanes.get(webhookId) ?? newLane();
    const record = {
      deliveryId: delivery.deliveryId,
      eventType: delivery.eventType,
      attempt: delivery.attempts + 1,
      at: at.toISOString(),
      ...(outcome.status !== undefined ? { status: outcome.status } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      durationMs: outcome.durationMs,
      delivered: outcome.delivered,
    };
    if (outcome.delivered) {
      const trim = ++lane.succeeded % TRIM_EVERY === 1;
      if (!(await store.delivered(delivery, record, WEBHOOK_ATTEMPTS_KEPT, trim))) return 'gone';
      if (webhook.failingSince) await store.markHealthy(webhookId);
      return 'delivered';
    }
    const trim = ++lane.failed % TRIM_EVERY === 1;
    await store.recordAttempt(webhookId, record, WEBHOOK_ATTEMPTS_KEPT, trim);
    const failingSince = webhook.failingSince ?? at;
    if (!webhook.failingSince) await store.markFailing(webhookId, at);
    if (at.getTime() - failingSince.getTime() >= retry.giveUpMs) {
      log.warn({ webhookId, failingSince }, 'webhook failed for the give-up period; disabled');
      await store.disable(webhookId, at);
      return 'failed';
    }
    const delay = retryDelayMs(delivery.attempts + 1, retry);
    await store.retryLater(delivery, new Date(at.getTime() + delay));
    schedule(webhookId, delay);
    return 'failed';
  }

  interface Accepted {
    event: ParleyEvent;
    roomId: string;
    stored: () => void;
    failed: (err: unknown) => void;
  }
  /** Events accepted and not stored yet, in the order taken. */
  const accepted: Accepted[] = [];
  let storing: Promise<void> | undefined;
  /** Bumped by each failed store: a lane reading meanwhile cannot trust it saw all. */
  let storeFailures = 0;

  function startStoring(): void {
    if (storing) return;
    storing = storeAccepted().finally(() => {
      storing = undefined;
      if (accepted.length > 0) startStoring();
    });
  }

  /** Stores what was accepted, a batch at a time, in order; a batch waits out MongoDB being down. */
  async function storeAccepted(): Promise<void> {
    while (accepted.length > 0) {
      // the events taken together (the consumer hands over up to its prefetch at once)
      // are stored together: one find for their rooms' webhooks, one insert
      await new Promise((resolve) => setImmediate(resolve));
      const batch = accepted.splice(0, ACCEPT_BATCH_MAX);
      for (let attempt = 1; ; attempt++) {
        try {
          await storeBatch(batch);
          for (const one of batch) one.stored();
          break;
        } catch (err) {
          storeFailures++;
          // an insert may have stored part of the batch: every lane reads again
          for (const lane of lanes.values()) lane.complete = false;
          // MongoDB down is not the events' fault: hold them, and the later ones behind
          // them (so the order holds), until they can be stored
          if (stopped || !isDependencyFailure(err)) {
            for (const one of batch) one.failed(err);
            break;
          }
          log.warn({ err, attempt }, 'could not store deliveries; retrying');
          await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
        }
      }
    }
  }

  async function storeBatch(batch: Accepted[]): Promise<void> {
    const webhooks = await store.activeIn([...new Set(batch.map((one) => one.roomId))]);
    const docs: DeliveryDoc[] = [];
    for (const { event, roomId } of batch) {
      const body = webhookBody(event);
      for (const webhook of webhooks) {
        if (webhook.roomId !== roomId || !(webhook.events as string[]).includes(event.type))
          continue;
        docs.push({
          _id: new ObjectId(),
          webhookId: webhook._id.toHexString(),
          deliveryId: event.id,
          eventType: event.type,
          body,
          attempts: 0,
          nextAttemptAt: now(),
        });
      }
    }
    const kicked = new Set<string>();
    for (const queued of await store.enqueue(docs)) {
      const lane = laneOf(queued.webhookId);
      if (
        (lane.complete || lane.reading) &&
        (!lane.newest || queued._id.toHexString() > lane.newest.toHexString())
      ) {
        lane.ahead.push(queued);
        lane.newest = queued._id;
      }
      kicked.add(queued.webhookId);
    }
    for (const webhookId of kicked) kick(webhookId);
  }

  return {
    accept(event) {
      if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event.type))
        return Promise.resolve();
      const roomId = roomOf(event);
      if (roomId === undefined) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        accepted.push({ event, roomId, stored: resolve, failed: reject });
        startStoring();
      });
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
