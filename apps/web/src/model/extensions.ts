// Fields later issues add to the contract (docs/design.md §10 mentions and room roles,
// §11 attachments), read in one place. Today's servers never send them, so every
// accessor answers "none"; once the contracts carry a field, the matching accessor
// reads it and the UI that already renders its answer lights up. Nothing here
// invents server behaviour: no mention is guessed from text, no role assumed.
import type { ConversationSummary, Message, UserRef } from '@parley/contracts';

/** A room member's role (§10). */
export type RoomRole = 'owner' | 'admin' | 'member';

/** A stored file (§11). */
export interface AttachmentInfo {
  id: string;
  name: string;
  contentType: string;
  size: number;
  width?: number;
  height?: number;
}

type WithMentions = { mentions?: readonly UserRef[] };
type WithMentionCount = { mentionCount?: number };
type WithRole = { role?: RoomRole };
type WithAttachments = { attachments?: readonly AttachmentInfo[] };

/** Users the server found mentioned in a message (`message.mentions`, §10). */
export function mentionsOf(message: Message): readonly UserRef[] {
  return (message as Message & WithMentions).mentions ?? [];
}

export function mentionsUser(message: Message, userId: string): boolean {
  return mentionsOf(message).some((user) => user.id === userId);
}

/** Unread messages that mention me (`mentionCount`, §10); 0 until the server counts them. */
export function mentionCountOf(conversation: ConversationSummary): number {
  return (conversation as ConversationSummary & WithMentionCount).mentionCount ?? 0;
}

/** A member's role in a room (§10); undefined while the server has no roles. */
export function roleOf(member: UserRef): RoomRole | undefined {
  return (member as UserRef & WithRole).role;
}

/** Files sent with a message (§11). */
export function attachmentsOf(message: Message): readonly AttachmentInfo[] {
  return (message as Message & WithAttachments).attachments ?? [];
}

/** Shown inline: raster images the server serves inline (§11); everything else downloads. */
export function isInlineImage(attachment: AttachmentInfo): boolean {
  return /^image\/(png|jpeg|gif|webp|avif)$/.test(attachment.contentType);
}

export type ModerationAction = 'make-admin' | 'make-member' | 'remove' | 'ban';

/**
 * What the viewer may do to a member (§10): owners set roles; owners and admins
 * remove and ban members below them. Empty while roles are unknown — and the UI
 * offers only actions the client has a method for (see chat-store's capabilities).
 */
export function moderationActions(
  viewer: RoomRole | undefined,
  target: RoomRole | undefined,
): ModerationAction[] {
  if (viewer === undefined || target === undefined) return [];
  const actions: ModerationAction[] = [];
  if (viewer === 'owner' && target !== 'owner') {
    actions.push(target === 'admin' ? 'make-member' : 'make-admin');
  }
  const outranks =
    viewer === 'owner' ? target !== 'owner' : viewer === 'admin' && target === 'member';
  if (outranks) actions.push('remove', 'ban');
  return actions;
}
