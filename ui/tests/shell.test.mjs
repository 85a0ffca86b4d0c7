// The application shell: header navigation, keyboard shortcuts, themes, history and deep links.
import assert from 'node:assert/strict';
import { open, pageTest, url } from './harness.mjs';

const background = (page) => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());

pageTest('the header navigates between sections and marks the current one', async (page) => {
  await open(page, '#/');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Models' }).click();
  await page.waitForURL(/#\/models$/);
  assert.equal(await nav.locator('[aria-current=page]').textContent(), 'Models');
  await nav.getByRole('link', { name: 'Prompts' }).click();
  await page.waitForURL(/#\/prompts$/);
  await nav.getByRole('link', { name: 'Experiments' }).click();
  await page.locator('main h1', { hasText: 'Experiments' }).waitFor();
  const docs = page.getByRole('link', { name: 'API docs' });
  assert.equal(await docs.getAttribute('target'), '_blank');
});

pageTest('back and forward restore earlier pages', async (page) => {
  await open(page, '#/');
  await page.locator('tr[data-experiment="demo"] a').click();
  await page.locator('main h1', { hasText: 'demo' }).waitFor();
  await page.goBack();
  await page.locator('main h1', { hasText: 'Experiments' }).waitFor();
  await page.goForward();
  await page.locator('main h1', { hasText: 'demo' }).waitFor();
});

pageTest('keyboard: Tab reaches the search box, / focuses it, Escape leaves it', async (page) => {
  await open(page, '#/');
  const search = page.locator('[data-search]');
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await search.evaluate((el) => el === document.activeElement);
  }
  assert.ok(reached, 'Tab never reached the search box');
  await page.keyboard.press('Escape');
  assert.equal(await search.evaluate((el) => el === document.activeElement), false);
  await page.keyboard.press('/');
  assert.equal(await search.evaluate((el) => el === document.activeElement), true);
});

pageTest('dark mode follows the system and the toggle persists across a reload', async (page) => {
  await open(page, '#/');
  const light = await background(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background(page);
  assert.notEqual(dark, light, 'the system dark scheme did not change --bg');
  // system → light → dark: the explicit dark choice survives a reload under a light system scheme.
  await page.emulateMedia({ colorScheme: 'light' });
  const toggle = page.locator('.theme-toggle');
  await toggle.click();
  await toggle.click();
  assert.equal(await toggle.textContent(), 'Theme: dark');
  assert.equal(await background(page), dark);
  await page.reload();
  await page.locator('main h1').first().waitFor();
  assert.equal(await background(page), dark);
  assert.equal(await page.locator('.theme-toggle').textContent(), 'Theme: dark');
});

pageTest('a deep link opens directly in a fresh page', async (page) => {
  await page.goto(url('#/experiments?q=big'));
  await page.locator('tr[data-experiment="big"]').waitFor();
  assert.equal(await page.locator('tr[data-experiment]').count(), 1);
  assert.equal(await page.locator('[data-search]').inputValue(), 'big');
});
