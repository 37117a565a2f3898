// Who may do what in a room (docs/design.md §10.4): owners set roles (handing a room
// over included); owners and admins edit the room, remove and ban members below them
// and delete anyone's message. The server decides; this only chooses which buttons to
// offer, so a refusal stays rare and is shown as the server's answer.
import type { Conversation, Message, RoomRole } from '@parley/contracts';

export type { RoomRole };

export type ModerationAction = 'make-owner' | 'make-admin' | 'make-member' | 'remove' | 'ban';

/** A user's role in a conversation: undefined for direct conversations and non-members. */
export function roleIn(
  conversation: Pick<Conversation, 'kind' | 'members'> | undefined,
  userId: string,
): RoomRole | undefined {
  if (conversation?.kind !== 'room') return undefined;
  return conversation.members.find((m) => m.id === userId)?.role;
}

/** Owners and admins moderate. */
export function isModerator(role: RoomRole | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

/** What the viewer may do to another member (never to themselves: leaving is its own button). */
export function moderationActions(
  viewer: RoomRole | undefined,
  target: RoomRole | undefined,
): ModerationAction[] {
  if (viewer === undefined || target === undefined) return [];
  const actions: ModerationAction[] = [];
  if (viewer === 'owner' && target !== 'owner') {
    if (target === 'admin') actions.push('make-owner', 'make-member');
    else actions.push('make-admin');
  }
  const outranks =
    viewer === 'owner' ? target !== 'owner' : viewer === 'admin' && target === 'member';
  if (outranks) actions.push('remove', 'ban');
  return actions;
}

/** The role an action sets (undefined: the action is no role change). */
export function roleSetBy(action: ModerationAction): RoomRole | undefined {
  return action === 'make-owner'
    ? 'owner'
    : action === 'make-admin'
      ? 'admin'
      : action === 'make-member'
        ? 'member'
        : undefined;
}

/** My own messages, and in a room anyone's when I moderate it. */
export function canDelete(
  message: Message,
  meId: string,
  conversation: Pick<Conversation, 'kind' | 'members'> | undefined,
): boolean {
  return message.sender.id === meId || isModerator(roleIn(conversation, meId));
}

/** Members by rank (owners, admins, members), then by the given order. */
export function roleRank(role: RoomRole | undefined): number {
  return role === 'owner' ? 0 : role === 'admin' ? 1 : 2;
}
