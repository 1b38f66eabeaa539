# netif.mk — networking and entropy of the qemu-virt board: virtio-mmio
# transport, virtio-net, virtio-rng and the lwIP glue behind port.h.
# Exports QV_NET_SRCS (added to BOARD_SRCS by board.mk); lwIP itself is
# built by toolchain/dep-lwip.mk (BOARD_DEPS += lwip, LWIP_OPTS_DIR).
QV_NET_SRCS := \
	drivers/virtio/virtq.c \
	drivers/virtio/virtio_mmio.c \
	drivers/net/virtio_net.c \
	drivers/rng/virtio_rng.c \
	board/qemu-virt/net_rng.c \
	board/qemu-virt/net_lwip.c
