#!/usr/bin/env bash
# Install Debian's Chromium for the Playwright browser tests, once per machine.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: apt-get is not available, so Chromium cannot be installed; they will be skipped"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "browser tests: not root and no sudo, Chromium cannot be installed; they will be skipped"; exit 0; fi
fi
echo "installing Debian's chromium for the browser tests (about a minute, once)"
$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
  || echo "browser tests: apt-get could not install chromium; they will be skipped"
exit 0
