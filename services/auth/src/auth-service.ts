// The auth use cases behind the routes: register, log in, refresh, log out (one
// session or all), change the password, and the user lookups. Routes parse input with the contracts' schemas and call these; every
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
import { familyExpiresAtOf, type RefreshTokenStore } from './refresh-token-store';
import type { RegistrationLimiter } from './registration-limiter';
import type { SessionRevocations } from './session-revocations';
import type { TokenIssuer } from './token-issuer';
import { toPublicUser, type UserRecord, type UserStore } from './user-store';

export interface AuthServiceDeps {
  users: UserStore;
  refreshTokens: RefreshTokenStore;
  passwords: PasswordHasher;
  tokens: TokenIssuer;
  loginLimiter: LoginLimiter;
  registrationLimiter: RegistrationLimiter;
  revocations: SessionRevocations;
  metrics: AuthMetrics;
  /** Absolute lifetime of a login, for tokens stored before families carried their end. */
  refreshFamilyMaxAgeSeconds: number;
  now: () => Date;
}

/** The caller of an authenticated route, as its verified access token says. */
export interface Caller {
  userId: string;
  /** When the access token was issued, seconds since the epoch. */
  iat: number;
}

export interface AuthService {
  register(
    input: { username: string; password: string; displayName?: string | undefined },
    ip: string,
  ): Promise<User>;
  login(input: { username: string; password: string }, ip: string): Promise<TokenResponse>;
  refresh(refreshToken: string): Promise<TokenResponse>;
  logout(refreshToken: string): Promise<void>;
  /** Revokes every session of the caller and announces it (session_revoked). */
  logoutAll(caller: Caller): Promise<void>;
  /** Checks the current password (rate-limited like login), sets the new one, revokes every session. */
  changePassword(
    caller: Caller,
    input: { currentPassword: string; newPassword: string },
    ip: string,
  ): Promise<void>;
  /** The caller of a verified token; 401 if the account no longer exists or its sessions were revoked. */
  me(caller: Caller): Promise<User>;
  getByUsername(username: string): Promise<User>;
  getByIds(ids: readonly string[]): Promise<User[]>;
}

const REFRESH_REFUSED = 'The refresh token is invalid, expired or already used';
const SESSION_REVOKED = 'The sessions of this account were ended; log in again';

/** True when the token was issued at or before the user's last "log out everywhere". */
export function isRevokedToken(user: Pick<UserRecord, 'sessionsRevokedAt'>, iat: number): boolean {
  return (
    user.sessionsRevokedAt !== undefined &&
    iat <= Math.floor(user.sessionsRevokedAt.getTime() / 1000)
  );
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const { users, refreshTokens, passwords, revocations, metrics, now } = deps;

  async function issueSession(
    user: UserRecord,
    family?: { id: string; expiresAt: Date },
  ): Promise<TokenResponse> {
    const access = deps.tokens.issue({
      id: user._id.toHexString(),
      username: user.username,
      ...(user.sessionsRevokedAt === undefined
        ? {}
        : { sessionsRevokedAt: user.sessionsRevokedAt }),
    });
    const refresh = await refreshTokens.issue({
      userId: user._id,
      now: now(),
      ...(family === undefined ? {} : { family }),
    });
    return {
      accessToken: access.accessToken,
      refreshToken: refresh.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      user: toPublicUser(user),
    };
  }

  /** The caller's account, if it exists and this token was issued after its last revocation. */
  async function liveCaller(caller: Caller): Promise<UserRecord> {
    const user = await users.findById(caller.userId);
    if (!user) throw new UnauthorizedError('The account of this access token no longer exists');
    if (isRevokedToken(user, caller.iat)) throw new UnauthorizedError(SESSION_REVOKED);
    return user;
  }

  /**
   * One password check behind the login limits (login and password change share
   * them): the user when the password is theirs, else null. The user's lookup runs
   * alongside the limiter's count.
   */
  async function checkPassword(
    username: string,
    password: string,
    ip: string,
    lookup: Promise<UserRecord | null>,
  ): Promise<UserRecord | null> {
    lookup.catch(() => undefined); // awaited below unless the limiter refuses first
    await deps.loginLimiter.begin(username, ip);
    const user = await lookup;
    // Both paths run one bcrypt comparison at the same cost, so the answer time
    // does not tell whether the username exists.
    const valid = user
      ? await passwords.verify(password, user.passwordHash)
      : await passwords.verifyDummy(password);
    if (!user || !valid) return null;
    await deps.loginLimiter.succeeded(username, ip);
    return user;
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
      const user = await countRateLimited(
        checkPassword(input.username, input.password, ip, users.findByUsername(input.username)),
        () => metrics.login('rate_limited'),
      );
      if (!user) {
        metrics.login('invalid_credentials');
        throw new InvalidCredentialsError();
      }
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
      const session = await issueSession(user, {
        id: familyId,
        // the login's end, never moved by a rotation
        expiresAt: familyExpiresAtOf(claim.record, deps.refreshFamilyMaxAgeSeconds),
      });
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

    async logoutAll(caller) {
      const user = await liveCaller(caller);
      await revocations.revokeAll(user._id, 'logout_all');
      metrics.sessionsRevoked('logout_all');
    },

    async changePassword(caller, input, ip) {
      const user = await liveCaller(caller);
      const checked = await countRateLimited(
        checkPassword(user.username, input.currentPassword, ip, Promise.resolve(user)),
        () => metrics.passwordChange('rate_limited'),
      );
      if (!checked) {
        metrics.passwordChange('invalid_credentials');
        throw new InvalidCredentialsError();
      }
      const passwordHash = await passwords.hash(input.newPassword);
      await revocations.revokeAll(user._id, 'password_changed', { passwordHash });
      metrics.passwordChange('changed');
      metrics.sessionsRevoked('password_changed');
    },

    async me(caller) {
      return toPublicUser(await liveCaller(caller));
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

async function countRateLimited<T>(attempt: Promise<T>, count: () => void): Promise<T> {
  try {
    return await attempt;
  } catch (err) {
    if (err instanceof RateLimitedError) count();
    throw err;
  }
}
