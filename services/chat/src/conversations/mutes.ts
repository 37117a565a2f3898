// POST/DELETE /chat/conversations/:id/mute (docs/design.md §10): a mute is the
// member's own setting, until a time or until lifted; it changes what the
// conversation list shows (muted, mutedUntil) and nothing else — messages, unread
// and mention counts go on as before, and a client decides what to do with them.
import { ValidationError, type Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { requireMember } from './conversation-access';

export async function muteConversation(
  services: ChatServices,
  caller: Principal,
  conversationId: string,
  until: string | undefined,
): Promise<void> {
  requireMember(await services.conversations.findById(conversationId), caller.userId);
  const end = until === undefined ? undefined : new Date(until);
  if (end && end <= services.now()) {
    throw new ValidationError(
      [{ path: 'until', message: 'until must be in the future' }],
      'The request body is not valid',
    );
  }
  await services.mutes.set(caller.userId, conversationId, end);
}

export async function unmuteConversation(
  services: ChatServices,
  caller: Principal,
  conversationId: string,
): Promise<void> {
  requireMember(await services.conversations.findById(conversationId), caller.userId);
  await services.mutes.clear(caller.userId, conversationId);
}
