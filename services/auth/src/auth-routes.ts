// /auth/* and the JWKS, mounted from the contracts' route catalogue (paths, methods,
// schemas and statuses are written down once, in packages/contracts).
import { ROUTES } from '@parley/contracts';
import { getAuth, parseBody, requireAuth, type TokenVerifier } from '@parley/server-kit';
import { Router, type Request, type RequestHandler } from 'express';
import type { AuthService } from './auth-service';
import type { SigningKeys } from './signing-keys';

export interface AuthRouterDeps {
  auth: AuthService;
  verifier: TokenVerifier;
  signingKeys: SigningKeys;
}

/** Verifiers cache the JWKS; five minutes keeps a rotation visible soon enough. */
export const JWKS_CACHE_CONTROL = 'public, max-age=300';

/**
 * Answers that carry tokens must never be kept by a browser or proxy cache (RFC 6749
 * §5.1; docs/design.md §9.3). Set before the handler runs, so error answers carry it too.
 */
const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  res.set('Pragma', 'no-cache');
  next();
};

export function createAuthRouter(deps: AuthRouterDeps): Router {
  const router = Router();
  const { register, login, refresh, logout, logoutAll, changePassword, me, jwks } = ROUTES;
  const authenticated = requireAuth(deps.verifier);

  router[register.method](register.path, async (req, res) => {
    const body = parseBody(register.body, req);
    const user = await deps.auth.register(body, clientIp(req));
    res.status(register.success.status).json({ user });
  });

  router[login.method](login.path, noStore, async (req, res) => {
    const body = parseBody(login.body, req);
    res.status(login.success.status).json(await deps.auth.login(body, clientIp(req)));
  });

  router[refresh.method](refresh.path, noStore, async (req, res) => {
    const { refreshToken } = parseBody(refresh.body, req);
    res.status(refresh.success.status).json(await deps.auth.refresh(refreshToken));
  });

  router[logout.method](logout.path, async (req, res) => {
    const { refreshToken } = parseBody(logout.body, req);
    await deps.auth.logout(refreshToken);
    res.status(logout.success.status).end();
  });

  router[logoutAll.method](logoutAll.path, authenticated, async (_req, res) => {
    await deps.auth.logoutAll(getAuth(res));
    res.status(logoutAll.success.status).end();
  });

  router[changePassword.method](changePassword.path, authenticated, async (req, res) => {
    const body = parseBody(changePassword.body, req);
    await deps.auth.changePassword(getAuth(res), body, clientIp(req));
    res.status(changePassword.success.status).end();
  });

  router[me.method](me.path, authenticated, async (_req, res) => {
    const user = await deps.auth.me(getAuth(res));
    res.status(me.success.status).json({ user });
  });

  router[jwks.method](jwks.path, async (_req, res) => {
    res.set('Cache-Control', JWKS_CACHE_CONTROL);
    res.status(jwks.success.status).json(await deps.signingKeys.jwks());
  });

  return router;
}

/** The client address rate limits are keyed on; depends on the app's `trust proxy`. */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
