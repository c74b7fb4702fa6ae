#!/bin/sh
# Install the Mailpit the project's own tests run for real (the Mailpit reader is tested against it), pinned, built
# with Go from the Go module proxy into ./.tools/bin/mailpit.
# Idempotent: does nothing when that version is already there. Prints one line; exits non-zero with the reason when
# it cannot.
set -u
cd "$(dirname "$0")/.." || exit 1
VERSION=v1.33.1
BIN=.tools/bin/mailpit

if ! command -v go >/dev/null 2>&1; then
  echo "install-mailpit: go is missing: install Go 1.26 or later (the Mailpit reader tests build Mailpit with it)" >&2
  exit 1
fi
# the module version is in the binary's build info (its own `mailpit version` says "dev" and asks GitHub)
if [ -x "$BIN" ] && go version -m "$BIN" 2>/dev/null | grep -q "mod[[:space:]]*github.com/axllent/mailpit[[:space:]]*$VERSION[[:space:]]"; then
  echo "install-mailpit: mailpit $VERSION already at $BIN"
  exit 0
fi
log=$(mktemp "${TMPDIR:-/tmp}/install-mailpit.XXXXXX")
trap 'rm -f "$log"' EXIT
mkdir -p .tools/bin
if ! GOBIN="$PWD/.tools/bin" go install "github.com/axllent/mailpit@$VERSION" >"$log" 2>&1; then
  echo "install-mailpit: go install github.com/axllent/mailpit@$VERSION failed: $(tail -n 1 "$log")" >&2
  exit 1
fi
echo "install-mailpit: built mailpit $VERSION into $BIN"
