// User lookups for other services and clients: by username, and by a list of ids
// (unknown or malformed ids are left out rather than failing the whole list).
import { ROUTES } from '@parley/contracts';
import { parseParams, parseQuery, requireAuth, type TokenVerifier } from '@parley/server-kit';
import { Router } from 'express';
import type { AuthService } from './auth-service';

export interface UserRouterDeps {
  auth: AuthService;
  verifier: TokenVerifier;
}

export function createUserRouter(deps: UserRouterDeps): Router {
  const router = Router();
  const { getUserByUsername, getUsersByIds } = ROUTES;
  const authenticated = requireAuth(deps.verifier);

  router[getUsersByIds.method](getUsersByIds.path, authenticated, async (req, res) => {
    const { ids } = parseQuery(getUsersByIds.query, req);
    res.status(getUsersByIds.success.status).json({ users: await deps.auth.getByIds(ids) });
  });

  router[getUserByUsername.method](getUserByUsername.path, authenticated, async (req, res) => {
    const { username } = parseParams(getUserByUsername.params, req);
    res
      .status(getUserByUsername.success.status)
      .json({ user: await deps.auth.getByUsername(username) });
  });

  return router;
}
