#!/usr/bin/env bash
# The example pipeline of the README's lineage screenshot, with the real CLI:
#   raw images → preprocess → clean images → a sweep of 6 train runs (one cnn model each)
#   → evaluate (uses cnn:best) → eval report
# Runs in a new temporary directory (or DIR, if given), then prints the command that opens
# the lineage view: `artctl ui demo/clean-images:v0`.
# Usage: bash docs/example-pipeline.sh [DIR]
set -euo pipefail
work="${1:-$(mktemp -d -t artctl-pipeline-XXXXXX)}"
mkdir -p "$work" && cd "$work"
# ARTCTL overrides the command (e.g. ARTCTL="python -m artctl" in a source checkout).
artctl() { if [[ -n "${ARTCTL:-}" ]]; then $ARTCTL -q "$@"; else command artctl -q "$@"; fi; }

artctl init >/dev/null
mkdir -p raw/images
printf 'cat\n' > raw/images/cat.txt; printf 'dog\n' > raw/images/dog.txt
printf 'id,label\n1,cat\n2,dog\n' > raw/labels.csv
artctl artifact put raw --name demo/raw-images --type dataset --description "camera dump" >/dev/null
printf 'bird\n' > raw/images/bird.txt
artctl artifact put raw --name demo/raw-images --type dataset --alias production --ttl 30d >/dev/null

artctl run exec --job-type preprocess --run-name preprocess-1 --config '{"resize": 64}' \
    --use demo/raw-images:production --log clean --name demo/clean-images --type dataset -- \
    sh -c 'mkdir -p clean/train clean/test && cp -r "$ARTCTL_INPUT_0"/images/. clean/train/ && echo c > clean/test/c.txt' \
    >/dev/null

for i in 0 1 2 3 4 5; do
    artctl run exec --job-type train --run-name "sweep-$i" --config "{\"lr\": 0.0$((i + 1)), \"epochs\": $((3 + i))}" \
        --use demo/clean-images:latest --log "model-$i" --name demo/cnn --type model -- \
        sh -c "mkdir -p model-$i && echo 'weights $i' > model-$i/model.bin" >/dev/null
done
artctl alias add demo/cnn:v3 best >/dev/null

artctl run exec --job-type evaluate --run-name evaluate-best --use demo/cnn:best \
    --log report --name demo/eval-report --type report -- \
    sh -c 'mkdir -p report && echo "# accuracy 0.83" > report/report.md' >/dev/null

printf 'example pipeline in %s\nopen its lineage view with:\n  cd %s && artctl ui demo/clean-images:v0\n' "$work" "$work"
