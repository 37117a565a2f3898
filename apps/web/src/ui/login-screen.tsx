// Log in, or create an account and log in.
import { useState } from 'preact/hooks';
import type { AppSession } from '../state/app-session';
import { errorText } from '../state/error-text';

export function LoginScreen({ session }: { session: AppSession }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ended = session.endedReason.value;

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'login') await session.login(username.trim(), password);
      else await session.register(username.trim(), password, displayName);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  const registering = mode === 'register';
  return (
    <main class="login">
      <div class="login-card">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true" />
          <h1>Parley</h1>
        </div>
        <p class="login-lede">
          {registering
            ? 'Create an account to start chatting.'
            : 'Welcome back. Log in to your conversations.'}
        </p>
        {ended && (
          <p class="form-note" role="status">
            {ended}
          </p>
        )}
        <div class="segmented" role="tablist" aria-label="Log in or create an account">
          <button
            type="button"
            role="tab"
            aria-selected={!registering}
            onClick={() => setMode('login')}
          >
            Log in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={registering}
            onClick={() => setMode('register')}
          >
            Create account
          </button>
        </div>
        <form onSubmit={submit} aria-label={registering ? 'Create account' : 'Log in'}>
          <label class="field">
            <span>Username</span>
            <input
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellcheck={false}
              required
              minLength={3}
              maxLength={32}
              pattern="[A-Za-z0-9_.\-]{3,32}"
              title="3–32 letters, digits, _ . -"
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </label>
          {registering && (
            <label class="field">
              <span>
                Display name <small>(optional)</small>
              </span>
              <input
                name="displayName"
                autoComplete="name"
                maxLength={64}
                value={displayName}
                onInput={(e) => setDisplayName(e.currentTarget.value)}
              />
            </label>
          )}
          <label class="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete={registering ? 'new-password' : 'current-password'}
              required
              minLength={registering ? 8 : 1}
              maxLength={128}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <button class="button primary wide" type="submit" disabled={busy}>
            {busy ? 'One moment…' : registering ? 'Create account' : 'Log in'}
          </button>
        </form>
      </div>
    </main>
  );
}
