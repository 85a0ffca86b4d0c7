// Shared by the browser tests: one Chromium per test file, a fresh context per test, and a
// `pageTest` that fails on any console error, page error or failed request and saves a
// screenshot, the page's HTML and keel's log tail under ui/test-results/ when a test fails.
import { after, before, test } from 'node:test';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const results = join(here, '..', 'test-results');
export const seed = JSON.parse(readFileSync(process.env.SEED_JSON, 'utf8'));
export const keelUrl = process.env.KEEL_URL;
const uiUrl = process.env.UI_URL ?? `${keelUrl}/`;

/** The UI URL of a hash route: `url('#/experiments/1')`. */
export const url = (hash = '#/') => `${uiUrl}${hash}`;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
});
after(async () => {
  await browser?.close();
});

const slug = (name) => name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

/**
 * A test with a fresh page. `fn(page, ctx)` drives it; problems the page reported fail the test
 * even when `fn` passed. `options.allowErrors` lists substrings of expected console errors (for
 * tests that provoke an API error on purpose).
 */
export function pageTest(name, fn, options = {}) {
  test(name, { timeout: options.timeout ?? 60_000 }, async (t) => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: options.colorScheme ?? 'light' });
    const page = await context.newPage();
    const problems = [];
    const allowed = (text) => (options.allowErrors ?? []).some((s) => text.includes(s));
    page.on('console', (msg) => {
      if (msg.type() !== 'error' || allowed(msg.text())) return;
      const where = msg.location()?.url;
      problems.push(`console error: ${msg.text()}${where ? ` (${where})` : ''}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => {
      const failure = req.failure()?.errorText ?? '';
      // Navigations and fetches the page itself aborted (a newer request replaced them) are fine.
      if (failure.includes('ERR_ABORTED')) return;
      problems.push(`request failed: ${req.url()} ${failure}`);
    });
    try {
      await fn(page, t);
      if (problems.length) throw new Error(problems.join('\n'));
    } catch (err) {
      mkdirSync(results, { recursive: true });
      const base = join(results, slug(name));
      await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
      writeFileSync(`${base}.html`, await page.content().catch(() => ''));
      let log = '';
      try {
        log = readFileSync(process.env.KEEL_LOG ?? '', 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        // no log when testing against an external keel
      }
      writeFileSync(`${base}.log`, `${problems.join('\n')}\n\n--- keel log tail ---\n${log}`);
      console.error(`saved ${base}.png, .html and .log`);
      throw err;
    } finally {
      await context.close();
    }
  });
}

/** Opens a hash route and waits for the page's h1. */
export async function open(page, hash) {
  await page.goto(url(hash));
  await page.locator('main h1').first().waitFor();
}

/**
 * Calls keel's REST API directly (`/api/2.0/mlflow/<path>`), for tests that prepare or check data
 * around what the page does; a non-2xx answer throws with the server's message.
 */
export async function mlflowApi(method, path, body) {
  const response = await fetch(`${keelUrl}/api/2.0/mlflow/${path}`, {
    method,
    headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

/** Waits until the document's title is `title` (pages set it once their data names them). */
export async function expectTitle(page, title) {
  try {
    await page.waitForFunction((t) => document.title === t, title, { timeout: 5_000 });
  } catch {
    throw new Error(`title is ${JSON.stringify(await page.title())}, expected ${JSON.stringify(title)}`);
  }
}

/** The ID of the seeded experiment named `name`. */
export const experimentId = (name) => seed[name].experiment_id;

/**
 * Records how long something took (the issue's speed goals: 10,000 runs, a 1,000,000-point chart,
 * a 30,000-span trace). Tests never assert on time (a busy CI machine is not a benchmark); the
 * figures go to ui/test-results/timings.jsonl and the log, and `bench/run.sh ui` reports them.
 */
export function recordTiming(name, ms) {
  mkdirSync(results, { recursive: true });
  appendFileSync(join(results, 'timings.jsonl'), `${JSON.stringify({ name, ms: Math.round(ms) })}\n`);
  console.log(`timing: ${name}: ${Math.round(ms)} ms`);
}
