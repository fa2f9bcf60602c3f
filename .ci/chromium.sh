#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (Playwright drives it; no browser download).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (apt-get).
# Progress goes to stderr.
set -euo pipefail

say() { echo "chromium.sh: $*" >&2; }

if [ -x /usr/bin/chromium ]; then
    say "found $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

say "installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
[ -x /usr/bin/chromium ] || { say "chromium did not install"; exit 1; }
say "installed $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
