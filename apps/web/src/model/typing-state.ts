// Who is typing where. The server forwards `typing` frames at most every 2 s per user
// (docs/design.md §9) and a typist who stops may never say so (closed tab), so each entry
// expires on its own a few seconds after the last frame.
import type { UserRef } from '@parley/contracts';

/** A typing frame keeps its typist shown this long. */
export const TYPING_TTL_MS = 6_000;

/** conversationId → userId → {user, until (ms)}. */
export type TypingState = Readonly<
  Record<string, Readonly<Record<string, { user: UserRef; until: number }>>>
>;

export function applyTyping(
  state: TypingState,
  frame: { conversationId: string; user: UserRef; isTyping: boolean },
  now: number,
): TypingState {
  const current = { ...state[frame.conversationId] };
  if (frame.isTyping) current[frame.user.id] = { user: frame.user, until: now + TYPING_TTL_MS };
  else delete current[frame.user.id];
  return { ...state, [frame.conversationId]: current };
}

/** A message from the typist means they stopped typing it. */
export function clearTypist(
  state: TypingState,
  conversationId: string,
  userId: string,
): TypingState {
  if (state[conversationId]?.[userId] === undefined) return state;
  const current = { ...state[conversationId] };
  delete current[userId];
  return { ...state, [conversationId]: current };
}

export function typists(state: TypingState, conversationId: string, now: number): UserRef[] {
  return Object.values(state[conversationId] ?? {})
    .filter((entry) => entry.until > now)
    .map((entry) => entry.user);
}

/** The earliest expiry still ahead, to know when to look again; undefined when none. */
export function nextExpiry(state: TypingState, now: number): number | undefined {
  let next: number | undefined;
  for (const users of Object.values(state)) {
    for (const { until } of Object.values(users)) {
      if (until > now && (next === undefined || until < next)) next = until;
    }
  }
  return next;
}

/** "Ana is typing…", "Ana and Ben are typing…", "Ana, Ben and 2 others are typing…". */
export function typingLabel(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  const others = names.length - 2;
  return `${names[0]}, ${names[1]} and ${others} other${others === 1 ? '' : 's'} are typing…`;
}

/**
 * When to tell the server I am typing: the first keystroke, then at most once per
 * `intervalMs` while typing goes on (the server would drop the extra frames anyway).
 */
export function shouldSendTyping(
  lastSentAt: number | undefined,
  now: number,
  intervalMs = 2_000,
): boolean {
  return lastSentAt === undefined || now - lastSentAt >= intervalMs;
}
