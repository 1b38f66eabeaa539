# bench.mk — builds bench/ram/bench_ram against the host board for
# $(TARGET) (native or armhf), linked like the unit tests (firmware and
# host board libraries, the same mbedTLS build and config), with
# firmware/tls/tls.c compiled again for the arena size under test
# (BENCH_ARENA, default the host's) and the TLS gate of qemu-virt
# (QV_TLS_SESSIONS, QV_TLS_HANDSHAKES read from its board.mk; BENCH_GATE=0
# builds without a gate). Run from the top:
#   make -f Makefile -f bench/ram/bench.mk BOARD=host [TARGET=armhf] bench-ram
BENCH_RAM_DIR := build/bench/ram-$(TARGET)
BENCH_ARENA ?=
BENCH_GATE ?= 1
qv_var = $(shell sed -n 's/^$(1) := *//p' board/qemu-virt/board.mk)
BENCH_GATE_FLAGS := $(if $(filter 1,$(BENCH_GATE)),-DTLS_SESSIONS_MAX=$(call qv_var,QV_TLS_SESSIONS) \
	-DTLS_HANDSHAKES_MAX=$(call qv_var,QV_TLS_HANDSHAKES))
BENCH_RAM := $(BENCH_RAM_DIR)/bench_ram$(if $(BENCH_ARENA),-$(BENCH_ARENA))$(if $(filter 1,$(BENCH_GATE)),,-nogate)

$(BENCH_RAM): bench/ram/bench_ram.c firmware/tls/tls.c firmware/tls/tls.h board/qemu-virt/board.mk \
		$(BUILD)/libdanegate.a $(BUILD)/libboard.a | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) -Wno-missing-prototypes \
		$(if $(BENCH_ARENA),-DTLS_ARENA_SIZE=$(BENCH_ARENA)) $(BENCH_GATE_FLAGS) -o $@ \
		bench/ram/bench_ram.c firmware/tls/tls.c \
		$(BUILD)/libdanegate.a $(BUILD)/libboard.a $(DEPS_LIBS) $(TARGET_LDFLAGS) $(BOARD_HOST_LIBS)

.PHONY: bench-ram
bench-ram: $(BENCH_RAM)
	@bash bench/ram/make-chain.sh build/bench/ram
