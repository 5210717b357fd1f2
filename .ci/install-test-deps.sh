#!/usr/bin/env bash
# Everything the test suite needs beyond `pip install -e '.[test]'`: storage servers, shell and
# man tools, the browser. Each step is idempotent and skipped when its script is absent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for step in install-servers.sh install-tools.sh install-browser.sh; do
  if [ -f "$here/$step" ]; then
    echo "== $step"
    bash "$here/$step"
  fi
done
