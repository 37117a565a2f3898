// Request input parsing with the contracts' zod schemas. Any failure, including an
// unknown key rejected by a strict object, is a 400 validation_failed with the issues.
import type { Request } from 'express';
import type { z } from 'zod';
import { ValidationError } from './errors';

export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parseWith(schema, req.body, 'body');
}

/** Parses `req.query`; schemas should coerce, since query values arrive as strings. */
export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parseWith(schema, req.query, 'query');
}

export function parseParams<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  return parseWith(schema, req.params, 'path parameters');
}

export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.fromZod(result.error, where);
  return result.data;
}
