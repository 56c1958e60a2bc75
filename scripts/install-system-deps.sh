#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium for the browser test of the try-it web chat.
# Installs only what is missing, and only as root with apt-get; otherwise says how (the browser
# test then skips outside CI, and fails in CI, where CI is set).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: /usr/bin/chromium is missing; as root run: apt-get install -y chromium" >&2
    exit 0
fi
echo "installing Debian's chromium for the browser test (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
