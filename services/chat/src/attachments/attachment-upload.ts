// POST /chat/attachments: the raw body streams through a meter (size cap, daily quota,
// SHA-256, the first bytes kept for the image header) into GridFS, never held whole.
// Anything that stops the upload — too large, over quota, the client gone, a store
// failure — removes what was stored; only a finished upload becomes visible.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CONTROL_CHARACTERS,
  BIDI_OVERRIDES,
  INLINE_IMAGE_TYPES,
  codePointLength,
  type Attachment,
} from '@parley/contracts';
import {
  PayloadTooLargeError,
  RateLimitedError,
  UnsupportedMediaTypeError,
  ValidationError,
  type Principal,
} from '@parley/server-kit';
import { imageSize } from 'image-size';
import { ObjectId } from 'mongodb';
import { toAttachment, type AttachmentStore } from './attachment-store';

export interface AttachmentSettings {
  /** Largest file, bytes (413 past it). */
  maxBytes: number;
  /** Bytes one user may upload per 24 h (429 past it). */
  dailyQuotaBytes: number;
}

export const DEFAULT_ATTACHMENT_SETTINGS: AttachmentSettings = {
  maxBytes: 10 * 1024 * 1024,
  dailyQuotaBytes: 200 * 1024 * 1024,
};

const DAY_MS = 24 * 60 * 60 * 1000;
/** Enough of the file for the header of every supported image type (JPEG's SOF may follow EXIF). */
const HEADER_BYTES = 128 * 1024;
/** What image-size calls the types served inline. */
const SNIFFED_TYPES: Record<string, (typeof INLINE_IMAGE_TYPES)[number]> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};
// a media type's `type/subtype` (RFC 9110 tokens); parameters are dropped
const MEDIA_TYPE = /^([a-z0-9!#$&^_.+-]+)\/([a-z0-9!#$&^_.+-]+)\s*(;.*)?$/i;
// what a form or a multipart body says: the upload is the raw file, never a form
const FORM_TYPES = new Set(['multipart', 'application/x-www-form-urlencoded']);

export interface UploadInput {
  caller: Principal;
  /** The request: its headers say type, name and length; its body is the file. */
  request: IncomingMessage;
}

export interface UploadDeps {
  store: AttachmentStore;
  settings: AttachmentSettings;
  now: () => Date;
}

/** The file's media type from Content-Type, lower-cased, without parameters; else 415. */
export function uploadContentType(header: string | undefined): string {
  const match = header === undefined ? null : MEDIA_TYPE.exec(header.trim());
  if (!match) {
    throw new UnsupportedMediaTypeError(
      'Send the file as the raw body with its own Content-Type (such as image/png)',
    );
  }
  const type = `${match[1]}/${match[2]}`.toLowerCase();
  if (FORM_TYPES.has(type) || FORM_TYPES.has(type.split('/')[0] ?? '')) {
    throw new UnsupportedMediaTypeError('Send the file as the raw body, not as a form');
  }
  return type;
}

/** The name from X-File-Name (URL-encoded UTF-8); `file` when there is none. */
export function uploadFileName(header: string | undefined): string {
  if (header === undefined || header === '') return 'file';
  let name: string;
  try {
    name = decodeURIComponent(header).trim();
  } catch {
    throw invalidName('X-File-Name must be URL-encoded UTF-8');
  }
  if (name === '' || codePointLength(name) > 255) {
    throw invalidName('The file name must be 1–255 characters');
  }
  if (CONTROL_CHARACTERS.test(name) || BIDI_OVERRIDES.test(name) || /[/\\]/.test(name)) {
    throw invalidName(
      'The file name must not contain control characters, bidi overrides or slashes',
    );
  }
  return name;
}

function invalidName(message: string): ValidationError {
  return new ValidationError([{ path: 'X-File-Name', message }]);
}

function emptyBody(): ValidationError {
  return new ValidationError([{ path: '', message: 'The file is empty' }], 'The file is empty');
}

function overQuota(): RateLimitedError {
  return new RateLimitedError(3600, 'Daily upload quota used up, try again later');
}

/** Counts, hashes and keeps the header of what passes; fails past the size cap or the quota. */
class UploadMeter extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  private readonly head: Buffer[] = [];
  private headBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly quotaLeft: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return callback(new PayloadTooLargeError());
    if (this.bytes > this.quotaLeft) return callback(overQuota());
    this.hash.update(chunk);
    if (this.headBytes < HEADER_BYTES) {
      const part = chunk.subarray(0, HEADER_BYTES - this.headBytes);
      this.head.push(part);
      this.headBytes += part.length;
    }
    callback(null, chunk);
  }

  header(): Buffer {
    return Buffer.concat(this.head);
  }
}

/** Width, height and type of a PNG, JPEG, GIF or WebP from its first bytes, else nothing. */
export function imageHeader(
  head: Uint8Array,
): { type: string; width: number; height: number } | undefined {
  try {
    const size = imageSize(head);
    const type = size.type === undefined ? undefined : SNIFFED_TYPES[size.type];
    if (type === undefined || !(size.width > 0) || !(size.height > 0)) return undefined;
    return { type, width: size.width, height: size.height };
  } catch {
    return undefined; // not an image, or its header lies past the bytes kept
  }
}

export async function uploadAttachment(deps: UploadDeps, input: UploadInput): Promise<Attachment> {
  const { request, caller } = input;
  const contentType = uploadContentType(request.headers['content-type']);
  const name = uploadFileName(headerValue(request.headers['x-file-name']));
  const declared = declaredLength(request);
  if (declared === 0) throw emptyBody();
  // before reading a byte: a body announced too large is refused at once
  if (declared !== undefined && declared > deps.settings.maxBytes) throw new PayloadTooLargeError();
  const used = await deps.store.uploadedSince(
    caller.userId,
    new Date(deps.now().getTime() - DAY_MS),
  );
  const quotaLeft = deps.settings.dailyQuotaBytes - used;
  if (quotaLeft <= 0 || (declared !== undefined && declared > quotaLeft)) throw overQuota();

  const id = new ObjectId();
  const meter = new UploadMeter(deps.settings.maxBytes, quotaLeft);
  const upload = deps.store.openUpload(id, name, { uploaderId: caller.userId, contentType });
  // the body is piped (not handed to pipeline) so a refusal can still answer 413 on
  // this connection; a client that goes away mid-body fails the upload
  const clientGone = () => {
    if (!request.complete) meter.destroy(new Error('The client closed the upload'));
  };
  request.once('close', clientGone);
  request.pipe(meter);
  try {
    await pipeline(meter, upload);
  } catch (err) {
    request.unpipe(meter);
    await upload.abort().catch(() => undefined);
    await deps.store.discard(id);
    throw err;
  } finally {
    request.off('close', clientGone);
  }
  if (meter.bytes === 0) {
    await deps.store.discard(id);
    throw emptyBody();
  }
  const image = imageHeader(meter.header());
  const claimsImage = (INLINE_IMAGE_TYPES as readonly string[]).includes(contentType);
  if (claimsImage && image?.type !== contentType) {
    // an "image/png" that is not one would be served inline as something else
    await deps.store.discard(id);
    throw new UnsupportedMediaTypeError(`The file is not a valid ${contentType}`);
  }
  const sha256 = meter.hash.digest('hex');
  const dimensions = claimsImage && image ? { width: image.width, height: image.height } : {};
  await deps.store.markReady(id, { sha256, ...dimensions });
  return toAttachment({
    _id: id,
    filename: name,
    length: meter.bytes,
    metadata: { uploaderId: caller.userId, contentType, sha256, ...dimensions },
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Content-Length, if the request has one; undefined for a chunked body. */
function declaredLength(request: IncomingMessage): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) {
    // neither a length nor chunked: there is no body
    return request.headers['transfer-encoding'] === undefined ? 0 : undefined;
  }
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
