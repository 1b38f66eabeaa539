#!/usr/bin/env bash
# bench/ram/run.sh — the RAM budget figure: builds bench_ram for the host
# (native, 64-bit) and armhf (32-bit like qemu-virt, run under qemu-arm),
# runs 4 inbound + 2 outbound TLS sessions (TLS 1.3 and 1.2 peers) and
# 4 + 1 web + 2 through qemu-virt's TLS gate (board.mk QV_TLS_SESSIONS,
# QV_TLS_HANDSHAKES), checks they all fit qemu-virt's arena
# (QV_TLS_ARENA), writes the armhf worst case to build/bench/ram/result.txt
# (read by `make BOARD=qemu-virt size`) and prints
# "RAM budget: static X + TLS/heap peak Y = Z KiB of 384 KiB".
set -eu
cd "$(dirname "$0")/../.."
OUT=build/bench/ram
mkdir -p "$OUT"
bash bench/ram/make-chain.sh "$OUT"
make -s -f Makefile -f bench/ram/bench.mk BOARD=host bench-ram >/dev/null
make -s -f Makefile -f bench/ram/bench.mk BOARD=host TARGET=armhf bench-ram >/dev/null
worst=0 what=""
for t in native armhf; do
	for args in "-i 4 -o 2 -v 13" "-i 4 -o 2 -v 12"; do
		if [ $t = armhf ]; then run="qemu-arm -L /usr/arm-linux-gnueabihf"; else run=""; fi
		res=$($run build/bench/ram-$t/bench_ram $args -r "$OUT") || { echo "$res"; echo "bench/ram: $t $args FAILED"; continue; }
		echo "$res" | grep '^bench_ram:' | sed "s/^bench_ram:/[$t $args]/"
		p=$(echo "$res" | sed -n 's/^arena_peak_with_headers=//p')
		if [ $t = armhf ] && [ "$p" -gt "$worst" ]; then worst=$p what="armhf $args"; fi
	done
done
printf 'arena_peak_with_headers=%s\nwhat=%s\n' "$worst" "$what" >"$OUT/result.txt"
echo "bench/ram: worst TLS arena peak on 32-bit ARM: $worst bytes ($what) -> $OUT/result.txt"
# The same sessions in exactly qemu-virt's arena (QV_TLS_ARENA): all must
# get through their handshakes (the gate admits them in turn).
qv_arena=$(sed -n 's/^QV_TLS_ARENA := *//p' board/qemu-virt/board.mk)
make -s -f Makefile -f bench/ram/bench.mk BOARD=host TARGET=armhf BENCH_ARENA="$qv_arena" bench-ram >/dev/null
for args in "-i 4 -o 2 -v 13" "-i 4 -o 2 -v 12"; do
	if res=$(qemu-arm -L /usr/arm-linux-gnueabihf "build/bench/ram-armhf/bench_ram-$qv_arena" $args -r "$OUT"); then
		echo "bench/ram: in qemu-virt's arena of $qv_arena bytes ($args): $(echo "$res" | sed -n 's/^bench_ram: handshakes //p')"
	else
		echo "$res"
		echo "bench/ram: in qemu-virt's arena of $qv_arena bytes ($args): FAILED"
	fi
done
if [ -f build/qemu-virt/danegate.map ]; then
	line=$(make -s BOARD=qemu-virt size-report 2>/dev/null | grep 'without the TLS arena' || true)
	static=$(echo "$line" | sed -n 's/.*without the TLS arena \([0-9]*\) .*/\1/p')
	heap=$(echo "$line" | sed -n 's/.*heap high-water \([0-9]*\) .*/\1/p')
	if [ -n "$static" ] && [ -n "$heap" ]; then
		awk -v s="$static" -v p="$worst" -v h="$heap" 'BEGIN {
			printf "RAM budget: static %.1f + TLS/heap peak %.1f = %.1f KiB of 384 KiB (static: qemu-virt map without the TLS arena; TLS: arena peak %.1f from bench/ram armhf; heap: newlib high-water %.1f as size-report states its source)\n", s/1024, (p+h)/1024, (s+p+h)/1024, p/1024, h/1024 }'
	fi
else
	echo "bench/ram: no build/qemu-virt/danegate.map: static RAM not known (make BOARD=qemu-virt)"
fi
