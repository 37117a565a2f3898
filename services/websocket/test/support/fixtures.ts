// Contract-valid payloads for injected events.
import { randomUUID } from 'node:crypto';
import type { Conversation, ConversationRef, Message, UserRef } from '@parley/contracts';

export function makeMessage(
  conversationId: string,
  sender: UserRef,
  seq: number,
  extra: Partial<Message> = {},
): Message {
  return {
    id: randomUUID(),
    conversationId,
    seq,
    sender,
    text: `message ${seq}`,
    reactions: {},
    createdAt: new Date().toISOString(),
    ...extra,
  };
}

export function makeConversation(ref: ConversationRef, members: UserRef[]): Conversation {
  const now = new Date().toISOString();
  return {
    ...ref,
    isPrivate: false,
    members,
    memberCount: members.length,
    lastSeq: 0,
    createdAt: now,
    updatedAt: now,
  };
}

export function ref(user: { userId: string; username: string }): UserRef {
  return { id: user.userId, username: user.username };
}
