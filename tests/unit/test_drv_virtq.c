/* test_drv_virtq — the split virtqueue ring logic (drivers/virtio/virtq.c),
 * the virtio-mmio discovery/handshake and the virtio-rng driver, against a
 * fake device that walks the rings the way QEMU does: chains, flags,
 * free-list recycling, 16-bit index wrap-around, out-of-order completion,
 * a lying device, entropy bytes handed out exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Registers go through drivers/mmio.h's fake hooks: plain memory (the
 * regs array below), except that one slot can bank the per-queue
 * registers by QueueSel as a real device does. */
#define DRV_MMIO_FAKE
#include "../../drivers/mmio.h"

/* mmio.h's fake mode has 32-bit hooks only; config space is read bytewise. */
static inline uint8_t mmio_read8(uintptr_t addr)
{
	return *(volatile const uint8_t *)addr;
}

static struct {
	uintptr_t base; /* 0: no banked slot */
	uint32_t sel;
	uint32_t q[2][0x200 / 4];
} bank;

static bool banked(uintptr_t addr, uint32_t *off)
{
	if (!bank.base || addr < bank.base || addr >= bank.base + 0x200)
		return false;
	*off = (uint32_t)(addr - bank.base);
	return *off == 0x34 || *off == 0x38 || *off == 0x44 || (*off >= 0x80 && *off <= 0xa4);
}

uint32_t fake_mmio_read32(uintptr_t addr)
{
	uint32_t off;
	if (banked(addr, &off))
		return bank.sel < 2 ? bank.q[bank.sel][off / 4] : 0;
	return *(volatile const uint32_t *)addr;
}

void fake_mmio_write32(uintptr_t addr, uint32_t v)
{
	uint32_t off;
	if (banked(addr, &off)) {
		if (bank.sel < 2)
			bank.q[bank.sel][off / 4] = v;
		return;
	}
	if (bank.base && addr == bank.base + 0x30)
		bank.sel = v;
	*(volatile uint32_t *)addr = v;
}

/* The drivers are not part of the host board; compile them in here. */
#include "../../drivers/virtio/virtq.c"
#include "../../drivers/virtio/virtio_mmio.c"
#include "../../drivers/rng/virtio_rng.c"
#include "../../drivers/net/virtio_net.c"

/* ---- a fake device on the other side of the rings --------------------- */

struct fake_req {
	uint16_t head;
	uint32_t out_len, in_len; /* device-readable / device-writable bytes */
	unsigned ndesc;
};

struct fake_dev {
	struct virtq_mem *mem;
	uint16_t num;
	uint16_t last_avail;
	uint16_t used_idx;
	bool desc_busy[VIRTQ_MAX_SIZE];
};

/* Takes every newly available chain, checking it is well formed and shares
 * no descriptor with a chain still in flight. Returns how many it took. */
static unsigned fake_take(struct fake_dev *d, struct fake_req *out, unsigned max)
{
	unsigned n = 0;
	while (d->last_avail != d->mem->avail.idx && n < max) {
		uint16_t head = d->mem->avail.ring[d->last_avail % d->num];
		d->last_avail++;
		assert_true(head < d->num);
		struct fake_req r = { .head = head };
		uint16_t i = head;
		bool seen_in = false;
		for (;;) {
			struct virtq_desc *desc = &d->mem->desc[i];
			assert_false(d->desc_busy[i]); /* no sharing between chains */
			d->desc_busy[i] = true;
			r.ndesc++;
			assert_true(r.ndesc <= d->num); /* no loop */
			if (desc->flags & VIRTQ_DESC_F_WRITE) {
				seen_in = true;
				r.in_len += desc->len;
			} else {
				assert_false(seen_in); /* out after in is illegal */
				r.out_len += desc->len;
			}
			if (!(desc->flags & VIRTQ_DESC_F_NEXT))
				break;
			i = desc->next;
			assert_true(i < d->num);
		}
		out[n++] = r;
	}
	return n;
}

/* Completes one chain: frees its descriptors on the device side and puts
 * it on the used ring with `written` bytes. */
static void fake_complete(struct fake_dev *d, const struct fake_req *r, uint32_t written)
{
	uint16_t i = r->head;
	for (unsigned k = 0; k < r->ndesc; k++) {
		d->desc_busy[i] = false;
		i = d->mem->desc[i].next;
	}
	struct virtq_used_elem *e = &d->mem->used.ring[d->used_idx % d->num];
	e->id = r->head;
	e->len = written;
	d->used_idx++;
	d->mem->used.idx = d->used_idx;
}

static struct virtq_mem mem;
static struct virtq q;
static uint8_t bufs[8][64];

/* ---- tests ------------------------------------------------------------- */

static void init_rejects_bad_sizes(void **state)
{
	(void)state;
	assert_int_equal(virtq_init(&q, &mem, 0), PORT_EINVAL);
	assert_int_equal(virtq_init(&q, &mem, 12), PORT_EINVAL); /* not a power of two */
	assert_int_equal(virtq_init(&q, &mem, VIRTQ_MAX_SIZE * 2), PORT_EINVAL);
	assert_int_equal(virtq_init(&q, &mem, 8), 0);
	assert_int_equal(q.num_free, 8);
	assert_false(virtq_has_used(&q));
}

static void ring_layout_meets_spec_alignment(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct virtq_desc), 16);
	assert_int_equal((uintptr_t)mem.desc % 16, 0);
	assert_int_equal((uintptr_t)&mem.avail % 2, 0);
	assert_int_equal((uintptr_t)&mem.used % 4, 0);
	assert_int_equal(offsetof(struct virtq_avail, ring), 4);
	assert_int_equal(offsetof(struct virtq_used, ring), 4);
	assert_int_equal(sizeof(struct virtq_used_elem), 8);
}

static void one_buffer_is_published_and_returned(void **state)
{
	(void)state;
	assert_int_equal(virtq_init(&q, &mem, 8), 0);
	struct virtq_buf b = { .addr = bufs[0], .len = 64, .device_writes = true };
	assert_int_equal(virtq_add(&q, &b, 1, bufs[0]), 0);
	/* Not visible before publish: a device must never see half a chain. */
	assert_int_equal(mem.avail.idx, 0);
	assert_true(virtq_publish(&q));
	assert_int_equal(mem.avail.idx, 1);
	uint16_t head = mem.avail.ring[0];
	assert_int_equal(mem.desc[head].addr, (uint64_t)(uintptr_t)bufs[0]);
	assert_int_equal(mem.desc[head].len, 64);
	assert_int_equal(mem.desc[head].flags, VIRTQ_DESC_F_WRITE);

	struct fake_dev d = { .mem = &mem, .num = 8 };
	struct fake_req r;
	assert_int_equal(fake_take(&d, &r, 1), 1);
	assert_int_equal(r.in_len, 64);
	fake_complete(&d, &r, 17);
	assert_true(virtq_has_used(&q));
	uint32_t len;
	assert_ptr_equal(virtq_get_used(&q, &len), bufs[0]);
	assert_int_equal(len, 17);
	assert_int_equal(q.num_free, 8);
	assert_null(virtq_get_used(&q, &len));
	assert_int_equal(len, 0);
}

static void publish_honours_no_notify(void **state)
{
	(void)state;
	assert_int_equal(virtq_init(&q, &mem, 4), 0);
	struct virtq_buf b = { .addr = bufs[0], .len = 8 };
	assert_int_equal(virtq_add(&q, &b, 1, bufs[0]), 0);
	mem.used.flags = VIRTQ_USED_F_NO_NOTIFY;
	assert_false(virtq_publish(&q));
	mem.used.flags = 0;
	assert_true(virtq_publish(&q));
}

static void chains_link_out_before_in(void **state)
{
	(void)state;
	assert_int_equal(virtq_init(&q, &mem, 8), 0);
	struct virtq_buf c[3] = {
		{ .addr = bufs[0], .len = 12 },
		{ .addr = bufs[1], .len = 20 },
		{ .addr = bufs[2], .len = 64, .device_writes = true },
	};
	assert_int_equal(virtq_add(&q, c, 3, bufs[0]), 0);
	assert_int_equal(q.num_free, 5);
	virtq_publish(&q);
	struct fake_dev d = { .mem = &mem, .num = 8 };
	struct fake_req r;
	assert_int_equal(fake_take(&d, &r, 1), 1);
	assert_int_equal(r.ndesc, 3);
	assert_int_equal(r.out_len, 32);
	assert_int_equal(r.in_len, 64);

	struct virtq_buf bad[2] = {
		{ .addr = bufs[3], .len = 8, .device_writes = true },
		{ .addr = bufs[4], .len = 8 },
	};
	assert_int_equal(virtq_add(&q, bad, 2, bufs[3]), PORT_EINVAL);
	assert_int_equal(virtq_add(&q, bad, 1, NULL), PORT_EINVAL);
	assert_int_equal(virtq_add(&q, bad, 0, bufs[3]), PORT_EINVAL);
	assert_int_equal(q.num_free, 5); /* refused adds take nothing */
}

static void full_ring_refuses_then_recovers(void **state)
{
	(void)state;
	assert_int_equal(virtq_init(&q, &mem, 4), 0);
	struct virtq_buf b[2] = { { .addr = bufs[0], .len = 8 }, { .addr = bufs[1], .len = 8 } };
	assert_int_equal(virtq_add(&q, b, 2, bufs[0]), 0);
	assert_int_equal(virtq_add(&q, b, 1, bufs[1]), 0);
	assert_int_equal(virtq_add(&q, b, 2, bufs[2]), PORT_ENOSPC); /* 1 left, 2 wanted */
	assert_int_equal(virtq_add(&q, b, 1, bufs[2]), 0);
	assert_int_equal(virtq_add(&q, b, 1, bufs[3]), PORT_ENOSPC);
	virtq_publish(&q);

	struct fake_dev d = { .mem = &mem, .num = 4 };
	struct fake_req r[4];
	assert_int_equal(fake_take(&d, r, 4), 3);
	fake_complete(&d, &r[0], 0); /* frees the 2-descriptor chain */
	uint32_t len;
	assert_ptr_equal(virtq_get_used(&q, &len), bufs[0]);
	assert_int_equal(virtq_add(&q, b, 2, bufs[3]), 0);
}

/* Thousands of rounds past the 16-bit index wrap, chains of 1-3
 * descriptors completed out of order: every token comes back exactly once
 * with its length and no descriptor is ever in two chains. */
static void indices_wrap_and_completions_reorder(void **state)
{
	(void)state;
	const uint16_t num = 16;
	assert_int_equal(virtq_init(&q, &mem, num), 0);
	struct fake_dev d = { .mem = &mem, .num = num };
	static uint8_t tok[4096];
	uint32_t seed = 12345;
	unsigned outstanding = 0, completed = 0;
	unsigned long expect_sum = 0, got_sum = 0;
	struct fake_req held[VIRTQ_MAX_SIZE];
	unsigned nheld = 0;
	for (unsigned round = 0; round < 100000; round++) {
		seed = seed * 1103515245u + 12345u;
		unsigned n = 1 + (seed >> 16) % 3;
		struct virtq_buf b[3];
		for (unsigned k = 0; k < n; k++)
			b[k] = (struct virtq_buf){ .addr = tok, .len = 10 * (k + 1),
						   .device_writes = k == n - 1 };
		unsigned id = round % sizeof(tok);
		if (virtq_add(&q, b, n, &tok[id]) == 0) {
			outstanding++;
			expect_sum += id;
			virtq_publish(&q);
		}
		nheld += fake_take(&d, held + nheld, VIRTQ_MAX_SIZE - nheld);
		/* Complete from the back half the time: out of order. */
		while (nheld && ((seed >> 8) & 1 || q.num_free < 3)) {
			unsigned pick = (seed >> 20) % nheld;
			fake_complete(&d, &held[pick], held[pick].in_len);
			held[pick] = held[--nheld];
			seed = seed * 1103515245u + 12345u;
		}
		uint32_t len;
		uint8_t *t;
		while ((t = virtq_get_used(&q, &len)) != NULL) {
			got_sum += (unsigned long)(t - tok);
			completed++;
			outstanding--;
		}
		assert_false(q.broken);
	}
	assert_true(completed > 65536); /* the 16-bit indices wrapped */
	/* Drain. */
	for (unsigned i = 0; i < nheld; i++)
		fake_complete(&d, &held[i], 0);
	uint32_t len;
	uint8_t *t;
	while ((t = virtq_get_used(&q, &len)) != NULL) {
		got_sum += (unsigned long)(t - tok);
		outstanding--;
	}
	assert_int_equal(outstanding, 0);
	assert_int_equal(got_sum, expect_sum);
	assert_int_equal(q.num_free, num);
}

static void lying_device_breaks_the_queue(void **state)
{
	(void)state;
	assert_int_equal(virtq_init(&q, &mem, 4), 0);
	struct virtq_buf b = { .addr = bufs[0], .len = 8, .device_writes = true };
	assert_int_equal(virtq_add(&q, &b, 1, bufs[0]), 0);
	virtq_publish(&q);
	/* The device claims it finished descriptor 3, which we never gave it. */
	mem.used.ring[0].id = 3;
	mem.used.ring[0].len = 8;
	mem.used.idx = 1;
	uint32_t len = 99;
	assert_null(virtq_get_used(&q, &len));
	assert_true(q.broken);
	assert_int_equal(len, 0);
	/* Even a now-correct entry is not trusted any more. */
	mem.used.ring[0].id = mem.avail.ring[0];
	assert_null(virtq_get_used(&q, &len));
	/* An id past the ring is just as bad. */
	assert_int_equal(virtq_init(&q, &mem, 4), 0);
	assert_int_equal(virtq_add(&q, &b, 1, bufs[0]), 0);
	virtq_publish(&q);
	mem.used.ring[0].id = 40;
	mem.used.idx = 1;
	assert_null(virtq_get_used(&q, &len));
	assert_true(q.broken);
}

/* ---- virtio-mmio against fake registers -------------------------------- */

static uint32_t regs[32][0x200 / 4] __attribute__((aligned(4096)));

static void fake_slot(unsigned n, uint32_t version, uint32_t id, uint32_t features)
{
	memset(regs[n], 0, sizeof(regs[n]));
	regs[n][0] = 0x74726976u;
	regs[n][1] = version;
	regs[n][2] = id;
	/* DeviceFeatures ignores the select register here, so the same word is
	 * offered as bits 0-31 and 32-63: bit 0 doubles as VERSION_1. */
	regs[n][0x10 / 4] = features;
}

static void discovery_finds_modern_devices_only(void **state)
{
	(void)state;
	memset(regs, 0, sizeof(regs));
	fake_slot(3, 2, VIRTIO_ID_RNG, 1);
	fake_slot(30, 1, VIRTIO_ID_NET, 1); /* legacy transport */
	fake_slot(31, 2, VIRTIO_ID_NET, 1);
	struct virtio_mmio dev;
	unsigned from = 0;
	assert_int_equal(virtio_mmio_find((uintptr_t)regs, 0x200, 32, VIRTIO_ID_NET, &from, &dev), 0);
	assert_int_equal(dev.slot, 31);
	assert_int_equal(dev.base, (uintptr_t)regs[31]);
	assert_int_equal(from, 32);
	from = 0;
	assert_int_equal(virtio_mmio_find((uintptr_t)regs, 0x200, 32, VIRTIO_ID_RNG, &from, &dev), 0);
	assert_int_equal(dev.slot, 3);
	/* No modern net left, but a legacy one: say so, so the operator learns
	 * about force-legacy=false. */
	regs[31][1] = 1;
	from = 0;
	assert_int_equal(virtio_mmio_find((uintptr_t)regs, 0x200, 32, VIRTIO_ID_NET, &from, &dev),
			 PORT_ENOTSUP);
	from = 0;
	assert_int_equal(virtio_mmio_find((uintptr_t)regs, 0x200, 32, 9, &from, &dev), PORT_EIO);
}

static void negotiation_needs_version_1(void **state)
{
	(void)state;
	memset(regs, 0, sizeof(regs));
	fake_slot(0, 2, VIRTIO_ID_NET, (1u << 5) | 1u);
	struct virtio_mmio dev = { .base = (uintptr_t)regs[0], .device_id = VIRTIO_ID_NET };
	uint64_t got = 0;
	assert_int_equal(virtio_mmio_negotiate(&dev, 1ull << 5, 1ull << 5, &got), 0);
	assert_true(got & (1ull << VIRTIO_F_VERSION_1));
	assert_true(got & (1ull << 5));
	assert_int_equal(regs[0][0x70 / 4], 1 | 2 | 8); /* ACK, DRIVER, FEATURES_OK */
	/* The driver wrote back only what both sides know. */
	assert_int_equal(regs[0][0x20 / 4], (uint32_t)(got >> 32));

	fake_slot(0, 2, VIRTIO_ID_NET, 1u << 5); /* no VERSION_1 */
	assert_int_equal(virtio_mmio_negotiate(&dev, 1ull << 5, 1ull << 5, &got), PORT_ENOTSUP);
	assert_true(regs[0][0x70 / 4] & 128); /* FAILED */
}

static void queue_setup_programs_ring_addresses(void **state)
{
	(void)state;
	memset(regs, 0, sizeof(regs));
	fake_slot(0, 2, VIRTIO_ID_RNG, 1);
	regs[0][0x34 / 4] = 8; /* QueueNumMax */
	struct virtio_mmio dev = { .base = (uintptr_t)regs[0] };
	assert_int_equal(virtq_init(&q, &mem, 16), 0);
	assert_int_equal(virtio_mmio_queue_setup(&dev, 0, &q), PORT_EINVAL); /* 16 > max 8 */
	assert_int_equal(virtq_init(&q, &mem, 8), 0);
	assert_int_equal(virtio_mmio_queue_setup(&dev, 0, &q), 0);
	assert_int_equal(regs[0][0x38 / 4], 8);
	uint64_t desc = (uint64_t)regs[0][0x80 / 4] | (uint64_t)regs[0][0x84 / 4] << 32;
	uint64_t drv = (uint64_t)regs[0][0x90 / 4] | (uint64_t)regs[0][0x94 / 4] << 32;
	uint64_t dv = (uint64_t)regs[0][0xa0 / 4] | (uint64_t)regs[0][0xa4 / 4] << 32;
	assert_int_equal(desc, (uint64_t)(uintptr_t)mem.desc);
	assert_int_equal(drv, (uint64_t)(uintptr_t)&mem.avail);
	assert_int_equal(dv, (uint64_t)(uintptr_t)&mem.used);
	assert_int_equal(regs[0][0x44 / 4], 1); /* QueueReady last */
	/* A queue the device does not have. */
	regs[0][0x34 / 4] = 0;
	regs[0][0x44 / 4] = 0;
	assert_int_equal(virtio_mmio_queue_setup(&dev, 0, &q), PORT_EINVAL);
}

/* The whole life of the (single-instance) rng driver in one scenario. */
static void rng_hands_out_each_byte_once(void **state)
{
	(void)state;
	memset(regs, 0, sizeof(regs));
	struct rng_dev *rng = NULL;
	assert_int_equal(virtio_rng_probe((uintptr_t)regs, 0x200, 32, &rng), PORT_EIO); /* none */
	fake_slot(7, 2, VIRTIO_ID_RNG, 1);
	regs[7][0x34 / 4] = 8; /* QueueNumMax, as QEMU's virtio-rng */
	regs[7][0x50 / 4] = 0xdead; /* QueueNotify: see it written */
	assert_int_equal(virtio_rng_probe((uintptr_t)regs, 0x200, 32, &rng), 0);
	assert_non_null(rng);
	assert_int_equal(regs[7][0x70 / 4], 1 | 2 | 4 | 8); /* ... DRIVER_OK */
	assert_int_equal(regs[7][0x38 / 4], 8);
	assert_int_equal(regs[7][0x50 / 4], 0); /* the first request was announced */
	assert_int_equal(virtio_rng_probe((uintptr_t)regs, 0x200, 32, &rng), PORT_EINVAL);

	struct fake_dev d = { .mem = &vrng.mem, .num = vrng.q.num };
	struct fake_req r;
	uint8_t out[100];
	assert_int_equal(rng->api->read(rng, out, 10), PORT_EAGAIN); /* device busy */
	assert_int_equal(fake_take(&d, &r, 1), 1);
	assert_int_equal(r.in_len, VIRTIO_RNG_CHUNK);
	assert_int_equal(r.out_len, 0);
	uint8_t *dst = (uint8_t *)(uintptr_t)vrng.mem.desc[r.head].addr;
	for (unsigned i = 0; i < VIRTIO_RNG_CHUNK; i++)
		dst[i] = (uint8_t)(0xa0 + i);
	fake_complete(&d, &r, VIRTIO_RNG_CHUNK);

	assert_int_equal(rng->api->read(rng, out, 10), 10);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(out[i], 0xa0 + i);
	assert_int_equal(rng->api->read(rng, out, sizeof(out)), VIRTIO_RNG_CHUNK - 10);
	for (unsigned i = 0; i < VIRTIO_RNG_CHUNK - 10; i++)
		assert_int_equal(out[i], 0xa0 + 10 + i); /* no byte twice */
	assert_int_equal(rng->bytes, VIRTIO_RNG_CHUNK);
	/* Drained: the next request is already with the device. */
	assert_int_equal(fake_take(&d, &r, 1), 1);
	assert_int_equal(rng->api->read(rng, out, 10), PORT_EAGAIN);
	/* A device with nothing to give (len 0) just gets asked again. */
	fake_complete(&d, &r, 0);
	assert_int_equal(rng->api->read(rng, out, 10), PORT_EAGAIN);
	assert_int_equal(fake_take(&d, &r, 1), 1);
	/* A device claiming to have written more than the buffer is broken. */
	fake_complete(&d, &r, VIRTIO_RNG_CHUNK + 1);
	assert_int_equal(rng->api->read(rng, out, 10), PORT_EIO);
	assert_int_equal(rng->api->read(rng, out, 10), PORT_EIO); /* and stays so */
}

/* The (single-instance) virtio-net driver: RX ring pre-posted, frames
 * handed over without the virtio header, runts dropped, TX sent in place
 * behind a zero header and handed back once the device is done, a full TX
 * ring refused rather than overwritten. */
static void *tx_back[8];
static unsigned tx_nback;
static void note_tx_done(struct net_dev *dev, void *ctx)
{
	(void)dev;
	if (tx_nback < 8)
		tx_back[tx_nback] = ctx;
	tx_nback++;
}

static void net_moves_frames_both_ways(void **state)
{
	(void)state;
	memset(regs, 0, sizeof(regs));
	fake_slot(9, 2, VIRTIO_ID_NET, (1u << 5) | 1u); /* MAC, VERSION_1 */
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	memcpy((uint8_t *)regs[9] + 0x100, mac, sizeof(mac));
	memset(&bank, 0, sizeof(bank));
	bank.base = (uintptr_t)regs[9];
	bank.q[0][0x34 / 4] = 256;
	bank.q[1][0x34 / 4] = 256;
	struct net_dev *dev = NULL;
	assert_int_equal(virtio_net_probe((uintptr_t)regs, 0x200, 32, 48, &dev), 0);
	assert_memory_equal(dev->mac, mac, 6);
	assert_int_equal(dev->irq, 48 + 9);
	assert_int_equal(regs[9][0x70 / 4], 1 | 2 | 4 | 8);
	assert_int_equal(bank.q[0][0x44 / 4], 1); /* both queues ready */
	assert_int_equal(bank.q[1][0x44 / 4], 1);
	assert_int_equal(bank.q[0][0x80 / 4], (uint32_t)(uintptr_t)vnet.rxmem.desc);
	assert_int_equal(bank.q[1][0x80 / 4], (uint32_t)(uintptr_t)vnet.txmem.desc);
	assert_int_equal(vnet.txmem.avail.flags, VIRTQ_AVAIL_F_NO_INTERRUPT);

	/* RX: every buffer is with the device before DRIVER_OK. */
	struct fake_dev rx = { .mem = &vnet.rxmem, .num = vnet.rxq.num };
	struct fake_req rq[VIRTQ_MAX_SIZE];
	assert_int_equal(fake_take(&rx, rq, VIRTQ_MAX_SIZE), VIRTIO_NET_RX_BUFS);
	assert_int_equal(rq[0].in_len, 1536);
	const void *frame;
	size_t len;
	assert_int_equal(dev->api->rx_peek(dev, &frame, &len), PORT_EAGAIN);
	assert_false(dev->api->pending(dev));
	/* A runt (shorter than header + Ethernet header), then a real frame. */
	fake_complete(&rx, &rq[0], 20);
	uint8_t *b1 = (uint8_t *)(uintptr_t)vnet.rxmem.desc[rq[1].head].addr;
	memset(b1, 0, 12);
	for (unsigned i = 0; i < 60; i++)
		b1[12 + i] = (uint8_t)i;
	fake_complete(&rx, &rq[1], 72);
	assert_true(dev->api->pending(dev));
	assert_int_equal(dev->api->rx_peek(dev, &frame, &len), 0);
	assert_int_equal(len, 60);
	assert_ptr_equal(frame, b1 + 12);
	assert_int_equal(((const uint8_t *)frame)[59], 59);
	assert_int_equal(dev->rx_errors, 1);
	assert_int_equal(dev->api->rx_peek(dev, &frame, &len), PORT_EINVAL); /* release first */
	dev->api->rx_release(dev);
	/* Both buffers went back to the device. */
	assert_int_equal(fake_take(&rx, rq, VIRTQ_MAX_SIZE), 2);

	/* TX: the pieces go out in place, behind a zeroed 12-byte header. */
	dev->tx_done = note_tx_done;
	tx_nback = 0;
	struct fake_dev tx = { .mem = &vnet.txmem, .num = vnet.txq.num };
	struct fake_req tq[VIRTQ_MAX_SIZE];
	uint8_t hdr[14], payload[100];
	memset(hdr, 0xee, sizeof(hdr));
	memset(payload, 0x77, sizeof(payload));
	struct net_iov iov[2] = { { hdr, sizeof(hdr) }, { payload, sizeof(payload) } };
	int frames[8];
	regs[9][0x50 / 4] = 0xdead;
	assert_int_equal(dev->api->send(dev, iov, 2, NULL), PORT_EINVAL); /* ctx required */
	assert_int_equal(dev->api->send(dev, iov, 2, &frames[0]), 0);
	assert_int_equal(regs[9][0x50 / 4], 1); /* TX queue notified */
	assert_int_equal(fake_take(&tx, tq, VIRTQ_MAX_SIZE), 1);
	assert_int_equal(tq[0].ndesc, 3);
	assert_int_equal(tq[0].out_len, 12 + 14 + 100);
	const struct virtq_desc *d0 = &vnet.txmem.desc[tq[0].head];
	const uint8_t *vh = (const uint8_t *)(uintptr_t)d0->addr;
	assert_int_equal(d0->len, 12);
	for (unsigned i = 0; i < 12; i++)
		assert_int_equal(vh[i], 0);
	const struct virtq_desc *d1 = &vnet.txmem.desc[d0->next];
	assert_ptr_equal((const void *)(uintptr_t)d1->addr, hdr); /* not a copy */
	assert_ptr_equal((const void *)(uintptr_t)vnet.txmem.desc[d1->next].addr, payload);
	assert_int_equal(tx_nback, 0); /* still the device's */

	/* Ring full (16 descriptors, 3 a frame: 5 frames): refused, counted,
	 * nothing overwritten; room and the frames come back as the device
	 * completes, handed back by the next send or pending(). */
	for (unsigned i = 1; i < 5; i++)
		assert_int_equal(dev->api->send(dev, iov, 2, &frames[i]), 0);
	assert_int_equal(dev->api->send(dev, iov, 2, &frames[5]), PORT_EAGAIN);
	assert_int_equal(dev->tx_drops, 1);
	assert_int_equal(fake_take(&tx, tq + 1, VIRTQ_MAX_SIZE - 1), 4);
	fake_complete(&tx, &tq[0], 0);
	assert_int_equal(tx_nback, 0);
	assert_int_equal(dev->api->send(dev, iov, 2, &frames[5]), 0);
	assert_int_equal(tx_nback, 1);
	assert_ptr_equal(tx_back[0], &frames[0]);
	fake_complete(&tx, &tq[2], 0);
	fake_complete(&tx, &tq[1], 0);
	assert_false(dev->api->pending(dev));
	assert_int_equal(tx_nback, 3);
	assert_ptr_equal(tx_back[1], &frames[2]); /* in the device's order */
	assert_ptr_equal(tx_back[2], &frames[1]);
	assert_int_equal(dev->tx_frames, 6);

	/* Too many pieces, or a frame longer than Ethernet allows, never
	 * reaches the ring. */
	struct net_iov many[NET_TX_PIECES + 1];
	for (unsigned i = 0; i < NET_TX_PIECES + 1; i++)
		many[i] = (struct net_iov){ payload, 10 };
	assert_int_equal(dev->api->send(dev, many, NET_TX_PIECES + 1, &frames[6]), PORT_EINVAL);
	/* A frame longer than Ethernet allows never reaches the ring. */
	static uint8_t big[NET_FRAME_MAX + 1];
	struct net_iov one = { big, sizeof(big) };
	assert_int_equal(dev->api->send(dev, &one, 1, &frames[6]), PORT_EINVAL);
	dev->tx_done = NULL;
	bank.base = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_rejects_bad_sizes),
		cmocka_unit_test(ring_layout_meets_spec_alignment),
		cmocka_unit_test(one_buffer_is_published_and_returned),
		cmocka_unit_test(publish_honours_no_notify),
		cmocka_unit_test(chains_link_out_before_in),
		cmocka_unit_test(full_ring_refuses_then_recovers),
		cmocka_unit_test(indices_wrap_and_completions_reorder),
		cmocka_unit_test(lying_device_breaks_the_queue),
		cmocka_unit_test(discovery_finds_modern_devices_only),
		cmocka_unit_test(negotiation_needs_version_1),
		cmocka_unit_test(queue_setup_programs_ring_addresses),
		cmocka_unit_test(rng_hands_out_each_byte_once),
		cmocka_unit_test(net_moves_frames_both_ways),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
