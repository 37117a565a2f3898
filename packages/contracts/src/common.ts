// Field rules shared by many bodies: ids, timestamps, usernames, names other users
// see, message text.
import { z } from './zod';

/** Opaque id (a MongoDB ObjectId or a derived id today; clients must not parse it). */
export const idSchema = z.string().min(1).max(128).meta({ description: 'Opaque id' });

export const isoDateTimeSchema = z.iso.datetime().meta({ description: 'ISO 8601 UTC timestamp' });

/** Number of Unicode code points, the unit every "characters" limit here is in. */
export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

interface TextFieldOptions {
  min: number;
  max: number;
  label: string;
  /** Characters the field may not hold, each with what the error says about them. */
  forbidden?: ReadonlyArray<{ pattern: RegExp; what: string }>;
}

/** A string of well-formed Unicode (no lone surrogates), trimmed-non-empty, within limits. */
export function textField(opts: TextFieldOptions) {
  let field = z
    .string()
    .refine((s) => s.isWellFormed(), { message: `${opts.label} must be valid Unicode` })
    .refine((s) => codePointLength(s) >= opts.min && codePointLength(s) <= opts.max, {
      message: `${opts.label} must be ${opts.min}–${opts.max} characters`,
    })
    .refine((s) => s.trim().length > 0, { message: `${opts.label} must not be only whitespace` });
  for (const { pattern, what } of opts.forbidden ?? []) {
    field = field.refine((s) => !pattern.test(s), {
      message: `${opts.label} must not contain ${what}`,
    });
  }
  // meta last: it belongs to this instance, and every refine makes a new one
  return field.meta({ minLength: opts.min, maxLength: opts.max });
}

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

/** 3–32 chars of a-z 0-9 _ . - ; case-insensitive, normalised to lower case. */
export const usernameSchema = z
  .string()
  .regex(USERNAME_PATTERN, 'username must be 3–32 characters of a-z, 0-9, _ . -')
  .toLowerCase()
  .meta({ description: 'Case-insensitive; stored lower-case', example: 'alice' });

export const passwordSchema = z
  .string()
  .min(8, 'password must be at least 8 characters')
  .max(128, 'password must be at most 128 characters')
  .refine((s) => s.isWellFormed(), { message: 'password must be valid Unicode' });

// Characters a name shown to other people may not hold (docs/design.md §9.4): control
// characters (C0, DEL, C1) break layouts and logs, bidi overrides and isolates make
// "evil\u202egnp.exe" read as "evilexe.png", and zero-width characters make two names
// that look the same differ ("admin" and "ad\u200bmin").
// eslint-disable-next-line no-control-regex -- finding them is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/u;
export const BIDI_OVERRIDES = /[\u202a-\u202e\u2066-\u2069]/u;
export const ZERO_WIDTH_CHARACTERS = /[\u200b-\u200d\u2060\ufeff]/u;
/** Message text keeps newline and tab; every other control character is refused. */
// eslint-disable-next-line no-control-regex -- finding them is the point
export const MESSAGE_CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

/** A name other users see (display name, room name): no hidden characters, trimmed. */
export function nameField(opts: { min: number; max: number; label: string }) {
  return textField({
    ...opts,
    forbidden: [
      { pattern: CONTROL_CHARACTERS, what: 'control characters' },
      { pattern: BIDI_OVERRIDES, what: 'bidirectional override characters' },
      { pattern: ZERO_WIDTH_CHARACTERS, what: 'zero-width characters' },
    ],
  }).transform((s) => s.trim());
}

export const displayNameSchema = nameField({ min: 1, max: 64, label: 'displayName' });

export const MESSAGE_TEXT_MAX = 4000;
export const messageTextSchema = textField({
  min: 1,
  max: MESSAGE_TEXT_MAX,
  label: 'text',
  forbidden: [
    {
      pattern: MESSAGE_CONTROL_CHARACTERS,
      what: 'control characters other than newline and tab',
    },
  ],
});

/** Client-chosen idempotency key for a send (the WebSocket `ref`). */
export const clientMsgIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be 1–128 printable ASCII characters without spaces');

export const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A non-negative integer given in a query string. */
export function queryInt(opts: { min: number; max: number }) {
  return z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(opts.min).max(opts.max));
}

export const userRefSchema = z
  .object({ id: idSchema, username: z.string() })
  .meta({ id: 'UserRef' });
export type UserRef = z.infer<typeof userRefSchema>;

/** Reaction: one emoji grapheme (👍, 👍🏽, 🇫🇷, 1️⃣) or a :shortcode:. */
const SHORTCODE = /^:[a-z0-9_+-]{1,30}:$/;
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;
export function isEmoji(value: string): boolean {
  if (SHORTCODE.test(value)) return true;
  if (value.length > 32 || !value.isWellFormed() || !PICTOGRAPH.test(value)) return false;
  const graphemes = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(value)];
  return graphemes.length === 1;
}
export const emojiSchema = z
  .string()
  .refine(isEmoji, { message: 'emoji must be a single emoji or a :shortcode:' })
  .meta({ example: '👍' });
