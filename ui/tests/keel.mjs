// Starting a keel process for the browser tests: a free loopback port and a wait for /health.
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

export async function waitHealthy(url, child, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`keel exited early with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`keel did not become healthy at ${url} within ${seconds}s`);
}

/**
 * Starts `keel server` ($KEEL_BIN) on a free port with a fresh data dir, `args` and `env`
 * added, under `staticPrefix` when given (`--static-prefix`: `url` then ends with it); resolves
 * to `{ url, stop }` once it is healthy.
 */
export async function startKeel({ args = [], env = {}, staticPrefix = '' } = {}) {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, openSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { dirname, join, resolve } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const bin = process.env.KEEL_BIN ?? join(repo, 'target/release/keel');
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-ui-'));
  const log = join(dataDir, 'keel.log');
  const out = openSync(log, 'w');
  const prefixArgs = staticPrefix ? ['--static-prefix', staticPrefix] : [];
  const child = spawn(bin, ['server', '--port', String(port), '--data-dir', dataDir, ...prefixArgs, ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  const url = `http://127.0.0.1:${port}${staticPrefix}`;
  await waitHealthy(url, child);
  return {
    url,
    log,
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
