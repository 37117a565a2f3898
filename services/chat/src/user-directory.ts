// Resolves usernames through auth's GET /users/:username with the caller's own token
// (docs/design.md §4.13), with a short bounded cache and one request per name in flight. Auth
// down, slow or answering nonsense is a 503 dependency_unavailable, never a guess:
// a wrong "user not found" would be a wrong answer.
import { ROUTES, userResponseSchema, usersResponseSchema, type User } from '@parley/contracts';
import { DependencyUnavailableError, NotFoundError, UnauthorizedError } from '@parley/server-kit';

export interface UserDirectory {
  /** The user with this (lower-case) username, or undefined when auth knows none. */
  findByUsername(username: string, token: string): Promise<User | undefined>;
  /** Like findByUsername, but an unknown name is 404 user_not_found. */
  requireByUsername(username: string, token: string): Promise<User>;
  /** The users with these ids that exist (unknown ids are left out). */
  findByIds(ids: string[], token: string): Promise<User[]>;
}

export interface UserDirectoryOptions {
  /** Auth's base URL, e.g. http://127.0.0.1:5001. */
  authUrl: string;
  /** Per request; default 2000 ms. */
  timeoutMs?: number;
  /** How long a found user is reused; default 30 s. */
  ttlMs?: number;
  /** How long "no such user" is reused; default 5 s (a name may be registered soon). */
  notFoundTtlMs?: number;
  /** Cached names at most (oldest dropped first); default 10 000. */
  maxEntries?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

interface CacheEntry {
  user: User | undefined;
  expiresAt: number;
}

export function createUserDirectory(options: UserDirectoryOptions): UserDirectory {
  const base = options.authUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 2_000;
  const ttlMs = options.ttlMs ?? 30_000;
  const notFoundTtlMs = options.notFoundTtlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  const pending = new Map<string, Promise<User | undefined>>();

  function remember(key: string, user: User | undefined): void {
    if (maxEntries === 0) return;
    cache.delete(key);
    cache.set(key, { user, expiresAt: now() + (user ? ttlMs : notFoundTtlMs) });
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  async function get(path: string, token: string): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new DependencyUnavailableError('The auth service is not reachable', err);
    }
    if (response.status === 401) {
      await response.body?.cancel();
      throw new UnauthorizedError('The auth service rejected the access token');
    }
    if (response.status !== 200 && response.status !== 404) {
      await response.body?.cancel();
      throw new DependencyUnavailableError(`The auth service answered ${response.status}`);
    }
    try {
      return { status: response.status, body: await response.json() };
    } catch (err) {
      throw new DependencyUnavailableError(
        'The auth service answered with an unreadable body',
        err,
      );
    }
  }

  async function lookup(username: string, token: string): Promise<User | undefined> {
    const path = ROUTES.getUserByUsername.path.replace(':username', encodeURIComponent(username));
    const { status, body } = await get(path, token);
    if (status === 404) return undefined;
    const parsed = userResponseSchema.safeParse(body);
    if (!parsed.success)
      throw new DependencyUnavailableError('The auth service answered an unexpected body');
    return parsed.data.user;
  }

  const directory: UserDirectory = {
    async findByUsername(username, token) {
      const key = username.toLowerCase();
      const cached = cache.get(key);
      if (cached && cached.expiresAt > now()) return cached.user;
      let inFlight = pending.get(key);
      if (!inFlight) {
        inFlight = lookup(key, token)
          .then((user) => {
            remember(key, user);
            return user;
          })
          .finally(() => pending.delete(key));
        pending.set(key, inFlight);
      }
      return inFlight;
    },

    async requireByUsername(username, token) {
      const user = await directory.findByUsername(username, token);
      if (!user) throw new NotFoundError(`No user named ${username}`, { code: 'user_not_found' });
      return user;
    },

    async findByIds(ids, token) {
      if (ids.length === 0) return [];
      const { status, body } = await get(
        `${ROUTES.getUsersByIds.path}?ids=${ids.map(encodeURIComponent).join(',')}`,
        token,
      );
      if (status !== 200)
        throw new DependencyUnavailableError(`The auth service answered ${status}`);
      const parsed = usersResponseSchema.safeParse(body);
      if (!parsed.success)
        throw new DependencyUnavailableError('The auth service answered an unexpected body');
      for (const user of parsed.data.users) remember(user.username, user);
      return parsed.data.users;
    },
  };
  return directory;
}
