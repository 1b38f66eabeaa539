/* net_rng.c — entropy on qemu-virt: port_random() straight from
 * virtio-rng, and LWIP_RAND (qv_lwip_rand) from a ChaCha20 generator
 * keyed from virtio-rng with fast key erasure and periodic reseeding.
 * Exports qv_rng_init, qv_rand_seed, port_random, qv_lwip_rand. */
#include <string.h>

#include "../../drivers/rng/virtio_rng.h"
#include "arch/cc.h"
#include "port.h"
#include "qv_net.h"

/* virtio-rng answers in microseconds under QEMU; a device that has not
 * answered in this long is treated as broken (port_random fails). */
#define QV_RNG_TIMEOUT_MS 2000u
/* Fold fresh device entropy into the LWIP_RAND key every this many
 * ChaCha blocks (8 outputs each). */
#define QV_RAND_RESEED_BLOCKS 64u

static struct rng_dev *qv_rng;

static struct {
	bool seeded;
	uint32_t key[8];
	uint32_t out[8];	/* unread outputs at out[pos..8) */
	unsigned pos;
	unsigned blocks;	/* since the last reseed */
} qv_rand;

int qv_rng_init(void)
{
	if (qv_rng)
		return 0;
	return virtio_rng_probe(QV_VIRTIO_MMIO_BASE, QV_VIRTIO_MMIO_STRIDE, QV_VIRTIO_MMIO_SLOTS,
				&qv_rng);
}

int port_random(void *buf, size_t len)
{
	if (!qv_rng)
		return PORT_EIO;
	uint8_t *p = buf;
	uint64_t start = port_now_ms();
	while (len) {
		long n = qv_rng->api->read(qv_rng, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n != PORT_EAGAIN)
			return (int)n;
		if (port_now_ms() - start > QV_RNG_TIMEOUT_MS)
			return PORT_ETIMEDOUT;
	}
	return 0;
}

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                                                             \
	do {                                                                                       \
		a += b; d ^= a; d = ROTL(d, 16);                                                   \
		c += d; b ^= c; b = ROTL(b, 12);                                                   \
		a += b; d ^= a; d = ROTL(d, 8);                                                    \
		c += d; b ^= c; b = ROTL(b, 7);                                                    \
	} while (0)

/* One ChaCha20 block (RFC 8439) with counter and nonce zero: the key
 * changes after every block, so the counter never needs to. */
static void chacha20_block(const uint32_t key[8], uint32_t out[16])
{
	static const uint32_t sigma[4] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	uint32_t x[16], in[16];
	memcpy(in, sigma, sizeof(sigma));
	memcpy(in + 4, key, 8 * sizeof(uint32_t));
	memset(in + 12, 0, 4 * sizeof(uint32_t));
	memcpy(x, in, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		out[i] = x[i] + in[i];
	memset(x, 0, sizeof(x));
	memset(in, 0, sizeof(in));
}

/* Fast key erasure: half of each block becomes the next key, so outputs
 * already handed out cannot be recomputed from a later state. */
static void qv_rand_refill(void)
{
	uint32_t blk[16];
	if (++qv_rand.blocks >= QV_RAND_RESEED_BLOCKS) {
		/* Non-blocking: whatever the device has ready now is mixed in;
		 * if it has nothing, the key stays strong and we try later. */
		uint32_t fresh[8] = { 0 };
		long n = qv_rng->api->read(qv_rng, fresh, sizeof(fresh));
		if (n > 0) {
			for (int i = 0; i < 8; i++)
				qv_rand.key[i] ^= fresh[i];
			qv_rand.blocks = 0;
		}
		memset(fresh, 0, sizeof(fresh));
	}
	chacha20_block(qv_rand.key, blk);
	memcpy(qv_rand.key, blk, sizeof(qv_rand.key));
	memcpy(qv_rand.out, blk + 8, sizeof(qv_rand.out));
	memset(blk, 0, sizeof(blk));
	qv_rand.pos = 0;
}

int qv_rand_seed(void)
{
	int err = port_random(qv_rand.key, sizeof(qv_rand.key));
	if (err)
		return err;
	qv_rand.seeded = true;
	qv_rand.blocks = 0;
	qv_rand_refill();
	return 0;
}

uint32_t qv_lwip_rand(void)
{
	/* lwIP draws ISNs and ports from here; an unseeded generator would be
	 * a fake source, so that is a bug worth stopping for. */
	if (!qv_rand.seeded)
		qv_lwip_assert("LWIP_RAND before qv_rand_seed", __FILE__, __LINE__);
	if (qv_rand.pos >= 8)
		qv_rand_refill();
	uint32_t v = qv_rand.out[qv_rand.pos];
	qv_rand.out[qv_rand.pos++] = 0;
	return v;
}
