//! Administration (administrators only): accounts — users and service accounts: create, make or
//! unmake administrator, delete, see their roles, manage their API tokens — and roles, per
//! workspace: create and delete them, add and remove their grants, assign them to accounts.
//! Everything goes through the reference's auth API (and Keel's for service accounts and
//! tokens), so scripts can do the same.
import { useState } from 'preact/hooks';
import {
  type Account,
  GRANT_LEVELS,
  GRANT_TYPES,
  type Role,
  addRoleGrant,
  assignRole,
  createAccount,
  createRole,
  createServiceAccount,
  deleteAccount,
  deleteRole,
  listAccounts,
  listRoles,
  removeRoleGrant,
  setAdmin,
  unassignRole,
} from '../api/accounts';
import { Dialog } from '../components/Dialog';
import { EmptyState, ErrorBanner, FormError, Loading } from '../components/Status';
import { TokenManager } from '../components/TokenManager';
import { session } from '../lib/session';
import { useTitle } from '../lib/title';
import { useAsync } from '../lib/useAsync';
import { useSubmit } from '../lib/useSubmit';

function CreateAccountForm({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [service, setService] = useState(false);
  const { busy, error, submit } = useSubmit(async () => {
    await (service ? createServiceAccount(username.trim()) : createAccount(username.trim(), password));
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
      {!service && (
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
      )}
      <label class="checkbox">
        <input type="checkbox" name="service-account" checked={service} onChange={(e) => setService(e.currentTarget.checked)} />
        Service account (signs in with tokens only)
      </label>
      <button type="submit" class="primary" disabled={busy}>
        Create account
      </button>
      <FormError message={error} />
    </form>
  );
}

function AccountRow({
  account,
  me,
  onChanged,
  onError,
  onTokens,
}: {
  account: Account;
  me: string;
  onChanged: () => void;
  onError: (e: Error) => void;
  onTokens: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const self = account.username === me;
  const roles = account.roles.filter((r) => !r.name.startsWith('__user_'));
  const toggle = () => setAdmin(account.username, !account.is_admin).then(onChanged, onError);
  return (
    <tr data-account={account.username}>
      <td>{account.username}</td>
      <td>
        {account.kind === 'service_account' ? 'service account' : 'user'}
        {account.is_admin && (
          <>
            {' '}
            <span class="badge">admin</span>
          </>
        )}
      </td>
      <td>{roles.length ? roles.map((r) => `${r.name} (${r.workspace})`).join(', ') : '—'}</td>
      <td class="actions">
        <button type="button" class="ghost" onClick={onTokens}>
          Tokens
        </button>
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

/** A role's grant, added: resource type, ID or `*`, level. */
function AddGrantForm({ role, onAdded }: { role: Role; onAdded: () => void }) {
  const [type, setType] = useState<string>(GRANT_TYPES[0]);
  const [pattern, setPattern] = useState('*');
  const [level, setLevel] = useState<string>('READ');
  const { busy, error, submit } = useSubmit(async () => {
    await addRoleGrant(role.id, type, pattern.trim(), level);
    setPattern('*');
    onAdded();
  });
  return (
    <form class="inline-form" onSubmit={submit} aria-label={`Add a grant to ${role.name}`}>
      <select name="grant-type" aria-label="Resource type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
        {GRANT_TYPES.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <input name="grant-pattern" aria-label="Resource ID or *" required value={pattern} onInput={(e) => setPattern(e.currentTarget.value)} size={14} />
      <select name="grant-level" aria-label="Permission" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
        {GRANT_LEVELS.map((l) => (
          <option key={l}>{l}</option>
        ))}
      </select>
      <button type="submit" class="ghost" disabled={busy}>
        Add grant
      </button>
      <FormError message={error} />
    </form>
  );
}

function CreateRoleForm({ workspace, onCreated }: { workspace: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [where, setWhere] = useState(workspace);
  const [description, setDescription] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    await createRole(where.trim(), name.trim(), description.trim());
    setName('');
    setDescription('');
    onCreated();
  });
  return (
    <form class="token-form" onSubmit={submit} aria-label="New role">
      <label>
        Role
        <input name="role-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="a group's name, or editors…" />
      </label>
      <label>
        Workspace
        <input name="role-workspace" required value={where} onInput={(e) => setWhere(e.currentTarget.value)} />
      </label>
      <label>
        Description
        <input name="role-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled={busy}>
        Create role
      </button>
      <FormError message={error} />
    </form>
  );
}

function RoleRow({ role, accounts, onChanged, onError }: { role: Role; accounts: Account[]; onChanged: () => void; onError: (e: Error) => void }) {
  const [confirming, setConfirming] = useState(false);
  const members = accounts.filter((a) => a.roles.some((r) => r.id === role.id));
  const others = accounts.filter((a) => !members.includes(a));
  const act = (p: Promise<unknown>) => p.then(onChanged, onError);
  return (
    <tr data-role={role.name}>
      <td>
        {role.name}
        {role.description && <div class="muted">{role.description}</div>}
      </td>
      <td>{role.workspace}</td>
      <td>
        <ul class="plain-list">
          {role.permissions.map((p) => (
            <li key={p.id} data-grant={`${p.resource_type}:${p.resource_pattern}`}>
              {p.permission} on {p.resource_type} <code>{p.resource_pattern}</code>{' '}
              <button type="button" class="ghost" aria-label={`Remove ${p.permission} on ${p.resource_type} ${p.resource_pattern}`} onClick={() => act(removeRoleGrant(p.id))}>
                ×
              </button>
            </li>
          ))}
        </ul>
        <AddGrantForm role={role} onAdded={onChanged} />
      </td>
      <td>
        <ul class="plain-list">
          {members.map((a) => (
            <li key={a.id} data-member={a.username}>
              {a.username}{' '}
              <button type="button" class="ghost" aria-label={`Unassign ${a.username}`} onClick={() => act(unassignRole(a.username, role.id))}>
                ×
              </button>
            </li>
          ))}
        </ul>
        {others.length > 0 && (
          <select
            name="assign"
            aria-label={`Assign ${role.name} to`}
            value=""
            onChange={(e) => {
              const username = e.currentTarget.value;
              if (username) act(assignRole(username, role.id));
            }}
          >
            <option value="">Assign to…</option>
            {others.map((a) => (
              <option key={a.id} value={a.username}>
                {a.username}
              </option>
            ))}
          </select>
        )}
      </td>
      <td class="actions">
        <button type="button" class="ghost danger" onClick={() => setConfirming(true)}>
          Delete
        </button>
        {confirming && (
          <Dialog
            title={`Delete role ${role.name}?`}
            submitLabel="Delete"
            danger
            onSubmit={() => deleteRole(role.id).then(onChanged)}
            onClose={() => setConfirming(false)}
          >
            <p>Its grants go with it, and its accounts lose what it gave them.</p>
          </Dialog>
        )}
      </td>
    </tr>
  );
}

/** The page itself, loaded only for administrators (others would only get 403s). */
function Administration({ me }: { me: string }) {
  const accounts = useAsync((signal) => listAccounts(signal), []);
  const roles = useAsync((signal) => listRoles(signal), []);
  const [actionError, setActionError] = useState<Error>();
  const [tokensOf, setTokensOf] = useState<string>();
  const [workspace, setWorkspace] = useState('');
  const changed = () => {
    setActionError(undefined);
    accounts.reload();
    roles.reload();
  };
  const workspaces = [...new Set((roles.data ?? []).map((r) => r.workspace))].sort();
  const shownRoles = (roles.data ?? []).filter((r) => !workspace || r.workspace === workspace);
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
              <th>Kind</th>
              <th>Roles</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((a) => (
              <AccountRow key={a.id} account={a} me={me} onChanged={changed} onError={setActionError} onTokens={() => setTokensOf(a.username)} />
            ))}
          </tbody>
        </table>
      )}
      {tokensOf && (
        <section aria-label={`Tokens of ${tokensOf}`}>
          <h2>
            Tokens of {tokensOf}{' '}
            <button type="button" class="ghost" onClick={() => setTokensOf(undefined)}>
              Close
            </button>
          </h2>
          <TokenManager key={tokensOf} username={tokensOf} />
        </section>
      )}
      <h2>Roles</h2>
      <CreateRoleForm workspace={workspace || 'default'} onCreated={changed} />
      {roles.error && <ErrorBanner error={roles.error} onRetry={roles.reload} />}
      {workspaces.length > 1 && (
        <label class="inline-form">
          Workspace{' '}
          <select name="roles-workspace" value={workspace} onChange={(e) => setWorkspace(e.currentTarget.value)}>
            <option value="">all</option>
            {workspaces.map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
      )}
      {roles.data && roles.data.length === 0 && (
        <EmptyState title="No roles yet">
          <p>A role holds grants for the accounts assigned to it; a single sign-on group holds the role of its name.</p>
        </EmptyState>
      )}
      {shownRoles.length > 0 && (
        <table class="grid" aria-label="Roles">
          <thead>
            <tr>
              <th>Role</th>
              <th>Workspace</th>
              <th>Grants</th>
              <th>Accounts</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shownRoles.map((r) => (
              <RoleRow key={r.id} role={r} accounts={accounts.data ?? []} onChanged={changed} onError={setActionError} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
