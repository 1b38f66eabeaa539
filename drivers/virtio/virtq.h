/* virtq.h — split virtqueue (virtio 1.x, §2.7) driver-side ring logic.
 * Exports struct virtq and virtq_init/add/publish/get_used; no MMIO here,
 * so the ring logic runs unchanged in host unit tests against fake memory.
 * The caller owns the ring memory (struct virtq_mem, statically allocated). */
#ifndef DRIVERS_VIRTIO_VIRTQ_H
#define DRIVERS_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every queue in this driver set is at most this long: enough for the NIC
 * (16 RX frames in flight) and more than virtio-rng's 8. Power of two, as
 * the split ring requires. */
#define VIRTQ_MAX_SIZE 16u

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Layouts fixed by the spec; the device reads and writes these. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTQ_MAX_SIZE];
	uint16_t used_event; /* only meaningful at ring[num] when num == MAX */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[VIRTQ_MAX_SIZE];
	uint16_t avail_event;
};

/* Ring memory with the spec's alignment (desc 16, avail 2, used 4). The
 * device only touches the first num entries of each array. */
struct virtq_mem {
	struct virtq_desc desc[VIRTQ_MAX_SIZE] __attribute__((aligned(16)));
	struct virtq_avail avail __attribute__((aligned(4)));
	struct virtq_used used __attribute__((aligned(4)));
};

struct virtq {
	struct virtq_mem *mem;
	uint16_t num;		/* entries, power of two <= VIRTQ_MAX_SIZE */
	uint16_t free_head;	/* head of the free descriptor list */
	uint16_t num_free;
	uint16_t avail_shadow;	/* next avail->idx to publish */
	uint16_t last_used;	/* next used->idx entry to consume */
	void *token[VIRTQ_MAX_SIZE]; /* caller cookie per chain head */
	uint16_t chain_len[VIRTQ_MAX_SIZE];
	bool broken;		/* the device returned a bogus id: stop using it */
};

/* One buffer of a chain: device-readable (out) or device-writable (in). */
struct virtq_buf {
	const void *addr;
	uint32_t len;
	bool device_writes;
};

/* Resets mem and q for a queue of num entries. 0 or PORT_EINVAL. */
int virtq_init(struct virtq *q, struct virtq_mem *mem, uint16_t num);

/* Puts a chain of n buffers (out buffers first, then in buffers) on the
 * descriptor table and the avail ring, not yet visible to the device
 * (call virtq_publish). The buffers stay owned by the device until the
 * chain comes back through virtq_get_used with the same token.
 * Returns 0, PORT_EINVAL (n == 0, out after in, NULL token) or
 * PORT_ENOSPC (not enough free descriptors). */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *token);

/* Makes every chain added since the last call visible to the device
 * (barrier, then avail->idx). Returns true if the device asked to be
 * notified (VIRTQ_USED_F_NO_NOTIFY clear). */
bool virtq_publish(struct virtq *q);

/* Asks the device not to interrupt when it returns chains on this queue
 * (a hint the device may ignore): for queues reclaimed by polling. */
void virtq_no_interrupt(struct virtq *q, bool quiet);

/* True if the device has returned a chain we have not consumed yet. */
bool virtq_has_used(const struct virtq *q);

/* Takes the next chain the device has finished: returns its token and the
 * number of bytes the device wrote (*len), and frees its descriptors.
 * NULL if none; also NULL, with q->broken set, if the device returned a
 * bogus id (the entry is left alone; the device needs a reset). */
void *virtq_get_used(struct virtq *q, uint32_t *len);

/* Memory barrier between our ring writes and the device's view of them.
 * QEMU is coherent, real hardware needs it; on the host (unit tests) a
 * compiler + CPU fence is the same contract. */
#if defined(__arm__)
#define virtq_mb() __asm__ volatile("dmb sy" ::: "memory")
#else
#define virtq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#endif
