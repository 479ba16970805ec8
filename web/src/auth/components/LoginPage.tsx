import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { ApiError, errorMessage } from '../../common/api/client.ts';
import { safeNext } from '../../common/api/project-paths.ts';
import { Loading } from '../../common/components/ui.tsx';
import { getSession, login } from '../api/auth-api.ts';

/**
 * Sign-in for `trove server --auth`: user name and password open a web session (HttpOnly,
 * SameSite=Strict cookie set by the server); afterwards the page the user was sent here from
 * (`?next=`) loads afresh, so nothing of a previous user's data stays in memory. With auth off, or
 * already signed in, it goes straight on.
 */
export default function LoginPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const [checking, setChecking] = useState(true);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const passwordRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    getSession(controller.signal)
      .then((session) => {
        if (!session.auth_enabled || session.authenticated) window.location.replace(next);
        else setChecking(false);
      })
      .catch(() => {
        if (!controller.signal.aborted) setChecking(false);
      });
    return () => controller.abort();
  }, [next]);

  if (checking) return <Loading label="Checking your session…" />;

  return (
    <main className="login-page" id="main">
      <form
        className="login-card"
        aria-labelledby="login-title"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          login(username.trim(), password)
            .then(() => window.location.assign(next))
            .catch((err: unknown) => {
              setBusy(false);
              setPassword('');
              passwordRef.current?.focus();
              setError(err instanceof ApiError && err.status === 401 ? 'Wrong user name or password.' : errorMessage(err));
            });
        }}
      >
        <div className="login-brand" aria-hidden="true">
          <svg viewBox="0 0 32 32" width="28" height="28">
            <rect width="32" height="32" rx="6" fill="#1f5fa8" />
            <path d="M7 22l6-8 5 5 7-10" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          Trove
        </div>
        <h1 id="login-title">Sign in</h1>
        <label className="field">
          User name
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label className="field">
          Password
          <input ref={passwordRef} name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary login-submit" disabled={busy || !username.trim() || !password}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          No account? An administrator creates one with <code>trove user create</code>. Scripts and the MLflow client use an access token instead.
        </p>
      </form>
    </main>
  );
}
