// The traces list (filter, errors, sorting, empty state) and the trace page (span tree, timeline,
// span detail, chat conversation, assessments, keyboard, deep links, the 30,000-span trace).
import assert from 'node:assert/strict';
import { experimentId, mlflowApi, open, pageTest, recordTiming, seed, url } from './harness.mjs';

const demo = () => experimentId('demo');
const chatTrace = () => seed.traces.chat_trace;
const hugeTrace = () => seed.traces.huge_trace;
const tracesTab = (query = '') => `#/experiments/${demo()}/traces${query}`;
const traceHash = (traceId, query = '') => `#/experiments/${demo()}/traces/${traceId}${query}`;
const rows = (page) => page.locator('table.traces tbody tr[data-trace-id]');
const treeRow = (page, name) => page.locator(`[role="treeitem"][data-span-name="${name}"]`);

/** Steps in the huge trace (`seed.py`: a root, then steps of 99 tools each). */
const hugeSteps = () => Math.floor(((seed.small ? 3_000 : 30_000) - 1) / 100);

pageTest('the Traces tab lists the demo traces with previews, state and feedback', async (page) => {
  await open(page, tracesTab());
  await rows(page).first().waitFor();
  assert.equal(await rows(page).count(), 4);
  const names = await page.locator('table.traces .trace-name').allTextContents();
  assert.deepEqual([...names].sort(), ['add', 'add', 'answer', 'pipeline']);
  const chat = page.locator(`tr[data-trace-id="${chatTrace()}"]`);
  await chat.getByText('What is the capital of France?').waitFor();
  await chat.getByText('Paris is the capital of France.').waitFor();
  await chat.locator('.badge', { hasText: 'correct: true' }).waitFor();
  await chat.locator('.badge.ok', { hasText: 'OK' }).waitFor();
  // Newest first: the huge trace was logged before the others.
  assert.equal(await rows(page).last().getAttribute('data-trace-id'), hugeTrace());
  // Enter on a focused row opens the trace.
  await chat.focus();
  await page.keyboard.press('Enter');
  await page.locator('main h1', { hasText: 'answer' }).waitFor();
  assert.match(page.url(), new RegExp(`/traces/${chatTrace()}`));
});

pageTest('a span filter narrows the list and lives in the URL', async (page) => {
  await open(page, tracesTab());
  await rows(page).nth(3).waitFor();
  await page.keyboard.press('/');
  await page.keyboard.type("span.name = 'retrieve'");
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('table.traces tbody tr').length === 1);
  assert.equal(await rows(page).first().getAttribute('data-trace-id'), chatTrace());
  assert.match(decodeURIComponent(page.url()), /filter=span\.name\+?=\+?'retrieve'|filter=span\.name = 'retrieve'/);
  // Reloading the URL keeps the filter.
  await page.reload();
  await rows(page).first().waitFor();
  assert.equal(await rows(page).count(), 1);
  assert.equal(await page.getByLabel('Filter traces').inputValue(), "span.name = 'retrieve'");
  // Feedback filters work too, and clearing brings every trace back.
  await page.getByLabel('Filter traces').fill("feedback.correct = 'true'");
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('table.traces tbody tr').length === 1);
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.waitForFunction(() => document.querySelectorAll('table.traces tbody tr').length === 4);
});

pageTest(
  'a bad filter shows the server error',
  async (page) => {
    await open(page, tracesTab(`?filter=${encodeURIComponent("span.nam = 'x'")}`));
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'INVALID_PARAMETER_VALUE' }).waitFor();
    assert.match(await alert.textContent(), /span attribute 'nam'/);
    assert.equal(await rows(page).count(), 0);
  },
  { allowErrors: ['400'] },
);

pageTest('traces sort by duration', async (page) => {
  await open(page, tracesTab());
  await rows(page).nth(3).waitFor();
  await page.getByRole('button', { name: 'Duration' }).click();
  await page.waitForFunction((id) => document.querySelector('table.traces tbody tr')?.getAttribute('data-trace-id') === id, hugeTrace());
  assert.equal(await page.locator('th[aria-sort="descending"]').textContent(), 'Duration▼');
  assert.match(page.url(), /sort=duration_asc|sort=duration_desc/);
  await page.getByRole('button', { name: 'Duration' }).click();
  await page.waitForFunction(
    (id) => [...document.querySelectorAll('table.traces tbody tr')].at(-1)?.getAttribute('data-trace-id') === id,
    hugeTrace(),
  );
});

pageTest('an experiment without traces explains how to trace', async (page) => {
  const name = `ui-traces-empty-${Date.now()}`;
  const { experiment_id } = await mlflowApi('POST', 'experiments/create', { name });
  await open(page, `#/experiments/${experiment_id}/traces`);
  await page.locator('.empty', { hasText: 'No traces in this experiment yet' }).waitFor();
  await page.locator('.empty pre', { hasText: '@mlflow.trace' }).waitFor();
});

pageTest('the chat trace shows its tree, timeline, conversation and feedback', async (page) => {
  await open(page, traceHash(chatTrace()));
  await page.locator('main h1', { hasText: 'answer' }).waitFor();
  await page.locator('.trace-facts', { hasText: chatTrace() }).waitFor();
  // The tree: answer → retrieve, chat, expanded by default, each with a timeline bar.
  await treeRow(page, 'chat').waitFor();
  const names = await page.locator('[role="treeitem"]').evaluateAll((els) => els.map((e) => e.dataset.spanName));
  assert.deepEqual(names, ['answer', 'retrieve', 'chat']);
  assert.equal(await treeRow(page, 'answer').getAttribute('aria-expanded'), 'true');
  assert.equal(await treeRow(page, 'retrieve').getAttribute('aria-level'), '2');
  const bar = await treeRow(page, 'retrieve').locator('.span-bar').boundingBox();
  const track = await treeRow(page, 'retrieve').locator('.span-track').boundingBox();
  assert.ok(bar.x > track.x && bar.x + bar.width < track.x + track.width, 'the retrieve bar sits inside the trace, not at its start');
  // The feedback.
  const feedback = page.locator('.trace-assessments [data-assessment="correct"]');
  await feedback.getByText('Paris is right').waitFor();
  assert.equal((await feedback.locator('.value').textContent()).trim(), 'true');
  // The root is selected: its outputs render as an assistant message.
  await page.locator('.span-detail h2', { hasText: 'answer' }).waitFor();
  await page.locator('[data-section="outputs"] .msg[data-role="assistant"]', { hasText: 'Paris' }).waitFor();
  // Selecting "chat" shows the whole conversation.
  await treeRow(page, 'chat').click();
  await page.locator('.span-detail h2', { hasText: 'chat' }).waitFor();
  const inputs = page.locator('[data-section="inputs"]');
  await inputs.locator('.msg[data-role="system"]', { hasText: 'You are a geography tutor.' }).waitFor();
  await inputs.locator('.msg[data-role="user"]', { hasText: 'What is the capital of France?' }).waitFor();
  await page.locator('[data-section="outputs"] .msg[data-role="assistant"]', { hasText: 'Paris is the capital of France.' }).waitFor();
  await page.locator('.span-detail .badge', { hasText: 'CHAT_MODEL' }).waitFor();
  // The raw JSON is one click away.
  await inputs.getByRole('button', { name: 'JSON' }).click();
  await inputs.locator('pre', { hasText: '"role": "system"' }).waitFor();
  // Selecting "retrieve" shows its inputs and outputs.
  await treeRow(page, 'retrieve').click();
  await page.locator('[data-section="inputs"] pre', { hasText: '"q": "What is the capital of France?"' }).waitFor();
  await page.locator('[data-section="outputs"] pre', { hasText: "France's capital is Paris." }).waitFor();
  await page.locator('table.attributes td', { hasText: 'mlflow.spanFunctionName' }).waitFor();
  // Collapsing the root hides its children.
  await treeRow(page, 'answer').locator('.twisty').click();
  await treeRow(page, 'chat').waitFor({ state: 'detached' });
  assert.equal(await treeRow(page, 'answer').getAttribute('aria-expanded'), 'false');
});

pageTest('the span tree works from the keyboard', async (page) => {
  await open(page, traceHash(chatTrace()));
  await treeRow(page, 'chat').waitFor();
  await page.getByRole('tree', { name: 'Spans' }).focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('.span-detail h2', { hasText: 'retrieve' }).waitFor();
  assert.equal(await treeRow(page, 'retrieve').getAttribute('aria-selected'), 'true');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('.span-detail h2', { hasText: 'chat' }).waitFor();
  // Left on a leaf goes to its parent, Left again collapses it, Right expands it.
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await treeRow(page, 'chat').waitFor({ state: 'detached' });
  await page.keyboard.press('ArrowRight');
  await treeRow(page, 'chat').waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.span-detail h2', { hasText: 'answer' }).waitFor();
});

pageTest('a deep link opens a trace with its selected span', async (page) => {
  await open(page, traceHash(chatTrace()));
  await treeRow(page, 'chat').click();
  await page.locator('.span-detail h2', { hasText: 'chat' }).waitFor();
  const link = page.url();
  assert.match(link, /[?&]span=[0-9a-f]{16}/);
  const fresh = await page.context().newPage();
  await fresh.goto(link);
  await fresh.locator('main h1', { hasText: 'answer' }).waitFor();
  await fresh.locator('.span-detail h2', { hasText: 'chat' }).waitFor();
  await fresh.locator('[data-section="inputs"] .msg[data-role="system"]').waitFor();
  assert.equal(await treeRow(fresh, 'chat').getAttribute('aria-selected'), 'true');
  // The breadcrumb goes back to the list.
  await fresh.locator('.breadcrumbs a', { hasText: 'Traces' }).click();
  await fresh.locator('table.traces tbody tr').first().waitFor();
  await fresh.close();
});

pageTest('the 30,000-span trace opens lazily, stays virtual, and loads spans on demand', async (page) => {
  const began = Date.now();
  await page.goto(url(traceHash(hugeTrace())));
  await treeRow(page, 'pipeline').waitFor();
  const elapsed = Date.now() - began;
  recordTiming('30,000-span trace: first tree rows, wall time from goto', elapsed);
  const domRows = () => page.locator('[role="treeitem"]').count();
  assert.ok((await domRows()) < 200, `${await domRows()} tree rows in the DOM`);
  assert.ok((await domRows()) > 10);
  await page.locator('.tree-toolbar', { hasText: `${(seed.small ? 3_000 : 30_000).toLocaleString('en-US')} spans` }).waitFor();
  // The last step starts last and is collapsed by default; End reaches it.
  const last = `step-${hugeSteps() - 1}`;
  await page.getByRole('tree', { name: 'Spans' }).focus();
  await page.keyboard.press('End');
  const lastRow = treeRow(page, last);
  await lastRow.waitFor();
  assert.equal(await lastRow.getAttribute('aria-expanded'), 'false');
  await lastRow.locator('.twisty').click();
  await treeRow(page, `tool-${hugeSteps() - 1}-0`).waitFor();
  assert.equal(await lastRow.getAttribute('aria-expanded'), 'true');
  assert.ok((await domRows()) < 200);
  // Selecting a span loads its content through the single-span route.
  const spanRequest = page.waitForRequest((r) => /\/traces\/tr-[0-9a-f]+\/spans\/[0-9a-f]{16}$/.test(r.url()));
  await treeRow(page, `tool-${hugeSteps() - 1}-3`).click();
  await spanRequest;
  await page.locator('[data-section="inputs"] pre', { hasText: `"name": "tool-${hugeSteps() - 1}-3"` }).waitFor();
  await page.locator('.span-detail .badge', { hasText: 'TOOL' }).waitFor();
  // Finding a span by name opens its collapsed ancestors and selects it.
  const hidden = `tool-${hugeSteps() - 2}-7`;
  assert.equal(await treeRow(page, hidden).count(), 0);
  await page.keyboard.press('/');
  await page.keyboard.type(hidden);
  await page.keyboard.press('Enter');
  await page.locator('.span-detail h2', { hasText: hidden }).waitFor();
  assert.equal(await treeRow(page, hidden).getAttribute('aria-selected'), 'true');
  assert.equal(await treeRow(page, `step-${hugeSteps() - 2}`).getAttribute('aria-expanded'), 'true');
  assert.ok((await domRows()) < 200);
});

pageTest(
  'an unknown trace shows the server error',
  async (page) => {
    await open(page, traceHash('tr-00000000000000000000000000000000'));
    await page.getByRole('alert').filter({ hasText: 'RESOURCE_DOES_NOT_EXIST' }).waitFor();
    await page.locator('.breadcrumbs a', { hasText: 'Traces' }).waitFor();
  },
  { allowErrors: ['404'] },
);
