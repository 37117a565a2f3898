// Builders for contract-shaped values in the view-logic tests.
import type { ConversationSummary, Message, UserRef } from '@parley/contracts';

export const ana: UserRef = { id: 'u-ana', username: 'ana' };
export const ben: UserRef = { id: 'u-ben', username: 'ben' };
export const cal: UserRef = { id: 'u-cal', username: 'cal' };

export function message(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    conversationId: 'c1',
    seq,
    sender: ana,
    text: `message ${seq}`,
    reactions: {},
    createdAt: new Date(Date.UTC(2026, 10, 21, 12, 0, seq)).toISOString(),
    ...overrides,
  };
}

export function summary(overrides: Partial<ConversationSummary> = {}): ConversationSummary {
  return {
    id: 'c1',
    kind: 'direct',
    isPrivate: true,
    members: [ana, ben],
    memberCount: 2,
    lastSeq: 0,
    lastReadSeq: 0,
    unreadCount: 0,
    mentionCount: 0,
    muted: false,
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:00.000Z',
    ...overrides,
  };
}
