#!/bin/sh
# Install the browser the suites/browser scenarios drive: Debian's Chromium at /usr/bin/chromium.
# Idempotent: does nothing when it is already there. Prints one line; exits non-zero with the reason when it cannot.
# Browsers cannot be downloaded by test tools here (no `playwright install`): Chromium comes from Debian's packages.
set -u
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ -x "$CHROMIUM" ]; then
  echo "install-browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) already at $CHROMIUM"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: $CHROMIUM is missing and this is not root: install Debian's chromium package (apt-get install chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || [ ! -r /etc/debian_version ]; then
  echo "install-browser: $CHROMIUM is missing and this is not Debian (no apt-get): install Chromium at $CHROMIUM by hand" >&2
  exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/install-browser.XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update >"$log" 2>&1; then
  echo "install-browser: apt-get update failed: $(tail -n 1 "$log")" >&2
  exit 1
fi
if ! apt-get install -y --no-install-recommends chromium >"$log" 2>&1; then
  echo "install-browser: apt-get install chromium failed: $(tail -n 1 "$log")" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: the chromium package installed but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) at $CHROMIUM"
