#!/usr/bin/env bash
# Install what artctl's browser tests need: Debian's headless Chromium and the Playwright
# Python package (its own browser downloads are never used: the tests launch /usr/bin/chromium).
# Idempotent: each step is skipped when already satisfied, so .ci/run can call it every run.
# Usage: bash .ci/install-browser.sh  (from any directory)
set -euo pipefail

python="${PYTHON:-python}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

install_chromium() {
    if [[ -x /usr/bin/chromium ]]; then
        echo "install-browser: chromium already present"
        return
    fi
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # Try without refreshing the index first; only update when the package is unknown/stale.
    if ! $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
    fi
    [[ -x /usr/bin/chromium ]] || { echo "install-browser: /usr/bin/chromium missing after install" >&2; exit 1; }
}

install_playwright() {
    if "$python" -c "import playwright.sync_api" 2>/dev/null; then
        echo "install-browser: playwright already present"
        return
    fi
    "$python" -m pip install --quiet playwright
}

install_chromium
install_playwright
echo "install-browser: done"
