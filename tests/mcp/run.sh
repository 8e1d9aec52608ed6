#!/usr/bin/env bash
# The MCP black-box tests: the official TypeScript SDK client (@modelcontextprotocol/sdk,
# pinned in package-lock.json) against a real `tock serve` and `tock mcp` that the
# tests start themselves. Expects TOCK_BIN (default build-asan/tock); builds nothing.
# Installs the SDK with `npm ci` on first use (network to the npm registry).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export TOCK_BIN=${TOCK_BIN:-$root/build-asan/tock}
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "mcp tests: node and npm are needed (scripts/deps.sh test installs them)" >&2; exit 1; }
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >&2
fi
cd "$here"
if [ $# -gt 0 ]; then files=("$@"); else files=(./*.test.mjs); fi
exec node --test --test-concurrency=1 "${files[@]}"
