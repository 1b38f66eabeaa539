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
# RAM budget (384 KiB, bench/ram): the TLS gate (tls.h) admits at most
# QV_TLS_SESSIONS sessions holding TLS memory — exactly the budget's 4
# inbound + 2 outbound; the web console's HTTPS waits while all 6 are held
# and gets the next free slot before waiting SMTP sessions (never refused,
# never clear text) — of which QV_TLS_HANDSHAKES handshake at once. The
# arena is their measured peak on 32-bit ARM (bench/ram builds with these
# values: 138,064 B with allocator headers) plus ~6 KiB for fragmentation;
# no room is kept for a credential import under full load (it fails with
# "not enough TLS memory now; try again" and changes nothing).
# DNS: answers of at most 4096 bytes over TCP and 4096 bytes of RR data
# (scenario 30's ~2.6 KB TLSA answer fits; larger ones defer), a 4 KiB
# cache, one shared TCP buffer, 4 lookups in flight (more wait a tick).
# A quarter of the host's log ring, half its serial history.
QV_TLS_SESSIONS := 6
QV_TLS_HANDSHAKES := 1
QV_TLS_ARENA := 144384
BOARD_CPPFLAGS := -Iboard/qemu-virt -DTLS_ARENA_SIZE=$(QV_TLS_ARENA) \
	-DTLS_SESSIONS_MAX=$(QV_TLS_SESSIONS) -DTLS_HANDSHAKES_MAX=$(QV_TLS_HANDSHAKES) \
	-DDNS_CACHE_ENTRIES=32 -DDNS_CACHE_BYTES=4096 -DDNS_TCP_BUFS=1 -DDNS_TCP_MSG_MAX=4096 \
	-DDNS_DATA_MAX=4096 -DDNS_OUTSTANDING_MAX=4 -DMX_HOSTS_MAX=8 \
	-DLOG_RING_SIZE=2048 -DSERIAL_HISTORY=4
BOARD_CFLAGS :=
BOARD_HOST_LIBS :=
BOARD_DEPS := mbedtls ldns lwip
LWIP_OPTS_DIR := board/qemu-virt
IMAGE := danegate.elf
