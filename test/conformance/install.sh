#!/usr/bin/env bash
# Installs what the conformance harness needs into .tooling/ (gitignored), from the npm registry
# only: a Node 22 binary (the suite needs Node >= 22; the project's own Node stays as it is; the
# install is .ci/install-node.sh's, shared with CI's runs on Node 22 and 24) and the pinned
# @modelcontextprotocol/conformance. Idempotent: does nothing when both are present at the pinned
# versions. Neither goes into the project's package.json.
set -euo pipefail

SUITE_VERSION="0.1.16"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tooling="$root/.tooling"
suite_dir="$tooling/conformance"
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

# Node 22 in .tooling/node22/ (run.mjs runs the suite with it).
bash "$root/.ci/install-node.sh" 22 >/dev/null

if [ "$(pkg_version "$suite_pkg")" = "$SUITE_VERSION" ]; then
  echo "conformance: @modelcontextprotocol/conformance@$SUITE_VERSION already in $suite_dir" >&2
else
  echo "conformance: installing @modelcontextprotocol/conformance@$SUITE_VERSION into $suite_dir" >&2
  rm -rf "$suite_dir"
  npm_install "$suite_dir" "@modelcontextprotocol/conformance@$SUITE_VERSION"
  [ "$(pkg_version "$suite_pkg")" = "$SUITE_VERSION" ] || { echo "install.sh: the suite did not install" >&2; exit 1; }
fi
