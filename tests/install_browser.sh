#!/usr/bin/env bash
# The browser test's browser: Debian's Chromium (Playwright drives it; its own browser download
# cannot be used here). Installed when missing and this user may; otherwise the test says why
# it is skipped, except in CI, where a missing browser fails the run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium > /dev/null
elif [ -n "${CI:-}" ]; then
    echo "tests/install_browser.sh: cannot install Debian's chromium (not root, or no apt-get)" >&2
    exit 1
else
    echo "tests/install_browser.sh: no /usr/bin/chromium; the studio's browser test will be skipped" >&2
fi
