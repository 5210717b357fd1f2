#!/usr/bin/env bash
# Vendor the graph-layout libraries of the `artctl ui` page into artctl/ui/static/vendor/.
#
# Run by a maintainer when upgrading (never at runtime, never by `pip install`): the copied
# files are committed, so the page works offline and installing artctl needs no npm.
#   cytoscape        graph model + renderer (MIT)
#   cytoscape-dagre  the dagre layered (DAG) layout for cytoscape; its dist bundles dagre (MIT)
#   @dagrejs/dagre   installed only for its LICENSE, because cytoscape-dagre bundles it
# Usage: bash artctl/ui/vendor.sh   (needs node + npm and the npm registry)
set -euo pipefail

CYTOSCAPE_VERSION="${CYTOSCAPE_VERSION:-3.34.4}"
CYTOSCAPE_DAGRE_VERSION="${CYTOSCAPE_DAGRE_VERSION:-4.0.1}"
DAGRE_VERSION="${DAGRE_VERSION:-3.1.3}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v npm >/dev/null || { echo "vendor: npm is required" >&2; exit 1; }
( cd "$work" && npm init -y >/dev/null \
  && npm install --no-audit --no-fund --loglevel=error --ignore-scripts \
       "cytoscape@$CYTOSCAPE_VERSION" "cytoscape-dagre@$CYTOSCAPE_DAGRE_VERSION" \
       "@dagrejs/dagre@$DAGRE_VERSION" )

nm="$work/node_modules"
mkdir -p "$dest"
rm -f "$dest"/*.js "$dest"/LICENSE.* "$dest"/VERSIONS.txt
cp "$nm/cytoscape/dist/cytoscape.min.js" "$dest/cytoscape.min.js"
cp "$nm/cytoscape-dagre/dist/cytoscape-dagre.min.js" "$dest/cytoscape-dagre.min.js"
cp "$nm/cytoscape/LICENSE" "$dest/LICENSE.cytoscape"
cp "$nm/cytoscape-dagre/LICENSE" "$dest/LICENSE.cytoscape-dagre"
cp "$nm/@dagrejs/dagre/LICENSE" "$dest/LICENSE.dagre"
{
    echo "# Vendored by artctl/ui/vendor.sh; do not edit by hand."
    for pkg in cytoscape cytoscape-dagre @dagrejs/dagre; do
        node -e 'const p=require(process.argv[1]); console.log(`${p.name} ${p.version} ${p.license}`)' \
            "$nm/$pkg/package.json"
    done
} > "$dest/VERSIONS.txt"
ls -l "$dest"
