// A stand-in for the auth service in component tests: a real key pair, a real JWKS
// served over HTTP on port 0, and tokens with auth's claim layout (sub, username,
// iss, aud, iat, exp, jti; header kid), so services verify them exactly as in
// production.
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt, { type Algorithm } from 'jsonwebtoken';
import { createJwksVerifier, type TokenVerifier } from '@parley/server-kit';

export interface TestIssuerOptions {
  issuer?: string;
  audience?: string;
  /** RS256 (default) or ES256. */
  algorithm?: 'RS256' | 'ES256';
}

export interface MintOptions {
  /** The user id (`sub`); default a fresh UUID. */
  userId?: string;
  username?: string;
  /** Lifetime in seconds, negative for an already expired token; default 900. */
  expiresInSeconds?: number;
  /** Claims to add or override (`undefined` removes one). */
  claims?: Record<string, unknown>;
  /** Sign with this key id instead of the current one (e.g. one not in the JWKS). */
  kid?: string;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  /** How many times the JWKS was fetched. */
  readonly jwksRequests: number;
  mint(options?: MintOptions): string;
  /** Adds a new signing key (new kid) and makes it the current one. */
  rotate(): string;
  /** A signing key that is NOT published until publish(kid) is called. */
  createUnpublishedKey(): string;
  publish(kid: string): void;
  /** A verifier for this issuer, as a service would build it. */
  verifier(options?: { refetchesPerMinute?: number; cacheMaxAgeMs?: number }): TokenVerifier;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
  published: boolean;
}

export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const issuer = options.issuer ?? 'parley-auth';
  const audience = options.audience ?? 'parley';
  const algorithm: Algorithm = options.algorithm ?? 'RS256';
  const keys = new Map<string, SigningKey>();
  let currentKid = '';
  let jwksRequests = 0;

  const newKey = (published: boolean): string => {
    const kid = randomUUID();
    const pair =
      algorithm === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicJwk = {
      ...pair.publicKey.export({ format: 'jwk' }),
      kid,
      alg: algorithm,
      use: 'sig',
    };
    keys.set(kid, { kid, privateKey: pair.privateKey, publicJwk, published });
    return kid;
  };
  currentKid = newKey(true);

  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests += 1;
    const body = JSON.stringify({
      keys: [...keys.values()].filter((k) => k.published).map((k) => k.publicJwk),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const jwksUrl = `http://127.0.0.1:${port}/.well-known/jwks.json`;

  return {
    issuer,
    audience,
    jwksUrl,
    get jwksRequests() {
      return jwksRequests;
    },
    mint(mintOptions = {}) {
      const kid = mintOptions.kid ?? currentKid;
      const key = keys.get(kid);
      if (!key) throw new Error(`No test signing key ${kid}`);
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        sub: mintOptions.userId ?? randomUUID(),
        username: mintOptions.username ?? `user-${randomUUID().slice(0, 8)}`,
        iss: issuer,
        aud: audience,
        iat: now,
        exp: now + (mintOptions.expiresInSeconds ?? 900),
        jti: randomUUID(),
        ...mintOptions.claims,
      };
      for (const [name, value] of Object.entries(claims))
        if (value === undefined) delete claims[name];
      return jwt.sign(claims, key.privateKey, { algorithm, keyid: kid });
    },
    rotate() {
      currentKid = newKey(true);
      return currentKid;
    },
    createUnpublishedKey: () => newKey(false),
    publish(kid) {
      const key = keys.get(kid);
      if (!key) throw new Error(`No test signing key ${kid}`);
      key.published = true;
    },
    verifier(verifierOptions = {}) {
      return createJwksVerifier({ jwksUri: jwksUrl, issuer, audience, ...verifierOptions });
    },
    async close() {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
