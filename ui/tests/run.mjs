// Runs the browser tests: starts keel ($KEEL_BIN) on a free port with a fresh SQLite data dir,
// seeds it with the official mlflow client (tests/seed.py, from the repository's .venv), runs
// every tests/*.test.mjs with node's test runner, and stops keel.
//
// For developing pages: KEEL_URL=<a running, seeded keel> SEED_JSON=<seed output file> skips the
// start and the seed; UI_URL points the browser elsewhere (e.g. `vite preview`'s
// http://127.0.0.1:4173/static-files/). Extra arguments go to `node --test` (e.g. a file name).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitHealthy } from './keel.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const python = process.env.SEED_PYTHON ?? join(repo, '.venv/bin/python');

let keel;
let dataDir;
let keelUrl = process.env.KEEL_URL;
const logFile = join(tmpdir(), `keel-ui-tests-${process.pid}.log`);

async function startKeel() {
  const bin = process.env.KEEL_BIN ?? join(repo, 'target/release/keel');
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'keel-ui-'));
  keelUrl = `http://127.0.0.1:${port}`;
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'w');
  keel = spawn(bin, ['server', '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', out, out] });
  await waitHealthy(keelUrl, keel);
  console.log(`keel ${bin} on ${keelUrl} (log: ${logFile})`);
}

function stopKeel() {
  if (keel && keel.exitCode === null) keel.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

let code = 1;
rmSync(join(here, '..', 'test-results'), { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopKeel();
    process.exit(130);
  });
}
try {
  if (!keelUrl) await startKeel();
  let seedFile = process.env.SEED_JSON;
  if (!seedFile) {
    const began = Date.now();
    const seeded = spawnSync(python, [join(here, 'seed.py')], {
      env: { ...process.env, MLFLOW_TRACKING_URI: keelUrl },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 * 1024 * 1024,
    });
    if (seeded.status !== 0) throw new Error(`seeding failed (exit ${seeded.status})`);
    seedFile = join(tmpdir(), `keel-ui-seed-${process.pid}.json`);
    writeFileSync(seedFile, seeded.stdout.trim().split('\n').pop());
    console.log(`seeded in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  }
  JSON.parse(readFileSync(seedFile, 'utf8'));
  const files = process.argv.slice(2).length
    ? process.argv.slice(2)
    : readdirSync(here)
        .filter((f) => f.endsWith('.test.mjs'))
        .sort()
        .map((f) => join(here, f));
  const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
    env: { ...process.env, KEEL_URL: keelUrl, UI_URL: process.env.UI_URL ?? `${keelUrl}/`, SEED_JSON: seedFile, KEEL_LOG: logFile },
    stdio: 'inherit',
  });
  code = result.status ?? 1;
} catch (err) {
  console.error(`browser tests: ${err.message}`);
  code = 1;
} finally {
  stopKeel();
}
process.exit(code);
