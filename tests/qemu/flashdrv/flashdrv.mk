# flashdrv.mk — builds the flashdrv test image: the qemu-virt board itself
# (startup, link.ld, board.c, drivers) with tests/qemu/flashdrv/harness.c
# as the firmware and stubs for the network, into $(BUILD)/flashdrv.elf.
# make -f tests/qemu/flashdrv/flashdrv.mk [BUILD=...]; called by
# tests/qemu/test_flashdrv.py.
BUILD ?= build/test-flashdrv
TARGET := arm-none-eabi
include toolchain/target-arm-none-eabi.mk
include board/qemu-virt/board.mk

LWIP_SRC ?= build/src/lwip-2.2.1+dfsg1
SRCS := board/qemu-virt/board.c board/qemu-virt/fault.c board/qemu-virt/syscalls.c \
	board/qemu-virt/main.c $(QV_DRV_SRCS) firmware/port_common.c tests/qemu/flashdrv/harness.c
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/startup.o

# board.c takes only the version macro from lwIP: headers, no library.
CFLAGS := -std=c11 $(TARGET_CFLAGS) -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -MMD -MP -Ifirmware -Iboard/qemu-virt \
	-I$(LWIP_SRC)/src/include

.PHONY: all
all: $(BUILD)/flashdrv.elf

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/startup.o: board/qemu-virt/startup.S
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/flashdrv.elf: $(OBJS) board/qemu-virt/link.ld
	$(CC) $(TARGET_LDFLAGS) -nostartfiles -T board/qemu-virt/link.ld -Wl,--no-warn-rwx-segments \
		-Wl,-Map=$(BUILD)/flashdrv.map -o $@ -Wl,--start-group $(OBJS) -lc -lm -lgcc -Wl,--end-group

-include $(OBJS:.o=.d)
