#!/usr/bin/env bash
# Installs Debian's chromium for the web app's browser tests when it is missing.
# The tests drive it through playwright-core; no browser is ever downloaded from elsewhere.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and this user cannot run apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium; then
  apt-get update
  apt-get install -y --no-install-recommends chromium
fi
test -x /usr/bin/chromium
