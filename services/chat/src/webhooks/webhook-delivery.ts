// One delivery attempt (docs/design.md §12): the body signed with the webhook's secret,
// POSTed with the whole exchange bounded by the timeout (5 s), redirects not followed.
// The connection goes to an address checked just now (webhook-targets.ts), so a name
// that resolved to a public address at registration cannot be pointed inward later.
import { createHmac } from 'node:crypto';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER } from '@parley/contracts';
import { RefusedTargetError, resolvePublicAddresses, type Resolver } from './webhook-targets';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

export interface DeliveryRequest {
  url: string;
  secret: string;
  body: string;
  eventType: string;
  deliveryId: string;
}

export interface DeliveryOutcome {
  delivered: boolean;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface DeliveryOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  now: () => Date;
  resolve?: Resolver;
}

/** Bytes of a receiver's answer read (and dropped); the rest is cut off. */
const ANSWER_BYTES_MAX = 64 * 1024;

export async function deliver(
  request: DeliveryRequest,
  options: DeliveryOptions,
): Promise<DeliveryOutcome> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const url = new URL(request.url);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = await resolvePublicAddresses(url.hostname, options.allowPrivate, options.resolve);
  } catch (err) {
    const error = err instanceof RefusedTargetError ? err.message : 'DNS lookup failed';
    return { delivered: false, error, durationMs: elapsed() };
  }
  // the socket connects to what was just checked, never to a second lookup's answer
  const lookup: LookupFunction = (_host, lookupOptions, callback) => {
    if (lookupOptions.all) {
      (callback as (err: null, all: typeof addresses) => void)(null, addresses);
    } else {
      const first = addresses[0] as { address: string; family: number };
      callback(null, first.address, first.family);
    }
  };
  const headers = {
    'Content-Type': 'application/json',
    'User-Agent': 'Parley-Webhooks/1',
    [EVENT_HEADER]: request.eventType,
    [DELIVERY_HEADER]: request.deliveryId,
    [SIGNATURE_HEADER]: signatureHeader(request.secret, request.body, options.now()),
    'Content-Length': String(Buffer.byteLength(request.body)),
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const requestOptions: RequestOptions = { method: 'POST', headers, lookup, signal, agent: false };
  return new Promise<DeliveryOutcome>((resolve) => {
    const req = send(url, requestOptions, (res) => {
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > ANSWER_BYTES_MAX) res.destroy();
      });
      const status = res.statusCode ?? 0;
      const done = () =>
        resolve({
          delivered: status >= 200 && status < 300,
          status,
          durationMs: elapsed(),
        });
      res.once('end', done);
      res.once('close', done);
      res.once('error', () => undefined);
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      const error = signal.aborted
        ? `No answer within ${options.timeoutMs} ms`
        : (err.code ?? 'network error');
      resolve({ delivered: false, error, durationMs: elapsed() });
    });
    req.end(request.body);
  });
}
