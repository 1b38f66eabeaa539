#!/usr/bin/env bash
# run-soak-qemu.sh — soak of the QEMU virt board (issue 6 item 2): as
# run-soak.sh, but the whole QEMU process is killed (SIGKILL) every 3-10 s
# and rebooted on the same pflash image; settings provisioned into the
# config area, the world reached at 10.0.2.2 (user networking).
SOAK_BOARD=qemu exec bash "$(dirname "$0")/run-soak.sh"
