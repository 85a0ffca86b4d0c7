// The compare view: run header and legends, overlaid charts, the parameter diff, the metrics table,
// the scatter plot, unknown and missing run IDs, and back/forward between a run and the comparison.
import assert from 'node:assert/strict';
import { chartCanvas, waitPainted } from './charts.mjs';
import { expectTitle, experimentId, open, pageTest, seed } from './harness.mjs';

const demo = experimentId('demo');
const runs = seed.demo.runs;
const compareHash = (ids, experiments = [demo]) =>
  `#/compare-runs?runs=${encodeURIComponent(JSON.stringify(ids))}&experiments=${encodeURIComponent(JSON.stringify(experiments))}`;

pageTest('compare train-0 and train-1: header, legends, chart and parameter diff', async (page) => {
  await open(page, compareHash([runs['train-0'], runs['train-1']]));
  await page.locator('main h1', { hasText: 'Compare 2 runs' }).waitFor();
  const header = page.getByRole('list', { name: 'Compared runs' });
  await header.getByRole('link', { name: 'train-0' }).waitFor();
  await header.getByRole('link', { name: 'train-1' }).waitFor();
  await expectTitle(page, 'Compare 2 runs · demo · Keel');

  const stats = await waitPainted(page, 'loss');
  assert.ok(stats.painted > 500, `only ${stats.painted} pixels painted`);
  const legend = page.locator('figure[data-metric="loss"] .chart-legend li');
  assert.deepEqual(await legend.locator('.legend-label').allInnerTexts(), ['train-0', 'train-1']);
  // Both runs' 50 points are in the chart.
  assert.equal(await page.locator('figure[data-metric="loss"] .chart-canvas').getAttribute('data-points'), '100');

  const diff = page.getByRole('table', { name: 'Parameter differences' });
  const headers = diff.locator('thead th');
  assert.equal(await headers.count(), 3, 'one key column and two value columns');
  assert.deepEqual((await headers.allInnerTexts()).map((t) => t.trim()), ['Parameter', 'train-0', 'train-1']);
  const lr = diff.locator('tr[data-param="lr"]');
  assert.equal(await lr.getAttribute('data-differs'), 'true');
  assert.match(await lr.getAttribute('class'), /differs/);
  assert.deepEqual(await lr.locator('td').allInnerTexts(), ['0.1', '0.01']);

  const metrics = page.getByRole('table', { name: 'Latest metrics' });
  assert.equal(await metrics.locator('tbody tr').count(), 2);
});

pageTest('"Only differences" hides parameters that are the same', async (page) => {
  await open(page, compareHash([runs['train-1'], runs['train-2']]));
  const diff = page.getByRole('table', { name: 'Parameter differences' });
  await diff.locator('tr[data-param="layers"]').waitFor();
  assert.equal(await diff.locator('tr[data-param="layers"]').getAttribute('data-differs'), null);
  assert.equal(await diff.locator('tr[data-param="lr"]').getAttribute('data-differs'), 'true');
  await page.getByLabel('Only differences').check();
  await diff.locator('tr[data-param="layers"]').waitFor({ state: 'detached' });
  assert.equal(await diff.locator('tbody tr').count(), 1);
});

pageTest('cursors move together and the scatter plot draws every run', async (page) => {
  await open(page, compareHash([runs['train-0'], runs['train-1'], runs['train-2']]));
  await waitPainted(page, 'loss');
  await waitPainted(page, 'accuracy');
  const box = await page.locator(chartCanvas('loss')).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // The accuracy chart shows the step under the loss chart's cursor.
  const step = await page.locator('figure[data-metric="loss"] .chart-x').innerText();
  assert.match(step, /^step \d+$/);
  await page.locator('figure[data-metric="accuracy"] .chart-x', { hasText: step }).waitFor();

  // By default x is the most varied numeric parameter (lr), y the first metric.
  assert.equal(await page.getByLabel('Scatter plot x axis').inputValue(), 'param:lr');
  await page.getByLabel('Scatter plot y axis').selectOption('loss');
  const scatter = page.getByRole('img', { name: /^Scatter plot of loss against lr for 3 runs/ });
  await scatter.scrollIntoViewIfNeeded();
  const painted = await scatter.evaluate((canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n += 1;
    return n;
  });
  assert.ok(painted > 500, `${painted} pixels`);
  await page.getByLabel('Scatter plot x axis').selectOption('param:optimizer');
  await page.getByRole('img', { name: /against optimizer/ }).waitFor();
});

pageTest('an unknown run ID is reported and the others still compare', async (page) => {
  const missing = '0123456789abcdef0123456789abcdef';
  await open(page, compareHash([runs['train-0'], missing]));
  const alert = page.getByRole('alert').filter({ hasText: 'not found' });
  await alert.waitFor();
  assert.match(await alert.innerText(), new RegExp(missing));
  await page.getByRole('list', { name: 'Compared runs' }).getByRole('link', { name: 'train-0' }).waitFor();
  await waitPainted(page, 'loss');
}, { allowErrors: ['404'] });

pageTest('no runs, or a run list that is not JSON, explains how to select runs', async (page) => {
  await open(page, '#/compare-runs');
  await page.getByRole('heading', { name: 'No runs selected' }).waitFor();
  await page.getByText(/tick the checkboxes of two or more runs/).waitFor();
  await open(page, '#/compare-runs?runs=not-json');
  await page.getByRole('heading', { name: 'The run list in this link is not valid' }).waitFor();
  await open(page, `#/compare-runs?runs=${encodeURIComponent('[]')}&experiments=${encodeURIComponent(JSON.stringify([demo]))}`);
  await page.getByRole('heading', { name: 'No runs selected' }).waitFor();
  await page.getByRole('link', { name: 'Back to the experiment' }).waitFor();
});

pageTest('back and forward move between a run and the comparison', async (page) => {
  await open(page, `#/experiments/${demo}/runs/${runs['train-0']}`);
  await page.locator('main h1', { hasText: 'train-0' }).waitFor();
  await page.goto(page.url().replace(/#.*/, compareHash([runs['train-0'], runs['train-1']])));
  await page.locator('main h1', { hasText: 'Compare 2 runs' }).waitFor();
  await waitPainted(page, 'loss');

  await page.goBack();
  await page.locator('main h1', { hasText: 'train-0' }).waitFor();
  await page.goForward();
  await page.locator('main h1', { hasText: 'Compare 2 runs' }).waitFor();
  await waitPainted(page, 'loss');

  await page.getByRole('list', { name: 'Compared runs' }).getByRole('link', { name: 'train-1' }).click();
  await page.locator('main h1', { hasText: 'train-1' }).waitFor();
  await page.goBack();
  await page.locator('main h1', { hasText: 'Compare 2 runs' }).waitFor();
  assert.match(page.url(), /#\/compare-runs\?runs=/);
  await waitPainted(page, 'loss');
});

pageTest('the compare view in dark mode', async (page) => {
  await open(page, compareHash([runs['train-0'], runs['train-1'], runs['train-2']]));
  await waitPainted(page, 'loss');
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
  assert.equal(bg, '#0d1117');
}, { colorScheme: 'dark' });
