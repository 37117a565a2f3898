// Attachments in MongoDB GridFS (bucket `attachments`, docs/design.md §11), through the
// driver's GridFSBucket: the bytes are chunks in `attachments.chunks`, and the file
// document in `attachments.files` carries who uploaded it and where it was sent in
// `metadata`. The driver writes the file document only once the last chunk is stored,
// and `metadata.ready` is set after that, so a cut upload is never visible; its
// chunks are removed at once (or by the sweep if the process died meanwhile).
import type { Attachment } from '@parley/contracts';
import {
  GridFSBucket,
  ObjectId,
  type Collection,
  type Db,
  type GridFSBucketReadStream,
  type GridFSBucketWriteStream,
  type IndexDescription,
} from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';

export const ATTACHMENTS_BUCKET = 'attachments';

export interface AttachmentMetadata {
  uploaderId: string;
  contentType: string;
  /** Set with the digest and dimensions once every byte is stored. */
  ready?: boolean;
  sha256?: string;
  width?: number;
  height?: number;
  /**
   * Set when a send takes the attachment: the sender's idempotency key, so a retried
   * send finds its own claim, and the message and conversation it went to.
   */
  claimKey?: string;
  messageId?: string;
  conversationId?: string;
  claimedAt?: Date;
  /** The sweep found the message stored: never looked at again. */
  settled?: boolean;
}

export interface AttachmentFileDoc {
  _id: ObjectId;
  length: number;
  chunkSize: number;
  uploadDate: Date;
  filename: string;
  metadata: AttachmentMetadata;
}

const FILE_INDEXES: IndexDescription[] = [
  // the daily quota: a user's uploads of the last 24 h
  { key: { 'metadata.uploaderId': 1, uploadDate: 1 }, name: 'uploader_date' },
  // a deleted message's files
  { key: { 'metadata.messageId': 1 }, name: 'message' },
  // the sweep
  { key: { uploadDate: 1 }, name: 'upload_date' },
  // the driver's own index; declared here so it is created one at a time (FerretDB v1
  // drops a createIndexes call that lists several)
  { key: { filename: 1, uploadDate: 1 }, name: 'filename_1_uploadDate_1' },
];

export function toAttachment(
  doc: Pick<AttachmentFileDoc, '_id' | 'filename' | 'length' | 'metadata'>,
): Attachment {
  const m = doc.metadata;
  return {
    id: doc._id.toHexString(),
    name: doc.filename,
    contentType: m.contentType,
    size: doc.length,
    sha256: m.sha256 ?? '',
    ...(m.width !== undefined ? { width: m.width } : {}),
    ...(m.height !== undefined ? { height: m.height } : {}),
  };
}

/** An attachment id from a URL or body: a 24-hex ObjectId, else nothing (404/400, never 500). */
export function parseAttachmentId(id: string): ObjectId | undefined {
  return /^[0-9a-f]{24}$/i.test(id) ? ObjectId.createFromHexString(id) : undefined;
}

export interface AttachmentStore {
  readonly files: Collection<AttachmentFileDoc>;
  ensureIndexes(): Promise<void>;
  openUpload(id: ObjectId, name: string, metadata: AttachmentMetadata): GridFSBucketWriteStream;
  /** Removes whatever an unfinished upload stored. */
  discard(id: ObjectId): Promise<void>;
  markReady(
    id: ObjectId,
    fields: Pick<AttachmentMetadata, 'sha256' | 'width' | 'height'>,
  ): Promise<void>;
  /** A finished upload, or null. */
  findReady(id: ObjectId): Promise<AttachmentFileDoc | null>;
  findManyReady(ids: ObjectId[]): Promise<AttachmentFileDoc[]>;
  /** `end` is exclusive. */
  openDownload(id: ObjectId, range: { start: number; end: number }): GridFSBucketReadStream;
  /** Bytes the user uploaded since `since`. */
  uploadedSince(userId: string, since: Date): Promise<number>;
  /**
   * Takes the attachments for a message: only those the user uploaded, finished and not
   * taken yet. Returns how many it took; the caller releases a partial claim.
   */
  claim(
    ids: ObjectId[],
    userId: string,
    claim: { claimKey: string; messageId: string; conversationId: string; at: Date },
  ): Promise<number>;
  release(ids: ObjectId[], claimKey: string): Promise<void>;
  deleteFile(id: ObjectId): Promise<void>;
  /** Deletes the files sent with a message (the message was deleted). */
  deleteForMessage(messageId: string): Promise<number>;
}

export function createAttachmentStore(db: Db): AttachmentStore {
  const bucket = new GridFSBucket(db, { bucketName: ATTACHMENTS_BUCKET });
  const files = db.collection<AttachmentFileDoc>(`${ATTACHMENTS_BUCKET}.files`);
  const chunks = db.collection<{ files_id: ObjectId; n: number }>(`${ATTACHMENTS_BUCKET}.chunks`);

  async function deleteFile(id: ObjectId): Promise<void> {
    // chunks first: a file document never points at missing chunks
    await chunks.deleteMany({ files_id: id });
    await files.deleteOne({ _id: id });
  }

  return {
    files,
    async ensureIndexes() {
      await createDeclaredIndexes(files, FILE_INDEXES);
      await createDeclaredIndexes(chunks, [
        { key: { files_id: 1, n: 1 }, name: 'files_id_1_n_1', unique: true },
      ]);
    },
    openUpload(id, name, metadata) {
      return bucket.openUploadStreamWithId(id, name, { metadata });
    },
    discard: deleteFile,
    async markReady(id, fields) {
      const set: Record<string, unknown> = { 'metadata.ready': true };
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) set[`metadata.${key}`] = value;
      }
      await files.updateOne({ _id: id }, { $set: set });
    },
    findReady(id) {
      return files.findOne({ _id: id, 'metadata.ready': true });
    },
    findManyReady(ids) {
      return files.find({ _id: { $in: ids }, 'metadata.ready': true }).toArray();
    },
    openDownload(id, range) {
      return bucket.openDownloadStream(id, range);
    },
    async uploadedSince(userId, since) {
      // one $sum accumulator: what FerretDB v1 computes right (tools/ferretdb/README.md)
      const [row] = await files
        .aggregate<{ bytes: number }>([
          { $match: { 'metadata.uploaderId': userId, uploadDate: { $gte: since } } },
          { $group: { _id: null, bytes: { $sum: '$length' } } },
        ])
        .toArray();
      return row?.bytes ?? 0;
    },
    async claim(ids, userId, claim) {
      const result = await files.updateMany(
        {
          _id: { $in: ids },
          'metadata.uploaderId': userId,
          'metadata.ready': true,
          'metadata.claimKey': { $exists: false },
        },
        {
          $set: {
            'metadata.claimKey': claim.claimKey,
            'metadata.messageId': claim.messageId,
            'metadata.conversationId': claim.conversationId,
            'metadata.claimedAt': claim.at,
          },
        },
      );
      return result.modifiedCount;
    },
    async release(ids, claimKey) {
      await files.updateMany(
        { _id: { $in: ids }, 'metadata.claimKey': claimKey },
        {
          $unset: {
            'metadata.claimKey': '',
            'metadata.messageId': '',
            'metadata.conversationId': '',
            'metadata.claimedAt': '',
          },
        },
      );
    },
    deleteFile,
    async deleteForMessage(messageId) {
      const docs = await files
        .find({ 'metadata.messageId': messageId }, { projection: { _id: 1 } })
        .toArray();
      for (const doc of docs) await deleteFile(doc._id);
      return docs.length;
    },
  };
}
