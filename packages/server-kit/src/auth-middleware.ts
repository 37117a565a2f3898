// Bearer authentication for express routes: the verified principal is put on
// res.locals and read back through getAuth(), so handlers get a typed value and a
// route mounted without requireAuth fails loudly instead of acting anonymously.
import type { RequestHandler, Response } from 'express';
import { UnauthorizedError } from './errors';
import type { Principal, TokenVerifier } from './jwks-verifier';

const AUTH_LOCAL = 'parleyAuth';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function extractBearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Rejects the request with 401 unless it carries a valid bearer token. */
export function requireAuth(verifier: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const token = extractBearer(req.headers.authorization);
    if (!token) throw new UnauthorizedError('An Authorization: Bearer token is required');
    res.locals[AUTH_LOCAL] = await verifier.verify(token);
    next();
  };
}

/** The principal requireAuth verified for this request. */
export function getAuth(res: Response): Principal {
  const principal = res.locals[AUTH_LOCAL] as Principal | undefined;
  if (!principal) throw new Error('getAuth() called on a route not behind requireAuth()');
  return principal;
}
