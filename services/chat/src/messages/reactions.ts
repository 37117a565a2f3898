// Reactions: at most one per user per emoji, at most REACTIONS_MAX_EMOJI distinct emoji
// on a message and REACTIONS_MAX_PER_USER of one user on it (409 too_many_reactions),
// so a message, and what is sent about it, stays bounded (docs/design.md §4.8). Each change
// emits a `reaction` event with that one change, not the message. Adding one twice or
// removing one that is not there answers the message unchanged and emits nothing.
import { REACTIONS_MAX_EMOJI, REACTIONS_MAX_PER_USER, type Message } from '@parley/contracts';
import { ConflictError, NotFoundError, type Principal } from '@parley/server-kit';
import { reactionEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { requireMessageForMember } from './message-access';
import { MESSAGES_COLLECTION, toMessage, type ReactionGroup } from './message-store';

function tooMany(detail: string): ConflictError {
  return new ConflictError(detail, { code: 'too_many_reactions' });
}

function withReaction(
  groups: ReactionGroup[],
  emoji: string,
  userId: string,
): ReactionGroup[] | undefined {
  const group = groups.find((g) => g.emoji === emoji);
  if (group?.userIds.includes(userId)) return undefined;
  if (groups.filter((g) => g.userIds.includes(userId)).length >= REACTIONS_MAX_PER_USER) {
    throw tooMany(`A user may react to a message with at most ${REACTIONS_MAX_PER_USER} emoji`);
  }
  if (!group) {
    if (groups.length >= REACTIONS_MAX_EMOJI) {
      throw tooMany(`A message may carry at most ${REACTIONS_MAX_EMOJI} different emoji`);
    }
    return [...groups, { emoji, userIds: [userId] }];
  }
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
  emoji: string,
  added: boolean,
): Promise<Message> {
  services.limits.take('reaction', caller.userId);
  const { message, conversation } = await requireMessageForMember(services, caller, messageId);
  const result = await services.messages.update(message._id, (current) => {
    if (current.deletedAt)
      throw new NotFoundError('This message was deleted', { code: 'message_not_found' });
    const reactions = added
      ? withReaction(current.reactions, emoji, caller.userId)
      : withoutReaction(current.reactions, emoji, caller.userId);
    if (!reactions) return undefined;
    return {
      set: { reactions },
      events: () => [
        reactionEvent(
          {
            messageId: current._id.toHexString(),
            conversationId: current.conversationId,
            emoji,
            userId: caller.userId,
            added,
          },
          conversation,
        ),
      ],
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
  return changeReactions(services, caller, messageId, emoji, true);
}

export function removeReaction(
  services: ChatServices,
  caller: Principal,
  messageId: string,
  emoji: string,
) {
  return changeReactions(services, caller, messageId, emoji, false);
}
