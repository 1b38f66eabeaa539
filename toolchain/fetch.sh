#!/usr/bin/env bash
# fetch.sh PKG=VERSION DESTDIR — unpack one pinned Debian source package
# into DESTDIR (relative to the repository root, e.g. build/src/ldns-1.8.4).
# apt checks every file against the suite's signed Sources index; we never
# download anything apt did not verify. Idempotent: a stamp file in DESTDIR
# records what was unpacked. Needs a deb-src entry for the suite carrying
# VERSION (toolchain/setup.sh writes it).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PKG=VERSION DESTDIR" >&2; exit 2; }
spec=$1 dest=$2
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/src
stamp=$root/$dest/.danegate-fetched
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ]; then exit 0; fi

pkg=${spec%%=*} ver=${spec#*=}
[ -n "$pkg" ] && [ -n "$ver" ] && [ "$pkg" != "$spec" ] || { echo "fetch.sh: bad spec '$spec'" >&2; exit 2; }
dsc=${pkg}_${ver#*:}.dsc # file names drop the epoch

mkdir -p "$src/dl"
# Several makes (deps of two targets, other engineers) may fetch at once:
# apt-get source and the unpack share build/src/dl, so take turns.
exec 9>"$src/.fetch.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ]; then exit 0; fi

cd "$src/dl"
if [ ! -f "$dsc" ]; then
	# A missing or stale Sources index is the usual cause of a failure:
	# refresh it once and try again.
	apt-get source --download-only -q "$spec" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 || true; apt-get source --download-only -q "$spec" >/dev/null; } ||
		{ echo "fetch.sh: apt-get source $spec failed (deb-src for its suite? run toolchain/setup.sh)" >&2; exit 1; }
fi
[ -f "$dsc" ] || { echo "fetch.sh: $dsc not downloaded" >&2; exit 1; }
rm -rf "${root:?}/$dest"
mkdir -p "$(dirname "$root/$dest")"
# --skip-patches: we build upstream as released; the Debian packaging
# patches are for Debian's shared-library build, not for ours.
# --no-check: apt already checked every file against the signed index.
dpkg-source --no-check --skip-patches -x "$dsc" "$root/$dest" >/dev/null
echo "$spec" >"$stamp"
echo "fetched $spec -> $dest"
