//! An account's API tokens: issue one (limited to scopes or not; its text shown once), list them
//! without their text, revoke one. The caller's own on the account page; any account's, for an
//! administrator, on the admin page (`username`).
import { useState } from 'preact/hooks';
import { type ApiToken, TOKEN_SCOPES, issueToken, listTokens, revokeToken, scopeLabel } from '../api/tokens';
import { useAsync } from '../lib/useAsync';
import { useSubmit } from '../lib/useSubmit';
import { EmptyState, ErrorBanner, FormError, Loading } from './Status';
import { Time } from './Time';

function tokenState(t: ApiToken, now = Date.now()): string {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && t.expires_at <= now) return 'expired';
  return 'active';
}

function IssueForm({ username, onIssued }: { username?: string; onIssued: (text: string) => void }) {
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [scopes, setScopes] = useState<string[]>([]);
  const toggle = (scope: string, on: boolean) => setScopes((now) => (on ? [...now, scope] : now.filter((s) => s !== scope)));
  const { busy, error, submit } = useSubmit(async () => {
    const issued = await issueToken(name.trim(), days === '' ? undefined : Number(days), scopes, username);
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
        <legend>Limit to (none: everything the account may do)</legend>
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

export function TokenManager({ username }: { username?: string }) {
  const tokens = useAsync((signal) => listTokens(username, signal), [username]);
  const [shown, setShown] = useState<string>();
  const [revokeError, setRevokeError] = useState<Error>();

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
    <>
      <IssueForm
        username={username}
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
  );
}
