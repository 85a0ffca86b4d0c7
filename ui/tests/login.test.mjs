// Signing in to a Keel that requires it: the sign-in page instead of any page, a wrong password
// refused with the server's message, the signed-in user in the header, an HttpOnly session
// cookie the page cannot read, signing out, and an ended session sending the page back to sign-in.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { pageTest } from './harness.mjs';
import { startKeel } from './keel.mjs';

const ADMIN = { username: 'ada', password: 'ada-password-12' };
let keel;

before(async () => {
  keel = await startKeel({
    args: ['--auth-mode', 'required'],
    env: { KEEL_ADMIN_USERNAME: ADMIN.username, KEEL_ADMIN_PASSWORD: ADMIN.password },
  });
});
after(() => keel?.stop());

/** POSTs JSON to keel's REST API as the administrator; answers the status and the body. */
async function asAdmin(path, body) {
  const response = await fetch(`${keel.url}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

// Refused credentials and the page's own probe of who is signed in answer 401, which Chromium logs.
const expected401 = { allowErrors: ['401'] };

/** Fills the sign-in form (as the administrator unless told otherwise) and submits it. */
async function signIn(page, password = ADMIN.password, username = ADMIN.username) {
  const form = page.locator('form.login-card');
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

pageTest(
  'a wrong password is refused and the right one opens the page asked for',
  async (page) => {
    await page.goto(`${keel.url}/#/models`);
    await page.locator('main h1', { hasText: 'Sign in to Keel' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 0, 'no pages before signing in');

    await signIn(page, 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'Invalid username or password.' }).waitFor();
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password field is cleared');

    await signIn(page);
    await page.locator('main h1', { hasText: 'Models' }).waitFor();
    const user = page.getByTestId('current-user');
    assert.match(await user.textContent(), /ada\s*admin/);
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('keel_session'), 'the session cookie is HttpOnly');
  },
  expected401,
);

pageTest(
  'signing out returns to the sign-in page, also after a reload',
  async (page) => {
    await page.goto(`${keel.url}/#/`);
    await signIn(page);
    await page.locator('main h1', { hasText: 'Experiments' }).waitFor();
    await page.getByTestId('current-user').getByRole('button', { name: 'Sign out' }).click();
    await page.locator('main h1', { hasText: 'Sign in to Keel' }).waitFor();
    await page.reload();
    await page.locator('main h1', { hasText: 'Sign in to Keel' }).waitFor();
  },
  expected401,
);

pageTest(
  'a session ended elsewhere sends the page back to sign-in with the reason',
  async (page) => {
    await page.goto(`${keel.url}/#/`);
    await signIn(page);
    await page.locator('main h1', { hasText: 'Experiments' }).waitFor();
    // The session ends (signed out in another tab): the next call answers 401.
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'keel_session');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    const ended = await fetch(`${keel.url}/api/3.0/keel/auth/logout`, {
      method: 'POST',
      headers: { cookie: `keel_session=${session.value}` },
    });
    assert.equal(ended.status, 200);
    // The page's next call (its own refresh, or the one a navigation makes) answers 401.
    await page.evaluate(() => {
      window.location.hash = '#/models';
    });
    await page.locator('main h1', { hasText: 'Sign in to Keel' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'sign in again' }).waitFor();
  },
  expected401,
);

pageTest(
  'the account page issues a token once and revokes it',
  async (page) => {
    await page.goto(`${keel.url}/#/`);
    await signIn(page);
    await page.getByTestId('current-user').getByRole('link', { name: /ada/ }).click();
    await page.locator('main h1', { hasText: 'ada' }).waitFor();
    const form = page.getByRole('form', { name: 'New token' });
    await form.getByLabel('Name').fill('laptop');
    await form.getByRole('button', { name: 'Create token' }).click();
    const text = await page.getByTestId('new-token').textContent();
    assert.match(text, /^keel_[0-9a-f]{12}_/);
    const bearer = { headers: { Authorization: `Bearer ${text}` } };
    assert.equal((await fetch(`${keel.url}/api/3.0/keel/auth/session`, bearer)).status, 200);

    const row = page.locator('tr[data-token="laptop"]');
    await row.getByText('active').waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('revoked').waitFor();
    assert.equal((await fetch(`${keel.url}/api/3.0/keel/auth/session`, bearer)).status, 401);
    await row.getByText('all').waitFor();

    // A token limited to reading reads, and is refused a write.
    await form.getByLabel('Name').fill('dashboards');
    await form.getByLabel('read').check();
    await form.getByRole('button', { name: 'Create token' }).click();
    await page.locator('tr[data-token="dashboards"]').getByText('read').waitFor();
    const limited = await page.getByTestId('new-token').textContent();
    assert.notEqual(limited, text);
    const as = (init = {}) => ({ ...init, headers: { Authorization: `Bearer ${limited}`, 'Content-Type': 'application/json' } });
    const api = `${keel.url}/api/2.0/mlflow`;
    assert.equal((await fetch(`${api}/experiments/search?max_results=5`, as())).status, 200);
    const write = await fetch(`${api}/experiments/create`, as({ method: 'POST', body: JSON.stringify({ name: 'from-a-reader' }) }));
    assert.equal(write.status, 403);
  },
  expected401,
);

pageTest(
  'an administrator creates, promotes and deletes an account on the admin page',
  async (page) => {
    await page.goto(`${keel.url}/#/`);
    await signIn(page);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.locator('main h1', { hasText: 'Administration' }).waitFor();
    const self = page.locator('tr[data-account="ada"]');
    assert.equal(await self.getByRole('button', { name: /admin|Delete/ }).count(), 0, 'no actions on oneself');

    const form = page.getByRole('form', { name: 'New account' });
    await form.getByLabel('Username').fill('bea');
    await form.getByLabel('Password').fill('bea-password-123');
    await form.getByRole('button', { name: 'Create account' }).click();
    const row = page.locator('tr[data-account="bea"]');
    await row.getByText('user').waitFor();
    await row.getByRole('button', { name: 'Make admin' }).click();
    await row.locator('.badge', { hasText: 'admin' }).waitFor();
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
  },
  expected401,
);

pageTest(
  'an administrator makes a service account with a token, and a role with grants and members',
  async (page) => {
    const experiment = (await asAdmin('/api/2.0/mlflow/experiments/create', { name: 'bots-write-here' })).body.experiment_id;
    await page.goto(`${keel.url}/#/admin`);
    await signIn(page);
    await page.locator('main h1', { hasText: 'Administration' }).waitFor();
    const form = page.getByRole('form', { name: 'New account' });
    await form.getByLabel('Service account').check();
    assert.equal(await form.getByLabel('Password').count(), 0, 'no password for a program');
    await form.getByLabel('Username').fill('nightly-bot');
    await form.getByRole('button', { name: 'Create account' }).click();
    const row = page.locator('tr[data-account="nightly-bot"]');
    await row.getByText('service account').waitFor();

    // Its token, limited to reading and writing.
    await row.getByRole('button', { name: 'Tokens' }).click();
    const tokens = page.getByRole('region', { name: 'Tokens of nightly-bot' });
    const issue = tokens.getByRole('form', { name: 'New token' });
    await issue.getByLabel('Name').fill('ci');
    await issue.getByLabel('read').check();
    await issue.getByLabel('write').check();
    await issue.getByRole('button', { name: 'Create token' }).click();
    await tokens.locator('tr[data-token="ci"]').getByText('read, write').waitFor();
    const text = await tokens.getByTestId('new-token').textContent();
    const bot = (path, body) =>
      fetch(`${keel.url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { Authorization: `Bearer ${text}`, 'Content-Type': 'application/json' },
        body: body && JSON.stringify(body),
      });
    assert.equal((await (await bot('/api/3.0/keel/auth/session')).json()).user.username, 'nightly-bot');
    assert.equal((await bot('/api/2.0/mlflow/runs/create', { experiment_id: experiment })).status, 403, 'nothing granted yet');

    // A role giving EDIT on every experiment, assigned to the bot: it may now write.
    const roleForm = page.getByRole('form', { name: 'New role' });
    await roleForm.getByLabel('Role').fill('editors');
    await roleForm.getByRole('button', { name: 'Create role' }).click();
    const role = page.locator('tr[data-role="editors"]');
    const grant = role.getByRole('form', { name: 'Add a grant to editors' });
    await grant.getByLabel('Permission').selectOption('EDIT');
    await grant.getByRole('button', { name: 'Add grant' }).click();
    await role.locator('li[data-grant="experiment:*"]').waitFor();
    await role.getByLabel('Assign editors to').selectOption('nightly-bot');
    await role.locator('li[data-member="nightly-bot"]').waitFor();
    await row.getByText('editors (default)').waitFor();
    assert.equal((await bot('/api/2.0/mlflow/runs/create', { experiment_id: experiment })).status, 200);

    // Unassigned, the grant removed, the role deleted.
    await role.getByRole('button', { name: 'Unassign nightly-bot' }).click();
    await role.locator('li[data-member="nightly-bot"]').waitFor({ state: 'detached' });
    await role.getByRole('button', { name: 'Remove EDIT on experiment *' }).click();
    await role.locator('li[data-grant="experiment:*"]').waitFor({ state: 'detached' });
    await role.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await role.waitFor({ state: 'detached' });
  },
  expected401,
);

pageTest(
  'a user who is not an administrator sees no admin page',
  async (page) => {
    const created = await asAdmin('/api/2.0/mlflow/users/create', { username: 'cy', password: 'cy-password-1234' });
    assert.equal(created.status, 200);
    await page.goto(`${keel.url}/#/admin`);
    await signIn(page, 'cy-password-1234', 'cy');
    await page.getByText('Administrators only').waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(), 0);
  },
  expected401,
);

pageTest(
  'pages offer only the actions the signed-in user may take',
  async (page) => {
    const post = async (path, body) => (await asAdmin(path, body)).body;
    await post('/api/2.0/mlflow/users/create', { username: 'dee', password: 'dee-password-1234' });
    const readable = (await post('/api/2.0/mlflow/experiments/create', { name: 'dee-reads' })).experiment_id;
    const editable = (await post('/api/2.0/mlflow/experiments/create', { name: 'dee-edits' })).experiment_id;
    for (const [id, permission] of [
      [readable, 'READ'],
      [editable, 'EDIT'],
    ]) {
      await post('/api/3.0/mlflow/users/permissions/grant', { username: 'dee', resource_type: 'experiment', resource_id: id, permission });
    }
    await page.goto(`${keel.url}/#/`);
    await signIn(page, 'dee-password-1234', 'dee');
    const edits = page.locator('tr[data-experiment="dee-edits"]');
    await edits.getByRole('button', { name: 'Rename' }).waitFor();
    assert.equal(await edits.getByRole('button', { name: 'Delete' }).count(), 0, 'EDIT does not delete');
    const reads = page.locator('tr[data-experiment="dee-reads"]');
    await reads.waitFor();
    assert.equal(await reads.getByRole('button').count(), 0, 'READ offers no action');
  },
  expected401,
);

pageTest(
  'a reader of a model sees it without its edits',
  async (page) => {
    const post = async (path, body) => (await asAdmin(path, body)).body;
    await post('/api/2.0/mlflow/users/create', { username: 'eli', password: 'eli-password-1234' });
    await post('/api/2.0/mlflow/registered-models/create', { name: 'eli-reads', description: 'a shared model' });
    await post('/api/3.0/mlflow/users/permissions/grant', {
      username: 'eli',
      resource_type: 'registered_model',
      resource_id: 'eli-reads',
      permission: 'READ',
    });
    await page.goto(`${keel.url}/#/models/eli-reads`);
    const levels = page.waitForResponse((r) => r.url().includes('/permissions/mine') && r.ok());
    await signIn(page, 'eli-password-1234', 'eli');
    await page.getByText('a shared model').waitFor();
    await levels;
    await page.getByRole('region', { name: 'Tags' }).getByText('No tags on this model.').waitFor();
    for (const name of ['Edit model description', 'Set tag', 'Add alias']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `no "${name}" for a reader`);
    }
    assert.equal(await page.getByRole('region', { name: 'Who has access' }).count(), 0, 'only managers see who has access');
  },
  expected401,
);

pageTest(
  'whoever manages a model or an experiment sees who has access to it',
  async (page) => {
    const post = async (path, body) => (await asAdmin(path, body)).body;
    await post('/api/2.0/mlflow/users/create', { username: 'flo', password: 'flo-password-1234' });
    await post('/api/2.0/mlflow/registered-models/create', { name: 'flo-edits' });
    const experiment = (await post('/api/2.0/mlflow/experiments/create', { name: 'flo-reads' })).experiment_id;
    for (const [resource_type, resource_id, permission] of [
      ['registered_model', 'flo-edits', 'EDIT'],
      ['experiment', experiment, 'READ'],
    ]) {
      await post('/api/3.0/mlflow/users/permissions/grant', { username: 'flo', resource_type, resource_id, permission });
    }
    await page.goto(`${keel.url}/#/models/flo-edits`);
    await signIn(page);
    const access = page.getByRole('region', { name: 'Who has access' });
    await access.locator('tr[data-holder="flo"]').filter({ hasText: 'edit' }).waitFor();
    assert.match(await access.locator('tr[data-holder="ada"]').textContent(), /manage/, 'the creator manages it');
    await page.getByRole('button', { name: 'Edit model description' }).waitFor();

    await page.goto(`${keel.url}/#/experiments/${experiment}/access`);
    await page.getByRole('tab', { name: 'Access' }).waitFor();
    await page.getByRole('region', { name: 'Who has access' }).locator('tr[data-holder="flo"]').filter({ hasText: 'read' }).waitFor();
  },
  expected401,
);
