//! The sign-in page, shown instead of any page while nobody is signed in: a username and
//! password, and single sign-on when the server offers it.
import { useEffect, useState } from 'preact/hooks';
import { api, at, keel, withQuery } from '../api/client';
import { FormError } from '../components/Status';
import { signIn } from '../lib/session';
import { useSubmit } from '../lib/useSubmit';

/** Why a single sign-on came back without a session (`/?sso_error=...`), read once and removed from the address. */
function takeSsoError(): string | undefined {
  const params = new URLSearchParams(window.location.search);
  const error = params.get('sso_error') ?? undefined;
  if (error !== undefined) window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash}`);
  return error;
}

export function LoginPage({ reason }: { reason?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [sso, setSso] = useState(false);
  useEffect(() => {
    api.get<{ sso: boolean }>(keel('auth/options')).then(
      (o) => setSso(o.sso),
      () => setSso(false),
    );
  }, []);
  const returnTo = window.location.hash || '#/';
  const ssoHref = withQuery(at('/api/3.0/keel/auth/oidc/login'), { return_to: returnTo });

  const { busy, error, submit } = useSubmit(
    async () => {
      try {
        await signIn(username, password);
      } catch (err) {
        setPassword('');
        throw err;
      }
    },
    () => takeSsoError() ?? reason,
  );

  return (
    <main id="main" class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <img src={at('/static-files/favicon.svg')} alt="" width={28} height={28} />
          Sign in to Keel
        </h1>
        <FormError message={error} />
        <label>
          Username
          <input name="username" autocomplete="username" required autofocus value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {sso && (
          <a class="button sso" href={ssoHref}>
            Sign in with single sign-on
          </a>
        )}
      </form>
    </main>
  );
}
