//! The signed-in user's account: who they are, and their API tokens (issue one, shown once;
//! revoke one).
import { EmptyState } from '../components/Status';
import { TokenManager } from '../components/TokenManager';
import { session } from '../lib/session';
import { useTitle } from '../lib/title';

export default function AccountPage() {
  useTitle('Account');
  const state = session.value;
  if (state.status !== 'signed-in') return null;
  const local = state.method === 'local_administrator';

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
          <TokenManager />
        </>
      )}
    </section>
  );
}
