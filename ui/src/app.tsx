//! The application shell: header navigation with who is signed in, the current page (loaded
//! lazily) or the sign-in page, global keys.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { at } from './api/client';
import { ErrorBanner, Loading } from './components/Status';
import { isAdministrator, loadSession, session, signOut } from './lib/session';
import { chooseWorkspace, loadWorkspaces, workspace, workspaces } from './lib/workspace';
import { cycleTheme, theme } from './lib/theme';
import { LoginPage } from './pages/login';
import { location } from './router';
import { match } from './routes';

const loaded = new Map<() => Promise<unknown>, ComponentType<any>>();

function Page({ load, props }: { load: () => Promise<{ default: ComponentType<any> }>; props: Record<string, unknown> }) {
  // What renders is read from `loaded` for the current route, so a navigation never renders the
  // previous page with the new route's props; the state only asks for a render once a module arrives.
  const [, moduleArrived] = useState(0);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    if (loaded.has(load)) return;
    let live = true;
    load().then(
      (mod) => {
        loaded.set(load, mod.default);
        if (live) moduleArrived((n) => n + 1);
      },
      (err: Error) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [load]);
  if (error) return <ErrorBanner error={new Error(`This page failed to load: ${error.message}. Reload to try again.`)} />;
  const Component = loaded.get(load);
  return Component ? <Component {...props} /> : <Loading />;
}

function Header({ section }: { section: string }) {
  const themeLabel = theme.value === 'system' ? 'Theme: system' : theme.value === 'light' ? 'Theme: light' : 'Theme: dark';
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        <img src={at('/static-files/favicon.svg')} alt="" width={22} height={22} />
        Keel
      </a>
      <nav aria-label="Main">
        <a href="#/experiments" aria-current={section === 'experiments' ? 'page' : undefined}>
          Experiments
        </a>
        <a href="#/models" aria-current={section === 'models' ? 'page' : undefined}>
          Models
        </a>
        <a href="#/prompts" aria-current={section === 'prompts' ? 'page' : undefined}>
          Prompts
        </a>
        {isAdmin() && (
          <a href="#/admin" aria-current={section === 'admin' ? 'page' : undefined}>
            Admin
          </a>
        )}
        {isAdministrator() && (
          <a href="#/audit" aria-current={section === 'audit' ? 'page' : undefined}>
            Audit
          </a>
        )}
      </nav>
      <div class="spacer" />
      <WorkspacePicker />
      <a class="docs" href="https://mlflow.org/docs/latest/api_reference/rest-api.html" target="_blank" rel="noreferrer">
        API docs
      </a>
      <button type="button" class="ghost theme-toggle" onClick={cycleTheme} title="Switch between system, light and dark">
        {themeLabel}
      </button>
      <CurrentUser />
    </header>
  );
}

/** The workspace the pages act in, when the server serves workspaces. Switching goes to the
 * experiments list: what was open belongs to the other workspace. */
function WorkspacePicker() {
  const list = workspaces.value;
  if (list.length === 0) return null;
  return (
    <label class="workspace-picker" title="The workspace the pages show and create in">
      <span class="muted">Workspace</span>
      <select
        aria-label="Workspace"
        value={workspace.value}
        onChange={(e) => {
          chooseWorkspace((e.target as HTMLSelectElement).value);
          window.location.hash = '#/';
        }}
      >
        {list.map((w) => (
          <option key={w.name} value={w.name} title={w.description}>
            {w.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Whether the signed-in user may administer accounts (the local administrator has no accounts to manage). */
function isAdmin(): boolean {
  const state = session.value;
  return state.status === 'signed-in' && state.user.is_admin && state.method !== 'local_administrator';
}

/** The signed-in user, and a sign-out button for a session (other credentials are not the page's to end). */
function CurrentUser() {
  const [error, setError] = useState<string>();
  const state = session.value;
  if (state.status !== 'signed-in') return null;
  const local = state.method === 'local_administrator';
  const title = local ? 'No account exists yet: every local request acts as an administrator' : undefined;
  return (
    <div class="current-user" data-testid="current-user">
      <a class="user-name" href="#/account" title={title ?? 'Your account and API tokens'}>
        {local ? 'Local administrator' : state.user.username}
        {state.user.is_admin && !local && <span class="badge">admin</span>}
      </a>
      {state.method === 'session' && (
        <button
          type="button"
          class="ghost"
          onClick={() => signOut().catch((e: Error) => setError(e.message))}
          title={error ? `Sign-out failed: ${error}` : undefined}
        >
          Sign out
        </button>
      )}
    </div>
  );
}

/** `/` focuses the page's search box; Escape leaves a text field. */
function onGlobalKey(e: KeyboardEvent): void {
  const target = e.target as HTMLElement;
  const typing = target.matches(
    'input:not([type=checkbox]):not([type=radio]):not([type=range]):not([type=button]), textarea, select, [contenteditable=true]',
  );
  if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
    const search = document.querySelector<HTMLInputElement>('[data-search]');
    if (search) {
      e.preventDefault();
      search.focus();
      search.select();
    }
  } else if (e.key === 'Escape' && typing) {
    target.blur();
  }
}

export function App() {
  const [failed, setFailed] = useState<Error>();
  useEffect(() => {
    loadSession().catch((e: Error) => setFailed(e));
  }, []);
  const state = session.value;
  if (failed) return <ErrorBanner error={failed} onRetry={() => window.location.reload()} />;
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'signed-out') return <LoginPage reason={state.reason} />;
  return <SignedIn />;
}

function SignedIn() {
  const current = match(location.value);
  const [failed, setFailed] = useState<Error>();
  const [ready, setReady] = useState(false);
  useEffect(() => {
    loadWorkspaces().then(
      () => setReady(true),
      (e: Error) => setFailed(e),
    );
  }, []);
  useEffect(() => {
    window.addEventListener('keydown', onGlobalKey);
    return () => window.removeEventListener('keydown', onGlobalKey);
  }, []);
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [location.value.path]);
  return (
    <>
      <Header section={current.section} />
      <main id="main">
        {failed ? (
          <ErrorBanner error={failed} onRetry={() => window.location.reload()} />
        ) : !ready ? (
          <Loading />
        ) : (
          <Page key={`${workspace.value}/${current.key}`} load={current.load} props={current.props} />
        )}
      </main>
    </>
  );
}
