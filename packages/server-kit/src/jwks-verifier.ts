// Verifies Parley access tokens the way docs/design.md §3.3 asks: algorithms, issuer and
// audience pinned, keys from auth's JWKS (see jwks-key-store.ts), and the claims the
// services rely on (sub, username, jti, iat, exp) required. Every way a token can be
// wrong is a 401; only an unreachable JWKS is a 503.
import jwt, { type Algorithm, type JwtPayload } from 'jsonwebtoken';
import { UnauthorizedError } from './errors';
import { createJwksKeyStore, type JwksKeyStoreOptions } from './jwks-key-store';
import type { Logger } from './logger';

/** The authenticated user behind a request or socket. */
export interface Principal {
  userId: string;
  username: string;
  /** Token id. */
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issue time, seconds since the epoch (a revocation refuses tokens issued up to it). */
  iat: number;
  /** The raw access token (for forwarding to another service). */
  token: string;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** A verifier on auth's JWKS; warm() it at startup (see JwksKeyStore.warm). */
export interface JwksVerifier extends TokenVerifier {
  /** Fetches the keys in the background now; resolves when the attempt settled, never rejects. */
  warm(): Promise<void>;
}

export interface JwksVerifierOptions extends JwksKeyStoreOptions {
  issuer: string;
  audience: string;
  /** Accepted signature algorithms; default RS256 and ES256. Never HS* or none. */
  algorithms?: Algorithm[];
  /** Allowed clock skew when checking exp/nbf/iat, in seconds; default 5. */
  clockToleranceSeconds?: number;
}

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;

export function createJwksVerifier(options: JwksVerifierOptions): JwksVerifier {
  const algorithms = options.algorithms ?? ['RS256', 'ES256'];
  const bad = algorithms.filter((alg) => !ASYMMETRIC.test(alg));
  if (bad.length > 0) throw new Error(`Refusing non-asymmetric JWT algorithms: ${bad.join(', ')}`);
  const keyStore = createJwksKeyStore(options);

  return {
    warm: () => keyStore.warm(),
    async verify(token) {
      const decoded = jwt.decode(token, { complete: true });
      if (!decoded || typeof decoded.payload === 'string') {
        throw new UnauthorizedError('The access token is malformed');
      }
      const { kid, alg } = decoded.header;
      if (!algorithms.includes(alg as Algorithm)) {
        throw new UnauthorizedError(
          'The access token is signed with an algorithm that is not accepted',
        );
      }
      if (typeof kid !== 'string' || kid === '') {
        throw new UnauthorizedError('The access token names no signing key');
      }
      const key = await keyStore.getKey(kid);
      if (!key) throw new UnauthorizedError('The access token is signed with an unknown key');
      if (key.alg !== undefined && key.alg !== alg) {
        throw new UnauthorizedError('The access token algorithm does not match its key');
      }

      let payload: JwtPayload;
      try {
        payload = jwt.verify(token, key.key, {
          algorithms,
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: options.clockToleranceSeconds ?? 5,
        }) as JwtPayload;
      } catch (err) {
        const expired = err instanceof jwt.TokenExpiredError;
        throw new UnauthorizedError(
          expired ? 'The access token has expired' : 'The access token is invalid',
          err,
        );
      }

      const { sub, jti, exp, iat } = payload;
      const username: unknown = payload['username'];
      if (
        typeof sub !== 'string' ||
        sub === '' ||
        typeof username !== 'string' ||
        username === '' ||
        typeof jti !== 'string' ||
        jti === '' ||
        typeof exp !== 'number' ||
        typeof iat !== 'number'
      ) {
        throw new UnauthorizedError('The access token lacks required claims');
      }
      return { userId: sub, username, jti, exp, iat, token };
    },
  };
}

/** The settings jwtVerifierEnv() reads. */
export interface JwtVerifierEnv {
  JWKS_URL: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

/**
 * A service's verifier from its jwtVerifierEnv() settings, already warming: the keys
 * are being fetched in the background (auth may start later; the start neither waits
 * for nor fails on it), so the first request does not pay the fetch. For main.ts.
 */
export function startJwksVerifier(env: JwtVerifierEnv, logger: Logger): JwksVerifier {
  const verifier = createJwksVerifier({
    jwksUri: env.JWKS_URL,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    logger,
  });
  void verifier.warm();
  return verifier;
}
