#!/bin/sh
# Installs a test's pinned npm packages (package-lock.json: the OpenTelemetry JavaScript SDK for
# tests/interop and tests/own_service) into the build directory, never the source tree: copies
# package.json, package-lock.json and the scripts (*.mjs, *.cjs, *.js) of SOURCE_DIR to JS_DIR and
# runs `npm ci` there, only when the lock file changed since the last install. npm's cache (~/.npm)
# makes a reinstall offline. Exit 0 when ready; 77 (the test then skips) when node or npm is
# missing or the registry cannot be reached; anything else is a real failure.
# Usage: setup_js.sh SOURCE_DIR JS_DIR
set -u
src=$1
dir=$2
skip() {
  echo "npm set-up skipped: $*"
  exit 77
}
command -v node >/dev/null 2>&1 || skip "node is not installed (Node.js >= 20.6 is needed)"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || skip "node does not run"
[ "$major" -ge 20 ] 2>/dev/null ||
  skip "node $(node --version) is too old (Node.js >= 20.6 is needed)"
mkdir -p "$dir" || exit 1
for f in "$src"/package.json "$src"/package-lock.json "$src"/*.mjs "$src"/*.cjs "$src"/*.js; do
  [ -e "$f" ] || continue  # a pattern that matched nothing
  cp "$f" "$dir/" || exit 1
done
if [ -d "$dir/node_modules" ] && cmp -s "$dir/package-lock.json" "$dir/.installed-lock.json"; then
  echo "npm set-up: node_modules up to date in $dir"
  exit 0
fi
cd "$dir" || exit 1
rm -f .installed-lock.json
# --prefer-offline: packages already in npm's cache are not fetched again. Short retries so an
# unreachable registry skips in about a minute instead of hanging.
if ! npm ci --prefer-offline --no-audit --no-fund --fetch-retries=1 --fetch-timeout=20000 \
    --loglevel=error; then
  skip "npm ci failed in $dir (registry unreachable or offline cache incomplete; see npm's" \
    "output above)"
fi
cp package-lock.json .installed-lock.json
echo "npm set-up: installed $src/package-lock.json into $dir"
