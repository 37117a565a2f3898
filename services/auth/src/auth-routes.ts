// /auth/* and the JWKS, mounted from the contracts' route catalogue (paths, methods,
// schemas and statuses are written down once, in packages/contracts).
import { ROUTES } from '@parley/contracts';
import { getAuth, parseBody, requireAuth, type TokenVerifier } from '@parley/server-kit';
import { Router, type Request } from 'express';
import type { AuthService } from './auth-service';
import type { SigningKeys } from './signing-keys';

export interface AuthRouterDeps {
  auth: AuthService;
  verifier: TokenVerifier;
  signingKeys: SigningKeys;
}

/** Verifiers cache the JWKS; five minutes keeps a rotation visible soon enough. */
export const JWKS_CACHE_CONTROL = 'public, max-age=300';

export function createAuthRouter(deps: AuthRouterDeps): Router {
  const router = Router();
  const { register, login, refresh, logout, me, jwks } = ROUTES;

  router[register.method](register.path, async (req, res) => {
    const body = parseBody(register.body, req);
    const user = await deps.auth.register(body, clientIp(req));
    res.status(register.success.status).json({ user });
  });

  router[login.method](login.path, async (req, res) => {
    const body = parseBody(login.body, req);
    res.status(login.success.status).json(await deps.auth.login(body, clientIp(req)));
  });

  router[refresh.method](refresh.path, async (req, res) => {
    const { refreshToken } = parseBody(refresh.body, req);
    res.status(refresh.success.status).json(await deps.auth.refresh(refreshToken));
  });

  router[logout.method](logout.path, async (req, res) => {
    const { refreshToken } = parseBody(logout.body, req);
    await deps.auth.logout(refreshToken);
    res.status(logout.success.status).end();
  });

  router[me.method](me.path, requireAuth(deps.verifier), async (_req, res) => {
    const user = await deps.auth.me(getAuth(res).userId);
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
