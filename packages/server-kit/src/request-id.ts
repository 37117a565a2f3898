// Correlates a request across the client, our logs and other services: the client's
// X-Request-Id is kept when it is a plausible id, otherwise a fresh UUID is issued.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'X-Request-Id';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id for a request that sent this X-Request-Id header value: the client's if sane,
 * else a new UUID. For answers written outside express too (WebSocket upgrade refusals).
 */
export function requestIdFrom(sent: string | string[] | undefined): string {
  return typeof sent === 'string' && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** The request's id (see requestIdFrom); sets the response header. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdFrom(req.headers['x-request-id']);
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}
