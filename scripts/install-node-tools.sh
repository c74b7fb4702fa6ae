#!/bin/sh
# Install the Node tools the project's own tests use (a real MailDev, pinned in package.json / package-lock.json)
# into ./node_modules with `npm ci`.
# Idempotent: runs npm ci only when node_modules is missing or older than package-lock.json. Prints one line;
# exits non-zero with the reason when it cannot.
set -u
cd "$(dirname "$0")/.." || exit 1
STAMP=node_modules/.package-lock.json   # npm writes this on every install; its age is the install's age

if [ -f "$STAMP" ] && [ ! package-lock.json -nt "$STAMP" ] && [ -x node_modules/.bin/maildev ]; then
  echo "install-node-tools: node_modules is up to date with package-lock.json"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-node-tools: npm is missing: install Node.js 20 or later with npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/install-node-tools.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
  echo "install-node-tools: npm ci failed: $(grep -v 'npm warn' "$log" | tail -n 1)" >&2
  exit 1
fi
if [ ! -x node_modules/.bin/maildev ]; then
  echo "install-node-tools: npm ci succeeded but node_modules/.bin/maildev is missing" >&2
  exit 1
fi
touch "$STAMP"
echo "install-node-tools: installed maildev $(node -p 'require("maildev/package.json").version' 2>/dev/null) with npm ci"
