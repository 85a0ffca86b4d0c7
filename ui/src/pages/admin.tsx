//! Administration (administrators only): accounts — create, make or unmake administrator, delete,
//! see their roles — and the roles with the grants they hold. Grants are managed through the
//! reference's auth API (`mlflow.server.get_app_client("basic-auth", uri)`).
import { useState } from 'preact/hooks';
import { type Account, createAccount, deleteAccount, listAccounts, listRoles, setAdmin } from '../api/accounts';
import { Dialog } from '../components/Dialog';
import { EmptyState, ErrorBanner, FormError, Loading } from '../components/Status';
import { session } from '../lib/session';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { useSubmit } from '../lib/useSubmit';

function CreateAccountForm({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    await createAccount(username.trim(), password);
    setUsername('');
    setPassword('');
    onCreated();
  });
  return (
    <form class="token-form" onSubmit={submit} aria-label="New account">
      <label>
        Username
        <input name="new-username" required autocomplete="off" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
      </label>
      <label>
        Password
        <input
          name="new-password"
          type="password"
          required
          minLength={12}
          autocomplete="new-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <button type="submit" class="primary" disabled={busy}>
        Create account
      </button>
      <FormError message={error} />
    </form>
  );
}

function AccountRow({ account, me, onChanged, onError }: { account: Account; me: string; onChanged: () => void; onError: (e: Error) => void }) {
  const [confirming, setConfirming] = useState(false);
  const self = account.username === me;
  const roles = account.roles.filter((r) => !r.name.startsWith('__user_'));
  const toggle = () => setAdmin(account.username, !account.is_admin).then(onChanged, onError);
  return (
    <tr data-account={account.username}>
      <td>{account.username}</td>
      <td>{account.is_admin ? <span class="badge">admin</span> : 'user'}</td>
      <td>{roles.length ? roles.map((r) => `${r.name} (${r.workspace})`).join(', ') : '—'}</td>
      <td class="actions">
        {!self && (
          <>
            <button type="button" class="ghost" onClick={toggle}>
              {account.is_admin ? 'Remove admin' : 'Make admin'}
            </button>
            <button type="button" class="ghost danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          </>
        )}
        {confirming && (
          <Dialog
            title={`Delete ${account.username}?`}
            submitLabel="Delete"
            danger
            onSubmit={() => deleteAccount(account.username).then(onChanged)}
            onClose={() => setConfirming(false)}
          >
            <p>The account, its tokens and its grants are deleted. What it created stays.</p>
          </Dialog>
        )}
      </td>
    </tr>
  );
}

export default function AdminPage() {
  useTitle('Administration');
  const state = session.value;
  if (state.status !== 'signed-in') return null;
  if (!state.user.is_admin) {
    return (
      <section>
        <div class="page-header">
          <h1>Administration</h1>
        </div>
        <EmptyState title="Administrators only">
          <p>Ask an administrator to manage accounts and roles.</p>
        </EmptyState>
      </section>
    );
  }
  return <Administration me={state.user.username} />;
}

/** The page itself, loaded only for administrators (others would only get 403s). */
function Administration({ me }: { me: string }) {
  const accounts = useAsync((signal) => listAccounts(signal), []);
  const roles = useAsync((signal) => listRoles(signal), []);
  const [actionError, setActionError] = useState<Error>();
  const changed = () => {
    setActionError(undefined);
    accounts.reload();
  };
  return (
    <section>
      <div class="page-header">
        <h1>Administration</h1>
      </div>
      <h2>Accounts</h2>
      <CreateAccountForm onCreated={changed} />
      {actionError && <ErrorBanner error={actionError} />}
      {accounts.error && <ErrorBanner error={accounts.error} onRetry={accounts.reload} />}
      {accounts.loading && !accounts.data && <Loading />}
      {accounts.data && (
        <table class="grid" aria-label="Accounts">
          <thead>
            <tr>
              <th>Username</th>
              <th>Access</th>
              <th>Roles</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((a) => (
              <AccountRow key={a.id} account={a} me={me} onChanged={changed} onError={setActionError} />
            ))}
          </tbody>
        </table>
      )}
      <h2>Roles</h2>
      {roles.error && <ErrorBanner error={roles.error} onRetry={roles.reload} />}
      {roles.data && roles.data.length === 0 && (
        <EmptyState title="No roles yet">
          <p>
            Create roles and their grants with the auth API: <code>roles/create</code>, <code>roles/permissions/add</code>,{' '}
            <code>users/roles/assign</code>. A single sign-on group holds the role of its name.
          </p>
        </EmptyState>
      )}
      {roles.data && roles.data.length > 0 && (
        <table class="grid" aria-label="Roles">
          <thead>
            <tr>
              <th>Role</th>
              <th>Workspace</th>
              <th>Grants</th>
            </tr>
          </thead>
          <tbody>
            {roles.data.map((r) => (
              <tr key={r.id} data-role={r.name}>
                <td>{r.name}</td>
                <td>{r.workspace}</td>
                <td>{r.permissions.length ? r.permissions.map((p) => `${p.permission} on ${p.resource_type} ${p.resource_pattern}`).join('; ') : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
