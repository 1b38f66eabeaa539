# selftest.mk — build (and where possible run) toolchain/selftest/deps_selftest.c
# against the mbedTLS and ldns of one target:
#   make -f toolchain/selftest.mk TARGET=native|armhf|arm-none-eabi [run]
# arm-none-eabi is linked with nosys.specs only to prove it links (the real
# startup is the board's), with a map file for toolchain/selftest.sh's
# size table. toolchain/selftest.sh runs all three.
TARGET ?= native
BOARD_DEPS := mbedtls ldns
include toolchain/target-$(TARGET).mk
DEPS := build/deps/$(TARGET)
include toolchain/deps.mk

ST := build/selftest/$(TARGET)
ST_BIN := $(ST)/deps_selftest
# The firmware's warning set and C standard: the dependency headers must
# be clean under them.
ST_CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	$(TARGET_CFLAGS) -ffunction-sections -fdata-sections
ifeq ($(TARGET),arm-none-eabi)
ST_LDFLAGS := $(TARGET_LDFLAGS) --specs=nosys.specs -Wl,-Map,$(ST)/deps_selftest.map
# The same program with ARM semihosting (newlib's rdimon) runs under
# qemu-arm's user mode: stdout, clock and /dev/urandom are the host's.
ST_SEMI := $(ST)/deps_selftest-semihosting $(ST)/size_probe
ST_SEMI_RUN := qemu-arm -cpu cortex-a15
else
ST_LDFLAGS := $(TARGET_LDFLAGS)
ST_SEMI :=
# cmocka on the host targets: the unit tests' framework.
ST_CMOCKA := $(ST)/cmocka_selftest
endif

.PHONY: all run
.DEFAULT_GOAL := all
all: $(ST_BIN) $(ST_SEMI) $(ST_CMOCKA)

$(ST)/deps_selftest.o: toolchain/selftest/deps_selftest.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEPS_CPPFLAGS) $(ST_CFLAGS) -c $< -o $@
$(ST_BIN): $(ST)/deps_selftest.o $(DEPS_LIBS) | deps
	$(CC) -o $@ $< $(DEPS_LIBS) $(ST_LDFLAGS)

$(ST)/deps_selftest-semihosting.o: toolchain/selftest/deps_selftest.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEPS_CPPFLAGS) -DDEPS_SELFTEST_SEMIHOSTING $(ST_CFLAGS) -c $< -o $@
$(ST)/deps_selftest-semihosting: $(ST)/deps_selftest-semihosting.o $(DEPS_LIBS) | deps
	$(CC) -o $@ $< $(DEPS_LIBS) $(TARGET_LDFLAGS) --specs=rdimon.specs

$(ST)/cmocka_selftest.o: toolchain/selftest/cmocka_selftest.c | deps
	@mkdir -p $(@D)
	$(CC) $(CMOCKA_CPPFLAGS) $(ST_CFLAGS) -c $< -o $@
$(ST)/cmocka_selftest: $(ST)/cmocka_selftest.o $(CMOCKA_LIB_FILES) | deps
	$(CC) -o $@ $< $(CMOCKA_LIBS) $(TARGET_LDFLAGS)

# What the firmware's use of mbedTLS + ldns costs after --gc-sections.
$(ST)/size_probe.o: toolchain/selftest/size_probe.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEPS_CPPFLAGS) $(ST_CFLAGS) -c $< -o $@
$(ST)/size_probe: $(ST)/size_probe.o $(DEPS_LIBS) | deps
	$(CC) -o $@ $< $(DEPS_LIBS) $(TARGET_LDFLAGS) --specs=nosys.specs -Wl,-Map,$@.map

run: $(ST_BIN) $(ST_SEMI) $(ST_CMOCKA)
ifeq ($(TARGET),arm-none-eabi)
	$(ST_SEMI_RUN) $(ST)/deps_selftest-semihosting
else
	$(RUNNER) $(ST_BIN)
	$(RUNNER) $(ST_CMOCKA)
endif
