// One sentence for an error, for toasts and form messages: the server's problem
// detail when there is one, else what kind of failure it was.
import { ParleyApiError, ParleyRealtimeError, ParleyResponseError } from '@parley/client';

const BY_CODE: Partial<Record<string, string>> = {
  invalid_credentials: 'Wrong username or password.',
  username_taken: 'That username is taken.',
  user_not_found: 'There is no user with that name.',
  rate_limited: 'Too many requests; try again in a moment.',
  not_a_member: 'You are not a member of this conversation.',
  dependency_unavailable: 'The service is unavailable right now; try again shortly.',
  timeout: 'No answer from the server in time.',
  closed: 'Not connected.',
};

export function errorText(error: unknown): string {
  if (error instanceof ParleyApiError) {
    if (error.code === 'validation_failed' && error.errors?.length) {
      return error.errors.map((issue) => issue.message).join('; ');
    }
    return BY_CODE[error.code] ?? error.detail ?? `Request failed (${error.status}).`;
  }
  if (error instanceof ParleyRealtimeError) return BY_CODE[error.code] ?? error.message;
  if (error instanceof ParleyResponseError) return 'The server answered something unexpected.';
  if (error instanceof TypeError) return 'Cannot reach the server.';
  return error instanceof Error ? error.message : String(error);
}
