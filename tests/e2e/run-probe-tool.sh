#!/usr/bin/env bash
# run-probe-tool.sh — tools/probe/danegate-probe (the console's probe as a
# host tool) against the e2e DNS/PKI world: for a spread of scenarios its
# final line names the class (or the deferral / bounce and its enhanced
# status code) the world expects, and its exit status says whether a
# delivery would go ahead. Prints "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
W=$E2E_ROOT/build/e2e-probe-world
export WORLD_BASE=${PROBE_WORLD_BASE:-29000}
TOOL=$E2E_ROOT/tools/probe/danegate-probe
trap '"$E2E_DIR/world/world.sh" down "$W" >/dev/null 2>&1' EXIT
[ -x "$E2E_ROOT/build/host/danegate" ] || make -C "$E2E_ROOT" -j2 BOARD=host >/dev/null
echo "probe tool: world up"
if ! WORLD_POSTFIX=0 "$E2E_DIR/world/world.sh" up "$W" >"$E2E_ROOT/build/e2e-probe-world.log" 2>&1; then
	check "test world starts" 1 "see build/e2e-probe-world.log"
	summary
	exit 1
fi
. "$W/world.env"
T=$(mktemp -d)
# probe_case ID REGEX RC: the tool's output for scenario ID's domain ends
# with a line matching REGEX, and it exits RC.
probe_case() {
	local id=$1 re=$2 want=$3 dom rc resolver=$DNS_RESOLVER
	eval "dom=\$S${id}_DOMAIN"
	[ "$(eval "echo \${S${id}_RESOLVER:-validating}")" = noval ] && resolver=$DNS_RESOLVER_NOVAL
	"$TOOL" -r "$resolver" -t 60 --set smtp_delivery_redirect=127.0.0.1:"$SMTP_REDIRECT_BASE" \
		--set dns_probe_name="$DNS_PROBE_NAME" "$dom" >"$T/$id.out" 2>&1
	rc=$?
	if tail -1 "$T/$id.out" | grep -Eq -- "$re" && [ "$rc" -eq "$want" ]; then
		check "scenario $id ($dom): $(tail -1 "$T/$id.out" | cut -c1-60)" 0
	else
		check "scenario $id ($dom): /$re/, exit $want" 1 "exit $rc"
		sed 's/^/      | /' "$T/$id.out" | tail -8
	fi
}
probe_case 01 '^done: .*\[127\.0\.1\.1\]:25 Verified$' 0
probe_case 03 '^done: deferred 4\.7\.5 ' 1
probe_case 04 '^done: deferred 4\.7\.4 ' 1
probe_case 06 '^done: .* Untrusted$' 0
probe_case 08 '^done: .* Untrusted$' 0
probe_case 10 '^done: deferred 4\.4\.3 ' 1
probe_case 11 '^done: .* Trusted$' 0
probe_case 14 '^done: mx\.s14\.dane\.test.* Verified$' 0
probe_case 19 '^done: .* Verified$' 0
probe_case 24 '^done: bounced 5\.1\.10 ' 1
probe_case 28 '^done: mxb\.s28\.dane\.test.* Verified$' 0
probe_case 29 '^done: .* Untrusted$' 0
expect "scenario 14: the TLSA record at the CNAME target, SNI real.s14" "$T/14.out" \
	'SNI real\.s14\.dane\.test'
expect "scenario 01: the chain is shown" "$T/01.out" '^chain depth 0: subject CN=mx\.s01\.dane\.test'
"$TOOL" 'bad domain!' >"$T/bad" 2>&1
check "a malformed domain: exit 2" $(($? != 2))
expect "a malformed domain: the error says so" "$T/bad" 'is not a domain name'
rm -rf "$T"
summary
