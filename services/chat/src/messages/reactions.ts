// Reactions: at most one per user per emoji. Adding one twice or removing one that is
// not there answers the message unchanged and emits nothing (idempotent).
import type { Message } from '@parley/contracts';
import { NotFoundError, type Principal } from '@parley/server-kit';
import { messageUpdatedEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { requireMessageForMember } from './message-access';
import { MESSAGES_COLLECTION, toMessage, type ReactionGroup } from './message-store';

function withReaction(
  groups: ReactionGroup[],
  emoji: string,
  userId: string,
): ReactionGroup[] | undefined {
  const group = groups.find((g) => g.emoji === emoji);
  if (group?.userIds.includes(userId)) return undefined;
  if (!group) return [...groups, { emoji, userIds: [userId] }];
  return groups.map((g) => (g === group ? { emoji, userIds: [...g.userIds, userId] } : g));
}

function withoutReaction(
  groups: ReactionGroup[],
  emoji: string,
  userId: string,
): ReactionGroup[] | undefined {
  const group = groups.find((g) => g.emoji === emoji);
  if (!group?.userIds.includes(userId)) return undefined;
  return groups
    .map((g) => (g === group ? { emoji, userIds: g.userIds.filter((id) => id !== userId) } : g))
    .filter((g) => g.userIds.length > 0);
}

async function changeReactions(
  services: ChatServices,
  caller: Principal,
  messageId: string,
  change: (groups: ReactionGroup[]) => ReactionGroup[] | undefined,
): Promise<Message> {
  const { message, conversation } = await requireMessageForMember(services, caller, messageId);
  const result = await services.messages.update(message._id, (current) => {
    if (current.deletedAt)
      throw new NotFoundError('This message was deleted', { code: 'message_not_found' });
    const reactions = change(current.reactions);
    if (!reactions) return undefined;
    return {
      set: { reactions },
      events: (after) => [messageUpdatedEvent(toMessage(after), conversation)],
    };
  });
  services.outbox.dispatch(MESSAGES_COLLECTION, message._id, result.events);
  return toMessage(result.doc);
}

export function addReaction(
  services: ChatServices,
  caller: Principal,
  messageId: string,
  emoji: string,
) {
  return changeReactions(services, caller, messageId, (groups) =>
    withReaction(groups, emoji, caller.userId),
  );
}

export function removeReaction(
  services: ChatServices,
  caller: Principal,
  messageId: string,
  emoji: string,
) {
  return changeReactions(services, caller, messageId, (groups) =>
    withoutReaction(groups, emoji, caller.userId),
  );
}
