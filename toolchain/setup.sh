#!/usr/bin/env bash
# setup.sh — idempotent machine set-up for a fresh Debian 12 (bookworm),
# run as root: deb-src entries for the pinned sources, the packages in
# toolchain/packages.txt, the pinned sources under build/src/. When
# everything is there already it only checks (well under a second).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tc=$root/toolchain
export DEBIAN_FRONTEND=noninteractive

say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

# --- (a) deb-src entries: trixie carries mbedtls/lwip/ldns, bookworm cmocka
# (why: toolchain/versions.mk). Source indexes only: no binary packages
# from trixie, no foreign dpkg architecture.
src_list=/etc/apt/sources.list.d/danegate-src.sources
suites=$(sed -n 's/^DEB_SRC_SUITES[[:space:]]*:=[[:space:]]*//p' "$tc/versions.mk")
[ -n "$suites" ] || die "DEB_SRC_SUITES missing in toolchain/versions.mk"
want_src="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

need_update=0
if [ ! -f "$src_list" ] || [ "$(cat "$src_list")" != "$want_src" ]; then
	[ "$(id -u)" = 0 ] || die "must run as root to write $src_list"
	printf '%s\n' "$want_src" >"$src_list"
	say "wrote $src_list ($suites)"
	need_update=1
fi
for s in $suites; do
	compgen -G "/var/lib/apt/lists/*_dists_${s}_main_source_Sources*" >/dev/null || need_update=1
done

# --- (c, check) which packages are missing: one dpkg-query for all.
mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$tc/packages.txt")
declare -A have=()
while IFS=$'\t' read -r p st; do
	[ "${st:0:2}" = "ii" ] && have[$p]=1
done < <(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n' 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	[ -n "${have[$p]:-}" ] || missing+=("$p")
done
# npm (web console tests): Debian's, unless the nodejs in use bundles one.
command -v npm >/dev/null 2>&1 || [ -n "${have[npm]:-}" ] || missing+=(npm)

# --- (b) apt-get update, only when something is missing. A mirror in the
# middle of a sync fails an index now and then ("File has unexpected
# size", "Hash Sum mismatch"); retry, and if one index still fails go on
# with what we have: the install below says if that was not enough.
apt_update() {
	local i log
	log=$(mktemp)
	for i in 1 2 3 4; do
		if apt-get update -q >"$log" 2>&1; then rm -f "$log"; return 0; fi
		say "apt-get update failed (try $i/4):"
		grep -E '^(E|W):' "$log" | head -5 >&2 || true
		sleep $((i * 3))
	done
	rm -f "$log"
	say "apt-get update still partly failing; continuing with the indexes we have"
	return 0
}
updated=0
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
	[ "$(id -u)" = 0 ] || die "must run as root (missing: ${missing[*]:-source indexes})"
	apt_update
	updated=1
fi

# --- (c) install the missing ones, non-interactive, no recommends.
if [ ${#missing[@]} -gt 0 ]; then
	say "installing: ${missing[*]}"
	# Answers for packages that ask (postfix): see preseed.debconf.
	sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$tc/preseed.debconf" | debconf-set-selections
	# Daemons we install (unbound, nsd, postfix) are started by the tests
	# with their own configuration; the packaged services must not start
	# and grab ports. policy-rc.d says "no" to invoke-rc.d during the
	# install, and only if nobody else has put one there.
	policy=/usr/sbin/policy-rc.d own_policy=0
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\n# danegate setup.sh: no service starts during install\nexit 101\n' >$policy
		chmod 755 $policy
		own_policy=1
		trap '[ $own_policy = 0 ] || rm -f $policy' EXIT
	fi
	inst() { apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "${missing[@]}"; }
	if ! inst; then
		# A package list that went stale between update and install
		# gives 404s; one more update and try again.
		apt_update
		inst || die "apt-get install failed"
	fi
	if [ $own_policy = 1 ]; then rm -f $policy; own_policy=0; fi
fi

# --- (d) pinned sources (fetch.sh is a no-op when its stamp matches).
getv() { sed -n "s/^$1[[:space:]]*:=[[:space:]]*//p" "$tc/versions.mk"; }
for dep in MBEDTLS LWIP LDNS CMOCKA; do
	spec=$(getv "${dep}_DEB") dir=$(getv "${dep}_SRC")
	[ -n "$spec" ] && [ -n "$dir" ] || die "${dep}_DEB/${dep}_SRC missing in versions.mk"
	bash "$tc/fetch.sh" "$spec" "$dir"
done
[ $updated = 1 ] && say "done" || true
