// The web UI of a Keel served under a path (`keel server --static-prefix /team/mlflow`): the page,
// every script and style it loads (also the pages' files loaded later), and every API call are
// under the prefix, so reading an experiment and a run works as at the root.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { pageTest } from './harness.mjs';
import { startKeel } from './keel.mjs';

const PREFIX = '/team/mlflow';
let keel;
let experiment;
let run;

before(async () => {
  keel = await startKeel({ staticPrefix: PREFIX });
  const post = async (path, body) => {
    const response = await fetch(`${keel.url}/api/2.0/mlflow/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.ok, `${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  };
  experiment = (await post('experiments/create', { name: 'under-a-prefix' })).experiment_id;
  run = (await post('runs/create', { experiment_id: experiment, run_name: 'prefixed-run' })).run.info.run_id;
  await post('runs/log-metric', { run_id: run, key: 'loss', value: 0.5, timestamp: 1, step: 0 });
});
after(() => keel?.stop());

pageTest('the UI under a static prefix loads its files and calls the API under it', async (page) => {
  const outside = [];
  const failed = [];
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (!path.startsWith(`${PREFIX}/`)) outside.push(path);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(`${keel.url}/#/`);
  await page.locator('tr[data-experiment="under-a-prefix"] a').click();
  await page.locator('main h1', { hasText: 'under-a-prefix' }).waitFor();
  await page.goto(`${keel.url}/#/experiments/${experiment}/runs/${run}`);
  await page.locator('main h1', { hasText: 'prefixed-run' }).waitFor();
  await page.locator('table[aria-label="Metrics"] tr[data-metric="loss"]').waitFor();
  assert.deepEqual(outside, [], 'requests outside the prefix');
  assert.deepEqual(failed, [], 'failed requests');
});
