#!/usr/bin/env bash
# run-hostboard.sh — the host board's own command line and terminal:
# --config FILE (key = value lines checked by the firmware's validation,
# a bad line refused with file:line), --set checked the same way, a later
# setting winning, and the serial console on a real terminal (a pty):
# character mode, the firmware's own echo, passwords never echoed, the
# terminal restored when the relay ends. Prints "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
BIN=$E2E_ROOT/build/host/danegate
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
[ -x "$BIN" ] || make -C "$E2E_ROOT" -j2 BOARD=host >/dev/null

echo "host board: --config and --set"
printf '# gateway\nhostname = cfg.example\n\nsmtp_port = 99999\n' >"$T/bad.conf"
"$BIN" --flash "$T/f.img" --config "$T/bad.conf" >"$T/out" 2>&1
rc=$?
check "--config with a bad line exits 2" $((rc != 2))
expect "the error names file:line and the key" "$T/out" 'bad\.conf:4: smtp_port: .99999. is not a number'
"$BIN" --flash "$T/f.img" --set nosuch=1 >"$T/out" 2>&1
check "--set of an unknown key exits 2" $(($? != 2))
expect "the error names the key" "$T/out" "no such key 'nosuch'"
"$BIN" --flash "$T/f.img" --config "$T/missing.conf" >"$T/out" 2>&1
check "--config of a missing file exits 2" $(($? != 2))
printf 'hostname = cfg.example\nrelay_networks = 127.0.0.1/32\n' >"$T/good.conf"
port=$(free_port)
# The commands go in once the relay says it is ready (the first boot makes
# a key and formats the flash: slow on a busy machine), and stdin stays
# open until both answers are out.
mkfifo "$T/in"
timeout 60 "$BIN" --flash "$T/f.img" --smtp-port "$port" --config "$T/good.conf" \
	--set hostname=later.example <"$T/in" >"$T/out" 2>"$T/log" &
relay=$!
exec 7>"$T/in"
wait_log "$T/log" "ready:" 40 || echo "  (relay not ready after 40 s)"
echo "config show hostname" >&7
echo "config show relay_networks" >&7
for _ in $(seq 100); do grep -q 'relay_networks' "$T/out" && break; sleep 0.2; done
exec 7>&-
wait "$relay" 2>/dev/null
expect "a later --set wins over the --config file" "$T/out" 'hostname += later\.example +\(board\)'
expect "--config values reach the firmware" "$T/out" 'relay_networks += 127\.0\.0\.1/32 +\(board\)'

echo "host board: serial console on a terminal"
PW=Pw-$$-never-echoed
python3 - "$BIN" "$T" "$PW" "$(free_port)" >"$T/pty.out" 2>&1 <<'PY'
import os, pty, select, signal, sys, termios, time
binary, tmp, pw, port = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    err = os.open(tmp + "/pty.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(err, 2)
    os.execv(binary, [binary, "--flash", tmp + "/p.img", "--smtp-port", port])
seen = b""
mark = 0  # each wait looks only at output after the previous match
def until(text, secs=20):
    global seen, mark
    end = time.time() + secs
    while True:
        i = seen.find(text.encode(), mark)
        if i >= 0:
            mark = i + len(text)
            return True
        if time.time() >= end:
            return False
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                return False
def say(s):
    os.write(fd, s.encode())
ok = until("danegate> ")
raw = termios.tcgetattr(fd)
print("raw_mode", int(not (raw[3] & termios.ICANON) and not (raw[3] & termios.ECHO)))
say("passwd\r"); until("New password: ")
say(pw + "\r"); until("gain")
say(pw + "\r"); until("danegate> ")
say("config show console_password\r"); until("console_password"); until("danegate> ")
say("hostnam\x7fe\r"); until("unknown command"); until("danegate> ")
os.kill(pid, signal.SIGTERM)
os.waitpid(pid, 0)
after = termios.tcgetattr(fd)
print("restored", int(bool(after[3] & termios.ICANON) and bool(after[3] & termios.ECHO)))
print("prompt", int(ok))
sys.stdout.flush()
open(tmp + "/pty.screen", "wb").write(seen)
PY
expect "the relay's console prompt on a pty" "$T/pty.out" '^prompt 1'
expect "stdin terminal switched to character mode, no tty echo" "$T/pty.out" '^raw_mode 1'
expect "terminal restored after SIGTERM" "$T/pty.out" '^restored 1'
if grep -aqF -- "$PW" "$T/pty.screen"; then check "the password typed at passwd is never echoed" 1 "seen on the terminal"
else check "the password typed at passwd is never echoed" 0; fi
tr -d '\r' <"$T/pty.screen" >"$T/screen.txt"
expect "the password was set (shown masked)" "$T/screen.txt" 'console_password += \(set\)'
expect "line editing: DEL erases a character (firmware editor, not the tty)" "$T/screen.txt" "unknown command 'hostnae'"
summary
