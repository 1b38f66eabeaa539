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
ST_SEMI := $(ST)/deps_selftest-semihosting
ST_SEMI_RUN := qemu-arm -cpu cortex-a15
else
ST_LDFLAGS := $(TARGET_LDFLAGS)
ST_SEMI :=
endif

.PHONY: all run
.DEFAULT_GOAL := all
all: $(ST_BIN) $(ST_SEMI)

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

run: $(ST_BIN) $(ST_SEMI)
ifeq ($(TARGET),arm-none-eabi)
	$(ST_SEMI_RUN) $(ST_SEMI)
else
	$(RUNNER) $(ST_BIN)
endif
