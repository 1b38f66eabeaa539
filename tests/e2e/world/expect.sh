#!/usr/bin/env bash
# expect.sh — the sink-side half of a scenario's verdict, for the relay
# tests: after the relay under test has handled a message for scenario
# SCEN (recipient RCPT, default the manifest's S<SCEN>_RCPT), checks
# DIR/mail/ against DIR/world.env:
#   delivered: the expected sink holds a message for RCPT; over TLS 1.2+
#     unless the class is "clear"; with SNI = S<SCEN>_SNI for Verified and
#     Trusted deliveries (rule 18);
#   always: no other sink holds a message for RCPT (so a FORBID sink, or
#     any sink after a deferral or a bounce, never saw it, in clear or not).
#   expect.sh DIR SCEN [RCPT]      exit 0 and "ok ..." or 1 and "FAIL ..."
# The relay's own verdict (class logged, DSN code) is for the caller.
set -uo pipefail
dir=$1 sc=$2
# shellcheck disable=SC1091
. "$dir/world.env"
eval "rcpt=\${3:-\$S${sc}_RCPT} want=\$S${sc}_EXPECT cls=\$S${sc}_CLASS sink=\$S${sc}_SINK sni=\$S${sc}_SNI"
fails=""
found=""
# every message (meta file) anywhere that names RCPT
for m in "$dir"/mail/*/new/*.meta; do
	[ -e "$m" ] || continue
	grep -qiF "<$rcpt>" "$m" || continue
	inst=$(sed -n 's/^instance=//p' "$m")
	if [ "$want" != delivered ] || [ "$inst" != "$sink" ]; then
		fails="$fails; message for $rcpt reached sink $inst ($(sed -n 's/^tls=//p' "$m"))"
		continue
	fi
	found=$m
done
# the Postfix sink (behaviour "postfix"): its maildir, no .meta; TLS from
# the Received: header; no SNI record. Postfix delivers asynchronously:
# wait up to 10 s.
eval "beh=\${SINK_${sink:-none}_BEHAVIOUR:-}"
if [ "$want" = delivered ] && [ "$beh" = postfix ]; then
	for _ in $(seq 100); do
		found=$(grep -liF "for <$rcpt>" "$POSTFIX_MAILDIR"/new/* 2>/dev/null | head -1)
		[ -n "$found" ] && break
		sleep 0.1
	done
	if [ -z "$found" ]; then
		fails="$fails; no message for $rcpt in Postfix's maildir"
	else
		ver=$(grep -o "using TLSv1\.[0-9]" "$found" | head -1 | sed 's/using //')
		if [ "$cls" = clear ]; then [ -z "$ver" ] || fails="$fails; expected clear text, got $ver"
		else case $ver in TLSv1.2 | TLSv1.3) ;; *) fails="$fails; delivered to Postfix in CLEAR TEXT" ;; esac
		fi
	fi
	if [ -z "$fails" ]; then echo "ok   S$sc sinks: delivered at $sink (Postfix, ${ver:-clear})"; exit 0; fi
	echo "FAIL S$sc sinks:${fails#;}"
	exit 1
fi
if [ "$want" = delivered ]; then
	if [ -z "$found" ]; then
		fails="$fails; no message for $rcpt at sink $sink"
	else
		tls=$(sed -n 's/^tls=//p' "$found")
		ver=$(sed -n 's/^tls_version=//p' "$found")
		got_sni=$(sed -n 's/^sni=//p' "$found")
		if [ "$cls" = clear ]; then
			[ "$tls" = no ] || fails="$fails; expected clear text, got $ver"
		else
			[ "$tls" = yes ] || fails="$fails; delivered in CLEAR TEXT, expected $cls over TLS"
			case $ver in TLSv1.2 | TLSv1.3) ;; *) fails="$fails; TLS version '$ver'" ;; esac
			[ "$sink" = xtls12 ] && [ "$ver" != TLSv1.2 ] && fails="$fails; xtls12 saw '$ver'"
			case $cls in Verified | Trusted)
				[ "$got_sni" = "$sni" ] || fails="$fails; SNI '$got_sni', expected '$sni'" ;;
			esac
		fi
	fi
fi
if [ -z "$fails" ]; then
	echo "ok   S$sc sinks: $want${found:+ at $sink ($(sed -n 's/^tls_version=//p' "$found") sni=$(sed -n 's/^sni=//p' "$found"))}"
	exit 0
fi
echo "FAIL S$sc sinks:${fails#;}"
exit 1
