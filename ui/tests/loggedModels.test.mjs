// Logged models (MLflow 3): the experiment's tab lists the seeded model with its source run, and the
// model's page shows its name, source run, artifact location, params and registry versions.
import assert from 'node:assert/strict';
import { expectTitle, experimentId, open, pageTest, seed } from './harness.mjs';

const demo = experimentId('demo');
const modelId = seed.demo.model_id;
const artifactsRun = seed.demo.runs.artifacts;

pageTest('the logged models tab lists the seeded model with its source run', async (page) => {
  await open(page, `#/experiments/${demo}/models`);
  const row = page.locator(`tr[data-model-id="${modelId}"]`);
  await row.waitFor();
  assert.equal(await page.locator('tr[data-model-id]').count(), 1);
  assert.equal(await row.getByRole('link', { name: 'model', exact: true }).getAttribute('href'), `#/experiments/${demo}/models/${modelId}`);
  assert.equal((await row.locator('.badge').textContent()).trim(), 'ready');
  // The source run shows by name once the run search answers.
  const source = row.locator(`a[data-source-run="${artifactsRun}"]`);
  await source.filter({ hasText: /^artifacts$/ }).waitFor();
  assert.equal(await source.getAttribute('href'), `#/experiments/${demo}/runs/${artifactsRun}`);
  await row.getByRole('link', { name: `${seed.registry.model} v${seed.registry.versions[1]}` }).waitFor();
  assert.equal(await row.locator('time').count(), 1, 'creation time shown relative, exact on hover');
  assert.match(await row.locator('time').getAttribute('title'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
});

pageTest('a logged model opens from the tab and shows its details', async (page) => {
  await open(page, `#/experiments/${demo}/models`);
  await page.locator(`tr[data-model-id="${modelId}"] a`, { hasText: /^model$/ }).click();
  await page.locator('main h1', { hasText: /^model$/ }).waitFor();
  assert.match(page.url(), new RegExp(`#/experiments/${demo}/models/${modelId}$`));
  await expectTitle(page, 'model · demo · Keel');
  await page.locator('main .badge', { hasText: 'ready' }).waitFor();
  const uri = await page.locator('[data-artifact-uri]').textContent();
  assert.ok(uri.includes(modelId), `artifact location ${uri}`);
  const source = page.locator(`a[data-source-run="${artifactsRun}"]`);
  await source.filter({ hasText: /^artifacts$/ }).waitFor();
  const params = page.getByRole('table', { name: 'Params' });
  assert.deepEqual(await params.locator('td').allTextContents(), ['kind', 'artifacts']);
  await page.getByText('No metrics logged for this model').waitFor();
  // mlflow.* tags are folded away under "System tags".
  await page.getByText(/System tags \(\d+\)/).click();
  await page.getByRole('table', { name: 'System tags' }).getByText('mlflow.source.name').waitFor();
  // The source run link leads to the run page.
  await source.click();
  await page.locator('main h1', { hasText: 'artifacts' }).waitFor();
});

pageTest('an unknown logged model shows the API error', async (page) => {
  await open(page, `#/experiments/${demo}/models/m-00000000000000000000000000000000`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /RESOURCE_DOES_NOT_EXIST|NOT_FOUND/);
  assert.match(await alert.textContent(), /m-00000000000000000000000000000000/);
}, { allowErrors: ['404'] });

pageTest('an experiment without logged models says how to log one', async (page) => {
  await open(page, `#/experiments/${experimentId('big')}/models`);
  await page.getByText('No logged models in this experiment').waitFor();
  assert.match(await page.locator('pre.snippet').textContent(), /mlflow\.pyfunc\.log_model\(name="model"/);
}, { colorScheme: 'dark' });
