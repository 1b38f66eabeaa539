/* fuzz_queue_rig — the queue set-up shared by fuzz_queue.c and its seed
 * generator: a RAM flashsim of FQ_BLOCKS x FQ_ERASE bytes whose program
 * size comes from the first input byte, and the queue config used on it.
 * Header-only (static functions). */
#ifndef FUZZ_QUEUE_RIG_H
#define FUZZ_QUEUE_RIG_H
#include <stdint.h>
#include <stdlib.h>

#include "flashsim.h"
#include "queue/queue.h"

#define FQ_BLOCKS 6 /* at least 5: reclaim keeps 3 blocks for a 1 KiB message */
#define FQ_ERASE 4096
#define FQ_SIZE (FQ_BLOCKS * FQ_ERASE)
#define FQ_MAX_MSGS 16
#define FQ_MAX_MSG_SIZE 1024

static const uint32_t fq_program_sizes[4] = { 4, 1, 16, 8 };

struct fq_rig {
	struct flashsim *fs[4];
	struct queue q;
	struct queue_config cfg;
	_Alignas(8) uint8_t index[32 * 1024];
};

/* The flash for geometry byte geo (opened once, kept), config filled in. */
static struct flashsim *fq_flash(struct fq_rig *r, uint8_t geo)
{
	unsigned g = geo & 3;
	if (!r->fs[g]) {
		struct flashsim_config fc = { .size = FQ_SIZE, .erase_size = FQ_ERASE,
					      .program_size = fq_program_sizes[g], .name = "queue" };
		if (flashsim_open(&r->fs[g], &fc) != 0)
			abort();
	}
	flashsim_power_on(r->fs[g]);
	r->cfg = (struct queue_config){ .flash = flashsim_flash(r->fs[g]),
					.max_msgs = FQ_MAX_MSGS,
					.max_msg_size = FQ_MAX_MSG_SIZE,
					.index_buf = r->index,
					.index_buf_size = sizeof(r->index) };
	if (queue_index_size(r->cfg.flash, FQ_MAX_MSGS) > sizeof(r->index))
		abort();
	return r->fs[g];
}
#endif
