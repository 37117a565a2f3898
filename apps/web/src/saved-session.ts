// The session kept across reloads. It lives in sessionStorage, per tab: refresh
// tokens rotate on use and a reused one revokes the whole family (docs/design.md §3), so
// two tabs sharing one stored refresh token would, sooner or later, refresh at the
// same moment and log each other out. A tab keeps its own session; a new tab logs in.
import type { SessionState } from '@parley/client';
import { userSchema, z } from '@parley/contracts';

export const SESSION_KEY = 'parley.session.v1';

const savedSessionSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  expiresAt: z.number(),
  user: userSchema,
});

export function loadSession(storage: Pick<Storage, 'getItem'>): SessionState | null {
  try {
    const parsed = savedSessionSchema.safeParse(JSON.parse(storage.getItem(SESSION_KEY) ?? 'null'));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function saveSession(
  storage: Pick<Storage, 'setItem' | 'removeItem'>,
  session: SessionState | null,
): void {
  try {
    if (session === null) storage.removeItem(SESSION_KEY);
    else storage.setItem(SESSION_KEY, JSON.stringify(session));
  } catch {
    // Storage full or refused (private mode): the session lasts as long as the page.
  }
}
