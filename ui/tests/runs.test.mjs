// The runs table: the 10,000-run "big" experiment opens fast with a virtual DOM, filters, sorts and
// pages; "demo" shows nested runs, selection for compare, keyboard navigation and the empty states.
import assert from 'node:assert/strict';
import { experimentId, mlflowApi, open, pageTest, recordTiming, seed, url } from './harness.mjs';

const big = experimentId('big');
const demo = experimentId('demo');
const rows = (page) => page.locator('.runs-body [role=row]');
const rowNamed = (page, name) => page.locator(`.runs-body [role=row][data-run-name="${name}"]`);
const loaded = async (page) => Number(await page.locator('.run-count').getAttribute('data-loaded'));
const firstName = (page) => rows(page).first().getAttribute('data-run-name');

/** Waits until the rows on screen come from the search with this filter and `order_by`. */
async function settled(page, { filter = '', order = 'attributes.start_time DESC' } = {}) {
  await page.waitForFunction(
    ([f, o]) => {
      const count = document.querySelector('.run-count');
      return count && count.dataset.filter === f && count.dataset.order === o && !document.querySelector('.runs-grid.stale');
    },
    [filter, order],
  );
}

/** The values shown in a column, top to bottom, for the rows in the DOM. */
async function columnValues(page, column) {
  return page.locator(`.runs-body [role=row] [data-column="${column}"]`).allTextContents();
}

/** Scrolls the table to its end until no page is left to load (at most `pages` times). */
async function loadAll(page, pages = 12) {
  for (let i = 0; i < pages; i++) {
    if ((await page.locator('.run-count').getAttribute('data-complete')) === 'true') return;
    const before = await loaded(page);
    await page.locator('.runs-body').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.waitForFunction((b) => {
      const count = document.querySelector('.run-count');
      return count && (Number(count.dataset.loaded) > b || count.dataset.complete === 'true');
    }, before);
  }
  assert.equal(await page.locator('.run-count').getAttribute('data-complete'), 'true', 'every page loaded');
}

pageTest('"big" (10,000 runs) shows its first rows, with under 200 rows in the DOM', async (page) => {
  // Times the first row in the page itself: performance.now() counts from the navigation's start.
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('.runs-body [role=row]')) {
        window.__firstRowAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const began = Date.now();
  await page.goto(url(`#/experiments/${big}`));
  await rows(page).first().waitFor();
  const wall = Date.now() - began;
  const inPage = await page.evaluate(() => window.__firstRowAt);
  recordTiming('10,000-run table: first row, in the page (ms since navigation start)', inPage);
  recordTiming('10,000-run table: first row, wall time from goto', wall);
  assert.ok(await rows(page).first().isVisible());
  assert.equal(await firstName(page), 'run-09999', 'newest run first');
  assert.equal(await loaded(page), 1000);
  assert.match(await page.locator('.run-count').textContent(), /1,000 of many runs/);
  const inDom = await page.locator('[role=row]').count();
  assert.ok(inDom > 10 && inDom < 200, `${inDom} rows in the DOM`);
  // Metric and param columns come from the runs; tags are hidden by default.
  for (const column of ['metrics:m1', 'metrics:m3', 'params:p1', 'params:p3']) {
    await page.locator(`[role=columnheader][data-column="${column}"]`).waitFor();
  }
  assert.equal(await page.locator('[role=columnheader][data-column="tags:group"]').count(), 0);
});

pageTest('scrolling to the bottom loads the next page of runs', async (page) => {
  await open(page, `#/experiments/${big}`);
  await rows(page).first().waitFor();
  assert.equal(await loaded(page), 1000);
  await page.locator('.runs-body').evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await page.locator('.run-count[data-loaded="2000"]').waitFor();
  await rowNamed(page, 'run-08999').waitFor();
  const inDom = await page.locator('[role=row]').count();
  assert.ok(inDom < 200, `${inDom} rows in the DOM after paging`);
});

pageTest('a filter typed in the search box and submitted with Enter narrows the runs', async (page) => {
  await open(page, `#/experiments/${big}`);
  await rows(page).first().waitFor();
  await page.keyboard.press('/');
  await page.keyboard.type('metrics.m1 > 0.5');
  await page.keyboard.press('Enter');
  await page.waitForURL(/filter=metrics\.m1/);
  await settled(page, { filter: 'metrics.m1 > 0.5' });
  const shown = (await columnValues(page, 'metrics:m1')).map(Number);
  assert.ok(shown.length > 10, 'rows shown');
  assert.ok(shown.every((v) => v > 0.5), `every m1 shown is above 0.5: ${shown.slice(0, 5)}`);
  await loadAll(page);
  const total = await loaded(page);
  assert.ok(total < seed.big.runs && total > seed.big.runs * 0.3, `${total} of ${seed.big.runs} runs match`);
  assert.match(await page.locator('.run-count').textContent(), /runs match/);
  // The filter survives a reload (it lives in the hash).
  await page.reload();
  await page.waitForFunction(() => document.querySelector('input[data-search]')?.value === 'metrics.m1 > 0.5');
  await page.locator('.runs-body [role=row]').first().waitFor();
});

pageTest('a bad filter shows the API error message', async (page) => {
  await open(page, `#/experiments/${big}`);
  await rows(page).first().waitFor();
  await page.locator('input[data-search]').fill('metrics.m1 >>> 2');
  await page.locator('input[data-search]').press('Enter');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = await alert.textContent();
  assert.match(text, /INVALID_PARAMETER_VALUE/);
  assert.match(text, /Invalid filter 'metrics\.m1 >>> 2'/);
  assert.equal(await rows(page).count(), 0);
}, { allowErrors: ['400'] });

pageTest('clicking a metric header sorts by it on the server and toggles the direction', async (page) => {
  await open(page, `#/experiments/${big}`);
  await rows(page).first().waitFor();
  assert.equal(await firstName(page), 'run-09999');
  const header = page.locator('[role=columnheader][data-column="metrics:m1"]');
  await header.locator('button').click();
  await page.waitForURL(/order=metrics\.%60m1%60\+DESC/);
  await settled(page, { order: 'metrics.`m1` DESC' });
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  const first = await firstName(page);
  assert.notEqual(first, 'run-09999');
  const desc = (await columnValues(page, 'metrics:m1')).map(Number);
  assert.ok(desc.every((v, i) => i === 0 || desc[i - 1] >= v), 'm1 descending');
  assert.ok(desc[0] > 0.99, `the largest m1 first (${desc[0]})`);

  await header.locator('button').click();
  await page.waitForURL(/order=metrics\.%60m1%60\+ASC/);
  await settled(page, { order: 'metrics.`m1` ASC' });
  assert.equal(await header.getAttribute('aria-sort'), 'ascending');
  const asc = (await columnValues(page, 'metrics:m1')).map(Number);
  assert.ok(asc.every((v, i) => i === 0 || asc[i - 1] <= v), 'm1 ascending');
  assert.ok(asc[0] < 0.01);

  // A param column sorts too, and the name column by run name.
  await page.locator('[role=columnheader][data-column="attributes:run_name"] button').click();
  await page.waitForURL(/order=attributes\.run_name\+ASC/);
  await settled(page, { order: 'attributes.run_name ASC' });
  assert.equal(await firstName(page), 'run-00000');
});

pageTest('a parent run expands to show its children', async (page) => {
  await open(page, `#/experiments/${demo}`);
  const parent = rowNamed(page, 'sweep-parent');
  await parent.waitFor();
  assert.equal(await rowNamed(page, 'sweep-child-0').count(), 0, 'children start folded');
  assert.equal(await parent.getAttribute('aria-expanded'), 'false');
  await parent.getByRole('button', { name: /Show 2 child runs/ }).click();
  await rowNamed(page, 'sweep-child-0').waitFor();
  await rowNamed(page, 'sweep-child-1').waitFor();
  assert.equal(await rowNamed(page, 'sweep-child-0').getAttribute('aria-level'), '2');
  const names = await rows(page).evaluateAll((els) => els.map((e) => e.dataset.runName));
  const at = names.indexOf('sweep-parent');
  assert.deepEqual(names.slice(at, at + 3).sort(), ['sweep-child-0', 'sweep-child-1', 'sweep-parent']);
  // ← on the parent folds them again.
  await parent.focus();
  await page.keyboard.press('ArrowLeft');
  await rowNamed(page, 'sweep-child-0').waitFor({ state: 'detached' });
  await page.keyboard.press('ArrowRight');
  await rowNamed(page, 'sweep-child-1').waitFor();
});

pageTest('selecting two runs and clicking Compare opens the compare page with both', async (page) => {
  await open(page, `#/experiments/${demo}`);
  await rowNamed(page, 'train-0').waitFor();
  await rowNamed(page, 'train-0').getByRole('checkbox').check();
  const compare = page.getByRole('button', { name: 'Compare' });
  assert.ok(await compare.isDisabled(), 'one run is not enough to compare');
  await rowNamed(page, 'train-1').getByRole('checkbox').check();
  assert.equal(await rowNamed(page, 'train-1').getAttribute('aria-selected'), 'true');
  await page.getByText('2 selected').waitFor();
  await compare.click();
  await page.waitForURL(/#\/compare-runs\?runs=/);
  const query = new URLSearchParams(page.url().split('?')[1]);
  const runs = JSON.parse(query.get('runs'));
  assert.deepEqual(runs.sort(), [seed.demo.runs['train-0'], seed.demo.runs['train-1']].sort());
  assert.deepEqual(JSON.parse(query.get('experiments')), [demo]);
});

pageTest('the keyboard moves between rows, Space selects and Enter opens a run', async (page) => {
  await open(page, `#/experiments/${demo}`);
  await rows(page).first().waitFor();
  await rows(page).first().focus();
  await page.keyboard.press('ArrowDown');
  const second = rows(page).nth(1);
  assert.equal(await second.evaluate((el) => el === document.activeElement), true, 'ArrowDown focuses the next row');
  await page.keyboard.press(' ');
  assert.equal(await second.getAttribute('aria-selected'), 'true', 'Space selects');
  await page.keyboard.press(' ');
  assert.equal(await second.getAttribute('aria-selected'), 'false', 'Space again deselects');
  const name = await second.getAttribute('data-run-name');
  const id = await second.getAttribute('data-run-id');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`#/experiments/${demo}/runs/${id}$`));
  await page.locator('main h1', { hasText: name }).waitFor();
});

pageTest('the column chooser shows tag columns and remembers the choice', async (page) => {
  await open(page, `#/experiments/${demo}`);
  await rows(page).first().waitFor();
  assert.equal(await page.locator('[role=columnheader][data-column="tags:team"]').count(), 0);
  await page.getByRole('button', { name: /^Columns/ }).click();
  const panel = page.getByRole('dialog', { name: 'Choose columns' });
  await panel.getByLabel('team').check();
  await panel.getByLabel('loss').uncheck();
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  await page.locator('[role=columnheader][data-column="tags:team"]').waitFor();
  assert.equal(await page.locator('[role=columnheader][data-column="metrics:loss"]').count(), 0);
  assert.ok((await columnValues(page, 'tags:team')).includes('vision'));
  // mlflow.* tags are never offered.
  await page.reload();
  await page.locator('[role=columnheader][data-column="tags:team"]').waitFor();
  await page.getByRole('button', { name: /^Columns/ }).click();
  assert.equal(await panel.getByText('mlflow.user').count(), 0);
  await panel.getByRole('button', { name: 'Default' }).click();
  await page.locator('[role=columnheader][data-column="metrics:loss"]').waitFor();
});

pageTest('a filter that matches nothing says so and offers to clear it', async (page) => {
  await open(page, `#/experiments/${demo}?filter=${encodeURIComponent("params.lr = 'no-such-value'")}`);
  await page.getByText('No run matches this filter').waitFor();
  await page.getByRole('button', { name: 'Clear the filter' }).click();
  await rowNamed(page, 'train-0').waitFor();
  assert.doesNotMatch(page.url(), /filter=/);
});

pageTest('an experiment without runs shows how to log one', async (page) => {
  const name = `ui-empty-runs-${Date.now()}`;
  const { experiment_id: id } = await mlflowApi('POST', 'experiments/create', { name });
  await open(page, `#/experiments/${id}`);
  await page.getByText('No runs in this experiment yet').waitFor();
  const snippet = await page.locator('pre.snippet').textContent();
  assert.match(snippet, new RegExp(`set_experiment\\("${name}"\\)`));
  assert.match(snippet, /start_run/);
});
