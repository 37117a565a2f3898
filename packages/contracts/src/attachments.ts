// Files sent with messages (docs/design.md §11): what an upload answers, what a message
// carries, and the limits both ends agree on. The upload itself is a raw body, not
// JSON, so its request has no schema here beyond the headers it is described by.
import { idSchema } from './common';
import { z } from './zod';

export const ATTACHMENT_MAX_BYTES_DEFAULT = 10 * 1024 * 1024;
/** Attachments one message may carry. */
export const ATTACHMENTS_PER_MESSAGE_MAX = 10;
/** The header carrying the file's name, URL-encoded (percent-encoding of UTF-8). */
export const FILE_NAME_HEADER = 'X-File-Name';
/** Raster types whose width and height are read from the header, and served inline. */
export const INLINE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

export const attachmentSchema = z
  .object({
    id: idSchema,
    name: z.string().min(1).max(255).meta({ description: 'The file name given at upload' }),
    contentType: z.string().min(1).max(255),
    size: z.number().int().min(1).meta({ description: 'Bytes' }),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .meta({ description: 'Hex SHA-256 of the bytes; also the ETag' }),
    width: z.number().int().min(1).optional().meta({ description: 'Images only' }),
    height: z.number().int().min(1).optional().meta({ description: 'Images only' }),
  })
  .meta({ id: 'Attachment' });
export type Attachment = z.infer<typeof attachmentSchema>;

export const attachmentResponseSchema = z
  .object({ attachment: attachmentSchema })
  .meta({ id: 'AttachmentResponse' });
export type AttachmentResponse = z.infer<typeof attachmentResponseSchema>;

const binary = z.string().meta({ format: 'binary' });

/**
 * The two attachment endpoints, described like the JSON catalogue's entries (for the
 * OpenAPI document and the client) but kept apart from it: their bodies are raw
 * bytes, so chat mounts them as streaming routes, not from ROUTES.
 */
export const ATTACHMENT_ROUTES = {
  uploadAttachment: {
    service: 'chat',
    method: 'post',
    path: '/chat/attachments',
    summary:
      'Upload a file as the raw body (streamed into GridFS); send it with POST /chat/send attachmentIds',
    description:
      "Content-Type is the file's own type (a form or a missing type: 415; an image/png, jpeg, gif or webp whose bytes are not one: 415). A body over ATTACHMENT_MAX_BYTES is answered 413 without reading past the limit; over the daily quota 429; an empty body 400.",
    auth: true,
    body: binary,
    bodyContentType: '*/*',
    headers: z.object({
      [FILE_NAME_HEADER]: z
        .string()
        .optional()
        .meta({ description: 'The file name, URL-encoded UTF-8; default `file`' }),
    }),
    success: { status: 201, schema: attachmentResponseSchema },
    errors: ['validation_failed', 'payload_too_large', 'unsupported_media_type', 'rate_limited'],
  },
  downloadAttachment: {
    service: 'chat',
    method: 'get',
    path: '/chat/attachments/:id',
    summary:
      'Download a file: its uploader before it is sent, then the members of the conversation it was sent in (404 for anyone else)',
    description:
      'Sends ETag (the SHA-256), honours If-None-Match (304) and a single byte Range (206; 416 outside the file), with X-Content-Type-Options: nosniff, a restrictive Content-Security-Policy, and Content-Disposition inline only for PNG, JPEG, GIF and WebP.',
    auth: true,
    params: z.object({ id: idSchema }),
    headers: z.object({
      Range: z.string().optional().meta({ example: 'bytes=0-1023' }),
      'If-None-Match': z.string().optional(),
    }),
    success: { status: 200, schema: binary },
    successContentType: '*/*',
    errors: ['validation_failed', 'attachment_not_found', 'range_not_satisfiable'],
  },
} as const;

export const attachmentIdsSchema = z
  .array(idSchema)
  .min(1)
  .max(ATTACHMENTS_PER_MESSAGE_MAX)
  .refine((ids) => new Set(ids).size === ids.length, { message: 'attachmentIds must be distinct' })
  .meta({
    description: `Up to ${ATTACHMENTS_PER_MESSAGE_MAX} attachments uploaded by the sender and not sent yet`,
  });
