// The client address a per-address limit is keyed on, for code that sees a raw
// IncomingMessage (the websocket upgrade) rather than express's req.ip. Same rules
// as express's `trust proxy` (both use proxy-addr), so auth and websocket read
// TRUST_PROXY alike: X-Forwarded-For is believed only as far as the setting says.
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { TrustProxy } from './config';

/** express's compileTrust: the predicate proxy-addr asks of each hop. */
function compileTrust(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return proxyAddr.compile(
    trust
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  );
}

/** Returns a function giving a request's client address under `trust`. */
export function createClientAddress(trust: TrustProxy): (req: IncomingMessage) => string {
  const trusted = compileTrust(trust);
  return (req) => {
    if (req.socket.remoteAddress === undefined) return 'unknown';
    return proxyAddr(req, trusted);
  };
}
