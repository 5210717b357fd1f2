#!/usr/bin/env bash
# Install the shells and man tools the CLI tests use: bash, zsh and fish (completion scripts are
# checked with `-n` and driven), groff and man-db (man pages must render without warnings).
# Idempotent: nothing is installed when every tool is already present, so .ci/run can call it on
# every run. Usage: bash .ci/install-tools.sh   (from any directory; root or sudo for apt-get)
set -euo pipefail

# tool -> Debian package
declare -A packages=([bash]=bash [zsh]=zsh [fish]=fish [groff]=groff [man]=man-db)

missing=()
for tool in "${!packages[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-tools: bash, zsh, fish, groff and man already present"
    exit 0
fi

sudo=""
[[ "$(id -u)" -eq 0 ]] || sudo="sudo"
command -v apt-get >/dev/null || { echo "install-tools: apt-get not found; install: ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "install-tools: installing ${missing[*]}"
# Try without refreshing the index first; update only when a package is unknown or stale.
if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for tool in "${!packages[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-tools: $tool still missing" >&2; exit 1; }
done
echo "install-tools: done"
