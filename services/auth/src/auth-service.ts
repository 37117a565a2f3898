// The auth use cases behind the routes: register, log in, refresh, log out, and the
// user lookups. Routes parse input with the contracts' schemas and call these; every
// failure is a typed error the kit's error middleware turns into problem+json.
import type { TokenResponse, User } from '@parley/contracts';
import {
  InvalidCredentialsError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  isHttpError,
} from '@parley/server-kit';
import type { AuthMetrics } from './auth-metrics';
import type { LoginLimiter } from './login-limiter';
import type { PasswordHasher } from './password-hasher';
import type { RefreshTokenStore } from './refresh-token-store';
import type { RegistrationLimiter } from './registration-limiter';
import type { TokenIssuer } from './token-issuer';
import { toPublicUser, type UserRecord, type UserStore } from './user-store';

export interface AuthServiceDeps {
  users: UserStore;
  refreshTokens: RefreshTokenStore;
  passwords: PasswordHasher;
  tokens: TokenIssuer;
  loginLimiter: LoginLimiter;
  registrationLimiter: RegistrationLimiter;
  metrics: AuthMetrics;
  now: () => Date;
}

export interface AuthService {
  register(
    input: { username: string; password: string; displayName?: string | undefined },
    ip: string,
  ): Promise<User>;
  login(input: { username: string; password: string }, ip: string): Promise<TokenResponse>;
  refresh(refreshToken: string): Promise<TokenResponse>;
  logout(refreshToken: string): Promise<void>;
  /** The caller of a verified token; 401 if the account no longer exists. */
  me(userId: string): Promise<User>;
  getByUsername(username: string): Promise<User>;
  getByIds(ids: readonly string[]): Promise<User[]>;
}

const REFRESH_REFUSED = 'The refresh token is invalid, expired or already used';

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const { users, refreshTokens, passwords, metrics, now } = deps;

  async function issueSession(user: UserRecord, familyId?: string): Promise<TokenResponse> {
    const access = deps.tokens.issue({ id: user._id.toHexString(), username: user.username });
    const refresh = await refreshTokens.issue({
      userId: user._id,
      now: now(),
      ...(familyId === undefined ? {} : { familyId }),
    });
    return {
      accessToken: access.accessToken,
      refreshToken: refresh.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      user: toPublicUser(user),
    };
  }

  return {
    async register(input, ip) {
      await countRateLimited(deps.registrationLimiter.attempt(ip), () =>
        metrics.registration('rate_limited'),
      );
      const passwordHash = await passwords.hash(input.password);
      try {
        const user = await users.create(
          {
            username: input.username,
            displayName: input.displayName ?? input.username,
            passwordHash,
          },
          now(),
        );
        metrics.registration('created');
        return toPublicUser(user);
      } catch (err) {
        if (isHttpError(err) && err.code === 'username_taken')
          metrics.registration('username_taken');
        throw err;
      }
    },

    async login(input, ip) {
      await countRateLimited(deps.loginLimiter.begin(input.username, ip), () =>
        metrics.login('rate_limited'),
      );
      const user = await users.findByUsername(input.username);
      // Both paths run one bcrypt comparison at the same cost, so the answer time
      // does not tell whether the username exists.
      const valid = user
        ? await passwords.verify(input.password, user.passwordHash)
        : await passwords.verifyDummy(input.password);
      if (!user || !valid) {
        metrics.login('invalid_credentials');
        throw new InvalidCredentialsError();
      }
      await deps.loginLimiter.succeeded(input.username, ip);
      metrics.login('success');
      return issueSession(user);
    },

    async refresh(refreshToken) {
      const claim = await refreshTokens.claim(refreshToken, now());
      if (claim.outcome !== 'rotated') {
        metrics.refresh(claim.outcome);
        throw new UnauthorizedError(REFRESH_REFUSED);
      }
      const { familyId } = claim.record;
      const user = await users.findById(claim.record.userId.toHexString());
      if (!user) throw new UnauthorizedError(REFRESH_REFUSED);
      const session = await issueSession(user, familyId);
      // A replay of the old token may have revoked the family between our claim and
      // the insert of the new token; the new one must not outlive that revocation.
      if (await refreshTokens.isFamilyRevoked(familyId)) {
        await refreshTokens.revokeFamily(familyId, now());
        metrics.refresh('reused');
        throw new UnauthorizedError(REFRESH_REFUSED);
      }
      metrics.refresh('rotated');
      return session;
    },

    async logout(refreshToken) {
      await refreshTokens.revokeByToken(refreshToken, now());
    },

    async me(userId) {
      const user = await users.findById(userId);
      if (!user) throw new UnauthorizedError('The account of this access token no longer exists');
      return toPublicUser(user);
    },

    async getByUsername(username) {
      const user = await users.findByUsername(username);
      if (!user) throw new NotFoundError(`No user named "${username}"`, { code: 'user_not_found' });
      return toPublicUser(user);
    },

    async getByIds(ids) {
      return (await users.findByIds(ids)).map(toPublicUser);
    },
  };
}

async function countRateLimited(attempt: Promise<void>, count: () => void): Promise<void> {
  try {
    await attempt;
  } catch (err) {
    if (err instanceof RateLimitedError) count();
    throw err;
  }
}
