// Uploading and downloading attachments (docs/design.md §11): the file goes up as the
// raw body, never base64 in JSON. Progress is counted as fetch reads the body, which
// for a stream body is as fast as the connection takes it.

/** What an upload takes: bytes in memory, a Blob/File, or a stream of bytes. */
export type UploadSource = Uint8Array | Blob | ReadableStream<Uint8Array>;

export interface UploadProgress {
  /** Bytes handed to the connection so far. */
  sent: number;
  /** The file's size, when known up front. */
  total: number | undefined;
}

export interface UploadOptions {
  /** The file name shown to others; default the File's name, else `file`. */
  name?: string;
  /** The file's media type; default the Blob's type, else application/octet-stream. */
  contentType?: string;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Only these bytes (`end` inclusive), answered 206. */
  range?: { start: number; end?: number };
  signal?: AbortSignal;
}

export function sizeOf(source: UploadSource): number | undefined {
  if (source instanceof Uint8Array) return source.byteLength;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return source.size;
  return undefined;
}

function streamOf(source: UploadSource): ReadableStream<Uint8Array> {
  if (source instanceof Uint8Array) {
    return new ReadableStream({
      start(controller) {
        // in slices, so progress moves while a large buffer is sent
        for (let at = 0; at < source.byteLength; at += 64 * 1024) {
          controller.enqueue(source.subarray(at, at + 64 * 1024));
        }
        controller.close();
      },
    });
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return source.stream() as ReadableStream<Uint8Array>;
  }
  return source as ReadableStream<Uint8Array>;
}

/** The body to hand fetch: as is without a progress callback, else a counting stream. */
export function uploadBody(
  source: UploadSource,
  onProgress: ((progress: UploadProgress) => void) | undefined,
): NonNullable<RequestInit['body']> {
  const total = sizeOf(source);
  if (onProgress === undefined && !(source instanceof ReadableStream)) {
    return source as NonNullable<RequestInit['body']>;
  }
  let sent = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      sent += chunk.byteLength;
      onProgress?.({ sent, total });
    },
  });
  return streamOf(source).pipeThrough(counter);
}

export function defaultName(source: UploadSource, name: string | undefined): string {
  if (name !== undefined) return name;
  const fileName = (source as { name?: unknown }).name;
  return typeof fileName === 'string' && fileName !== '' ? fileName : 'file';
}

export function defaultType(source: UploadSource, contentType: string | undefined): string {
  if (contentType !== undefined) return contentType;
  const blobType = (source as { type?: unknown }).type;
  return typeof blobType === 'string' && blobType !== '' ? blobType : 'application/octet-stream';
}

export function rangeHeader(range: DownloadOptions['range']): string | undefined {
  if (range === undefined) return undefined;
  return `bytes=${range.start}-${range.end ?? ''}`;
}
