// One conversation's messages as the app holds them: what history pages, live frames,
// acks and REST answers brought (merged by id, ordered by seq), plus the sends still
// on their way. The realtime client already delivers each message once; this merge is
// what makes the other sources (a history page that overlaps a live frame, the answer
// to an edit racing its `message_updated`) safe to apply in any order.
import type { Message } from '@parley/contracts';

/** A message typed here and not yet acknowledged by the server. */
export interface PendingSend {
  /** The send's `ref`: the stored message comes back with it as `clientMsgId`. */
  ref: string;
  text: string;
  parentId?: string;
  /** When it was typed (ISO), to place and label it. */
  createdAt: string;
  state: 'sending' | 'failed';
  /** Why it failed (shown beside Retry). */
  error?: string;
}

export interface Timeline {
  /** Every loaded message, replies included, ascending seq, one per id. */
  messages: readonly Message[];
  pending: readonly PendingSend[];
  /** The lowest seq a history page reached: scroll-back asks for `before` it. */
  floorSeq: number | undefined;
  /** Whether older history exists below floorSeq. */
  hasMoreBefore: boolean;
  /** The first page has arrived. */
  loaded: boolean;
}

export const emptyTimeline: Timeline = {
  messages: [],
  pending: [],
  floorSeq: undefined,
  hasMoreBefore: true,
  loaded: false,
};

/**
 * Merges messages into an ascending, id-unique list. A message already present is
 * replaced by the incoming copy (an edit, a reaction, a deletion), so the newest
 * state applied wins; the result is a new array only when something changed.
 */
export function mergeMessages(
  current: readonly Message[],
  incoming: readonly Message[],
): readonly Message[] {
  if (incoming.length === 0) return current;
  const byId = new Map(current.map((m) => [m.id, m]));
  let changed = false;
  for (const message of incoming) {
    if (byId.get(message.id) !== message) {
      byId.set(message.id, message);
      changed = true;
    }
  }
  if (!changed) return current;
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

/** Adds messages, and drops the pending sends they acknowledge. */
export function withMessages(timeline: Timeline, incoming: readonly Message[]): Timeline {
  const messages = mergeMessages(timeline.messages, incoming);
  const acked = new Set(incoming.map((m) => m.clientMsgId).filter((ref) => ref !== undefined));
  const pending = acked.size ? timeline.pending.filter((p) => !acked.has(p.ref)) : timeline.pending;
  if (messages === timeline.messages && pending === timeline.pending) return timeline;
  return { ...timeline, messages, pending };
}

/** Adds a page of history (ascending), lowering the floor when it reaches further back. */
export function withHistoryPage(
  timeline: Timeline,
  page: { messages: readonly Message[]; hasMore: boolean },
  direction: 'latest' | 'before',
): Timeline {
  const merged = withMessages(timeline, page.messages);
  const pageFloor = page.messages[0]?.seq;
  const floorSeq =
    pageFloor === undefined
      ? timeline.floorSeq
      : Math.min(pageFloor, timeline.floorSeq ?? Number.POSITIVE_INFINITY);
  // A refresh of the newest page says nothing about what lies below an older floor.
  const reachedFurther = floorSeq !== timeline.floorSeq || !timeline.loaded;
  const hasMoreBefore =
    direction === 'before' || reachedFurther
      ? page.hasMore && (pageFloor ?? 1) > 1
      : timeline.hasMoreBefore;
  return { ...merged, floorSeq, hasMoreBefore, loaded: true };
}

export function withPending(timeline: Timeline, send: PendingSend): Timeline {
  const others = timeline.pending.filter((p) => p.ref !== send.ref);
  // Already acknowledged (the ack raced the bookkeeping): nothing is pending.
  if (timeline.messages.some((m) => m.clientMsgId === send.ref)) {
    return others.length === timeline.pending.length ? timeline : { ...timeline, pending: others };
  }
  return { ...timeline, pending: [...others, send] };
}

export function withoutPending(timeline: Timeline, ref: string): Timeline {
  const pending = timeline.pending.filter((p) => p.ref !== ref);
  return pending.length === timeline.pending.length ? timeline : { ...timeline, pending };
}

/** The messages of the main list: thread replies live in the thread panel. */
export function rootMessages(messages: readonly Message[]): Message[] {
  return messages.filter((m) => m.parentId === undefined);
}

/** A thread: its root (when loaded) and its replies in seq order. */
export function threadOf(
  messages: readonly Message[],
  rootId: string,
): { root: Message | undefined; replies: Message[] } {
  return {
    root: messages.find((m) => m.id === rootId),
    replies: messages.filter((m) => m.parentId === rootId),
  };
}

/** How many loaded replies each thread root has, and who wrote the latest. */
export function replySummaries(
  messages: readonly Message[],
): Map<string, { count: number; lastAt: string }> {
  const out = new Map<string, { count: number; lastAt: string }>();
  for (const m of messages) {
    if (m.parentId === undefined || m.deletedAt !== undefined) continue;
    const entry = out.get(m.parentId);
    out.set(m.parentId, { count: (entry?.count ?? 0) + 1, lastAt: m.createdAt });
  }
  return out;
}

/** The newest seq loaded (what a read marker moves to once the bottom is seen). */
export function newestSeq(timeline: Timeline): number {
  return timeline.messages.at(-1)?.seq ?? 0;
}

/** A message as it looks once deleted here, before the server's copy arrives. */
export function tombstone(message: Message, at: string): Message {
  return { ...message, text: '', deletedAt: at, reactions: {} };
}

/** The reactions after the user toggled `emoji` (what to show before the answer). */
export function toggledReactions(
  reactions: Message['reactions'],
  emoji: string,
  userId: string,
): Message['reactions'] {
  const users = reactions[emoji] ?? [];
  const next = { ...reactions };
  if (users.includes(userId)) {
    const rest = users.filter((id) => id !== userId);
    if (rest.length === 0) delete next[emoji];
    else next[emoji] = rest;
  } else {
    next[emoji] = [...users, userId];
  }
  return next;
}
