#!/usr/bin/env bash
# run-soak.sh — soak of the HOST board (issue 6 item 2): SOAK_MSGS (1000)
# unique messages from several concurrent SMTP clients through the relay to
# DANE-verified sinks of the e2e world, the relay SIGKILLed every 3-10 s
# and restarted on the same flash file; at the end every message that got
# 250 is at its sink byte-identical, none lost; duplicates counted. The
# work is in soak-lib.sh (SOAK_BOARD=qemu: run-soak-qemu.sh); `make soak`
# runs a longer one. "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/soak-lib.sh"
trap soak_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs
soak_main
