# bench.mk — builds bench/ram/bench_ram against the host board for
# $(TARGET) (native or armhf), linked like the unit tests (firmware and
# host board libraries, the same mbedTLS build and config), with
# firmware/tls/tls.c compiled again for the arena size under test
# (BENCH_ARENA, default the host's). Run from the top:
#   make -f Makefile -f bench/ram/bench.mk BOARD=host [TARGET=armhf] bench-ram
BENCH_RAM_DIR := build/bench/ram-$(TARGET)
BENCH_ARENA ?=
BENCH_RAM := $(BENCH_RAM_DIR)/bench_ram$(if $(BENCH_ARENA),-$(BENCH_ARENA))

$(BENCH_RAM): bench/ram/bench_ram.c firmware/tls/tls.c firmware/tls/tls.h \
		$(BUILD)/libdanegate.a $(BUILD)/libboard.a | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(filter-out -MMD -MP,$(CFLAGS)) -Wno-missing-prototypes \
		$(if $(BENCH_ARENA),-DTLS_ARENA_SIZE=$(BENCH_ARENA)) -o $@ \
		bench/ram/bench_ram.c firmware/tls/tls.c \
		$(BUILD)/libdanegate.a $(BUILD)/libboard.a $(DEPS_LIBS) $(TARGET_LDFLAGS) $(BOARD_HOST_LIBS)

.PHONY: bench-ram
bench-ram: $(BENCH_RAM)
	@bash bench/ram/make-chain.sh build/bench/ram
