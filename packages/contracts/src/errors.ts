// The problem+json error body (RFC 9457) every Parley endpoint answers with, and
// the stable machine-readable `code`s clients switch on (docs/design.md §2.2).
import { z } from './zod';

/** Every error code with the HTTP status it is sent with. */
export const ERROR_STATUS = {
  validation_failed: 400,
  malformed_json: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_a_member: 403,
  blocked: 403,
  banned: 403,
  not_found: 404,
  user_not_found: 404,
  conversation_not_found: 404,
  message_not_found: 404,
  attachment_not_found: 404,
  webhook_not_found: 404,
  method_not_allowed: 405,
  username_taken: 409,
  too_many_reactions: 409,
  room_full: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  rate_limited: 429,
  internal: 500,
  dependency_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];
export const errorCodeSchema = z.enum(ERROR_CODES);

/** Short human titles, used as the problem `title`. */
export const ERROR_TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Validation failed',
  malformed_json: 'Malformed JSON',
  unauthorized: 'Unauthorized',
  invalid_credentials: 'Invalid credentials',
  forbidden: 'Forbidden',
  not_a_member: 'Not a member',
  blocked: 'Blocked',
  banned: 'Banned',
  not_found: 'Not found',
  user_not_found: 'User not found',
  conversation_not_found: 'Conversation not found',
  message_not_found: 'Message not found',
  attachment_not_found: 'Attachment not found',
  webhook_not_found: 'Webhook not found',
  method_not_allowed: 'Method not allowed',
  username_taken: 'Username taken',
  too_many_reactions: 'Too many reactions',
  room_full: 'Room full',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  range_not_satisfiable: 'Range not satisfiable',
  rate_limited: 'Too many requests',
  internal: 'Internal server error',
  dependency_unavailable: 'Dependency unavailable',
};

export const validationIssueSchema = z
  .object({
    path: z
      .string()
      .meta({ description: 'Dotted path of the offending field ("" for the body itself)' }),
    message: z.string(),
  })
  .meta({ id: 'ValidationIssue' });
export type ValidationIssue = z.infer<typeof validationIssueSchema>;

export const problemSchema = z
  .object({
    type: z.string().meta({ description: 'URI reference naming the problem type' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: errorCodeSchema,
    errors: z.array(validationIssueSchema).optional(),
    instance: z.string().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });
export type Problem = z.infer<typeof problemSchema>;

/** The `type` URI of a problem with the given code. */
export function problemType(code: ErrorCode): string {
  return `https://parley.dev/problems/${code.replaceAll('_', '-')}`;
}
