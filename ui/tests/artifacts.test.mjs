// The artifact browser on the seeded "artifacts" run: the tree, each kind of preview, deep links,
// keyboard navigation and the run's logged model (MLmodel summary).
import assert from 'node:assert/strict';
import { expectTitle, experimentId, keelUrl, mlflowApi, open, pageTest, seed } from './harness.mjs';

const runId = seed.demo.runs.artifacts;
const base = `#/experiments/${experimentId('demo')}/runs/${runId}`;
const tree = (page) => page.getByRole('tree', { name: 'Artifacts' });
const item = (page, name) => tree(page).getByRole('treeitem', { name, exact: false });
const preview = (page, path) => page.getByRole('region', { name: `Preview of ${path}` });

async function openArtifacts(page, path = '', runBase = base) {
  await open(page, `${runBase}/artifactPath${path ? `/${path}` : ''}`);
  await tree(page).waitFor();
}

async function select(page, name, path = name) {
  await tree(page).locator(`[data-key="${path}"]`).click();
  await preview(page, path).waitFor();
  assert.ok(page.url().endsWith(`/artifactPath/${path}`), page.url());
}

pageTest('the tree lists the run’s files and folders', async (page) => {
  await openArtifacts(page);
  for (const key of ['config', 'metrics', 'img.png', 'notes.txt', 'table.csv']) {
    await tree(page).locator(`[data-key="${key}"]`).waitFor();
  }
  // Folders first, then files, each by name; the run's logged model last.
  const keys = await tree(page).locator('[role=treeitem]').evaluateAll((els) => els.map((e) => e.dataset.key));
  assert.deepEqual(keys.slice(0, 5), ['config', 'metrics', 'img.png', 'notes.txt', 'table.csv']);
  assert.equal(keys[5], `~models/${seed.demo.model_id}`);
  assert.equal(await tree(page).locator('[data-key="config"]').getAttribute('aria-expanded'), 'false');
  await page.locator('main h1', { hasText: 'artifacts' }).waitFor();
  await page.getByText('Select a file to preview it').waitFor();
});

pageTest('text, YAML and JSON previews', async (page) => {
  await openArtifacts(page);
  await select(page, 'notes.txt');
  assert.equal((await preview(page, 'notes.txt').locator('pre').textContent()).trim(), 'hello from keel\nsecond line');

  await tree(page).locator('[data-key="config"]').click();
  await select(page, 'cfg.yaml', 'config/cfg.yaml');
  const yaml = preview(page, 'config/cfg.yaml');
  await yaml.getByText('YAML', { exact: true }).waitFor();
  assert.match(await yaml.locator('pre').textContent(), /^model:\n {2}layers: 4\n {2}lr: 0.01/);

  await tree(page).locator('[data-key="metrics"]').click();
  await select(page, 'm.json', 'metrics/m.json');
  const json = await preview(page, 'metrics/m.json').locator('pre', { hasText: 'precision' }).textContent();
  assert.deepEqual(JSON.parse(json), { precision: 0.91, recall: 0.87, labels: ['a', 'b'] });
  assert.match(json, /\n {2}"precision": 0.91,\n/);
});

pageTest('CSV previews as a table', async (page) => {
  await openArtifacts(page, 'table.csv');
  const table = preview(page, 'table.csv').getByRole('table', { name: 'Table preview' });
  await table.waitFor();
  const headers = await table.locator('thead th').allTextContents();
  assert.deepEqual(headers.slice(1), ['epoch', 'loss', 'accuracy']);
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 3);
  assert.deepEqual((await rows.nth(2).locator('td').allTextContents()).slice(1), ['3', '0.3', '0.85']);
});

pageTest('an image previews through an object URL', async (page) => {
  await openArtifacts(page, 'img.png');
  const img = preview(page, 'img.png').locator('img');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('.artifact-image img')?.complete);
  const { width, height, src } = await img.evaluate((el) => ({ width: el.naturalWidth, height: el.naturalHeight, src: el.src }));
  assert.equal(width, 48);
  assert.equal(height, 32);
  assert.match(src, /^blob:/);
  await preview(page, 'img.png').getByText('48 × 32 px').waitFor();
});

pageTest('a deep link opens the file inside its folder', async (page) => {
  await openArtifacts(page, 'metrics/m.json');
  await preview(page, 'metrics/m.json').locator('pre', { hasText: '"recall": 0.87' }).waitFor();
  const row = tree(page).locator('[data-key="metrics/m.json"]');
  assert.equal(await row.getAttribute('aria-selected'), 'true');
  assert.equal(await row.getAttribute('aria-level'), '2');
  assert.equal(await tree(page).locator('[data-key="metrics"]').getAttribute('aria-expanded'), 'true');
  await expectTitle(page, 'artifacts · demo · Keel');
});

pageTest('the keyboard moves through the tree and opens files and folders', async (page) => {
  await openArtifacts(page);
  await tree(page).locator('[data-key="config"]').focus();
  await page.keyboard.press('ArrowRight'); // expand config/
  await tree(page).locator('[data-key="config/cfg.yaml"]').waitFor();
  await page.keyboard.press('ArrowRight'); // into its first child
  await page.keyboard.press('Enter');
  await preview(page, 'config/cfg.yaml').waitFor();
  await page.keyboard.press('ArrowLeft'); // back to the folder
  await page.keyboard.press('ArrowLeft'); // collapse it
  await tree(page).locator('[data-key="config/cfg.yaml"]').waitFor({ state: 'detached' });
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowUp'); // table.csv, above the logged model
  await page.keyboard.press('Enter');
  await preview(page, 'table.csv').getByRole('table').waitFor();
  const focused = await page.evaluate(() => document.activeElement?.dataset.key);
  assert.equal(focused, 'table.csv');
});

pageTest('the run’s logged model: MLmodel summary and a binary file', async (page) => {
  const model = `~models/${seed.demo.model_id}`;
  await openArtifacts(page, `${model}/MLmodel`);
  const mlmodel = preview(page, 'MLmodel');
  const summary = mlmodel.getByLabel('Model summary');
  await summary.waitFor();
  await summary.locator('.badge.flavor', { hasText: 'python_function' }).waitFor();
  await summary.getByRole('row', { name: /Loader module mlflow\.pyfunc\.model/ }).waitFor();
  await summary.getByRole('link', { name: 'python_env.yaml' }).waitFor();
  assert.match(await mlmodel.locator('pre').textContent(), /loader_module: mlflow\.pyfunc\.model/);

  await tree(page).locator(`[data-key="${model}/python_model.pkl"]`).click();
  const binary = preview(page, 'python_model.pkl');
  await binary.getByText('No preview for this file').waitFor();
  const download = binary.getByRole('link', { name: 'Download' });
  assert.match(await download.getAttribute('href'), /logged-models\/m-[0-9a-f]+\/artifacts\/files\?artifact_file_path=python_model.pkl/);
});

pageTest('a missing path says so', async (page) => {
  await openArtifacts(page, 'no/such/file.txt');
  await page.getByText('No artifact at “no/such/file.txt”').waitFor();
});

pageTest('artifacts in dark mode', async (page) => {
  await openArtifacts(page, 'table.csv');
  await preview(page, 'table.csv').getByRole('table').waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.artifact-tree')).backgroundColor);
  assert.equal(bg, 'rgb(13, 17, 23)');
}, { colorScheme: 'dark' });

/** A scratch experiment (deleted afterwards) with one run per entry of `runs` ({path: body}). */
async function withScratchRuns(runs, fn) {
  const { experiment_id: exp } = await mlflowApi('POST', 'experiments/create', { name: `ui-artifacts-scratch-${Date.now()}` });
  try {
    const hashes = [];
    for (const files of runs) {
      const { run } = await mlflowApi('POST', 'runs/create', { experiment_id: exp });
      const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
      for (const [path, body] of Object.entries(files)) {
        const put = await fetch(`${keelUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, { method: 'PUT', body });
        assert.ok(put.ok, `upload ${path}: ${put.status}`);
      }
      hashes.push(`#/experiments/${exp}/runs/${run.info.run_id}`);
    }
    await fn(...hashes);
  } finally {
    await mlflowApi('POST', 'experiments/delete', { experiment_id: exp }).catch(() => {});
  }
}

pageTest('large files preview their first megabyte, long CSVs their first 500 rows', async (page) => {
  const lines = Array.from({ length: 30_000 }, (_, i) => `line ${String(i).padStart(6, '0')} ${'x'.repeat(40)}`);
  const rows = Array.from({ length: 1200 }, (_, i) => `${i},"n ""${i}""",plain`);
  const files = {
    'big.log': `${lines.join('\n')}\n`,
    'long.csv': ['id,"name, quoted",note', ...rows].join('\n'),
    'weights.bin': new Uint8Array([0, 1, 2, 3]),
  };
  await withScratchRuns([files, {}], async (run, empty) => {
    await openArtifacts(page, 'big.log', run);
    const big = preview(page, 'big.log');
    await big.getByRole('note').filter({ hasText: 'Showing the first 1.0 MB of 1.5 MB' }).waitFor();
    const text = await big.locator('pre').textContent();
    assert.ok(text.length <= 1024 * 1024 && text.length > 1_000_000, `preview length ${text.length}`);
    assert.ok(text.startsWith('line 000000 '));
    assert.ok(!text.includes('line 029999'));

    await select(page, 'long.csv');
    const table = preview(page, 'long.csv').getByRole('table', { name: 'Table preview' });
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), 500);
    assert.deepEqual((await table.locator('thead th').allTextContents()).slice(1), ['id', 'name, quoted', 'note']);
    assert.deepEqual((await table.locator('tbody tr').nth(7).locator('td').allTextContents()).slice(1), ['7', 'n "7"', 'plain']);
    await preview(page, 'long.csv').getByText('Showing the first 500 of 1200 rows.').waitFor();

    await select(page, 'weights.bin');
    await preview(page, 'weights.bin').getByText('No preview for this file').waitFor();

    await open(page, `${empty}/artifacts`);
    await page.getByText('This run has no artifacts').waitFor();
    await page.locator('pre.snippet', { hasText: 'mlflow.log_artifact(' }).waitFor();
  });
});
