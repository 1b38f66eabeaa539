# bench.mk — the queue's boot-scan benchmark image for qemu-virt: the
# board itself (startup, link.ld, board.c, drivers) with
# bench/queue/qemu/boot_scan.c as the firmware and the queue, into
# $(BUILD)/boot_scan.elf. Run from the top: make -f bench/queue/qemu/bench.mk
# (bench/queue/Makefile's run-qemu target builds it, makes the flash
# image and boots it).
BUILD ?= build/bench/qemu
TARGET := arm-none-eabi
include toolchain/target-arm-none-eabi.mk
include board/qemu-virt/board.mk

LWIP_SRC ?= build/src/lwip-2.2.1+dfsg1
SRCS := board/qemu-virt/board.c board/qemu-virt/fault.c board/qemu-virt/syscalls.c \
	board/qemu-virt/main.c $(QV_DRV_SRCS) firmware/port_common.c bench/queue/qemu/boot_scan.c firmware/queue/queue.c firmware/util/crc32c.c
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/startup.o

# board.c takes only the version macro from lwIP: headers, no library.
CFLAGS := -std=c11 $(TARGET_CFLAGS) -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -MMD -MP -Ifirmware -Iboard/qemu-virt \
	-I$(LWIP_SRC)/src/include

.PHONY: all
all: $(BUILD)/boot_scan.elf

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/startup.o: board/qemu-virt/startup.S
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/boot_scan.elf: $(OBJS) board/qemu-virt/link.ld
	$(CC) $(TARGET_LDFLAGS) -nostartfiles -T board/qemu-virt/link.ld -Wl,--no-warn-rwx-segments \
		-Wl,-Map=$(BUILD)/boot_scan.map -o $@ -Wl,--start-group $(OBJS) -lc -lm -lgcc -Wl,--end-group

-include $(OBJS:.o=.d)
