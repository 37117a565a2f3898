// How auth itself checks the bearer tokens of /auth/me and /users: with the server
// kit's JWKS verifier, the same code every other service runs, fed from this
// instance's own key set instead of over HTTP. So auth can never accept a token that
// chat or websocket would refuse (pinned algorithms, issuer, audience, kid, claims).
import { createJwksVerifier, type TokenVerifier } from '@parley/server-kit';
import type { SigningKeys } from './signing-keys';

export interface LocalVerifierOptions {
  keys: SigningKeys;
  issuer: string;
  audience: string;
}

export function createLocalTokenVerifier(options: LocalVerifierOptions): TokenVerifier {
  const localJwks: typeof fetch = async () => Response.json(await options.keys.jwks());
  return createJwksVerifier({
    jwksUri: 'local:/.well-known/jwks.json',
    fetch: localJwks,
    issuer: options.issuer,
    audience: options.audience,
    cacheMaxAgeMs: 60_000,
  });
}
