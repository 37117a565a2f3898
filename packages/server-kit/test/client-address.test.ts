// The client address behind TRUST_PROXY, read from real HTTP requests the way the
// websocket upgrade sees them (a raw IncomingMessage): X-Forwarded-For counts only as
// far as the setting trusts the hops, exactly like express's `trust proxy`.
import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createClientAddress,
  loadConfig,
  trustProxyEnv,
  type TrustProxy,
} from '@parley/server-kit';
import { z } from 'zod';

/** What the server computes as the client address for one request with these headers. */
async function addressSeen(trust: TrustProxy, forwardedFor?: string): Promise<string> {
  const clientAddress = createClientAddress(trust);
  let seen = '';
  const server = createServer((req: IncomingMessage, res) => {
    seen = clientAddress(req);
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.close();
  }
  return seen;
}

describe('createClientAddress (TRUST_PROXY)', () => {
  it('When trust is false (the default), then X-Forwarded-For is ignored: the TCP peer is the client', async () => {
    expect(await addressSeen(false, '203.0.113.9')).toBe('127.0.0.1');
  });

  it('When trust is a hop count of 1, then the last X-Forwarded-For entry is the client, not what the client wrote before it', async () => {
    expect(await addressSeen(1, '198.51.100.66, 203.0.113.9')).toBe('203.0.113.9');
  });

  it('When trust is a list of subnets that holds the peer, then the header is believed up to the first untrusted hop', async () => {
    expect(await addressSeen('loopback, 10.0.0.0/8', '203.0.113.9, 10.1.2.3')).toBe('203.0.113.9');
    expect(await addressSeen('10.0.0.0/8', '203.0.113.9')).toBe('127.0.0.1');
  });

  it('When trust is true, then the first X-Forwarded-For entry is believed (only safe behind a proxy that overwrites it)', async () => {
    expect(await addressSeen(true, '198.51.100.66, 203.0.113.9')).toBe('198.51.100.66');
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback, 10.0.0.0/8', 'loopback, 10.0.0.0/8'],
  ])('When TRUST_PROXY is %p, then the setting is %p', (value, expected) => {
    const schema = z.object({ TRUST_PROXY: trustProxyEnv() });
    expect(loadConfig(schema, { TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
    expect(loadConfig(schema, {}).TRUST_PROXY).toBe(false);
  });
});
