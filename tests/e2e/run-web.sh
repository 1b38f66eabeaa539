#!/usr/bin/env bash
# run-web.sh — the web console in a real browser (Debian's headless
# Chromium driven by playwright-core, tests/web/) against the host board
# and the QEMU board (hostfwd 127.0.0.1:PORT -> guest :443): the password
# is set over the serial console, then log in, headers, no access without
# login, CSRF enforced, a setting changed, saved and still there after a
# reboot (`reboot yes` on the serial console), a message sent over SMTP
# held with its reason, the log filtered, a probe (honest about being
# unavailable without a delivery side), the TLSA record and a PEM key and
# certificate imported through the TLSA page's form. Screenshots go to
# build/artifacts/web/<board>/NN-name.png. Then testssl.sh (offline: no
# DNS) against the HTTPS console: nothing below TLS 1.2, no weak cipher
# category, no vulnerability it checks. Prints "N passed, M failed".
# WEB_BOARDS="host qemu-virt" (default) picks the boards; TESTSSL=0 skips
# testssl (reported as a failure, never as a pass).
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
trap e2e_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs

BOARDS=${WEB_BOARDS:-host qemu-virt}
PW="Web-e2e-$$-pw"
mkdir -p build/e2e
T=$(mktemp -d "$E2E_ROOT/build/e2e/web.XXXXXX")
echo "e2e web console: boards $BOARDS, work dir ${T#$E2E_ROOT/}"

# The pair the TLSA page imports (tests/web: DG_IMPORT_PEM): a P-256 key
# and a self-signed certificate for the gateway, made by openssl.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/import.key" \
	-out "$T/import.crt" -days 30 -subj "/CN=danegate.lan" -addext "subjectAltName=DNS:danegate.lan" \
	>/dev/null 2>&1
cat "$T/import.key" "$T/import.crt" >"$T/import.pem"
export DG_IMPORT_PEM=$T/import.pem

# The browser driver: npm ci from the committed lock file when needed.
if [ ! -d tests/web/node_modules/playwright-core ]; then
	(cd tests/web && npm ci --no-audit --no-fund >"$T/npm.out" 2>&1)
	check "npm ci in tests/web (playwright-core from package-lock.json)" $? "$(tail -3 "$T/npm.out")"
fi
[ -x /usr/bin/chromium ]
check "Debian's chromium is installed (/usr/bin/chromium)" $?

# serial_send FIFO TEXT...: one line each, a pause between (the console
# reads a line at a time).
serial_send() {
	local fifo=$1 l
	shift
	for l in "$@"; do
		printf '%s\n' "$l" >"$fifo"
		sleep 0.5
	done
}

# send_mail SMTP_PORT: one message from web-e2e@lan.example; 0 if queued.
send_mail() {
	python3 - "$1" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
s.sendmail("web-e2e@lan.example", ["someone@example.net"],
           "Subject: web e2e\r\n\r\nheld for the web console test\r\n")
s.quit()
PY
}

# report BOARD FILE: each "ok NAME" / "FAIL NAME -- WHY" line is one check.
report() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) check "$1: ${line#ok }" 0 ;;
		"FAIL "*) check "$1: ${line#FAIL }" 1 ;;
		esac
	done <"$2"
}

# browser BOARD PHASE URL: runs the Playwright script, one check per line.
browser() {
	local board=$1 phase=$2 url=$3 out=$T/$1-$2.out
	mkdir -p "build/artifacts/web/$board"
	timeout 300 node tests/web/web-console.mjs "$url" "$PW" "build/artifacts/web/$board" "$phase" \
		>"$out" 2>&1
	local rc=$?
	report "$board" "$out"
	grep -Eq '^(ok|FAIL) ' "$out" || check "$board: browser $phase ran" 1 "$(tail -5 "$out")"
	[ $rc -eq 0 ] || [ -n "$(grep '^FAIL ' "$out")" ] ||
		check "$board: browser $phase exited cleanly" 1 "rc $rc: $(tail -3 "$out")"
}

# testssl_console BOARD HOST:PORT
testssl_console() {
	local board=$1 target=$2 json=$T/$1-testssl.json
	if [ "${TESTSSL:-1}" = 0 ] || ! command -v testssl >/dev/null; then
		check "$board: testssl.sh ran" 1 "skipped (TESTSSL=0 or testssl not installed)"
		return
	fi
	timeout 900 testssl --quiet --color 0 --nodns none --warnings off --sneaky \
		-p -s -U --jsonfile "$json" "$target" >"$T/$board-testssl.out" 2>&1
	python3 - "$json" >"$T/$board-testssl.verdict" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))
f = {i["id"]: i for i in items}
def say(ok, name, detail=""):
    print(("ok " if ok else "FAIL ") + name + ("" if ok else " -- " + detail))
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    v = f.get(p, {}).get("finding", "missing")
    say(v.startswith("not offered"), f"testssl: {p} not offered", v)
v = f.get("TLS1_2", {}).get("finding", "missing")
say(v.startswith("offered"), "testssl: TLS 1.2 offered", v)
for c in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
          "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
    v = f.get(c, {}).get("finding", "missing")
    say(v.startswith("not offered"), f"testssl: {c[11:]} ciphers not offered", v)
vulns = [i for i in items if i.get("section", "") == "vulnerabilities" or
         i["id"] in ("heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
                     "secure_client_renego", "CRIME_TLS", "POODLE_SSL", "fallback_SCSV",
                     "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4",
                     "BREACH")]
bad = [f'{i["id"]}={i["severity"]}: {i["finding"]}' for i in vulns
       if i.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
say(len(vulns) >= 10 and not bad, f"testssl: no known vulnerability ({len(vulns)} checked)",
    "; ".join(bad) or f"only {len(vulns)} checks in the report")
PY
	report "$board" "$T/$board-testssl.verdict"
	grep -q '^ok ' "$T/$board-testssl.verdict" ||
		check "$board: testssl.sh report read" 1 "$(tail -5 "$T/$board-testssl.out")"
}

run_host() {
	local log=$T/host.log flash=$T/host-flash.img fifo=$T/host.in smtp web http from code
	[ -x build/host/danegate ] || make -s -j2 BOARD=host >/dev/null
	smtp=$(free_port)
	web=$(free_port)
	http=$(free_port)
	mkfifo "$fifo"
	exec 7<>"$fifo" # keeps the console's input open across the reboot
	build/host/danegate --flash "$flash" --smtp-port "$smtp" --listen 127.0.0.1 \
		--set web_port="$web" --set web_http_port="$http" <"$fifo" >"$T/host.console" 2>"$log" &
	E2E_PIDS+=("$!")
	wait_log "$log" 'web: console on https://127\.0\.0\.1:' 20
	check "host: web console listening on https://127.0.0.1:$web" $? "$(tail -3 "$log")"
	# Plain HTTP only because web_http_port is set: its cookie is not Secure.
	curl -s -m 10 -D "$T/http.head" -o /dev/null "http://127.0.0.1:$http/login"
	expect "host: plain HTTP console on web_http_port" "$T/http.head" '^HTTP/1\.1 200'
	! grep -qi '^Set-Cookie:.*Secure' "$T/http.head" && grep -qi '^Set-Cookie: dg_sid=.*HttpOnly; SameSite=Strict' "$T/http.head"
	check "host: plain HTTP cookie HttpOnly, SameSite=Strict, not Secure" $?
	# Bad requests over HTTPS get their own status and change nothing.
	code=$(curl -sk -m 10 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "https://127.0.0.1:$web/")
	check "host: an oversized header line is 431" $(($code != 431)) "got $code"
	code=$(curl -sk -m 10 -o /dev/null -w '%{http_code}' -X PUT "https://127.0.0.1:$web/settings")
	check "host: PUT is 405" $(($code != 405)) "got $code"
	code=$(curl -sk -m 10 -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary x "https://127.0.0.1:$web/login")
	check "host: a chunked body is refused (501)" $(($code != 501)) "got $code"
	serial_send "$fifo" passwd "$PW" "$PW"
	wait_log "$T/host.console" 'password changed and saved' 15
	check "host: console password set over the serial console (passwd)" $?
	send_mail "$smtp" >"$T/host-mail.out" 2>&1
	check "host: a message queued over SMTP" $? "$(tail -2 "$T/host-mail.out")"
	browser host first "https://127.0.0.1:$web"
	from=$(log_lines "$log")
	serial_send "$fifo" "reboot yes"
	wait_log "$log" 'web: console on https://' 30 "$from"
	check "host: rebooted from the serial console (reboot yes)" $? "$(tail -3 "$log")"
	browser host after-reboot "https://127.0.0.1:$web"
	testssl_console host "127.0.0.1:$web"
	exec 7>&-
	return 0
}

run_qemu() {
	local log=$T/qemu.log flash=$T/qemu-flash.img fifo=$T/qemu.in smtp web from
	local img=${QV_IMAGE:-build/qemu-virt/danegate.elf}
	[ -f "$img" ] || make -s -j2 BOARD=qemu-virt >/dev/null
	smtp=$(free_port)
	web=$(free_port)
	new_flash "$flash" $((64 * 1024 * 1024))
	mkfifo "$fifo"
	exec 8<>"$fifo"
	qemu-system-arm -M virt -cpu cortex-a15 -m 128M -nographic -monitor none \
		-kernel "$img" -global virtio-mmio.force-legacy=false \
		-drive if=pflash,unit=1,format=raw,file="$flash" \
		-netdev user,id=n0,hostfwd=tcp:127.0.0.1:"$smtp"-:25,hostfwd=tcp:127.0.0.1:"$web"-:443 \
		-device virtio-net-device,netdev=n0 -device virtio-rng-device \
		<"$fifo" >"$log" 2>&1 &
	E2E_PIDS+=("$!")
	wait_log "$log" 'web: console on https://' 90 && wait_log "$log" 'DHCP lease' 30
	check "qemu-virt: boots, web console on :443 (forwarded from $web)" $? "$(tail -3 "$log")"
	sleep 1
	serial_send "$fifo" "" passwd "$PW" "$PW"
	wait_log "$log" 'password changed and saved' 30
	check "qemu-virt: console password set over the serial console (passwd)" $? "$(tail -3 "$log")"
	send_mail "$smtp" >"$T/qemu-mail.out" 2>&1
	check "qemu-virt: a message queued over SMTP" $? "$(tail -2 "$T/qemu-mail.out")"
	browser qemu-virt first "https://127.0.0.1:$web"
	from=$(log_lines "$log")
	serial_send "$fifo" "reboot yes"
	wait_log "$log" 'web: console on https://' 90 "$from" && wait_log "$log" 'DHCP lease' 30 "$from"
	check "qemu-virt: rebooted from the serial console (reboot yes)" $? "$(tail -3 "$log")"
	browser qemu-virt after-reboot "https://127.0.0.1:$web"
	testssl_console qemu-virt "127.0.0.1:$web"
	exec 8>&-
}

# First boot without a password, no serial console at hand: the one-time
# setup code from the boot log sets it over HTTPS (curl), once.
run_setup_code() {
	local log=$T/setup.log smtp web code tok jar=$T/setup.jar st
	smtp=$(free_port)
	web=$(free_port)
	build/host/danegate --flash "$T/setup-flash.img" --smtp-port "$smtp" --listen 127.0.0.1 \
		--set web_port="$web" </dev/null >/dev/null 2>"$log" &
	E2E_PIDS+=("$!")
	wait_log "$log" 'one-time setup code' 20
	code=$(sed -n 's/.*one-time setup code \([A-Z0-9-]*\).*/\1/p' "$log" | tail -1)
	check "host: first boot logs a one-time setup code" $((${#code} != 9)) "$(tail -2 "$log")"
	tok=$(curl -sk -m 10 -c "$jar" -b "$jar" "https://127.0.0.1:$web/login" |
		sed -n 's/.*action=\/setup><input type=hidden name=csrf value=\([0-9a-f]*\).*/\1/p')
	st=$(curl -sk -m 10 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' \
		--data "csrf=$tok&code=WRONG-CODE&password=$PW&again=$PW" "https://127.0.0.1:$web/setup")
	check "host: a wrong setup code is refused (403)" $(($st != 403)) "got $st"
	st=$(curl -sk -m 10 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' \
		--data "csrf=$tok&code=$code&password=$PW&again=$PW" "https://127.0.0.1:$web/setup")
	check "host: the setup code sets the password and logs in (303)" $(($st != 303)) "got $st"
	st=$(curl -sk -m 10 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$web/")
	check "host: logged in after setup (dashboard 200)" $(($st != 200)) "got $st"
	st=$(curl -sk -m 10 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' \
		--data "csrf=$tok&code=$code&password=x$PW&again=x$PW" "https://127.0.0.1:$web/setup")
	check "host: the setup code works once" $(($st != 403)) "got $st"
}

for b in $BOARDS; do
	case $b in
	host) run_host && run_setup_code ;;
	qemu-virt) run_qemu ;;
	*) check "board $b known" 1 ;;
	esac
done
echo "screenshots: $(find build/artifacts/web -name '*.png' 2>/dev/null | wc -l) in build/artifacts/web/"
summary
