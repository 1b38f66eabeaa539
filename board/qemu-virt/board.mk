# board.mk — the bare-metal QEMU `-M virt -cpu cortex-a15` board: startup,
# drivers (PL011, PL031, generic timer, GIC v2, CFI pflash) and the
# networking of netif.mk (virtio, lwIP). Sets the variables of
# docs/TEAM-CONTRACT.md; image.mk links danegate.elf.
BOARD_DEFAULT_TARGET := arm-none-eabi
TARGET ?= arm-none-eabi
ifneq ($(TARGET),arm-none-eabi)
$(error board qemu-virt is built for TARGET=arm-none-eabi only, not $(TARGET))
endif

# QV_NET_SRCS: virtio transport, virtio-net/-rng, lwIP glue (net engineer).
-include board/qemu-virt/netif.mk

QV_DRV_SRCS := \
	drivers/uart/pl011.c \
	drivers/rtc/pl031.c \
	drivers/timer/generic_timer.c \
	drivers/irq/gicv2.c \
	drivers/flash/cfi_pflash.c

BOARD_SRCS := \
	board/qemu-virt/board.c \
	board/qemu-virt/fault.c \
	board/qemu-virt/syscalls.c \
	$(QV_DRV_SRCS) \
	$(QV_NET_SRCS)
BOARD_ASMS := board/qemu-virt/startup.S
BOARD_MAIN := board/qemu-virt/main.c
BOARD_CPPFLAGS := -Iboard/qemu-virt
BOARD_CFLAGS :=
BOARD_HOST_LIBS :=
BOARD_DEPS := mbedtls ldns lwip
LWIP_OPTS_DIR := board/qemu-virt
IMAGE := danegate.elf
