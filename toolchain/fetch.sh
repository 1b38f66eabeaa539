#!/usr/bin/env bash
# fetch.sh PKG=VERSION DESTDIR — unpack one pinned Debian source package
# into build/src/. apt checks every file against the suite's signed
# Sources index; we never download anything apt did not verify.
# Idempotent: a stamp file records what was unpacked.
set -euo pipefail
spec=$1 dest=$2
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/src
stamp=$dest/.danegate-fetched
if [ -f "$root/$stamp" ] && [ "$(cat "$root/$stamp")" = "$spec" ]; then exit 0; fi
mkdir -p "$src/dl"
cd "$src/dl"
pkg=${spec%%=*}
if ! ls "${pkg}"_*.dsc >/dev/null 2>&1; then
	apt-get source --download-only -q "$spec" >/dev/null ||
	{ apt-get update -q >/dev/null 2>&1 || true; apt-get source --download-only -q "$spec"; }
fi
rm -rf "$root/$dest"
dsc=$(ls "${pkg}"_*.dsc | head -1)
# --skip-patches: we build upstream as released; the Debian packaging
# patches are for Debian's shared-library build, not for ours.
dpkg-source --no-check --skip-patches -x "$dsc" "$root/$dest" >/dev/null
echo "$spec" >"$root/$stamp"
echo "fetched $spec -> $dest"
