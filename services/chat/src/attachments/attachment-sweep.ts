// The periodic clean-up of attachments (docs/design.md §11): an upload never sent is
// deleted once it is older than the unattached lifetime (24 h), and so is one claimed
// by a send that never stored its message (the process died in between). A file whose
// message is stored is marked settled and never looked at again. Chunks left by an
// upload cut while its process died (no file document was ever written) go too.
import type { Logger } from '@parley/server-kit';
import { ObjectId } from 'mongodb';
import type { ChatServices } from '../chat-services';

export const UNATTACHED_TTL_MS = 24 * 60 * 60 * 1000;
const BATCH = 200;
/** A claim this recent may belong to a send still storing its message. */
const CLAIM_GRACE_MS = 10 * 60 * 1000;

export async function sweepAttachments(
  services: Pick<ChatServices, 'attachments' | 'messages' | 'now'>,
  options: { unattachedTtlMs?: number; logger?: Logger } = {},
): Promise<{ deleted: number; settled: number }> {
  const cutoff = new Date(
    services.now().getTime() - (options.unattachedTtlMs ?? UNATTACHED_TTL_MS),
  );
  const { attachments, messages } = services;
  const candidates = await attachments.files
    .find({ uploadDate: { $lt: cutoff }, 'metadata.settled': { $exists: false } })
    .limit(BATCH)
    .toArray();
  const messageIds = candidates.flatMap((doc) =>
    doc.metadata.messageId === undefined
      ? []
      : [ObjectId.createFromHexString(doc.metadata.messageId)],
  );
  const stored = new Set(
    (
      await messages.collection
        .find(
          { _id: { $in: messageIds }, deletedAt: { $exists: false } },
          { projection: { _id: 1 } },
        )
        .toArray()
    ).map((m) => m._id.toHexString()),
  );
  let deleted = 0;
  const settled: ObjectId[] = [];
  for (const doc of candidates) {
    const messageId = doc.metadata.messageId;
    if (messageId !== undefined && stored.has(messageId)) {
      settled.push(doc._id);
    } else if (
      messageId !== undefined &&
      (doc.metadata.claimedAt?.getTime() ?? 0) > services.now().getTime() - CLAIM_GRACE_MS
    ) {
      continue;
    } else {
      await attachments.deleteFile(doc._id);
      deleted++;
    }
  }
  if (settled.length > 0) {
    await attachments.files.updateMany(
      { _id: { $in: settled } },
      { $set: { 'metadata.settled': true } },
    );
  }
  deleted += await sweepOrphanChunks(services, cutoff);
  if (deleted > 0) options.logger?.info({ deleted }, 'attachments swept');
  return { deleted, settled: settled.length };
}

/** First chunks older than the cutoff whose file document was never written. */
async function sweepOrphanChunks(
  services: Pick<ChatServices, 'attachments'>,
  cutoff: Date,
): Promise<number> {
  const { attachments } = services;
  const chunks = attachments.files.db.collection<{ files_id: ObjectId; n: number }>(
    `${attachments.files.collectionName.replace(/\.files$/, '')}.chunks`,
  );
  const firstChunks = await chunks
    .find({ n: 0, files_id: { $lt: ObjectId.createFromTime(cutoff.getTime() / 1000) } })
    .project<{ files_id: ObjectId }>({ files_id: 1 })
    .limit(BATCH)
    .toArray();
  const ids = firstChunks.map((c) => c.files_id);
  const withFile = new Set(
    (await attachments.files.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()).map(
      (f) => f._id.toHexString(),
    ),
  );
  const orphans = ids.filter((id) => !withFile.has(id.toHexString()));
  if (orphans.length > 0) await chunks.deleteMany({ files_id: { $in: orphans } });
  return orphans.length;
}
