/* virtio_net.c — virtio-net over modern virtio-mmio: a pre-posted RX ring
 * and a TX ring that sends the stack's buffers in place, each frame behind
 * the 12-byte virtio_net_hdr of virtio 1.x (num_buffers is always present
 * with VERSION_1).
 * Exports virtio_net_probe() and the net_driver_api behind it. */
#include "virtio_net.h"

#include <string.h>

#include "../virtio/virtio_mmio.h"
#include "../virtio/virtq.h"
#include "port.h"

#define VNET_F_MAC 5u
#define VNET_HDR_LEN 12u
#define VNET_BUF_LEN 1536u /* >= VNET_HDR_LEN + NET_FRAME_MAX, cache-line multiple */
#define VNET_RXQ 0u
#define VNET_TXQ 1u

_Static_assert(VNET_BUF_LEN >= VNET_HDR_LEN + NET_FRAME_MAX, "buffer too small");
_Static_assert(VIRTIO_NET_RX_BUFS <= VIRTQ_MAX_SIZE && VIRTIO_NET_TX_DESC <= VIRTQ_MAX_SIZE,
	       "more buffers than ring entries");
_Static_assert((VIRTIO_NET_RX_BUFS & (VIRTIO_NET_RX_BUFS - 1)) == 0 &&
		       (VIRTIO_NET_TX_DESC & (VIRTIO_NET_TX_DESC - 1)) == 0,
	       "split virtqueue sizes are powers of two (virtq_init)");
_Static_assert(VIRTIO_NET_TX_DESC >= 1 + NET_TX_PIECES, "a whole frame must fit the TX ring");

/* The header the device expects in front of every frame; all zero for
 * us: no checksum offload, no GSO (we negotiated neither). */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
_Static_assert(sizeof(struct vnet_hdr) == VNET_HDR_LEN, "virtio_net_hdr layout");

/* In front of every frame we send; the device only reads it. */
static const struct vnet_hdr tx_hdr;

struct vnet_buf {
	uint8_t data[VNET_BUF_LEN];
} __attribute__((aligned(64)));

static struct vnet {
	bool probed;
	struct net_dev dev;
	struct virtio_mmio mmio;
	struct virtq rxq, txq;
	struct virtq_mem rxmem, txmem;
	struct vnet_buf rx[VIRTIO_NET_RX_BUFS];
	struct vnet_buf *rx_cur; /* lent out by rx_peek, NULL if none */
	bool broken;		 /* the device misbehaved; stop using it */
} vnet;

static int rx_post(struct vnet_buf *b)
{
	struct virtq_buf vb = { .addr = b->data, .len = VNET_BUF_LEN, .device_writes = true };
	return virtq_add(&vnet.rxq, &vb, 1, b);
}

static void rx_kick(void)
{
	if (virtq_publish(&vnet.rxq))
		virtio_mmio_notify(&vnet.mmio, VNET_RXQ);
}

static void tx_reclaim(void)
{
	uint32_t len;
	void *ctx;
	while ((ctx = virtq_get_used(&vnet.txq, &len)) != NULL)
		if (vnet.dev.tx_done)
			vnet.dev.tx_done(&vnet.dev, ctx);
	if (vnet.txq.broken)
		vnet.broken = true;
}

static int vnet_send(struct net_dev *dev, const struct net_iov *iov, unsigned n, void *ctx)
{
	if (vnet.broken)
		return PORT_EIO;
	if (!ctx || n == 0 || n > NET_TX_PIECES)
		return PORT_EINVAL;
	size_t total = 0;
	struct virtq_buf vb[1 + NET_TX_PIECES];
	vb[0] = (struct virtq_buf){ .addr = &tx_hdr, .len = VNET_HDR_LEN };
	for (unsigned i = 0; i < n; i++) {
		total += iov[i].len;
		vb[1 + i] = (struct virtq_buf){ .addr = iov[i].base, .len = (uint32_t)iov[i].len };
	}
	if (total == 0 || total > NET_FRAME_MAX)
		return PORT_EINVAL;

	tx_reclaim();
	if (vnet.broken)
		return PORT_EIO;
	if (virtq_add(&vnet.txq, vb, 1 + n, ctx) != 0) {
		dev->tx_drops++;
		return PORT_EAGAIN;
	}
	if (virtq_publish(&vnet.txq))
		virtio_mmio_notify(&vnet.mmio, VNET_TXQ);
	dev->tx_frames++;
	return 0;
}

static int vnet_rx_peek(struct net_dev *dev, const void **frame, size_t *len)
{
	if (vnet.broken)
		return PORT_EIO;
	if (vnet.rx_cur) /* one frame at a time: rx_release comes first */
		return PORT_EINVAL;
	for (;;) {
		uint32_t written;
		struct vnet_buf *b = virtq_get_used(&vnet.rxq, &written);
		if (!b) {
			if (vnet.rxq.broken) {
				vnet.broken = true;
				return PORT_EIO;
			}
			return PORT_EAGAIN;
		}
		if (written < VNET_HDR_LEN + 14u || written > VNET_BUF_LEN) {
			dev->rx_errors++;
			rx_post(b); /* cannot fail: its descriptor just came back */
			rx_kick();
			continue;
		}
		vnet.rx_cur = b;
		*frame = b->data + VNET_HDR_LEN;
		*len = written - VNET_HDR_LEN;
		dev->rx_frames++;
		return 0;
	}
}

static void vnet_rx_release(struct net_dev *dev)
{
	if (!vnet.rx_cur)
		return;
	rx_post(vnet.rx_cur);
	vnet.rx_cur = NULL;
	rx_kick();
}

static bool vnet_pending(struct net_dev *dev)
{
	if (vnet.broken)
		return false;
	tx_reclaim();
	return virtq_has_used(&vnet.rxq);
}

static void vnet_irq_ack(struct net_dev *dev)
{
	(void)virtio_mmio_irq_ack(&vnet.mmio);
}

static const struct net_driver_api vnet_api = {
	.send = vnet_send,
	.rx_peek = vnet_rx_peek,
	.rx_release = vnet_rx_release,
	.pending = vnet_pending,
	.irq_ack = vnet_irq_ack,
};

static int vnet_queue(unsigned qi, struct virtq *q, struct virtq_mem *mem, uint16_t want)
{
	uint16_t max;
	int err = virtio_mmio_queue_max(&vnet.mmio, qi, &max);
	if (err)
		return err;
	if (max < want)
		return PORT_ENOTSUP; /* we size buffers by ring entries */
	err = virtq_init(q, mem, want);
	if (err)
		return err;
	return virtio_mmio_queue_setup(&vnet.mmio, qi, q);
}

int virtio_net_probe(uintptr_t mmio_base, uintptr_t stride, unsigned nslots, unsigned irq_base,
		     struct net_dev **out)
{
	if (vnet.probed)
		return PORT_EINVAL;
	unsigned from = 0;
	int err = virtio_mmio_find(mmio_base, stride, nslots, VIRTIO_ID_NET, &from, &vnet.mmio);
	if (err)
		return err;
	uint64_t got;
	err = virtio_mmio_negotiate(&vnet.mmio, 1ull << VNET_F_MAC, 1ull << VNET_F_MAC, &got);
	if (err)
		return err;
	err = vnet_queue(VNET_RXQ, &vnet.rxq, &vnet.rxmem, VIRTIO_NET_RX_BUFS);
	if (!err)
		err = vnet_queue(VNET_TXQ, &vnet.txq, &vnet.txmem, VIRTIO_NET_TX_DESC);
	if (err) {
		virtio_mmio_fail(&vnet.mmio);
		return err;
	}
	struct net_dev *dev = &vnet.dev;
	virtio_mmio_config_read(&vnet.mmio, 0, dev->mac, sizeof(dev->mac));
	dev->mtu = 1500;
	dev->irq = irq_base + vnet.mmio.slot;
	dev->api = &vnet_api;
	dev->priv = &vnet;
	/* Sent frames are handed back by the next send or pending() (the
	 * poll loop): no interrupt per transmitted frame. RX interrupts stay
	 * on to wake the WFI. */
	virtq_no_interrupt(&vnet.txq, true);
	for (unsigned i = 0; i < VIRTIO_NET_RX_BUFS; i++)
		rx_post(&vnet.rx[i]);
	/* Buffers are posted before DRIVER_OK so the first frame has a home. */
	virtq_publish(&vnet.rxq);
	virtio_mmio_driver_ok(&vnet.mmio);
	virtio_mmio_notify(&vnet.mmio, VNET_RXQ);
	vnet.probed = true;
	*out = dev;
	return 0;
}
