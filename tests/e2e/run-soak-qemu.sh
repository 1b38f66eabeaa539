#!/usr/bin/env bash
# run-soak-qemu.sh — soak of the QEMU virt board (issue 6 item 2): as
# run-soak.sh, but the whole QEMU process is killed (SIGKILL) every 3-10 s
# and rebooted on the same pflash image; settings provisioned into the
# config area, the world reached at 10.0.2.2 (user networking). The work is
# in soak-lib.sh; `make soak` runs a longer one. "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/soak-lib.sh"
trap soak_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs
SOAK_BOARD=qemu
soak_main
