// The audit log page against its own keel (sign-in required, a checkpoint signed every second):
// an administrator filters the entries by action, resource, outcome and time, the filters
// surviving a reload; an entry's inclusion proof is checked in the browser, and a tampered
// entry, proof, checkpoint or key is refused with the reason, an entry appended after the
// served checkpoint is "not yet" until a newer one; History links open the audit page filtered
// to a run, an experiment, a model and a version; someone else gets the permission message.
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { after, before } from 'node:test';
import { pageTest } from './harness.mjs';
import { startKeel } from './keel.mjs';

const ADMIN = { username: 'ada', password: 'ada-password-12' };
const USER = { username: 'cy', password: 'cy-password-1234' };
const MODEL = 'audited-model';
let keel;
/** What the workload made: `{ experiment, run, version }`. */
const made = {};

const basic = (u) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;

/** Calls keel's API as `user`; answers the status and the body (JSON, or text). */
async function call(method, path, body, user = ADMIN) {
  const response = await fetch(`${keel.url}${path}`, {
    method,
    headers: { Authorization: basic(user), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a text answer (the checkpoint, the key)
  }
  return { status: response.status, body: parsed };
}

async function post(path, body) {
  const { status, body: out } = await call('POST', `/api/2.0/mlflow/${path}`, body);
  assert.equal(status, 200, `${path}: ${JSON.stringify(out)}`);
  return out;
}

const audit = async (path) => (await call('GET', `/api/3.0/keel/audit/${path}`)).body;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until every entry so far is sequenced and under a signed checkpoint; answers its size. */
async function settled() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const newest = (await audit('search?max_results=1')).entries[0];
    const size = Number((await audit('checkpoint')).split('\n')[1]);
    if (newest?.leaf_index !== undefined && size > newest.leaf_index) return size;
    await sleep(200);
  }
  throw new Error('no checkpoint covered the log within 30 s');
}

before(async () => {
  keel = await startKeel({
    args: ['--auth-mode', 'required', '--audit-checkpoint-interval-seconds', '1'],
    env: { KEEL_ADMIN_USERNAME: ADMIN.username, KEEL_ADMIN_PASSWORD: ADMIN.password },
  });
  // First the experiment and its run, under a checkpoint; then more, under a later one.
  made.experiment = (await post('experiments/create', { name: 'audited' })).experiment_id;
  made.run = (await post('runs/create', { experiment_id: made.experiment, run_name: 'audited-run' })).run.info.run_id;
  await post('runs/log-parameter', { run_id: made.run, key: 'lr', value: '0.01' });
  await post('users/create', USER);
  await settled();
  await post('runs/set-tag', { run_id: made.run, key: 'team', value: 'risk' });
  await post('registered-models/create', { name: MODEL });
  made.version = (await post('model-versions/create', { name: MODEL, source: `runs:/${made.run}/model`, run_id: made.run })).model_version.version;
  // (A version's creation is recorded on its model; its changes on the version.)
  await post('model-versions/set-tag', { name: MODEL, version: made.version, key: 'validated', value: 'yes' });
  // A denied write, by someone who is not an administrator.
  assert.equal((await call('POST', '/api/2.0/mlflow/users/create', { username: 'eve', password: 'eve-password-1234' }, USER)).status, 403);
  await settled();
});
after(() => keel?.stop());

// Sign-in probes answer 401; the non-administrator's calls answer 403.
const expected = { allowErrors: ['401', '403'] };

async function signIn(page, hash, user = ADMIN) {
  await page.goto(`${keel.url}/${hash}`);
  const form = page.locator('form.login-card');
  await form.getByLabel('Username').fill(user.username);
  await form.getByLabel('Password').fill(user.password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

const filters = (page) => page.getByRole('search', { name: 'Filter audit entries' });
/** A filter field by its exact label ("To" is also in "Actor"). */
const field = (page, label) => filters(page).getByLabel(label, { exact: true });
const rows = (page) => page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr');

/** Applies the filters and waits for the search they ask for to answer. */
async function apply(page) {
  const searched = page.waitForResponse((r) => r.url().includes('/audit/search') && r.ok());
  await filters(page).getByRole('button', { name: 'Apply' }).click();
  await searched;
  await page.waitForFunction(() => document.querySelector('table[aria-label="Audit entries"]')?.getAttribute('aria-busy') !== 'true' || document.querySelector('.empty'));
}

const actions = (page) => rows(page).evaluateAll((trs) => trs.map((tr) => tr.dataset.action));
const hashQuery = (page) => new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '');

pageTest(
  'an administrator filters the audit log by action, resource, outcome and time',
  async (page) => {
    await signIn(page, '#/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.locator('main h1', { hasText: 'Audit log' }).waitFor();
    await rows(page).first().waitFor();
    const all = await actions(page);
    assert.ok(all.includes('runs.create') && all.includes('registered_models.create'), all.join());

    // By action: only that action, and the filter in the URL.
    await field(page, 'Action').fill('runs.update');
    await apply(page);
    const updates = await actions(page);
    assert.ok(updates.length >= 2, `${updates.length} runs.update entries`);
    assert.ok(updates.every((a) => a === 'runs.update'), updates.join());
    assert.equal(hashQuery(page).get('action'), 'runs.update');

    // By resource: the run's entries, from its creation on, newest first.
    await field(page, 'Action').fill('');
    await field(page, 'Resource kind').selectOption('Run');
    await field(page, 'Resource ID').fill(made.run);
    await apply(page);
    const history = await actions(page);
    assert.equal(history.at(-1), 'runs.create', history.join());
    assert.ok(history.filter((a) => a === 'runs.update').length >= 2, history.join());
    const leaves = await rows(page).evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.leaf)));
    assert.deepEqual(leaves, [...leaves].sort((a, b) => b - a), 'newest first');

    // The link reproduces the view: after a reload, the same filters and entries.
    await page.reload();
    await rows(page).first().waitFor();
    assert.equal(await field(page, 'Resource ID').inputValue(), made.run);
    assert.equal(await field(page, 'Resource kind').inputValue(), 'Run');
    assert.deepEqual(await actions(page), history);

    // By outcome: the denied write of the other user.
    await filters(page).getByRole('button', { name: 'Clear' }).click();
    await field(page, 'Outcome').selectOption('denied');
    await apply(page);
    const denied = rows(page).filter({ hasText: 'accounts.create' });
    await denied.first().waitFor();
    assert.match(await denied.first().textContent(), /cy.*denied/s);

    // By time: nothing before 2001, everything since.
    await field(page, 'Outcome').selectOption('');
    await field(page, 'To').fill('2001-01-01T00:00');
    await apply(page);
    await page.getByText('No entry matches these filters').waitFor();
    assert.match(hashQuery(page).get('to'), /^2001-01-01T|^2000-12-31T/);
    await field(page, 'To').fill('');
    await field(page, 'From').fill('2001-01-01T00:00');
    await apply(page);
    await rows(page).first().waitFor();
    assert.ok((await rows(page).count()) >= all.length);
  },
  expected,
);

/** The entry page of the run's creation, opened from the audit page; answers its leaf index. */
async function openCreation(page) {
  await signIn(page, `#/audit?kind=Run&id=${made.run}&action=runs.create`);
  // The row opens the entry (its action cell is not a link).
  await rows(page).locator('td', { hasText: 'runs.create' }).click();
  await page.locator('main h1', { hasText: 'Audit entry' }).waitFor();
  return Number(new URL(page.url()).hash.split('/').pop());
}

const inclusion = (page) => page.getByTestId('inclusion');

async function waitForStatus(page, status) {
  try {
    await page.locator(`[data-testid="inclusion"][data-status="${status}"]`).waitFor({ timeout: 15_000 });
  } catch {
    throw new Error(`the proof is not ${status}: ${await inclusion(page).getAttribute('data-status')}: ${await inclusion(page).textContent()}`);
  }
}

pageTest(
  "an entry's inclusion proof is verified in the browser against the signed checkpoint",
  async (page) => {
    const index = await openCreation(page);
    const json = await page.getByTestId('leaf-json').textContent();
    assert.match(json, /^\{"action":"runs\.create","actor":\{"id":"[^"]+","kind":"user","name":"ada"\}/);
    assert.ok(json.includes(`"resource":{"id":"${made.run}","kind":"Run"}`), json);
    await waitForStatus(page, 'verified');
    // The root shown is one the log signed, and the leaf is the entry's exact bytes.
    const text = await inclusion(page).textContent();
    const [, size, root] = text.match(/Verified: included in the signed checkpoint of (\d+) entries \(root ([A-Za-z0-9+/=]{44})\)/) ?? [];
    assert.ok(size, text);
    assert.ok(Number(size) > index);
    const { checkpoints } = await audit(`checkpoints?from_size=${size}&max_results=1`);
    assert.equal(checkpoints[0].tree_size, Number(size));
    assert.equal(checkpoints[0].root_hash, root);
    const [entry] = (await audit(`entries?start=${index}&max_results=1`)).entries;
    assert.equal(Buffer.from(entry.leaf, 'base64').toString('utf8'), json);
    assert.equal((await page.getByRole('region', { name: 'Entry' }).textContent()).includes('runs.create'), true);
  },
  expected,
);

/** Serves `url`'s answer changed by `change(text)`. */
const tamper = (page, pattern, change) =>
  page.route(pattern, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: change(await response.text()) });
  });

/** A verifier key of the log's name for a key the log never used. */
async function impostorKey(vkey) {
  const name = vkey.split('+')[0];
  const pair = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pub = Buffer.from(await webcrypto.subtle.exportKey('raw', pair.publicKey));
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([1]), pub])).digest().subarray(0, 4);
  return `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([1]), pub]).toString('base64')}\n`;
}

async function expectRefused(page, reason, text) {
  await waitForStatus(page, 'failed');
  const alert = inclusion(page).getByRole('alert');
  assert.equal(await alert.getAttribute('data-reason'), reason, await alert.textContent());
  assert.ok((await alert.textContent()).includes(text), await alert.textContent());
}

pageTest(
  'a tampered entry, proof, checkpoint or key is refused with the reason',
  async (page) => {
    await openCreation(page);
    await waitForStatus(page, 'verified');

    // One byte of the entry changed (the page shows what it checks).
    await tamper(page, '**/audit/entries?**', (body) => {
      const out = JSON.parse(body);
      const leaf = Buffer.from(out.entries[0].leaf, 'base64').toString('utf8').replace('"outcome":"success"', '"outcome":"failure"');
      out.entries[0].leaf = Buffer.from(leaf).toString('base64');
      return JSON.stringify(out);
    });
    await page.reload();
    await expectRefused(page, 'root-mismatch', 'Not verified: root mismatch.');
    assert.ok((await page.getByTestId('leaf-json').textContent()).includes('"outcome":"failure"'));
    await page.unrouteAll();

    // One hash of the proof changed.
    await tamper(page, '**/audit/proofs/inclusion?**', (body) => {
      const out = JSON.parse(body);
      assert.ok(out.hashes.length > 0, 'a proof with hashes');
      const h = Buffer.from(out.hashes[0], 'base64');
      h[0] ^= 1;
      out.hashes[0] = h.toString('base64');
      return JSON.stringify(out);
    });
    await page.reload();
    await expectRefused(page, 'root-mismatch', 'the entry or the proof is not what the log signed');
    await page.unrouteAll();

    // The checkpoint claims another size: its signature no longer verifies.
    await tamper(page, '**/audit/checkpoint', (note) => {
      const lines = note.split('\n');
      lines[1] = String(Number(lines[1]) + 1);
      return lines.join('\n');
    });
    await page.reload();
    await expectRefused(page, 'bad-signature', 'Not verified: bad signature.');
    await page.unrouteAll();

    // Another key of the log's name: the checkpoint carries no signature of it.
    const impostor = await impostorKey(await audit('key'));
    await page.route('**/audit/key', (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: impostor }));
    await page.reload();
    await expectRefused(page, 'unsigned', 'Not verified: not signed by the log key.');
    await page.unrouteAll();

    // Back to the server's own evidence.
    await page.reload();
    await waitForStatus(page, 'verified');
  },
  expected,
);

pageTest(
  'an entry appended after the checkpoint is not yet proven, and is once a newer one covers it',
  async (page) => {
    const { checkpoints } = await audit('checkpoints?max_results=1');
    const first = checkpoints[0];
    const newest = (await audit(`search?resource_kind=ModelVersion&max_results=1`)).entries[0];
    assert.ok(newest.leaf_index >= first.tree_size, `entry ${newest.leaf_index} is after the first checkpoint (${first.tree_size})`);
    // The server answers its first (older, validly signed) checkpoint as the latest.
    await page.route('**/audit/checkpoint', (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: first.note }));
    await signIn(page, `#/audit/entries/${newest.leaf_index}`);
    await waitForStatus(page, 'not-yet');
    const text = await inclusion(page).textContent();
    assert.ok(text.includes('Not in a signed checkpoint yet.') && text.includes(`covers ${first.tree_size} entr`), text);
    await page.unrouteAll();
    await inclusion(page).getByRole('button', { name: 'Check again' }).click();
    await waitForStatus(page, 'verified');
  },
  expected,
);

pageTest(
  'History links open the audit page filtered to the run, experiment, model and version',
  async (page) => {
    const history = async (kind, id, action) => {
      await page.locator('main').getByRole('link', { name: 'History' }).click();
      await page.locator('main h1', { hasText: 'Audit log' }).waitFor();
      assert.equal(hashQuery(page).get('kind'), kind);
      assert.equal(hashQuery(page).get('id'), id);
      assert.equal(await field(page, 'Resource ID').inputValue(), id);
      await rows(page).filter({ hasText: action }).first().waitFor();
      const shown = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.textContent));
      assert.ok(shown.every((t) => t.includes(id)), shown.join('\n'));
    };
    await signIn(page, `#/experiments/${made.experiment}/runs/${made.run}`);
    await page.locator('main h1', { hasText: 'audited-run' }).waitFor();
    await history('Run', made.run, 'runs.create');

    await page.goto(`${keel.url}/#/experiments/${made.experiment}`);
    await page.locator('main h1', { hasText: 'audited' }).waitFor();
    await history('Experiment', made.experiment, 'experiments.create');

    await page.goto(`${keel.url}/#/models/${MODEL}`);
    await page.locator('main h1', { hasText: MODEL }).waitFor();
    await history('RegisteredModel', MODEL, 'registered_models.create');

    await page.goto(`${keel.url}/#/models/${MODEL}/versions/${made.version}`);
    await page.locator('main h1', { hasText: MODEL }).waitFor();
    await history('ModelVersion', `${MODEL}/${made.version}`, 'model_versions.update');
  },
  expected,
);

pageTest(
  'a user who is not an administrator gets the permission message, and no audit links',
  async (page) => {
    const denied = page.waitForResponse((r) => r.url().includes('/audit/search') && r.status() === 403);
    await signIn(page, '#/audit', USER);
    await denied;
    await page.getByText('Administrators only').waitFor();
    await page.getByText('The audit log is for administrators').waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).count(), 0);
    assert.equal(await filters(page).count(), 0, 'no filters to fill');

    await page.goto(`${keel.url}/#/audit/entries/0`);
    await page.locator('main h1', { hasText: 'Audit entry #0' }).waitFor();
    await page.getByText('Administrators only').waitFor();
  },
  expected,
);
