// POST /chat/send with attachmentIds: the files are taken for the message before it is
// stored (so two sends cannot both carry one file), under the message id chosen for
// it and the send's idempotency key, so a retried send recognises its own claim. A
// send that then stores nothing gives them back.
import type { Attachment } from '@parley/contracts';
import { ValidationError, type Principal } from '@parley/server-kit';
import { ObjectId } from 'mongodb';
import type { ChatServices } from '../chat-services';
import { idempotencyKeyOf } from '../messages/message-store';
import { parseAttachmentId, toAttachment } from './attachment-store';

export interface ClaimedAttachments {
  /** What the message is stored with: its id and its attachments, in the order asked. */
  fields: { id: ObjectId; attachments: Attachment[] };
  /** Gives the files back (the message was not stored). */
  release(): Promise<void>;
}

function refused(index: number, message: string): ValidationError {
  return new ValidationError([{ path: `attachmentIds.${index}`, message }]);
}

export async function claimAttachments(
  services: Pick<ChatServices, 'attachments' | 'now'>,
  caller: Principal,
  input: { attachmentIds?: string[] | undefined; clientMsgId?: string | undefined },
  conversationId: string,
): Promise<ClaimedAttachments | undefined> {
  if (!input.attachmentIds?.length) return undefined;
  const ids = input.attachmentIds.map((raw, i) => {
    const id = parseAttachmentId(raw);
    if (!id) throw refused(i, 'No such attachment of yours');
    return id;
  });
  const docs = new Map(
    (await services.attachments.findManyReady(ids)).map((doc) => [doc._id.toHexString(), doc]),
  );
  const messageId = new ObjectId();
  const claimKey =
    input.clientMsgId !== undefined
      ? idempotencyKeyOf(caller.userId, input.clientMsgId)
      : `~message ${messageId.toHexString()}`;
  let retried: string | undefined;
  const ordered = ids.map((id, i) => {
    const doc = docs.get(id.toHexString());
    // someone else's file answers like a missing one: ids tell nothing about others
    if (!doc || doc.metadata.uploaderId !== caller.userId) {
      throw refused(i, 'No such attachment of yours');
    }
    if (doc.metadata.claimKey !== undefined) {
      if (doc.metadata.claimKey !== claimKey) throw refused(i, 'This attachment was already sent');
      retried = doc.metadata.messageId;
    }
    return doc;
  });
  const attachments = ordered.map(toAttachment);
  if (retried !== undefined) {
    // the same send again: the insert finds the original by its idempotency key
    return {
      fields: { id: ObjectId.createFromHexString(retried), attachments },
      release: () => Promise.resolve(),
    };
  }
  const claim = {
    claimKey,
    messageId: messageId.toHexString(),
    conversationId,
    at: services.now(),
  };
  const taken = await services.attachments.claim(ids, caller.userId, claim);
  const release = () => services.attachments.release(ids, claimKey);
  if (taken < ids.length) {
    // another send took one of them meanwhile
    await release();
    throw new ValidationError([
      { path: 'attachmentIds', message: 'An attachment was already sent' },
    ]);
  }
  return { fields: { id: messageId, attachments }, release };
}
