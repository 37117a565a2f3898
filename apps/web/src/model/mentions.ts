// Mentions (docs/design.md §10.1): the server decides who a message mentions and lists
// them in `message.mentions`; the app highlights those and never guesses from the text.
// While typing, `@` followed by the start of a name offers the conversation's members.
import type { Message, User, UserRef } from '@parley/contracts';

/** Users the server found mentioned in a message. */
export function mentionsOf(message: Message): readonly UserRef[] {
  return message.mentions ?? [];
}

export function mentionsUser(message: Message, userId: string): boolean {
  return mentionsOf(message).some((user) => user.id === userId);
}

/** The `@name` being typed just before the caret: where its `@` is and what follows it. */
export interface MentionQuery {
  start: number;
  query: string;
}

// As the server reads them (§10.1): no letter, digit or `_.@+-` right before the `@`.
const TYPED_MENTION = /(^|[^\p{L}\p{N}_.@+-])@([a-z0-9_.-]{0,40})$/iu;

export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const match = TYPED_MENTION.exec(text.slice(0, caret));
  if (match === null) return null;
  const query = match[2] ?? '';
  return { start: caret - query.length - 1, query: query.toLowerCase() };
}

/**
 * Members whose username or display name starts with the query (me left out):
 * username matches first, then by name; at most `limit`.
 */
export function mentionCandidates(
  members: readonly UserRef[],
  query: string,
  meId: string,
  directory: Readonly<Record<string, User>> = {},
  limit = 6,
): UserRef[] {
  const q = query.toLowerCase();
  const scored: { user: UserRef; score: number; name: string }[] = [];
  for (const user of members) {
    if (user.id === meId) continue;
    const name = directory[user.id]?.displayName ?? user.username;
    const byUsername = user.username.startsWith(q);
    const byName = name
      .toLowerCase()
      .split(/\s+/)
      .some((word) => word.startsWith(q));
    if (byUsername || byName) scored.push({ user, score: byUsername ? 0 : 1, name });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((s) => s.user);
}

/** The text with the typed `@query` replaced by `@username `, and where the caret goes. */
export function insertMention(
  text: string,
  at: MentionQuery,
  username: string,
): { text: string; caret: number } {
  const end = at.start + 1 + at.query.length;
  const inserted = `@${username} `;
  const rest = text.slice(end).replace(/^ /, '');
  return { text: text.slice(0, at.start) + inserted + rest, caret: at.start + inserted.length };
}
