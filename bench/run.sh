#!/usr/bin/env bash
# bench/run.sh — `make bench`: builds what the benchmarks need and runs
# them; prints figures and ratios (benchmarks are not tests: no pass/fail
# on timings). BENCH_ROUNDS (default 3) and BENCH_SESSIONS (default 10);
# BENCH_SKIP_QUEUE, BENCH_SKIP_DANE, BENCH_SKIP_RAM, BENCH_SKIP_DELIVERY skip a
# section.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/bench
if ! make -s BOARD=host >/dev/null; then
	[ -x build/host/danegate ] || { echo "bench: host board does not build"; exit 1; }
	echo "bench: host board did not rebuild; using the existing build/host/danegate"
fi
make -s BOARD=qemu-virt >/dev/null || echo "bench: qemu-virt image did not build; QEMU figures skipped"
echo "==== bench/inbound ===="
python3 bench/inbound/bench.py
if [ -f bench/queue/Makefile ] && [ -z "${BENCH_SKIP_QUEUE:-}" ]; then
	echo "==== bench/queue ===="
	make -s -C bench/queue run || echo "bench: bench/queue failed"
fi
if [ -z "${BENCH_SKIP_DANE:-}" ]; then
	echo "==== bench/dane ===="
	bash bench/dane/run.sh || echo "bench: bench/dane failed"
fi
if [ -z "${BENCH_SKIP_RAM:-}" ]; then
	echo "==== bench/ram ===="
	bash bench/ram/run.sh || echo "bench: bench/ram failed"
fi
if [ -z "${BENCH_SKIP_DELIVERY:-}" ]; then
	echo "==== bench/delivery ===="
	bash bench/delivery/run.sh || echo "bench: bench/delivery failed"
fi
