// The prompt pages: the prompts list, a prompt's versions and aliases, its template (text and chat)
// and the line diff between two versions.
import assert from 'node:assert/strict';
import { expectTitle, mlflowApi, open, pageTest, seed } from './harness.mjs';

const prompt = seed.registry.prompt;

pageTest('the prompts list shows the prompt but no models', async (page) => {
  await open(page, '#/prompts');
  await expectTitle(page, 'Prompts · Keel');
  const row = page.locator(`tr[data-name="${prompt}"]`);
  await row.waitFor();
  await row.getByRole('link', { name: 'Version 2' }).waitFor();
  await row.getByText('second', { exact: true }).waitFor();
  await row.locator('[data-alias="production"]').waitFor();
  assert.equal(await page.locator(`tr[data-name="${seed.registry.model}"]`).count(), 0);
  await page.getByRole('searchbox', { name: 'Search prompts' }).fill('nothing-like-this');
  await page.getByText('No prompts match “nothing-like-this”').waitFor();
});

pageTest('the prompt page shows both versions, the alias and the template', async (page) => {
  await open(page, `#/prompts/${prompt}`);
  await expectTitle(page, `${prompt} · Prompts · Keel`);
  const versions = page.getByRole('navigation', { name: 'Versions' });
  await versions.locator('[data-version="1"]', { hasText: 'first' }).waitFor();
  await versions.locator('[data-version="2"]', { hasText: 'second' }).waitFor();
  assert.equal(await versions.locator('[aria-current="true"]').getAttribute('data-version'), '2');
  await versions.locator('[data-version="2"] [data-alias="production"]').waitFor();
  await page.locator('.page-header [data-alias="production"]', { hasText: '@production → v2' }).waitFor();

  const template = page.getByLabel('Template', { exact: true });
  assert.equal(
    await template.textContent(),
    'Answer the question: {{question}}\nBe brief and cite sources.\nUse English.',
  );
  assert.equal(await template.locator('mark.template-var').textContent(), '{{question}}');

  await versions.locator('[data-version="1"]').click();
  await page.getByRole('article', { name: 'Version 1' }).waitFor();
  assert.equal(await page.getByLabel('Template', { exact: true }).textContent(), 'Answer the question: {{question}}\nBe brief.');
  assert.match(page.url(), /v=1/);
});

pageTest('the diff between v1 and v2 marks added and removed lines', async (page) => {
  await open(page, `#/prompts/${prompt}`);
  await page.getByLabel('Compare with').selectOption('1');
  const diff = page.getByRole('region', { name: 'Changes from version 1 to version 2' });
  await diff.waitFor();
  assert.match(page.url(), /compare=1/);
  const lines = await diff.locator('.diff-line').evaluateAll((els) =>
    els.map((el) => [el.classList[1], el.querySelector('.diff-mark').textContent, el.lastElementChild.textContent]),
  );
  assert.deepEqual(lines, [
    ['same', ' ', 'Answer the question: {{question}}'],
    ['removed', '-', 'Be brief.'],
    ['added', '+', 'Be brief and cite sources.'],
    ['added', '+', 'Use English.'],
  ]);
  // Not colour alone: each changed line says what happened, for screen readers too.
  assert.equal(await diff.locator('.diff-line.removed .sr-only').textContent(), 'removed: ');
  await diff.locator('del', { hasText: 'Be brief.' }).waitFor();
  await diff.locator('ins', { hasText: 'cite sources' }).waitFor();
  await diff.locator('ins', { hasText: 'Use English' }).waitFor();
  await diff.getByText('2 lines added').waitFor();
  await diff.getByText('1 line removed').waitFor();

  // The same diff from a deep link that selects the older version first.
  await open(page, `#/prompts/${prompt}?v=1&compare=2`);
  const again = page.getByRole('region', { name: 'Changes from version 1 to version 2' });
  await again.locator('.diff-line.added', { hasText: 'Use English.' }).waitFor();
  await page.getByLabel('Compare with').selectOption('');
  await page.getByLabel('Template', { exact: true }).waitFor();
  assert.doesNotMatch(page.url(), /compare=/);
});

pageTest('a chat prompt shows its messages', async (page) => {
  const name = `ui-chat-prompt-${Date.now()}`;
  const isPrompt = { key: 'mlflow.prompt.is_prompt', value: 'true' };
  const messages = [
    { role: 'system', content: 'You are a helpful {{style}} assistant.' },
    { role: 'user', content: 'Tell me about {{topic}}.' },
  ];
  await mlflowApi('POST', 'registered-models/create', { name, tags: [isPrompt] });
  try {
    await mlflowApi('POST', 'model-versions/create', {
      name,
      source: 'dummy-source',
      description: 'chat version',
      tags: [
        isPrompt,
        { key: 'mlflow.prompt.text', value: JSON.stringify(messages) },
        { key: '_mlflow_prompt_type', value: 'chat' },
        { key: '_mlflow_prompt_model_config', value: JSON.stringify({ temperature: 0.2 }) },
      ],
    });
    await open(page, `#/prompts/${name}`);
    const list = page.getByRole('list', { name: 'Template messages' });
    await list.waitFor();
    const shown = await list.locator('li').evaluateAll((els) =>
      els.map((el) => [el.querySelector('.chat-role').textContent, el.querySelector('.chat-content').textContent]),
    );
    assert.deepEqual(
      shown,
      messages.map((m) => [m.role, m.content]),
    );
    await page.getByText('Chat prompt').waitFor();
    await page.locator('pre', { hasText: '"temperature": 0.2' }).waitFor();
    assert.equal(await page.locator('.empty').count(), 0);
  } finally {
    await mlflowApi('DELETE', 'registered-models/delete', { name }).catch(() => {});
  }
});

pageTest('the prompt diff in dark mode', async (page) => {
  await open(page, `#/prompts/${prompt}?compare=1`);
  const added = page.locator('.diff-line.added').first();
  await added.waitFor();
  const [bg, fg] = await added.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(document.body).color]);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)');
  assert.equal(fg, 'rgb(230, 237, 243)');
}, { colorScheme: 'dark' });
