// GET /chat/attachments/:id: who may read a file, which bytes a Range asks for, and the
// headers that keep a stored file from being run as a page (docs/design.md §11).
import { INLINE_IMAGE_TYPES } from '@parley/contracts';
import { HttpError, NotFoundError, type Principal } from '@parley/server-kit';
import contentDisposition from 'content-disposition';
import type { ChatServices } from '../chat-services';
import { isMember } from '../conversations/conversation-access';
import {
  parseAttachmentId,
  type AttachmentFileDoc,
  type AttachmentStore,
} from './attachment-store';

/** The same 404 for a missing file and for one the caller may not see. */
function notFound(): NotFoundError {
  return new NotFoundError('No such attachment', { code: 'attachment_not_found' });
}

/**
 * The finished file, if the caller may read it: its uploader until it is sent, then the
 * members of the conversation it was sent in.
 */
export async function findReadableAttachment(
  services: Pick<ChatServices, 'conversations'> & { attachments: AttachmentStore },
  caller: Principal,
  rawId: string,
): Promise<AttachmentFileDoc> {
  const id = parseAttachmentId(rawId);
  const doc = id ? await services.attachments.findReady(id) : null;
  if (!doc) throw notFound();
  const conversationId = doc.metadata.conversationId;
  if (conversationId === undefined) {
    if (doc.metadata.uploaderId !== caller.userId) throw notFound();
    return doc;
  }
  // the caller's own member row, read now: a member removed or banned from the room
  // loses its files at once, and a download never reads the room's member list
  const conversation = await services.conversations.findWithMember(conversationId, caller.userId);
  if (!conversation || !isMember(conversation, caller.userId)) throw notFound();
  return doc;
}

export type ByteRange = { start: number; end: number };

/**
 * The bytes a `Range` header asks for (`end` exclusive): the whole file when there is
 * none, or it is not one single byte range (a server may ignore those, RFC 9110
 * §14.2); 416 when it asks for nothing inside the file.
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | 'whole' {
  if (header === undefined) return 'whole';
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'whole';
  const [, first, last] = match;
  if (first === '') {
    // the last N bytes
    const suffix = Number(last);
    if (suffix === 0) throw notSatisfiable(size);
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  if (last !== '' && Number(last) < start) return 'whole'; // invalid: ignored
  if (start >= size) throw notSatisfiable(size);
  return { start, end };
}

function notSatisfiable(size: number): HttpError {
  return new HttpError('range_not_satisfiable', 'The range lies outside the file', {
    headers: { 'Content-Range': `bytes */${size}` },
  });
}

export function etagOf(doc: AttachmentFileDoc): string {
  return `"${doc.metadata.sha256 ?? doc._id.toHexString()}"`;
}

/** True when an If-None-Match header names this ETag (or is `*`). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}

/**
 * Headers of a download. Only the four raster types whose header was checked at upload
 * are shown inline; anything else is a download, and the CSP forbids it every resource
 * and script, and sandboxes it, should a browser render it anyway.
 */
export function downloadHeaders(doc: AttachmentFileDoc): Record<string, string> {
  const type = doc.metadata.contentType;
  const inline = (INLINE_IMAGE_TYPES as readonly string[]).includes(type);
  return {
    'Content-Type': type,
    // an ASCII fallback name, and the exact one as filename* (RFC 6266)
    'Content-Disposition': contentDisposition(doc.filename, {
      type: inline ? 'inline' : 'attachment',
      fallback: doc.filename.replace(/[^\x20-\x7e]/g, '?'),
    }),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Cache-Control': 'private, max-age=86400',
    'Accept-Ranges': 'bytes',
    ETag: etagOf(doc),
  };
}
