// POST/DELETE/GET /chat/blocks (docs/design.md §10). A block is one-way: the blocked
// user's direct messages to the blocker are refused with 403 blocked (checked before
// the conversation is looked up, so the answer is the same whether one exists), the
// blocker's presence is `unknown` to them and their typing never reaches the
// blocker. Rooms are unaffected.
import type { UserRef } from '@parley/contracts';
import { ForbiddenError, ValidationError, type Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { resolveDirectPeer } from '../user-refs';

async function resolveOther(
  services: ChatServices,
  caller: Principal,
  username: string,
): Promise<UserRef> {
  if (username === caller.username.toLowerCase()) {
    throw new ValidationError(
      [{ path: 'username', message: 'you cannot block yourself' }],
      'You cannot block yourself',
    );
  }
  return resolveDirectPeer(services, caller, username);
}

export async function blockUser(
  services: ChatServices,
  caller: Principal,
  username: string,
): Promise<void> {
  const user = await resolveOther(services, caller, username);
  await services.blocks.block(caller.userId, user, services.now());
}

export async function unblockUser(
  services: ChatServices,
  caller: Principal,
  username: string,
): Promise<void> {
  const user = await resolveOther(services, caller, username);
  await services.blocks.unblock(caller.userId, user.id);
}

export async function listBlocks(services: ChatServices, caller: Principal): Promise<UserRef[]> {
  const rows = await services.blocks.list(caller.userId);
  return rows.map((r) => ({ id: r.blockedId, username: r.blockedUsername }));
}

/**
 * 403 blocked when `recipientId` blocks the sender: from this instance's copy, so a
 * block made through another instance counts within the conversation cache window.
 */
export async function requireNotBlockedBy(
  services: ChatServices,
  recipientId: string,
  senderId: string,
): Promise<void> {
  if (recipientId === senderId) return;
  if (await services.blocks.blocksRecently(recipientId, senderId)) {
    throw new ForbiddenError('This user does not accept your messages', { code: 'blocked' });
  }
}
