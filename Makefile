# danegate — top-level build.
#   make                 host board (Linux process), build/host/danegate
#   make BOARD=qemu-virt bare-metal image, build/qemu-virt/danegate.elf
#   make run             build and boot the qemu-virt image (SMTP on :2525, web :8080)
#   make test            set up the machine if needed, run every test
#   make size            per-component size table of the qemu-virt image
#   make soak            long kill-and-restart soak on both boards (SOAK_MSGS=5000)
#   make demo            the DANE test world and the QEMU firmware against it (tests/e2e/demo.sh)
# The host board can also be cross-built: make BOARD=host TARGET=armhf.

BOARD ?= host
ROOT := $(abspath .)
export ROOT

include board/$(BOARD)/board.mk
include toolchain/target-$(TARGET).mk

BUILD := build/$(BOARD)$(if $(filter-out $(BOARD_DEFAULT_TARGET),$(TARGET)),-$(TARGET))
DEPS := build/deps/$(TARGET)

include toolchain/deps.mk
include firmware/firmware.mk

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS += -Ifirmware $(BOARD_CPPFLAGS) $(DEPS_CPPFLAGS)
CFLAGS += -std=c11 $(WARN) $(TARGET_CFLAGS) $(BOARD_CFLAGS) -ffunction-sections -fdata-sections -MMD -MP

# $(call flags_stamp,FILE,TEXT): FILE holds TEXT (the compiler and flags a
# set of objects is built with). It is rewritten only when TEXT changes, so
# objects that depend on it are rebuilt after a define in board.mk or on the
# command line changes (make's own dependencies only see files).
define flags_stamp
$(shell mkdir -p $(dir $1) && printf '%s\n' '$(subst ','\'',$2)' | cmp -s - $1 || \
	printf '%s\n' '$(subst ','\'',$2)' >$1)$1
endef
FLAGS_STAMP := $(call flags_stamp,$(BUILD)/flags,$(CC) $(CPPFLAGS) $(CFLAGS))

FW_OBJS := $(FW_SRCS:%.c=$(BUILD)/obj/%.o)
BOARD_OBJS := $(BOARD_SRCS:%.c=$(BUILD)/obj/%.o) $(BOARD_ASMS:%.S=$(BUILD)/obj/%.o)
BOARD_MAIN_OBJ := $(BOARD_MAIN:%.c=$(BUILD)/obj/%.o)

.PHONY: all firmware run test test-unit test-qemu size setup deps clean distclean bench demo
all: firmware
firmware: $(BUILD)/$(IMAGE)

$(BUILD)/libdanegate.a: $(FW_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(BUILD)/libboard.a: $(BOARD_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP) | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: %.S $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

include board/$(BOARD)/image.mk
include tests/tests.mk
include tests/fuzz/fuzz.mk

setup:
	bash toolchain/setup.sh

# make run always means the QEMU board, whatever BOARD says. SMTP on
# localhost:2525, the HTTPS web console on https://localhost:8080/.
run:
	bash toolchain/setup.sh
	$(MAKE) BOARD=qemu-virt qemu-run \
		QV_HOSTFWD=hostfwd=tcp:127.0.0.1:2525-:25,hostfwd=tcp:127.0.0.1:8080-:443

size:
	$(MAKE) BOARD=qemu-virt size-report

# Benchmarks: figures and ratios (not tests), see bench/README files.
bench:
	bash bench/run.sh

# The long kill-and-restart soak (issue 6) on both boards; tests/run-all.sh
# runs the same scripts with 1000 messages each.
SOAK_MSGS ?= 5000
.PHONY: soak
soak:
	$(MAKE) BOARD=host && $(MAKE) BOARD=qemu-virt
	SOAK_MSGS=$(SOAK_MSGS) bash tests/e2e/run-soak.sh && SOAK_MSGS=$(SOAK_MSGS) bash tests/e2e/run-soak-qemu.sh
# The DANE test world + the QEMU firmware against it, a few messages, how each left.
demo:
	bash tests/e2e/demo.sh

clean:
	rm -rf build/host build/host-* build/qemu-virt build/test* build/fuzz
distclean:
	rm -rf build

-include $(FW_OBJS:.o=.d) $(BOARD_OBJS:.o=.d)
