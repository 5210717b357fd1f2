#!/usr/bin/env bash
# A first session with artctl, on a small generated dataset. Runs in a fresh temporary
# directory and prints every command before running it.
set -euo pipefail
work="$(mktemp -d -t artctl-quickstart-XXXXXX)"
cd "$work"
run() { printf '\n$ %s\n' "$*"; "$@"; }
mkdir -p data/train data/test
for i in $(seq 1 50); do echo "sample $i" > "data/train/$i.txt"; done
for i in $(seq 1 10); do echo "test $i" > "data/test/$i.txt"; done
run artctl init
run artctl artifact put --name proj/mnist --type dataset ./data --description "toy digits"
echo "sample 51" > data/train/51.txt
run artctl artifact put --name proj/mnist --type dataset ./data --alias best
run artctl artifact ls
run artctl artifact ls proj/mnist
run artctl artifact diff proj/mnist:v0 proj/mnist:v1
run artctl artifact get proj/mnist:latest --root out/
run artctl artifact verify
printf '\nDone: the example lives in %s\n' "$work"
