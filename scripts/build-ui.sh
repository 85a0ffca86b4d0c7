#!/usr/bin/env bash
# Builds Keel's web UI into ui/dist, which `cargo build --release` embeds in the keel binary.
# Needs node >= 20.19 and npm >= 11 (Vite 8). Installs ui/node_modules with `npm ci` only when
# ui/package-lock.json changed since the last install. Runs from any cwd.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UI="$REPO/ui"

fail() {
    echo "error: $*" >&2
    exit 1
}

command -v node >/dev/null || fail "node is not installed; the web UI needs node >= 20.19 (https://nodejs.org)"
command -v npm >/dev/null || fail "npm is not installed; the web UI needs npm >= 11"
node -e '
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`error: node ${process.versions.node} is too old for Vite 8; install node >= 20.19`);
  process.exit(1);
}' || exit 1
NPM_MAJOR="$(npm --version 2>/dev/null | cut -d. -f1)"
[ "${NPM_MAJOR:-0}" -ge 11 ] || fail "npm $(npm --version 2>/dev/null) is too old; run: npm install -g npm@11"

cd "$UI"
STAMP="node_modules/.keel-lock.sha256"
WANT="$( { sha256sum package-lock.json; node --version; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$WANT" >"$STAMP"
else
    echo "ui/node_modules is up to date"
fi
npm run --silent build
