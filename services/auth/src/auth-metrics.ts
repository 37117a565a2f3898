// Auth's own Prometheus counters, on the instance's registry from the server kit.
import type { Metrics } from '@parley/server-kit';

export type LoginOutcome = 'success' | 'invalid_credentials' | 'rate_limited';
export type RegistrationOutcome = 'created' | 'username_taken' | 'rate_limited';
export type RefreshOutcome = 'rotated' | 'reused' | 'invalid';

export interface AuthMetrics {
  login(outcome: LoginOutcome): void;
  registration(outcome: RegistrationOutcome): void;
  refresh(outcome: RefreshOutcome): void;
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
  return {
    login: (outcome) => logins.inc({ outcome }),
    registration: (outcome) => registrations.inc({ outcome }),
    refresh: (outcome) => refreshes.inc({ outcome }),
  };
}
