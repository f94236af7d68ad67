#!/usr/bin/env bash
# What the browser tests need that pip cannot install: Debian's Chromium and a
# Korean font. Installs them when run as root with apt (as CI is); otherwise
# stops at once with one line saying what to install.
set -euo pipefail
# grep reads all of fc-list's output (no -q): under pipefail an early exit would
# kill fc-list with SIGPIPE and read as "missing".
have() { [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -i 'noto sans cjk' >/dev/null; }
have && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium and fonts-noto-cjk for the browser tests (apt-get) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  have && exit 0
fi
echo "The browser tests need Debian's chromium and fonts-noto-cjk: sudo apt-get install chromium fonts-noto-cjk (or run make test-fast without them)." >&2
exit 1
