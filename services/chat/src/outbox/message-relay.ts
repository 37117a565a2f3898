// "Stored means announced" for new messages without a per-message "published" write
// (docs/design.md §7.2). A message is stored by ONE insert, with the id of the chat
// instance that stored it (`origin`); its new_message event is not stored but derived
// from the document (newMessageEvent: same event id every time) and published after
// the insert. What the broker has confirmed is recorded per instance, not per message:
//
//   relay_checkpoints: { _id: instanceId, confirmedBefore: Date, heartbeatAt: Date, adoptedBy? }
//
// "every message this instance stored with createdAt < confirmedBefore is confirmed",
// written once per interval with the heartbeat. In memory the instance keeps a ticket
// per message from just before its insert until its confirm, so confirmedBefore is the
// oldest open ticket's time (or the pass's start when none is open). A publish that
// fails is retried from the ticket by the next pass.
//
// When an instance dies (SIGKILL, crash, lost host) its heartbeat stops; after the
// lease any other instance adopts its checkpoint (a conditional write, so one adopter
// at a time), republishes every message of that origin from confirmedBefore on (the
// bounded tail: at most one interval plus what was unconfirmed), and deletes it. A
// restarted process is a new instance and adopts its predecessor like any other.
// Delivery stays at least once: the tail may hold messages that were confirmed after
// the last checkpoint, and websocket and clients drop the second copy by event and
// message id. A clean shutdown waits for its publishes and deletes its checkpoint when
// nothing is open, so there is nothing to adopt.
import { randomUUID } from 'node:crypto';
import type { ParleyEvent } from '@parley/contracts';
import {
  DependencyUnavailableError,
  createPeriodicTask,
  type EventPublisher,
  type Logger,
} from '@parley/server-kit';
import type { Db, Filter } from 'mongodb';
import type { ChatMetrics } from '../chat-metrics';
import {
  CONVERSATIONS_COLLECTION,
  type ConversationDoc,
} from '../conversations/conversation-store';
import { MESSAGES_COLLECTION, toMessage, type MessageDoc } from '../messages/message-store';
import { newMessageEvent } from './chat-events';

export const RELAY_CHECKPOINTS_COLLECTION = 'relay_checkpoints';

export interface RelayCheckpoint {
  _id: string;
  /** Every message of this origin created before this was confirmed by the broker. */
  confirmedBefore: Date;
  /** The owner's last pass; an adopter's while it republishes the tail. */
  heartbeatAt: Date;
  /** The instance republishing this (dead) instance's tail. */
  adoptedBy?: string;
}

/** One message from just before its insert until the broker confirmed its event. */
export interface RelayTicket {
  readonly at: Date;
}

export interface MessageRelay {
  readonly instanceId: string;
  /** Call before the insert: the checkpoint stays at or before this ticket's time. */
  begin(): RelayTicket;
  /** Nothing was stored (the insert failed, or the send was a repeat). */
  cancel(ticket: RelayTicket): void;
  /** The message is stored: publish its event (not awaited by the send). */
  publish(ticket: RelayTicket, event: ParleyEvent): void;
  /**
   * Writes this instance's first checkpoint and starts the loop; until a checkpoint is
   * written begin() refuses (503), so no message is stored that nobody could adopt.
   */
  start(): Promise<void>;
  /** One pass: retries, checkpoint and heartbeat, adoption (or joins the one running). */
  runOnce(): Promise<void>;
  /** Stops the loop, waits for publishes, and leaves a checkpoint only if one is open. */
  stop(): Promise<void>;
  /** Tickets not yet confirmed (tests, the gauge). */
  readonly open: number;
}

export interface MessageRelayOptions {
  db: Db;
  publisher: EventPublisher<ParleyEvent>;
  logger: Logger;
  metrics: ChatMetrics;
  /**
   * A stored conversation with its members (a room keeps them in room_members, not on
   * its document): the recipients of a republished new_message.
   */
  withMembers: (doc: ConversationDoc) => Promise<ConversationDoc>;
  /** Default a random UUID: a process is one instance. */
  instanceId?: string;
  /** Checkpoint and heartbeat every this many ms; default 1000. */
  intervalMs?: number;
  /** A checkpoint whose heartbeat is older than this is adopted; default 5000. */
  leaseMs?: number;
  /** Messages republished per batch of a tail; default 200. */
  batchSize?: number;
  /** Unconfirmed events kept in memory for retry; past it the own tail is re-read. */
  maxRetained?: number;
  isConnected?: () => boolean;
  now?: () => Date;
}

interface Ticket extends RelayTicket {
  messageId?: string;
  event?: ParleyEvent;
  /** Stored, its publish failed, and its event is no longer in memory. */
  evicted?: boolean;
  failed?: boolean;
}

export function createMessageRelay(options: MessageRelayOptions): MessageRelay {
  const { publisher, metrics } = options;
  const log = options.logger.child({ component: 'message-relay' });
  const instanceId = options.instanceId ?? randomUUID();
  const intervalMs = options.intervalMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 5_000;
  const batchSize = options.batchSize ?? 200;
  const maxRetained = options.maxRetained ?? 10_000;
  const isConnected = options.isConnected ?? (() => true);
  const now = options.now ?? (() => new Date());
  const checkpoints = options.db.collection<RelayCheckpoint>(RELAY_CHECKPOINTS_COLLECTION);
  const messages = options.db.collection<MessageDoc>(MESSAGES_COLLECTION);
  const conversations = options.db.collection<ConversationDoc>(CONVERSATIONS_COLLECTION);

  const tickets = new Set<Ticket>();
  const byMessage = new Map<string, Ticket>();
  const inFlight = new Set<Promise<void>>();
  let retained = 0;
  // no message may be stored before this instance's checkpoint exists: one stored
  // without it would be nobody's to adopt
  let anchored = false;

  function close(ticket: Ticket): void {
    tickets.delete(ticket);
    if (ticket.messageId) byMessage.delete(ticket.messageId);
    if (ticket.event) retained -= 1;
    delete ticket.event;
    metrics.relayOpen.set(tickets.size);
  }

  function send(ticket: Ticket, event: ParleyEvent): void {
    const attempt = publisher.publish(event).then(
      () => {
        metrics.eventsPublished.inc({ type: event.type });
        close(ticket);
      },
      (err: unknown) => {
        metrics.publishFailures.inc({ type: event.type });
        log.warn({ err, eventId: event.id }, 'event not confirmed; the relay retries it');
        ticket.failed = true;
        if (retained > maxRetained && ticket.event) {
          // memory stays bounded while the broker is away: the tail is re-read instead
          delete ticket.event;
          retained -= 1;
          ticket.evicted = true;
        }
      },
    );
    inFlight.add(attempt);
    void attempt.finally(() => inFlight.delete(attempt));
  }

  function oldestOpen(): Date | undefined {
    let oldest: Date | undefined;
    for (const ticket of tickets) if (!oldest || ticket.at < oldest) oldest = ticket.at;
    return oldest;
  }

  /** Publishes one batch of events and waits for every confirm (throws on the first failure). */
  async function publishAll(events: ParleyEvent[]): Promise<void> {
    await Promise.all(
      events.map(async (event) => {
        await publisher.publish(event);
        metrics.eventsPublished.inc({ type: event.type });
      }),
    );
  }

  /**
   * Republishes every message of `origin` created at or after `from`, in batches; after
   * each batch the adopted checkpoint moves on (and its lease with it). Own open
   * tickets confirmed on the way are closed.
   */
  async function republishTail(origin: string, from: Date): Promise<number> {
    let published = 0;
    let after: { at: Date; id: MessageDoc['_id'] } | undefined;
    for (;;) {
      const filter: Filter<MessageDoc> = after
        ? {
            origin,
            $or: [
              { createdAt: { $gt: after.at } },
              { createdAt: after.at, _id: { $gt: after.id } },
            ],
          }
        : { origin, createdAt: { $gte: from } };
      const docs = await messages
        .find(filter)
        .sort({ createdAt: 1, _id: 1 })
        .limit(batchSize)
        .toArray();
      if (docs.length === 0) break;
      const ids = [...new Set(docs.map((d) => d.conversationId))];
      const found = await conversations
        .find(
          { _id: { $in: ids } },
          {
            projection: {
              _id: 1,
              kind: 1,
              name: 1,
              memberIds: 1,
              memberVersion: 1,
              membershipChangeUntil: 1,
            },
          },
        )
        .toArray();
      const byId = new Map(
        (await Promise.all(found.map((c) => options.withMembers(c)))).map((c) => [c._id, c]),
      );
      const events = docs.flatMap((doc) => {
        const conversation = byId.get(doc.conversationId);
        return conversation ? [newMessageEvent(toMessage(doc), conversation)] : [];
      });
      await publishAll(events);
      published += events.length;
      for (const doc of docs) {
        const ticket = byMessage.get(doc._id.toHexString());
        if (ticket) close(ticket);
      }
      const last = docs.at(-1)!;
      after = { at: last.createdAt, id: last._id };
      if (origin !== instanceId) {
        await checkpoints.updateOne(
          { _id: origin, adoptedBy: instanceId },
          { $set: { confirmedBefore: last.createdAt, heartbeatAt: now() } },
        );
      }
      if (docs.length < batchSize) break;
    }
    return published;
  }

  /** Adopts the checkpoints whose owner stopped beating, one at a time. */
  async function adoptStale(at: Date): Promise<number> {
    const stale = await checkpoints
      .find({ heartbeatAt: { $lt: new Date(at.getTime() - leaseMs) } })
      .limit(10)
      .toArray();
    let published = 0;
    for (const checkpoint of stale) {
      if (checkpoint._id === instanceId) continue;
      const claimed = await checkpoints.findOneAndUpdate(
        { _id: checkpoint._id, heartbeatAt: checkpoint.heartbeatAt },
        { $set: { heartbeatAt: now(), adoptedBy: instanceId } },
      );
      if (!claimed) continue; // another instance adopted it first
      const count = await republishTail(checkpoint._id, checkpoint.confirmedBefore);
      await checkpoints.deleteOne({ _id: checkpoint._id, adoptedBy: instanceId });
      log.info({ origin: checkpoint._id, republished: count }, 'adopted a stale relay checkpoint');
      published += count;
    }
    return published;
  }

  async function writeCheckpoint(at: Date): Promise<void> {
    await checkpoints.updateOne(
      { _id: instanceId },
      { $set: { confirmedBefore: oldestOpen() ?? at, heartbeatAt: at }, $unset: { adoptedBy: '' } },
      { upsert: true },
    );
    anchored = true;
  }

  async function pass(): Promise<void> {
    const at = now(); // before reading the tickets: a ticket begun later is newer
    if (isConnected()) {
      const failed = [...tickets].filter((t) => t.failed);
      for (const ticket of failed) {
        ticket.failed = false;
        if (ticket.event) send(ticket, ticket.event);
      }
      if (failed.some((t) => t.evicted)) await republishTail(instanceId, oldestOpen() ?? at);
    }
    await writeCheckpoint(at);
    if (isConnected()) await adoptStale(at);
  }

  // one pass at a time, the next scheduled when it settled, a failing pass logged
  const loop = createPeriodicTask({
    name: 'message-relay',
    intervalMs,
    run: pass,
    logger: options.logger,
  });

  return {
    instanceId,
    begin() {
      if (!anchored) {
        throw new DependencyUnavailableError('The message relay has no checkpoint yet; try again');
      }
      const ticket: Ticket = { at: now() };
      tickets.add(ticket);
      metrics.relayOpen.set(tickets.size);
      return ticket;
    },
    cancel(ticket) {
      close(ticket as Ticket);
    },
    publish(ticket, event) {
      const own = ticket as Ticket;
      if (!tickets.has(own)) return;
      own.messageId = (event.data as { message?: { id?: string } }).message?.id ?? event.id;
      byMessage.set(own.messageId, own);
      own.event = event;
      retained += 1;
      send(own, event);
    },
    async start() {
      try {
        await writeCheckpoint(now());
      } catch (err) {
        // MongoDB not reachable yet: sends answer 503 until a pass has written it
        log.warn({ err }, 'first relay checkpoint not written; retrying');
      }
      loop.start();
    },
    runOnce: () => loop.runOnce(),
    async stop() {
      await loop.stop();
      await Promise.allSettled([...inFlight]);
      try {
        if (tickets.size === 0) await checkpoints.deleteOne({ _id: instanceId });
        else await writeCheckpoint(now()); // another instance adopts what is open
      } catch (err) {
        log.warn({ err }, 'the last checkpoint was not written; the tail is adopted');
      }
    },
    get open() {
      return tickets.size;
    },
  };
}
