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
  issue(user: { id: string; username: string }): IssuedAccessToken;
}

export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? randomUUID;
  return {
    issue(user) {
      const key = options.keys.active;
      const iat = Math.floor(now().getTime() / 1000);
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
