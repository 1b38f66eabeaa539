/* virtq.c — split virtqueue ring logic: descriptor free list, avail
 * publication with barriers, used-ring consumption.
 * Exports the virtq_* functions of virtq.h. Single-threaded by contract:
 * called only from the board's poll loop, never from an interrupt. */
#include "virtq.h"

#include <string.h>

#include "port.h"

int virtq_init(struct virtq *q, struct virtq_mem *mem, uint16_t num)
{
	if (!q || !mem || num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)) != 0)
		return PORT_EINVAL;
	memset(mem, 0, sizeof(*mem));
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->num = num;
	for (uint16_t i = 0; i < num; i++)
		mem->desc[i].next = (uint16_t)(i + 1 < num ? i + 1 : 0);
	q->free_head = 0;
	q->num_free = num;
	return 0;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *token)
{
	if (!bufs || n == 0 || !token)
		return PORT_EINVAL;
	if (n > q->num_free)
		return PORT_ENOSPC;
	/* The spec orders device-readable buffers before device-writable ones. */
	for (unsigned i = 1; i < n; i++)
		if (bufs[i - 1].device_writes && !bufs[i].device_writes)
			return PORT_EINVAL;

	struct virtq_desc *desc = q->mem->desc;
	uint16_t head = q->free_head;
	uint16_t idx = head;
	uint16_t last = head;
	for (unsigned i = 0; i < n; i++) {
		struct virtq_desc *d = &desc[idx];
		d->addr = (uint64_t)(uintptr_t)bufs[i].addr;
		d->len = bufs[i].len;
		d->flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				      (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		last = idx;
		idx = d->next; /* free-list link doubles as the chain link */
	}
	q->free_head = desc[last].next;
	q->num_free = (uint16_t)(q->num_free - n);
	q->token[head] = token;
	q->chain_len[head] = (uint16_t)n;

	q->mem->avail.ring[q->avail_shadow & (q->num - 1)] = head;
	q->avail_shadow++;
	return 0;
}

bool virtq_publish(struct virtq *q)
{
	/* Descriptors and ring slot must be visible before the index moves. */
	virtq_mb();
	*(volatile uint16_t *)&q->mem->avail.idx = q->avail_shadow;
	/* And the index before we read the device's notify suppression flag. */
	virtq_mb();
	return (*(volatile uint16_t *)&q->mem->used.flags & VIRTQ_USED_F_NO_NOTIFY) == 0;
}

void virtq_no_interrupt(struct virtq *q, bool quiet)
{
	*(volatile uint16_t *)&q->mem->avail.flags = quiet ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0;
}

bool virtq_has_used(const struct virtq *q)
{
	return *(const volatile uint16_t *)&q->mem->used.idx != q->last_used;
}

void *virtq_get_used(struct virtq *q, uint32_t *len)
{
	*len = 0;
	if (q->broken || !virtq_has_used(q))
		return NULL;
	/* Read the index before the element it covers. */
	virtq_mb();
	const volatile struct virtq_used_elem *e = &q->mem->used.ring[q->last_used & (q->num - 1)];
	uint32_t id = e->id;
	uint32_t written = e->len;
	if (id >= q->num || q->token[id] == NULL) {
		q->broken = true; /* device bug: never trust this ring again */
		return NULL;
	}
	q->last_used++;

	void *token = q->token[id];
	q->token[id] = NULL;
	uint16_t n = q->chain_len[id];
	uint16_t tail = (uint16_t)id;
	for (uint16_t i = 1; i < n; i++)
		tail = q->mem->desc[tail].next;
	/* Splice the whole chain back onto the free list in one go. */
	q->mem->desc[tail].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + n);
	*len = written;
	return token;
}
