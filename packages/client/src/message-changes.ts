// Applying the small change frames to the messages a client holds: `message_updated`
// carries what an edit or delete changed and `reaction` one reaction added or removed
// (docs/design.md §4.8: no frame grows with a message's history), so a client keeps its copy
// current by applying each to the message it has with that id.
import type { Message, MessageEdit, ReactionChange } from '@parley/contracts';

/** A `message_updated` or `reaction` frame (or event data with its type). */
export type MessageChange =
  { type: 'message_updated'; message: MessageEdit } | ({ type: 'reaction' } & ReactionChange);

/** The id of the message a change is about. */
export function changedMessageId(change: MessageChange): string {
  return change.type === 'message_updated' ? change.message.id : change.messageId;
}

/**
 * A message as a client holds it, with an edit or a reaction change applied (what a
 * client does with `message_updated` and `reaction` frames). Changes for another
 * message, or a repeated change, leave it as it is.
 */
export function applyMessageChange(message: Message, change: MessageChange): Message {
  if (change.type === 'message_updated') {
    const edit = change.message;
    if (edit.id !== message.id) return message;
    // An edit reads the mentions again and a delete clears them (§10.1): the frame's
    // list replaces the held one, and none in the frame means nobody is mentioned now.
    const { mentions: _held, ...rest } = message;
    const next: Message = { ...rest, text: edit.text };
    if (edit.mentions !== undefined) next.mentions = edit.mentions;
    if (edit.editedAt !== undefined) next.editedAt = edit.editedAt;
    if (edit.deletedAt !== undefined) {
      next.deletedAt = edit.deletedAt;
      next.reactions = {};
    }
    return next;
  }
  if (change.messageId !== message.id) return message;
  const users = message.reactions[change.emoji] ?? [];
  const has = users.includes(change.userId);
  if (has === change.added) return message;
  const reactions = { ...message.reactions };
  const nextUsers = change.added
    ? [...users, change.userId]
    : users.filter((id) => id !== change.userId);
  if (nextUsers.length > 0) reactions[change.emoji] = nextUsers;
  else delete reactions[change.emoji];
  return { ...message, reactions };
}
