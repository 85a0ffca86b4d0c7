// Workspaces in the web UI, against a Keel started with --enable-workspaces: the header's picker
// lists them, the pages show (and create in) the chosen one only, and the choice survives a reload.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { pageTest } from './harness.mjs';
import { startKeel } from './keel.mjs';

let keel;

before(async () => {
  keel = await startKeel({ args: ['--enable-workspaces'] });
  const post = async (path, body, workspace) => {
    const headers = { 'Content-Type': 'application/json' };
    if (workspace) headers['X-MLFLOW-WORKSPACE'] = workspace;
    const response = await fetch(`${keel.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    assert.ok(response.ok, `${path}: ${response.status} ${await response.text()}`);
  };
  await post('/api/3.0/mlflow/workspaces', { name: 'team-ui', description: 'the UI team' });
  await post('/api/2.0/mlflow/experiments/create', { name: 'only-in-team-ui' }, 'team-ui');
  await post('/api/2.0/mlflow/experiments/create', { name: 'only-in-default' });
});
after(() => keel?.stop());

pageTest('the workspace picker switches what the pages show, and is remembered', async (page) => {
  await page.goto(`${keel.url}/#/`);
  const picker = page.getByRole('combobox', { name: 'Workspace' });
  await picker.waitFor();
  assert.deepEqual(await picker.locator('option').allTextContents(), ['default', 'team-ui']);
  await page.locator('tr[data-experiment="only-in-default"]').waitFor();
  assert.equal(await page.locator('tr[data-experiment="only-in-team-ui"]').count(), 0);

  await picker.selectOption('team-ui');
  await page.locator('tr[data-experiment="only-in-team-ui"]').waitFor();
  assert.equal(await page.locator('tr[data-experiment="only-in-default"]').count(), 0);

  await page.reload();
  await page.locator('tr[data-experiment="only-in-team-ui"]').waitFor();
  assert.equal(await page.getByRole('combobox', { name: 'Workspace' }).inputValue(), 'team-ui');

  await page.getByRole('combobox', { name: 'Workspace' }).selectOption('default');
  await page.locator('tr[data-experiment="only-in-default"]').waitFor();
  assert.equal(await page.locator('tr[data-experiment="only-in-team-ui"]').count(), 0);
});
