// Access tokens: JWTs signed with the active key (header `kid`), carrying exactly the
// claims of docs/design.md §3.3. Timestamps come from the injected clock so expiry can be
// tested without waiting.
import type { AccessTokenClaims } from '@parley/contracts';
import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import type { SigningKeys } from './signing-keys';

export interface TokenIssuerOptions {
  keys: SigningKeys;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  now?: () => Date;
  newId?: () => string;
}

export interface IssuedAccessToken {
  accessToken: string;
  /** Lifetime in seconds. */
  expiresIn: number;
  claims: AccessTokenClaims;
}

export interface TokenIssuer {
  /**
   * `sessionsRevokedAt`: the user's last revocation. A token must be dated after it
   * (verifiers refuse `iat` at or before it), so one issued within the same second is
   * dated the next second (and its `exp` moves with it).
   */
  issue(user: { id: string; username: string; sessionsRevokedAt?: Date }): IssuedAccessToken;
}

export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? randomUUID;
  return {
    issue(user) {
      const key = options.keys.active;
      const revokedAt =
        user.sessionsRevokedAt === undefined
          ? Number.NEGATIVE_INFINITY
          : Math.floor(user.sessionsRevokedAt.getTime() / 1000);
      const iat = Math.max(Math.floor(now().getTime() / 1000), revokedAt + 1);
      const claims: AccessTokenClaims = {
        sub: user.id,
        username: user.username,
        iss: options.issuer,
        aud: options.audience,
        iat,
        exp: iat + options.ttlSeconds,
        jti: newId(),
      };
      const accessToken = jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid });
      return { accessToken, expiresIn: options.ttlSeconds, claims };
    },
  };
}
