//! The signed-in user's account: who they are, and their API tokens (issue one, shown once;
//! revoke one).
import { useState } from 'preact/hooks';
import { type ApiToken, TOKEN_SCOPES, issueToken, listTokens, revokeToken, scopeLabel } from '../api/tokens';
import { EmptyState, ErrorBanner, FormError, Loading } from '../components/Status';
import { Time } from '../components/Time';
import { session } from '../lib/session';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { useSubmit } from '../lib/useSubmit';

function tokenState(t: ApiToken, now = Date.now()): string {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && t.expires_at <= now) return 'expired';
  return 'active';
}

function IssueForm({ onIssued }: { onIssued: (text: string) => void }) {
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [scopes, setScopes] = useState<string[]>([]);
  const toggle = (scope: string, on: boolean) => setScopes((now) => (on ? [...now, scope] : now.filter((s) => s !== scope)));
  const { busy, error, submit } = useSubmit(async () => {
    const issued = await issueToken(name.trim(), days === '' ? undefined : Number(days), scopes);
    setName('');
    setScopes([]);
    onIssued(issued.text);
  });
  return (
    <form class="token-form" onSubmit={submit} aria-label="New token">
      <label>
        Name
        <input name="token-name" required maxLength={255} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="laptop, ci-pipeline…" />
      </label>
      <label>
        Expires in (days)
        <input name="token-days" type="number" min={1} max={3650} value={days} onInput={(e) => setDays(e.currentTarget.value)} placeholder="never" />
      </label>
      <fieldset class="token-scopes">
        <legend>Limit to (none: everything you may do)</legend>
        {TOKEN_SCOPES.map((scope) => (
          <label key={scope} class="checkbox">
            <input type="checkbox" name={`scope-${scope}`} checked={scopes.includes(scope)} onChange={(e) => toggle(scope, e.currentTarget.checked)} />
            {scope}
          </label>
        ))}
      </fieldset>
      <button type="submit" class="primary" disabled={busy}>
        Create token
      </button>
      <FormError message={error} />
    </form>
  );
}

export default function AccountPage() {
  useTitle('Account');
  const state = session.value;
  const tokens = useAsync((signal) => listTokens(signal), []);
  const [shown, setShown] = useState<string>();
  const [revokeError, setRevokeError] = useState<Error>();
  if (state.status !== 'signed-in') return null;
  const local = state.method === 'local_administrator';

  async function revoke(id: string) {
    setRevokeError(undefined);
    try {
      await revokeToken(id);
      tokens.reload();
    } catch (err) {
      setRevokeError(err as Error);
    }
  }

  return (
    <section>
      <div class="page-header">
        <h1>{local ? 'Local administrator' : state.user.username}</h1>
        {state.user.is_admin && <span class="badge">admin</span>}
      </div>
      {local ? (
        <EmptyState title="No account exists yet">
          <p>
            Every local request acts as an administrator until the first account exists: <code>keel users create NAME --admin</code>.
          </p>
        </EmptyState>
      ) : (
        <>
          <h2>API tokens</h2>
          <p class="muted">
            Use a token as <code>MLFLOW_TRACKING_TOKEN</code> with the official client, or as <code>Authorization: Bearer …</code>.
          </p>
          <IssueForm
            onIssued={(text) => {
              setShown(text);
              tokens.reload();
            }}
          />
          {shown && (
            <div class="token-shown" role="status">
              <p>Copy the token now: it is not shown again.</p>
              <code data-testid="new-token">{shown}</code>
              <button type="button" class="ghost" onClick={() => navigator.clipboard?.writeText(shown)}>
                Copy
              </button>
            </div>
          )}
          {revokeError && <ErrorBanner error={revokeError} />}
          {tokens.error && <ErrorBanner error={tokens.error} onRetry={tokens.reload} />}
          {tokens.loading && !tokens.data && <Loading />}
          {tokens.data && tokens.data.length === 0 && <EmptyState title="No tokens yet" />}
          {tokens.data && tokens.data.length > 0 && (
            <table class="grid" aria-label="API tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>ID</th>
                  <th>Scopes</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th>State</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {tokens.data.map((t) => (
                  <tr key={t.id} data-token={t.name}>
                    <td>{t.name}</td>
                    <td>
                      <code>{t.id}</code>
                    </td>
                    <td>{scopeLabel(t)}</td>
                    <td>
                      <Time value={t.created_at} />
                    </td>
                    <td>{t.expires_at ? <Time value={t.expires_at} /> : 'never'}</td>
                    <td>{t.last_used_at ? <Time value={t.last_used_at} /> : '—'}</td>
                    <td>{tokenState(t)}</td>
                    <td>
                      {tokenState(t) === 'active' && (
                        <button type="button" class="ghost" onClick={() => revoke(t.id)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
