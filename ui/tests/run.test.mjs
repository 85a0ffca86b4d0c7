// The run page: overview tables (params, latest metrics, tags, inputs), metric charts (pixels, the
// 1,000,000-point chart under 1 s, x-axis/log/theme redraws, smoothing) and deep links.
import assert from 'node:assert/strict';
import { chartCanvas, canvasStats, waitPainted, waitRedrawn } from './charts.mjs';
import { expectTitle, experimentId, mlflowApi, open, pageTest, recordTiming, seed } from './harness.mjs';

const demo = experimentId('demo');
const runs = seed.demo.runs;
const runHash = (id, tail = '') => `#/experiments/${demo}/runs/${id}${tail}`;

const apiRun = async (id) => (await mlflowApi('GET', `runs/get?run_id=${id}`)).run;

const cellText = (page, table, attr, key, column) =>
  page.locator(`table[aria-label="${table}"] tr[${attr}="${key}"] td`).nth(column).innerText();

pageTest('the overview of train-0 shows its params, latest metrics and tags', async (page) => {
  await open(page, runHash(runs['train-0']));
  await page.locator('main h1', { hasText: 'train-0' }).waitFor();
  const params = page.locator('table[aria-label="Parameters"] tbody tr');
  await params.first().waitFor();
  assert.equal(await params.count(), 3);
  assert.equal(await cellText(page, 'Parameters', 'data-param', 'lr', 1), '0.1');
  assert.equal(await cellText(page, 'Parameters', 'data-param', 'layers', 1), '2');
  assert.equal(await cellText(page, 'Parameters', 'data-param', 'optimizer', 1), 'sgd');

  const run = await apiRun(runs['train-0']);
  const metrics = page.locator('table[aria-label="Metrics"] tbody tr');
  assert.equal(await metrics.count(), 2);
  for (const key of ['loss', 'accuracy']) {
    const expected = run.data.metrics.find((m) => m.key === key);
    const shown = Number(await cellText(page, 'Metrics', 'data-metric', key, 1));
    assert.ok(Math.abs(shown - expected.value) <= Math.abs(expected.value) * 1e-5, `${key}: ${shown} vs ${expected.value}`);
    assert.equal(await cellText(page, 'Metrics', 'data-metric', key, 2), '49');
  }
  assert.equal(await cellText(page, 'Tags', 'data-tag', 'team', 1), 'vision');
  assert.equal(await cellText(page, 'Tags', 'data-tag', 'stage', 1), 'dev');
  // System tags are collapsed until asked for.
  const system = page.locator('table[aria-label="System tags"]');
  assert.equal(await system.isVisible(), false);
  await page.getByText(/^System tags \(\d+\)$/).click();
  await system.locator('tr[data-tag="mlflow.runName"]').waitFor();
  await expectTitle(page, 'train-0 · demo · Keel');
});

pageTest('the overview filter narrows params, metrics and tags', async (page) => {
  await open(page, runHash(runs['train-0']));
  await page.locator('table[aria-label="Parameters"] tr[data-param="lr"]').waitFor();
  await page.keyboard.press('/');
  await page.keyboard.type('lo');
  await page.locator('table[aria-label="Parameters"] tr[data-param="lr"]').waitFor({ state: 'detached' });
  assert.equal(await page.locator('table[aria-label="Metrics"] tbody tr').count(), 1);
  await page.locator('table[aria-label="Metrics"] tr[data-metric="loss"]').waitFor();
});

pageTest('a child run links its parent, the parent lists its children', async (page) => {
  await open(page, runHash(runs['sweep-child-0']));
  const parent = page.locator('a[data-parent-run]');
  await parent.filter({ hasText: 'sweep-parent' }).waitFor();
  await parent.click();
  await page.locator('main h1', { hasText: 'sweep-parent' }).waitFor();
  const children = page.locator('section[aria-label="Child runs"] li');
  await children.first().waitFor();
  assert.equal(await children.count(), 2);
});

pageTest('the overview lists dataset inputs and logged models', async (page) => {
  await open(page, runHash(runs.artifacts));
  const dataset = page.locator('table[aria-label="Dataset inputs"] tr[data-dataset="train-set"]');
  await dataset.waitFor();
  const text = await dataset.innerText();
  assert.match(text, /s3:\/\/bucket\/train\.csv/);
  assert.match(text, /training/);
  const model = page.locator(`table[aria-label="Logged models"] tr[data-model="${seed.demo.model_id}"] a`);
  await model.filter({ hasText: 'model' }).waitFor();
  assert.equal(await model.getAttribute('href'), `#/experiments/${demo}/models/${seed.demo.model_id}`);
});

pageTest('the Metrics tab draws the loss chart', async (page) => {
  await open(page, runHash(runs['train-0']));
  await page.getByRole('tab', { name: 'Metrics' }).click();
  assert.match(page.url(), /\/metrics$/);
  const stats = await waitPainted(page, 'loss');
  assert.ok(stats.painted > 500, `only ${stats.painted} pixels painted`);
  const box = page.locator(`figure[data-metric="loss"] .chart-canvas`);
  assert.equal(await box.getAttribute('data-points'), '50');
  await page.locator(chartCanvas('accuracy')).waitFor();
  // The legend shows the latest value; hovering shows the value under the cursor.
  const value = page.locator('figure[data-metric="loss"] .legend-value');
  const latest = await value.innerText();
  assert.match(latest, /^\d/);
  const canvas = await page.locator(chartCanvas('loss')).boundingBox();
  await page.mouse.move(canvas.x + canvas.width * 0.3, canvas.y + canvas.height / 2);
  await page.locator('figure[data-metric="loss"] .chart-x', { hasText: /^step \d+$/ }).waitFor();
  assert.notEqual(await value.innerText(), latest);
});

pageTest('the 1,000,000-point loss chart draws from a downsampled series', async (page) => {
  const id = seed.demo.long_run;
  await open(page, runHash(id));
  await page.locator('table[aria-label="Metrics"] tr[data-metric="loss"]').waitFor();
  const { elapsed, server } = await page.evaluate(
    ([hash, selector]) =>
      new Promise((resolve, reject) => {
        const began = performance.now();
        window.location.hash = hash;
        const check = () => {
          const canvas = document.querySelector(selector);
          if (canvas && canvas.width) {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted += 1;
            if (painted > 500) {
              const fetches = performance.getEntriesByType('resource').filter((e) => e.name.includes('get-history-bulk-interval'));
              return resolve({ elapsed: performance.now() - began, server: fetches.at(-1)?.duration ?? NaN });
            }
          }
          if (performance.now() - began > 15_000) return reject(new Error('the chart never rendered'));
          requestAnimationFrame(check);
        };
        check();
      }),
    [runHash(id, '/metrics'), chartCanvas('loss')],
  );
  // The history request (keel sampling 1,000,000 points) is most of the time; the rest is the UI's.
  recordTiming('1,000,000-point chart: tab opened to chart drawn', elapsed);
  recordTiming('1,000,000-point chart: waiting for get-history-bulk-interval', server);
  // Downsampled on the server: the chart holds at most 1,000 points, first and last step included.
  const points = Number(await page.locator('figure[data-metric="loss"] .chart-canvas').getAttribute('data-points'));
  assert.ok(points > 100 && points <= 2500, `${points} points`);
});

pageTest('wall time, log scale and smoothing redraw the chart', async (page) => {
  await open(page, runHash(runs['train-0'], '/metrics'));
  const first = await waitPainted(page, 'loss');
  await page.getByLabel('X axis').selectOption('wall');
  const wall = await waitRedrawn(page, 'loss', first);
  assert.ok(wall.painted > 500);
  await page.getByLabel('Log scale').check();
  const log = await waitRedrawn(page, 'loss', wall);
  await page.getByLabel('Smoothing').fill('0.8');
  await waitRedrawn(page, 'loss', log);
  await page.locator('figure[data-metric="loss"] .legend-value', { hasText: 'raw' }).waitFor();
  // The choices are remembered for the next chart page.
  await page.reload();
  await page.locator('main h1').waitFor();
  assert.equal(await page.getByLabel('X axis').inputValue(), 'wall');
  assert.equal(await page.getByLabel('Log scale').isChecked(), true);
});

pageTest('switching the theme redraws the charts in its colours', async (page) => {
  await open(page, runHash(runs['train-0'], '/metrics'));
  const light = await waitPainted(page, 'loss');
  await page.getByRole('button', { name: /^Theme:/ }).click(); // system → light: same colours
  await page.getByRole('button', { name: /^Theme:/ }).click(); // light → dark
  await page.locator('html[data-theme="dark"]').waitFor();
  const dark = await waitRedrawn(page, 'loss', light);
  assert.ok(dark.painted > 500);
});

pageTest('a metric in the overview links to its highlighted chart', async (page) => {
  await open(page, runHash(runs['train-1']));
  await page.locator('table[aria-label="Metrics"] tr[data-metric="accuracy"] a').click();
  await page.locator('figure[data-metric="accuracy"].highlight').waitFor();
  assert.match(page.url(), /\/metrics\?metric=accuracy$/);
  await waitPainted(page, 'accuracy');
});

pageTest('the metrics tab opens from a deep link', async (page) => {
  await open(page, runHash(runs['train-2'], '/metrics'));
  await page.locator('main h1', { hasText: 'train-2' }).waitFor();
  assert.equal(await page.getByRole('tab', { name: 'Metrics' }).getAttribute('aria-selected'), 'true');
  const stats = await waitPainted(page, 'loss');
  assert.ok(stats.painted > 500);
  assert.equal(await page.locator('figure[data-metric]').count(), 2);
});

pageTest('dragging across a chart zooms in and Reset zoom goes back', async (page) => {
  await open(page, runHash(seed.demo.long_run, '/metrics'));
  const before = await waitPainted(page, 'loss');
  const box = await page.locator(chartCanvas('loss')).boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.4, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, y, { steps: 5 });
  await page.mouse.up();
  const reset = page.getByRole('button', { name: 'Reset zoom' });
  await reset.waitFor();
  const zoomed = await waitRedrawn(page, 'loss', before);
  await reset.click();
  await reset.waitFor({ state: 'detached' });
  await waitRedrawn(page, 'loss', zoomed);
  assert.ok((await canvasStats(page, 'loss')).painted > 500);
});

pageTest('a metric logged with a nanosecond timestamp does not break the page', async (page) => {
  const { experiment_id: exp } = await mlflowApi('POST', 'experiments/create', { name: `ui-ns-${Date.now()}` });
  const { run } = await mlflowApi('POST', 'runs/create', { experiment_id: exp, start_time: Date.now() });
  const id = run.info.run_id;
  // 1.8e18: far beyond what a JavaScript Date can hold.
  await mlflowApi('POST', 'runs/log-metric', { run_id: id, key: 'ns', value: 1, timestamp: 1_800_000_000_000_000_000, step: 0 });
  await open(page, `#/experiments/${exp}/runs/${id}`);
  await page.locator('table[aria-label="Metrics"] tr[data-metric="ns"]').waitFor();
  assert.equal(await page.locator('table[aria-label="Metrics"] tr[data-metric="ns"] td').nth(3).innerText(), '—');
});
