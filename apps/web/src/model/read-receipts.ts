// Read markers of other members, as `read` frames report them (the server keeps only
// each reader's own marker in the conversation list, so others' markers are known
// from the moment this tab watches). Shown under my newest message they have seen.
import type { Message, UserRef } from '@parley/contracts';

/** conversationId → userId → read seq. */
export type ReadState = Readonly<Record<string, Readonly<Record<string, number>>>>;

export function applyRead(
  state: ReadState,
  frame: { conversationId: string; userId: string; seq: number },
): ReadState {
  const current = state[frame.conversationId]?.[frame.userId] ?? 0;
  if (frame.seq <= current) return state;
  return {
    ...state,
    [frame.conversationId]: { ...state[frame.conversationId], [frame.userId]: frame.seq },
  };
}

/**
 * Who has seen my latest message: the members other than me whose marker is at or
 * past it. Undefined when my latest message is not the newest one I sent, i.e. there
 * is nothing of mine to label.
 */
export function seenBy(
  state: ReadState,
  conversationId: string,
  messages: readonly Message[],
  members: readonly UserRef[],
  meId: string,
): { message: Message; readers: UserRef[] } | undefined {
  const mine = [...messages]
    .reverse()
    .find((m) => m.sender.id === meId && m.deletedAt === undefined);
  if (mine === undefined) return undefined;
  const markers = state[conversationId] ?? {};
  const readers = members.filter((m) => m.id !== meId && (markers[m.id] ?? 0) >= mine.seq);
  return { message: mine, readers };
}
