// The conversation list: which conversations, in what order, under what name, with
// how many unread messages. Counts start from the server's (`unreadCount`) and then
// follow the live stream: a message from someone else past my read marker adds one,
// my own read marker (from this tab or another device) takes them away. Mention counts
// (`mentionCount`, docs/design.md §10.1) follow the same way. A muted conversation
// (§10.3) still counts; the app only keeps it out of the tab title's total.
import type { ConversationSummary, Message, User, UserRef } from '@parley/contracts';
import { attachmentsOf } from './attachments';
import { mentionsUser } from './mentions';
import { clockTime, sameDay, type TimeFormatOptions } from './time-format';

/** When the conversation last moved: its newest message, else its last change. */
export function lastActivity(conversation: ConversationSummary): string {
  return conversation.lastMessage?.createdAt ?? conversation.updatedAt;
}

/** Newest activity first; ties by id so the order is stable. */
export function sortConversations(list: readonly ConversationSummary[]): ConversationSummary[] {
  return [...list].sort((a, b) => {
    const diff = Date.parse(lastActivity(b)) - Date.parse(lastActivity(a));
    return diff !== 0 ? diff : a.id.localeCompare(b.id);
  });
}

/** Display name of a user: their displayName when known, else the username. */
export function nameOf(user: UserRef, directory: Readonly<Record<string, User>> = {}): string {
  return directory[user.id]?.displayName || user.username;
}

/** The other member of a direct conversation (myself for a note-to-self). */
export function directPartner(
  conversation: { members: readonly UserRef[] },
  meId: string,
): UserRef | undefined {
  return conversation.members.find((m) => m.id !== meId) ?? conversation.members[0];
}

export function conversationTitle(
  conversation: { kind: string; name?: string | undefined; members: readonly UserRef[] },
  meId: string,
  directory: Readonly<Record<string, User>> = {},
): string {
  if (conversation.kind === 'room') return conversation.name ?? 'Unnamed room';
  const partner = directPartner(conversation, meId);
  return partner === undefined ? 'Direct message' : nameOf(partner, directory);
}

/** The list after a message arrived: moved up, last message set, unread counted. */
export function applyMessage(
  conversation: ConversationSummary,
  message: Message,
  meId: string,
): ConversationSummary {
  const isNewest = message.seq >= conversation.lastSeq;
  const fromOther = message.sender.id !== meId;
  const unread =
    fromOther && message.seq > conversation.lastReadSeq && message.seq > conversation.lastSeq;
  return {
    ...conversation,
    lastSeq: Math.max(conversation.lastSeq, message.seq),
    ...(isNewest ? { lastMessage: message } : {}),
    // My own message means I have read everything up to it.
    ...(fromOther
      ? {}
      : { lastReadSeq: Math.max(conversation.lastReadSeq, message.seq), unreadCount: 0 }),
    ...(unread ? { unreadCount: conversation.unreadCount + 1 } : {}),
    ...(unread && mentionsUser(message, meId)
      ? { mentionCount: conversation.mentionCount + 1 }
      : {}),
    ...(fromOther ? {} : { mentionCount: 0 }),
  };
}

/** The list after my read marker moved to `seq` (here or on another device). */
export function applyOwnRead(conversation: ConversationSummary, seq: number): ConversationSummary {
  if (seq <= conversation.lastReadSeq) return conversation;
  const unreadCount =
    seq >= conversation.lastSeq
      ? 0
      : Math.min(conversation.unreadCount, conversation.lastSeq - seq);
  // Which of the unread messages mentioned me is not known here: the count can only
  // shrink with the unread ones (the next list load has the exact figure).
  const mentionCount = Math.min(conversation.mentionCount, unreadCount);
  return { ...conversation, lastReadSeq: seq, unreadCount, mentionCount };
}

/** An edit or deletion of the conversation's last message shows in the list. */
export function applyMessageUpdate(
  conversation: ConversationSummary,
  message: Message,
): ConversationSummary {
  if (conversation.lastMessage?.id !== message.id) return conversation;
  return { ...conversation, lastMessage: message };
}

export interface Badge {
  unread: number;
  mentions: number;
}

/** What the list shows beside a conversation. */
export function badgeOf(conversation: ConversationSummary): Badge {
  return { unread: conversation.unreadCount, mentions: conversation.mentionCount };
}

/**
 * Totals for the document title: "(3) Parley". A muted conversation's unread messages
 * are left out; mentions of me count even there (what muting is for: the rest).
 */
export function totalBadge(list: readonly ConversationSummary[], nowMs: number): Badge {
  return list.reduce<Badge>(
    (sum, c) => ({
      unread: sum.unread + (isMuted(c, nowMs) ? 0 : c.unreadCount),
      mentions: sum.mentions + c.mentionCount,
    }),
    { unread: 0, mentions: 0 },
  );
}

/** Muted now: muted with no end, or an end still ahead (a passed end is no mute, §10.3). */
export function isMuted(conversation: ConversationSummary, nowMs: number): boolean {
  if (!conversation.muted) return false;
  return conversation.mutedUntil === undefined || Date.parse(conversation.mutedUntil) > nowMs;
}

/** The conversation after I muted it (until `until`, or until unmuted) or unmuted it. */
export function withMute(
  conversation: ConversationSummary,
  mute: { until?: string } | null,
): ConversationSummary {
  const { mutedUntil: _old, ...rest } = conversation;
  if (mute === null) return { ...rest, muted: false };
  return { ...rest, muted: true, ...(mute.until === undefined ? {} : { mutedUntil: mute.until }) };
}

/** "Muted", "Muted until 14:30", or "Muted until Fri 5 Dec, 09:00"; null when not muted. */
export function muteLabel(
  conversation: ConversationSummary,
  nowMs: number,
  options: TimeFormatOptions = {},
): string | null {
  if (!isMuted(conversation, nowMs)) return null;
  const until = conversation.mutedUntil;
  if (until === undefined) return 'Muted';
  if (sameDay(until, new Date(nowMs), options)) return `Muted until ${clockTime(until, options)}`;
  const day = new Intl.DateTimeFormat(options.locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone: options.timeZone,
  }).format(new Date(until));
  return `Muted until ${day}, ${clockTime(until, options)}`;
}

/** The ends offered when muting: an hour, eight hours, a day, a week, or until unmuted. */
export const MUTE_CHOICES = [
  { label: 'For 1 hour', ms: 3_600_000 },
  { label: 'For 8 hours', ms: 8 * 3_600_000 },
  { label: 'For 1 day', ms: 24 * 3_600_000 },
  { label: 'For 1 week', ms: 7 * 24 * 3_600_000 },
  { label: 'Until I unmute', ms: null },
] as const;

/** The `until` for a choice (an ISO time), or undefined for an indefinite mute. */
export function muteUntil(ms: number | null, nowMs: number): string | undefined {
  return ms === null ? undefined : new Date(nowMs + ms).toISOString();
}

/** A one-line preview of the last message. */
export function previewOf(
  conversation: ConversationSummary,
  meId: string,
  directory: Readonly<Record<string, User>> = {},
): string {
  const last = conversation.lastMessage;
  if (last === undefined) return conversation.kind === 'room' ? 'No messages yet' : '';
  const files = attachmentsOf(last).map((a) => a.name);
  const body =
    last.deletedAt !== undefined
      ? 'Message deleted'
      : last.text === '' && files.length > 0
        ? `📎 ${files.join(', ')}`
        : last.text.replace(/\s+/g, ' ');
  if (last.sender.id === meId) return `You: ${body}`;
  return conversation.kind === 'room' ? `${nameOf(last.sender, directory)}: ${body}` : body;
}

/** Case-insensitive filter on the title. */
export function filterConversations(
  list: readonly ConversationSummary[],
  query: string,
  meId: string,
  directory: Readonly<Record<string, User>> = {},
): ConversationSummary[] {
  const q = query.trim().toLowerCase();
  if (q === '') return [...list];
  return list.filter((c) => {
    if (conversationTitle(c, meId, directory).toLowerCase().includes(q)) return true;
    return c.kind === 'direct' && c.members.some((m) => m.username.includes(q));
  });
}
