// The model registry pages: the models list, a model's versions (stages, aliases, source runs),
// a version's page, and edits (aliases, stage, tags) on a model each test creates for itself.
import assert from 'node:assert/strict';
import { expectTitle, experimentId, mlflowApi, open, pageTest, seed } from './harness.mjs';

const model = seed.registry.model;
const runId = seed.demo.runs.artifacts;
const runHash = `#/experiments/${experimentId('demo')}/runs/${runId}`;

/** A registered model with two versions from the seeded run, deleted after `fn`. */
async function withScratchModel(fn) {
  const name = `ui-registry-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await mlflowApi('POST', 'registered-models/create', { name });
  try {
    for (let i = 0; i < 2; i++) {
      await mlflowApi('POST', 'model-versions/create', { name, source: `runs:/${runId}/model`, run_id: runId });
    }
    await fn(name);
  } finally {
    await mlflowApi('DELETE', 'registered-models/delete', { name }).catch(() => {});
  }
}

const getModel = async (name) => (await mlflowApi('GET', `registered-models/get?name=${encodeURIComponent(name)}`)).registered_model;

pageTest('the models list shows the registered model but no prompts', async (page) => {
  await open(page, '#/models');
  await expectTitle(page, 'Models · Keel');
  const row = page.locator(`tr[data-name="${model}"]`);
  await row.waitFor();
  await row.getByRole('link', { name: 'Version 2' }).waitFor();
  await row.locator('[data-alias="champion"]', { hasText: '@champion → v2' }).waitFor();
  assert.equal(await page.locator(`tr[data-name="${seed.registry.prompt}"]`).count(), 0);
});

pageTest('the models search narrows the list and says when nothing matches', async (page) => {
  await open(page, '#/models');
  await page.locator(`tr[data-name="${model}"]`).waitFor();
  await page.keyboard.press('/');
  await page.keyboard.type('no-such-model-zz');
  await page.getByText('No models match “no-such-model-zz”').waitFor();
  assert.match(page.url(), /q=no-such-model-zz/);
  await page.getByRole('searchbox', { name: 'Search models' }).fill('DEMO-m');
  await page.locator(`tr[data-name="${model}"]`).waitFor();
  await page.locator(`tr[data-name="${model}"] a`).first().click();
  await page.locator('main h1', { hasText: model }).waitFor();
});

pageTest('the model page lists versions with stage, alias and source run', async (page) => {
  await open(page, `#/models/${model}`);
  await expectTitle(page, `${model} · Models · Keel`);
  const versions = page.getByRole('table', { name: 'Versions' });
  await versions.locator('tr[data-version="1"]').waitFor();
  assert.deepEqual(
    await versions.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.version)),
    ['2', '1'],
  );
  const v1 = versions.locator('tr[data-version="1"]');
  const v2 = versions.locator('tr[data-version="2"]');
  await v2.locator('[data-alias="champion"]').waitFor();
  assert.equal(await v1.locator('[data-alias]').count(), 0);
  assert.equal(await v1.getByLabel('Stage of version 1').inputValue(), 'Production');
  assert.equal(await v2.getByLabel('Stage of version 2').inputValue(), 'None');
  const run = v1.getByRole('link', { name: 'artifacts' });
  assert.equal(await run.getAttribute('href'), runHash);
  await v1.getByRole('link', { name: /^model m-/ }).waitFor();
  await page.getByText('The UI test model').waitFor();
  await page.locator('tr[data-tag="owner"]', { hasText: 'ml-team' }).waitFor();
});

pageTest('the version page links to its source run and logged model', async (page) => {
  await open(page, `#/models/${model}/versions/2`);
  await expectTitle(page, `${model} v2 · Models · Keel`);
  const details = page.getByRole('table', { name: 'Version details' });
  const logged = details.getByRole('link', { name: /^model m-/ });
  await logged.waitFor();
  assert.equal(await logged.getAttribute('href'), `#/experiments/${experimentId('demo')}/models/${seed.demo.model_id}`);
  await page.getByRole('region', { name: 'Aliases' }).locator('[data-alias="champion"]').waitFor();
  await page.locator('tr[data-tag="candidate"]', { hasText: 'yes' }).waitFor();
  await details.getByRole('link', { name: 'artifacts' }).click();
  await page.locator('main h1', { hasText: 'artifacts' }).waitFor();
  assert.ok(page.url().endsWith(runHash), page.url());
});

pageTest('setting and removing an alias through the UI', async (page) => {
  await withScratchModel(async (name) => {
    await open(page, `#/models/${name}`);
    await page.locator('tr[data-version="1"]').waitFor();
    const aliases = page.getByRole('region', { name: 'Aliases' });
    await aliases.getByRole('button', { name: 'Add alias' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Alias').fill('staging_candidate');
    await dialog.getByLabel('Version').selectOption('1');
    await dialog.getByRole('button', { name: 'Set alias' }).click();
    await page.locator('tr[data-version="1"] [data-alias="staging_candidate"]').waitFor();
    await aliases.locator('[data-alias="staging_candidate"]', { hasText: '@staging_candidate → v1' }).waitFor();
    assert.deepEqual((await getModel(name)).aliases, [{ alias: 'staging_candidate', version: '1' }]);

    await aliases.getByRole('button', { name: 'Remove alias staging_candidate' }).click();
    await page.locator('tr[data-version="1"] [data-alias="staging_candidate"]').waitFor({ state: 'detached' });
    assert.equal((await getModel(name)).aliases, undefined);
  });
});

pageTest('a bad alias shows the server’s message in the dialog', async (page) => {
  await withScratchModel(async (name) => {
    await open(page, `#/models/${name}`);
    await page.locator('tr[data-version="1"]').waitFor();
    await page.getByRole('button', { name: 'Add alias' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Alias').fill('v3');
    await dialog.getByRole('button', { name: 'Set alias' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'INVALID_PARAMETER_VALUE' }).waitFor();
  });
}, { allowErrors: ['400'] });

pageTest('transitioning a stage and editing tags through the UI', async (page) => {
  await withScratchModel(async (name) => {
    await open(page, `#/models/${name}/versions/1`);
    // The stage is a read-only badge until the page knows the caller may change it.
    await page.locator('select[aria-label="Stage of version 1"]').selectOption('Staging');
    const dialog = page.getByRole('dialog', { name: 'Move version 1 to Staging?' });
    await dialog.getByRole('button', { name: 'Transition' }).click();
    await page.locator('.page-header .badge', { hasText: 'Staging' }).waitFor();
    assert.equal(await page.getByLabel('Stage of version 1').inputValue(), 'Staging');

    const tags = page.getByRole('region', { name: 'Tags' });
    await tags.getByLabel('Tag key').fill('reviewed');
    await tags.getByLabel('Tag value').fill('by the UI test');
    await tags.getByRole('button', { name: 'Set tag' }).click();
    await tags.locator('tr[data-tag="reviewed"]', { hasText: 'by the UI test' }).waitFor();
    await tags.getByRole('button', { name: 'Delete tag reviewed' }).click();
    await tags.locator('tr[data-tag="reviewed"]').waitFor({ state: 'detached' });
    const version = (await mlflowApi('GET', `model-versions/get?name=${name}&version=1`)).model_version;
    assert.equal(version.current_stage, 'Staging');
    assert.equal(version.tags, undefined);
  });
});

pageTest('an unknown model shows the API error', async (page) => {
  await open(page, '#/models/no-such-model-for-ui');
  await page.getByRole('alert').filter({ hasText: 'RESOURCE_DOES_NOT_EXIST' }).waitFor();
}, { allowErrors: ['404'] });

pageTest('the model page in dark mode', async (page) => {
  await open(page, `#/models/${model}`);
  await page.locator('tr[data-version="2"] [data-alias="champion"]').waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(13, 17, 23)');
}, { colorScheme: 'dark' });
