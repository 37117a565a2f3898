// Events on the RabbitMQ fanout exchanges `chat.events` and `chat.presence`
// (docs/design.md §5). Producers build them with `createEvent`; consumers read them with `readEvent`, which
// separates events this code speaks from unknown types/versions (to be acked and
// ignored) and from garbage (to be dead-lettered).
import { idSchema, isoDateTimeSchema, seqSchema, userRefSchema } from './common';
import {
  conversationRefSchema,
  conversationSchema,
  memberChangeSchema,
  messageEditSchema,
  messageSchema,
  presenceStatusSchema,
  reactionChangeSchema,
} from './chat';
import { z } from './zod';

export const EVENTS_EXCHANGE = 'chat.events';
/**
 * Where websocket instances announce presence to each other (fanout, durable). Apart
 * from chat.events so that an instance, whose broker user may write only here, cannot
 * publish a chat event; consumers take presence only from here and chat events only
 * from chat.events.
 */
export const PRESENCE_EXCHANGE = 'chat.presence';
export const EVENT_VERSION = 1;

/** What every event on the bus has, whatever its type or version. */
export const eventEnvelopeSchema = z.looseObject({
  id: z.uuid(),
  type: z.string().min(1).max(64),
  version: z.number().int().min(1),
  occurredAt: isoDateTimeSchema,
  recipients: z.array(idSchema),
  data: z.unknown(),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

function event<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({
    id: z.uuid(),
    type: z.literal(type),
    version: z.literal(EVENT_VERSION),
    occurredAt: isoDateTimeSchema,
    recipients: z.array(idSchema),
    data,
  });
}

export const newMessageEventSchema = event(
  'new_message',
  z.object({ message: messageSchema, conversation: conversationRefSchema }),
);
// Changes to a stored message carry what changed, never the whole message, so no event
// grows with the message's history (its reactions): an edit or delete, or one reaction.
export const messageUpdatedEventSchema = event(
  'message_updated',
  z.object({ message: messageEditSchema }),
);
export const reactionEventSchema = event('reaction', reactionChangeSchema);
export const typingEventSchema = event(
  'typing',
  z.object({ conversationId: idSchema, user: userRefSchema, isTyping: z.boolean() }),
);
export const readEventSchema = event(
  'read',
  z.object({ conversationId: idSchema, userId: idSchema, seq: seqSchema }),
);
export const conversationUpdatedEventSchema = event(
  'conversation_updated',
  z.object({ conversation: conversationSchema, memberChange: memberChangeSchema.optional() }),
);
/**
 * Where an instance's presence announcements stand (docs/design.md §6.7): `epoch` names
 * one run of the process (a restart starts a new one), `seq` counts the deltas it
 * published in that run. A peer that sees a gap, or a digest that does not match what
 * it holds, asks for a snapshot. Optional: an instance without them is trusted as is.
 */
const presenceStandingSchema = {
  epoch: z.string().min(1).max(64).optional(),
  seq: z.number().int().min(0).optional(),
};
/** A delta: one user's first socket opened (online) or last socket closed (offline) here. */
export const presenceEventSchema = event(
  'presence',
  z.object({
    userId: idSchema,
    status: presenceStatusSchema,
    instanceId: z.string().min(1),
    ...presenceStandingSchema,
  }),
);
/** Every user the instance holds, after delta `seq`: on start and when a peer asks. */
export const presenceSnapshotEventSchema = event(
  'presence_snapshot',
  z.object({
    instanceId: z.string().min(1),
    userIds: z.array(idSchema),
    at: isoDateTimeSchema,
    ...presenceStandingSchema,
  }),
);
/**
 * The heartbeat: a fixed-size summary of the users the instance holds after delta `seq`
 * (`count` and an order-free `hash` of their ids), and the peers whose snapshot it
 * needs (`resync`; `*` asks every peer, as a starting instance does).
 */
export const presenceDigestEventSchema = event(
  'presence_digest',
  z.object({
    instanceId: z.string().min(1),
    epoch: z.string().min(1).max(64),
    seq: z.number().int().min(0),
    count: z.number().int().min(0),
    hash: z.string().regex(/^[0-9a-f]{16}$/),
    resync: z.array(z.string().min(1)).max(1_000),
    at: isoDateTimeSchema,
  }),
);

/**
 * Every session of the user ended (logout everywhere, password change): websocket
 * instances close the user's sockets with 4001 and refuse access tokens issued up to
 * `revokedAt` (their `iat` is at or before it). Published by auth; recipients: the user.
 */
export const sessionRevokedEventSchema = event(
  'session_revoked',
  z.object({ userId: idSchema, revokedAt: isoDateTimeSchema }),
);

export const parleyEventSchema = z.discriminatedUnion('type', [
  newMessageEventSchema,
  messageUpdatedEventSchema,
  reactionEventSchema,
  typingEventSchema,
  readEventSchema,
  conversationUpdatedEventSchema,
  presenceEventSchema,
  presenceSnapshotEventSchema,
  presenceDigestEventSchema,
  sessionRevokedEventSchema,
]);
export type ParleyEvent = z.infer<typeof parleyEventSchema>;
export type EventType = ParleyEvent['type'];
export type EventOf<T extends EventType> = Extract<ParleyEvent, { type: T }>;
export type EventData<T extends EventType> = EventOf<T>['data'];

export const EVENT_TYPES = parleyEventSchema.options.map((o) => o.shape.type.value) as EventType[];

export function isKnownEventType(type: string): type is EventType {
  return (EVENT_TYPES as string[]).includes(type);
}

/** Builds an event with a fresh id (ids make redelivery harmless: consumers dedupe). */
export function createEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  recipients: string[],
  opts: { id?: string; occurredAt?: Date } = {},
): EventOf<T> {
  return {
    id: opts.id ?? crypto.randomUUID(),
    type,
    version: EVENT_VERSION,
    occurredAt: (opts.occurredAt ?? new Date()).toISOString(),
    recipients,
    data,
  } as EventOf<T>;
}

export type ReadEventResult =
  | { kind: 'event'; event: ParleyEvent }
  | { kind: 'unknown'; envelope: EventEnvelope }
  | { kind: 'invalid'; issues: string };

/**
 * Classifies an envelope: a known type at a version we speak is parsed strictly;
 * an unknown type or another version is `unknown` (ack and ignore, docs/design.md §5); a
 * known type/version whose data does not match is `invalid` (dead-letter).
 */
export function readEvent(envelope: EventEnvelope): ReadEventResult {
  if (!isKnownEventType(envelope.type) || envelope.version !== EVENT_VERSION) {
    return { kind: 'unknown', envelope };
  }
  const parsed = parleyEventSchema.safeParse(envelope);
  if (!parsed.success) return { kind: 'invalid', issues: z.prettifyError(parsed.error) };
  return { kind: 'event', event: parsed.data };
}
