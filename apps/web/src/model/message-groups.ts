// How the main list is laid out: a day separator where the date changes, an "unread"
// line above the first message from others past the read marker, and runs of
// messages by one sender within a few minutes shown under one name and avatar.
import type { Message, UserRef } from '@parley/contracts';
import { sameDay, type TimeFormatOptions } from './time-format';

/** Messages of one sender this close together share a header. */
export const GROUP_GAP_MS = 5 * 60_000;

export type TimelineRow =
  | { kind: 'day'; key: string; at: string }
  | { kind: 'unread'; key: string }
  | { kind: 'group'; key: string; sender: UserRef; messages: Message[] };

export interface GroupOptions extends TimeFormatOptions {
  /** The reader's read marker: the first message from others above it (and above the reader's own last message) gets an unread line. */
  lastReadSeq?: number;
  /** The reader (their own messages never count as unread). */
  meId?: string;
  gapMs?: number;
}

export function groupMessages(
  messages: readonly Message[],
  options: GroupOptions = {},
): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const gap = options.gapMs ?? GROUP_GAP_MS;
  let group: Extract<TimelineRow, { kind: 'group' }> | undefined;
  let previous: Message | undefined;
  // Replying is reading: a message of mine moves the line below everything before it.
  const mine = messages.filter((m) => m.sender.id === options.meId).map((m) => m.seq);
  const readUpTo = Math.max(options.lastReadSeq ?? 0, ...mine);
  let unreadPlaced = options.lastReadSeq === undefined;
  for (const message of messages) {
    if (previous === undefined || !sameDay(previous.createdAt, message.createdAt, options)) {
      rows.push({ kind: 'day', key: `day-${message.id}`, at: message.createdAt });
      group = undefined;
    }
    if (!unreadPlaced && message.seq > readUpTo && message.sender.id !== options.meId) {
      rows.push({ kind: 'unread', key: 'unread' });
      unreadPlaced = true;
      group = undefined;
    }
    const joins =
      group !== undefined &&
      previous !== undefined &&
      group.sender.id === message.sender.id &&
      Date.parse(message.createdAt) - Date.parse(previous.createdAt) <= gap;
    if (joins && group !== undefined) {
      group.messages.push(message);
    } else {
      group = {
        kind: 'group',
        key: `group-${message.id}`,
        sender: message.sender,
        messages: [message],
      };
      rows.push(group);
    }
    previous = message;
  }
  return rows;
}
