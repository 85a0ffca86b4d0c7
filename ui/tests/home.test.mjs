// The experiments home: list, search, create, rename, delete, and navigation into an experiment.
import assert from 'node:assert/strict';
import { expectTitle, experimentId, mlflowApi, open, pageTest } from './harness.mjs';

pageTest('home lists the seeded experiments', async (page) => {
  await open(page, '#/');
  await expectTitle(page, 'Experiments · Keel');
  await page.locator('tr[data-experiment="demo"]').waitFor();
  await page.locator('tr[data-experiment="big"]').waitFor();
});

pageTest('the search box narrows the list', async (page) => {
  await open(page, '#/');
  await page.locator('tr[data-experiment="big"]').waitFor();
  await page.keyboard.press('/');
  await page.keyboard.type('dem');
  await page.waitForURL(/q=dem$/);
  await page.locator('tr[data-experiment="big"]').waitFor({ state: 'detached' });
  // Every keystroke starts a search; wait until the last one's answer is on screen.
  await page.waitForFunction(() => {
    const names = [...document.querySelectorAll('tr[data-experiment]')].map((r) => r.dataset.experiment);
    return names.length > 0 && names.every((n) => n.toLowerCase().includes('dem'));
  });
  assert.deepEqual(
    await page.locator('tr[data-experiment]').evaluateAll((rows) => rows.map((r) => r.dataset.experiment)),
    ['demo'],
  );
});

pageTest('create, rename and delete an experiment', async (page) => {
  await open(page, '#/');
  const name = `ui-created-${Date.now()}`;
  await page.getByRole('button', { name: 'New experiment' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('main h1', { hasText: name }).waitFor();
  await page.goto(page.url().replace(/#.*/, '#/'));
  const row = page.locator(`tr[data-experiment="${name}"]`);
  await row.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New name').fill(`${name}-renamed`);
  await page.getByRole('button', { name: 'Rename' }).last().click();
  const renamed = page.locator(`tr[data-experiment="${name}-renamed"]`);
  await renamed.waitFor();
  await renamed.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await renamed.waitFor({ state: 'detached' });
});

pageTest('a duplicate name shows the API error in the dialog', async (page) => {
  await open(page, '#/');
  await page.getByRole('button', { name: 'New experiment' }).click();
  await page.getByLabel('Name').fill('demo');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'RESOURCE_ALREADY_EXISTS' }).waitFor();
}, { allowErrors: ['409', '400'] });

pageTest('an experiment opens from the list and by deep link', async (page) => {
  await open(page, '#/');
  await page.locator('tr[data-experiment="demo"] a').click();
  await page.locator('main h1', { hasText: 'demo' }).waitFor();
  assert.match(page.url(), new RegExp(`#/experiments/${experimentId('demo')}$`));
  await open(page, `#/experiments/${experimentId('big')}`);
  await page.locator('main h1', { hasText: 'big' }).waitFor();
  await page.goBack();
  await page.locator('main h1', { hasText: 'demo' }).waitFor();
});

pageTest('an unknown route shows the not-found page', async (page) => {
  await open(page, '#/no/such/page');
  await page.locator('main h1', { hasText: 'Page not found' }).waitFor();
});

pageTest('a name with a quote is found by the search box', async (page) => {
  const name = `it's-${Date.now()}`;
  await mlflowApi('POST', 'experiments/create', { name });
  await open(page, '#/');
  await page.keyboard.press('/');
  await page.keyboard.type("it's-");
  await page.locator(`tr[data-experiment="${name}"]`).waitFor();
});

pageTest('the search box follows back and forward', async (page) => {
  await open(page, '#/');
  await page.keyboard.press('/');
  await page.keyboard.type('dem');
  await page.locator('tr[data-experiment="big"]').waitFor({ state: 'detached' });
  await page.locator('tr[data-experiment="demo"] a').click();
  await page.locator('main h1', { hasText: 'demo' }).waitFor();
  await page.goBack();
  await page.locator('tr[data-experiment="demo"]').waitFor();
  assert.equal(await page.locator('[data-search]').inputValue(), 'dem');
});
