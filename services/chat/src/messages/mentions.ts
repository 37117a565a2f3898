// @username mentions (docs/design.md §10): a word `@name` naming a member of the
// conversation. Text in code spans (`inline` or ``` fenced ```) is not read, and
// neither is an @ inside a word, so `bob@example.com` mentions nobody. A name may
// end a sentence ("thanks @bob."): when the name as written is no member, it is
// tried again without trailing dots and dashes.
import type { UserRef } from '@parley/contracts';

const CODE_SPANS = /```[\s\S]*?```|`[^`\n]*`/g;
const MENTION = /(?<![\p{L}\p{N}_.@+-])@([a-z0-9_.-]{1,40})(?![a-z0-9_@-])/giu;

/** Mentions of at most this many people are kept per message. */
export const MENTIONS_MAX = 50;

export function parseMentions(
  text: string,
  members: ReadonlyArray<{ id: string; username: string }>,
): UserRef[] {
  if (!text.includes('@')) return [];
  const byName = new Map(members.map((m) => [m.username.toLowerCase(), m]));
  const readable = text.replace(CODE_SPANS, (span) => ' '.repeat(span.length));
  const found = new Map<string, UserRef>();
  for (const match of readable.matchAll(MENTION)) {
    const written = (match[1] ?? '').toLowerCase();
    const member = byName.get(written) ?? byName.get(written.replace(/[.-]+$/, ''));
    if (member && !found.has(member.id)) {
      found.set(member.id, { id: member.id, username: member.username });
      if (found.size >= MENTIONS_MAX) break;
    }
  }
  return [...found.values()];
}
