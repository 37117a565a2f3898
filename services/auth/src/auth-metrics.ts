// Auth's own Prometheus counters, on the instance's registry from the server kit.
import type { Metrics } from '@parley/server-kit';

export type LoginOutcome = 'success' | 'invalid_credentials' | 'rate_limited';
export type RegistrationOutcome = 'created' | 'username_taken' | 'rate_limited';
export type RefreshOutcome = 'rotated' | 'reused' | 'invalid';
export type PasswordChangeOutcome = 'changed' | 'invalid_credentials' | 'rate_limited';
export type RevocationPublishOutcome = 'published' | 'failed';

export interface AuthMetrics {
  login(outcome: LoginOutcome): void;
  registration(outcome: RegistrationOutcome): void;
  refresh(outcome: RefreshOutcome): void;
  passwordChange(outcome: PasswordChangeOutcome): void;
  /** Every session of a user revoked, by why. */
  sessionsRevoked(reason: 'logout_all' | 'password_changed'): void;
  /** A session_revoked publish attempt (fast path or relay). */
  sessionRevokedPublish(outcome: RevocationPublishOutcome): void;
}

export function createAuthMetrics(metrics: Metrics): AuthMetrics {
  const logins = metrics.counter({
    name: 'auth_logins_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'] as const,
  });
  const registrations = metrics.counter({
    name: 'auth_registrations_total',
    help: 'Registration attempts by outcome',
    labelNames: ['outcome'] as const,
  });
  const refreshes = metrics.counter({
    name: 'auth_refreshes_total',
    help: 'Refresh-token uses by outcome (reused = replay detected, family revoked)',
    labelNames: ['outcome'] as const,
  });
  const passwordChanges = metrics.counter({
    name: 'auth_password_changes_total',
    help: 'Password change attempts by outcome',
    labelNames: ['outcome'] as const,
  });
  const revocations = metrics.counter({
    name: 'auth_sessions_revoked_total',
    help: 'Times every session of a user was revoked (logout-all, password change)',
    labelNames: ['reason'] as const,
  });
  const revocationPublishes = metrics.counter({
    name: 'auth_session_revoked_publishes_total',
    help: 'session_revoked publish attempts by outcome (failed ones are retried by the relay)',
    labelNames: ['outcome'] as const,
  });
  return {
    login: (outcome) => logins.inc({ outcome }),
    passwordChange: (outcome) => passwordChanges.inc({ outcome }),
    sessionsRevoked: (reason) => revocations.inc({ reason }),
    sessionRevokedPublish: (outcome) => revocationPublishes.inc({ outcome }),
    registration: (outcome) => registrations.inc({ outcome }),
    refresh: (outcome) => refreshes.inc({ outcome }),
  };
}
