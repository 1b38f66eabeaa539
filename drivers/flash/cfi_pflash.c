/* cfi_pflash.c — Intel/Sharp command set NOR flash (CFI 0001/0003) on a
 * 32-bit bus of one, two or four chips, QEMU pflash_cfi01 included.
 * Commands are replicated to every chip on the bus and every chip's
 * status byte is checked. Exports cfi_pflash_* and cfi_pflash_area_ops. */
#include "cfi_pflash.h"

#include <string.h>

#include "../mmio.h"

#define CMD_READ_ARRAY 0xffu
#define CMD_READ_STATUS 0x70u
#define CMD_CLEAR_STATUS 0x50u
#define CMD_CFI_QUERY 0x98u
#define CMD_WORD_PROGRAM 0x40u
#define CMD_BLOCK_ERASE 0x20u
#define CMD_CONFIRM 0xd0u /* erase confirm, block unlock confirm */
#define CMD_LOCK_SETUP 0x60u
#define CMD_BUFFERED_PROGRAM 0xe8u

#define SR_READY 0x80u	 /* SR.7 write state machine idle */
#define SR_ERASE_ERR 0x20u /* SR.5 erase failed / bad sequence */
#define SR_PROG_ERR 0x10u  /* SR.4 program failed / bad sequence */
#define SR_VPP_ERR 0x08u   /* SR.3 program/erase voltage low */
#define SR_LOCKED 0x02u	   /* SR.1 block is locked */
#define SR_ERRORS (SR_ERASE_ERR | SR_PROG_ERR | SR_VPP_ERR | SR_LOCKED)

#define CFI_QUERY_ADDR 0x55u
/* Floors for devices whose CFI timing fields are 0 ("not given"). */
#define CFI_PROGRAM_TIMEOUT_MIN_MS 10u
#define CFI_ERASE_TIMEOUT_MIN_MS 5000u
/* Without a clock, bound polls by count; an MMIO read takes well over
 * 10 ns, so this is at least the stated time. */
#define CFI_SPINS_PER_MS 100000u

/* A command or status bit pattern repeated in every chip's lane. */
static uint32_t rep(const struct cfi_pflash *d, uint32_t v)
{
	uint32_t out = 0;
	for (uint32_t s = 0; s < d->bus_width * 8u; s += d->device_width * 8u)
		out |= v << s;
	return out;
}

static void cmd(const struct cfi_pflash *d, uint32_t addr, uint32_t c)
{
	mmio_write32(d->base + addr, rep(d, c));
}

static uint32_t rd(const struct cfi_pflash *d, uint32_t addr)
{
	return mmio_read32(d->base + addr);
}

/* Query byte q as chip 0 answers it; PORT_EIO-style -1 when the chips
 * disagree (a bus or strapping fault we must not paper over). */
static int cfi_byte(const struct cfi_pflash *d, uint32_t q)
{
	uint32_t v = rd(d, q * d->bus_width);
	uint32_t mask = d->device_width == 4 ? 0xffffffffu : (1u << (d->device_width * 8u)) - 1u;
	uint32_t lane0 = v & mask;
	if (v != rep(d, lane0))
		return -1;
	return (int)(lane0 & 0xffu);
}

/* Waits for SR.7 on every chip, then checks the error bits of every
 * chip; on an error clears them. Leaves the bank in status mode: the
 * caller returns it to read-array once a whole operation is done (each
 * mode switch is costly on QEMU, which remaps the bank as ROM or I/O). */
static int wait_ready(const struct cfi_pflash *d, uint32_t addr, uint32_t timeout_ms)
{
	uint32_t ready = rep(d, SR_READY), errs = rep(d, SR_ERRORS);
	uint32_t st = 0;
	uint64_t deadline = d->now_ms ? d->now_ms() + timeout_ms : 0;
	uint64_t spins = (uint64_t)timeout_ms * CFI_SPINS_PER_MS;
	for (;;) {
		st = rd(d, addr);
		if ((st & ready) == ready)
			break;
		if (d->now_ms ? d->now_ms() > deadline : spins-- == 0) {
			/* Still busy: no command is accepted until it finishes,
			 * the caller may retry later. */
			return PORT_ETIMEDOUT;
		}
	}
	if (st & errs) {
		cmd(d, addr, CMD_CLEAR_STATUS);
		return PORT_EIO;
	}
	return 0;
}

static uint32_t ms_from_log2(int typ, int max, uint32_t unit_us, uint32_t floor_ms)
{
	if (typ <= 0 || typ > 24 || max < 0 || max > 16)
		return floor_ms;
	uint64_t us = ((uint64_t)1 << typ) * unit_us * ((uint64_t)1 << max);
	uint64_t ms = 2u * (us + 999u) / 1000u; /* double the data sheet max */
	if (ms < floor_ms)
		ms = floor_ms;
	return ms > 600000u ? 600000u : (uint32_t)ms;
}

int cfi_pflash_probe(struct cfi_pflash *d)
{
	if (d->bus_width != 4 || (d->device_width != 1 && d->device_width != 2 && d->device_width != 4))
		return PORT_ENOTSUP;
	d->chips = d->bus_width / d->device_width;

	cmd(d, 0, CMD_READ_ARRAY);
	cmd(d, CFI_QUERY_ADDR * d->bus_width, CMD_CFI_QUERY);
	int q[0x31];
	for (uint32_t i = 0x10; i < 0x31; i++) {
		q[i] = cfi_byte(d, i);
		if (q[i] < 0) {
			cmd(d, 0, CMD_READ_ARRAY);
			return PORT_EIO;
		}
	}
	cmd(d, 0, CMD_READ_ARRAY);

	if (q[0x10] != 'Q' || q[0x11] != 'R' || q[0x12] != 'Y')
		return PORT_EIO;
	d->cmdset = (uint32_t)(q[0x13] | q[0x14] << 8);
	if (d->cmdset != 1 && d->cmdset != 3)
		return PORT_ENOTSUP;
	if (q[0x27] < 8 || q[0x27] > 30)
		return PORT_EIO;
	uint64_t size = ((uint64_t)1 << q[0x27]) * d->chips;
	if (q[0x2c] != 1)
		return PORT_ENOTSUP; /* boot blocks / several regions */
	uint32_t nblocks = (uint32_t)(q[0x2d] | q[0x2e] << 8) + 1u;
	uint64_t blk = (uint64_t)(uint32_t)(q[0x2f] | q[0x30] << 8) * 256u * d->chips;
	if (blk == 0 || size > 0xffffffffu || (uint64_t)nblocks * blk != size)
		return PORT_EIO;
	d->size = (uint32_t)size;
	d->erase_size = (uint32_t)blk;
	d->nblocks = nblocks;
	d->program_timeout_ms = ms_from_log2(q[0x1f], q[0x23], 1u, CFI_PROGRAM_TIMEOUT_MIN_MS);
	d->erase_timeout_ms = ms_from_log2(q[0x21], q[0x25], 1000u, CFI_ERASE_TIMEOUT_MIN_MS);
	/* 0x2A: log2 of each chip's write buffer in bytes; a buffer of less
	 * than two bus words is not worth the extra command cycles. */
	uint32_t wbuf = q[0x2a] >= 1 && q[0x2a] <= 16 ? (1u << q[0x2a]) * d->chips : 0;
	d->wbuf_size = wbuf >= 2u * d->bus_width && wbuf <= d->erase_size ? wbuf : 0;
	/* A buffered program takes longer than one word; 0x20/0x24 give its
	 * time the way 0x1F/0x23 give a word's. */
	if (d->wbuf_size) {
		uint32_t t = ms_from_log2(q[0x20], q[0x24], 1u, CFI_PROGRAM_TIMEOUT_MIN_MS);
		if (t > d->program_timeout_ms)
			d->program_timeout_ms = t;
	}

	for (uint32_t b = 0; b < nblocks; b++) {
		uint32_t a = b * d->erase_size;
		cmd(d, a, CMD_LOCK_SETUP);
		cmd(d, a, CMD_CONFIRM);
	}
	int err = wait_ready(d, 0, d->program_timeout_ms);
	cmd(d, 0, CMD_READ_ARRAY);
	return err;
}

static int range_ok(const struct cfi_pflash *d, uint32_t addr, size_t len)
{
	return d->size && addr <= d->size && len <= d->size - addr;
}

int cfi_pflash_read(const struct cfi_pflash *d, uint32_t addr, void *buf, size_t len)
{
	if (!range_ok(d, addr, len))
		return PORT_EINVAL;
	uint8_t *out = buf;
	/* Whole aligned words only: the bank is mapped as Device memory,
	 * where unaligned or sub-word accesses would fault or misbehave. */
	while (len) {
		uint32_t a = addr & ~3u, skip = addr & 3u;
		uint32_t w = rd(d, a);
		size_t n = 4u - skip < len ? 4u - skip : len;
		uint8_t bytes[4];
		memcpy(bytes, &w, 4);
		memcpy(out, bytes + skip, n);
		out += n;
		addr += (uint32_t)n;
		len -= n;
	}
	return 0;
}

static uint32_t word_at(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4); /* little-endian bus, unaligned source */
	return w;
}

/* Intel buffered program: 0xE8 at the start address, wait until the
 * buffer is free (SR.7), word count - 1 (per chip, so replicated), the
 * data, confirm 0xD0, wait. len is a multiple of the bus width and the
 * range lies within one write-buffer window. */
static int program_buffer(const struct cfi_pflash *d, uint32_t a, const uint8_t *src, size_t len)
{
	cmd(d, a, CMD_BUFFERED_PROGRAM);
	int err = wait_ready(d, a, d->program_timeout_ms);
	if (err)
		return err;
	mmio_write32(d->base + a, rep(d, (uint32_t)(len / d->bus_width) - 1u));
	for (size_t i = 0; i < len; i += 4)
		mmio_write32(d->base + a + (uint32_t)i, word_at(src + i));
	cmd(d, a, CMD_CONFIRM);
	return wait_ready(d, a, d->program_timeout_ms);
}

int cfi_pflash_program(const struct cfi_pflash *d, uint32_t addr, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	if (!range_ok(d, addr, len) || addr % d->bus_width || len % d->bus_width)
		return PORT_EINVAL;
	/* Check all first, so a refused program changes nothing. */
	for (size_t i = 0; i < len; i += 4)
		if (word_at(src + i) & ~rd(d, addr + (uint32_t)i))
			return PORT_ENOTERASED;
	/* Leading and trailing words that would clear no bit are skipped
	 * (records appended into a partly written range); decided in
	 * read-array mode, before the first command. */
	size_t first = 0, end = len;
	while (first < end && word_at(src + first) == rd(d, addr + (uint32_t)first))
		first += 4;
	while (end > first && word_at(src + end - 4) == rd(d, addr + (uint32_t)end - 4))
		end -= 4;
	int err = 0;
	for (size_t i = first; i < end && !err;) {
		uint32_t a = addr + (uint32_t)i;
		if (d->wbuf_size) {
			/* One buffer load may not cross a buffer-sized window. */
			uint32_t room = d->wbuf_size - a % d->wbuf_size;
			size_t n = end - i < room ? end - i : room;
			err = program_buffer(d, a, src + i, n);
			i += n;
		} else {
			cmd(d, a, CMD_WORD_PROGRAM);
			mmio_write32(d->base + a, word_at(src + i));
			err = wait_ready(d, a, d->program_timeout_ms);
			i += 4;
		}
	}
	if (first < end)
		cmd(d, addr, CMD_READ_ARRAY);
	if (err)
		return err;
	mmio_barrier();
	for (size_t i = 0; i < len; i += 4)
		if (rd(d, addr + (uint32_t)i) != word_at(src + i))
			return PORT_EIO;
	return 0;
}

int cfi_pflash_erase(const struct cfi_pflash *d, uint32_t addr)
{
	if (!d->erase_size || addr >= d->size || addr % d->erase_size)
		return PORT_EINVAL;
	cmd(d, addr, CMD_BLOCK_ERASE);
	cmd(d, addr, CMD_CONFIRM);
	int err = wait_ready(d, addr, d->erase_timeout_ms);
	cmd(d, addr, CMD_READ_ARRAY);
	if (err)
		return err;
	mmio_barrier();
	for (uint32_t i = 0; i < d->erase_size; i += 4)
		if (rd(d, addr + i) != 0xffffffffu)
			return PORT_EIO;
	return 0;
}

/* ---- port.h flash area over a window of the bank ---------------------- */

static int area_read(const struct port_flash *f, uint32_t off, void *buf, size_t len)
{
	const struct cfi_pflash_area *a = f->ctx;
	if (off > f->size || len > f->size - off)
		return PORT_EINVAL;
	return cfi_pflash_read(a->dev, a->start + off, buf, len);
}

static int area_program(const struct port_flash *f, uint32_t off, const void *buf, size_t len)
{
	const struct cfi_pflash_area *a = f->ctx;
	if (off > f->size || len > f->size - off)
		return PORT_EINVAL;
	return cfi_pflash_program(a->dev, a->start + off, buf, len);
}

static int area_erase(const struct port_flash *f, uint32_t off)
{
	const struct cfi_pflash_area *a = f->ctx;
	if (off >= f->size)
		return PORT_EINVAL;
	return cfi_pflash_erase(a->dev, a->start + off);
}

/* A program or erase is durable once SR.7 reports it done: no cache. */
static int area_sync(const struct port_flash *f)
{
	(void)f;
	return 0;
}

const struct port_flash_ops cfi_pflash_area_ops = {
	.read = area_read,
	.program = area_program,
	.erase = area_erase,
	.sync = area_sync,
};
