# netdrv.mk — builds the netdrv test image (tests/qemu/netdrv/harness.c on
# the board's network files and lwIP) into $(BUILD)/netdrv.elf.
# make -f tests/qemu/netdrv/netdrv.mk HOST_TCP=.. HOST_TCP6=.. HOST_UDP=.. \
#      HOST_REFUSED=.. HOST_UDP6=.. [IPV4="10.0.2.15/24 gw 10.0.2.2"] [BUILD=...]
# Called by tests/qemu/test_netdrv.py with free host ports.
BUILD ?= build/test-netdrv
# The project's bare-metal toolchain settings when present, else the same
# flags spelled out (so this test does not wait for the toolchain work).
-include toolchain/target-arm-none-eabi.mk
ifeq ($(TARGET_TRIPLE),)
CC := arm-none-eabi-gcc
AR := arm-none-eabi-ar
TARGET_CFLAGS := -mcpu=cortex-a15 -mfpu=neon-vfpv4 -mfloat-abi=hard -mthumb --specs=nano.specs \
	-Os -g -ffunction-sections -fdata-sections
TARGET_LDFLAGS := -mcpu=cortex-a15 -mfpu=neon-vfpv4 -mfloat-abi=hard -mthumb --specs=nano.specs \
	-Wl,--gc-sections
endif
BOARD_DEPS := lwip
LWIP_OPTS_DIR := board/qemu-virt

.PHONY: all deps FORCE
all: $(BUILD)/netdrv.elf

include toolchain/dep-lwip.mk
include board/qemu-virt/netif.mk

CFLAGS := -std=c11 $(TARGET_CFLAGS) -ffunction-sections -fdata-sections -Wall -Wextra \
	-Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -MMD -MP \
	-Ifirmware -Iboard/qemu-virt $(DEPS_CPPFLAGS)
NET_OBJS := $(QV_NET_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# The ports change every run: the harness is always rebuilt.
HARNESS_DEFS := -DHOST_TCP=$(HOST_TCP) -DHOST_TCP6=$(HOST_TCP6) -DHOST_UDP=$(HOST_UDP) \
	-DHOST_REFUSED=$(HOST_REFUSED) -DHOST_UDP6=$(HOST_UDP6) $(if $(IPV4),'-DNETDRV_IPV4="$(IPV4)"')
$(BUILD)/harness.o: tests/qemu/netdrv/harness.c FORCE | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HARNESS_DEFS) -c $< -o $@

$(BUILD)/netdrv.elf: tests/qemu/netdrv/start.S $(BUILD)/harness.o $(NET_OBJS) $(LWIP_LIB) \
		tests/qemu/netdrv/link.ld
	$(CC) $(TARGET_LDFLAGS) -nostartfiles -T tests/qemu/netdrv/link.ld --specs=nosys.specs \
		tests/qemu/netdrv/start.S $(BUILD)/harness.o \
		$(NET_OBJS) $(LWIP_LIB) -o $@

-include $(NET_OBJS:.o=.d)
