/* queue — the bounded, power-cut-safe message queue on a NOR flash area
 * (a log of records on erase blocks used as a ring; format and guarantees
 * in docs/queue-format.md). Exports queue_mount, the streaming writer
 * (queue_msg_open/add_rcpt or queue_msg_begin, then write, commit or
 * commit_nosync + queue_sync, abort), the delivery-side reader
 * (queue_next_due, queue_msg_info, queue_msg_read, queue_rcpt_result,
 * queue_expire) and the console side (queue_list, hold/release/delete,
 * queue_stats).
 *
 * Ownership: the caller owns struct queue, every struct queue_writer and
 * the index buffer named in the config; the queue never allocates. Times
 * are seconds passed in by the caller (wall clock, Unix epoch, as the
 * relay uses for Date: and DSNs); the queue never reads a clock itself.
 * Single-threaded: one event loop owns a queue. */
#ifndef DANEGATE_QUEUE_H
#define DANEGATE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"

/* ---- limits (a compile-time override is fine; the on-flash format
 * records the values it depends on, see docs/queue-format.md) ---------- */
#define QUEUE_MAX_RCPT 100    /* RFC 5321 4.5.3.1.8: at least 100 recipients */
#define QUEUE_ADDR_MAX 256    /* RFC 5321 4.5.3.1.3: path incl. <>, we store without */
#define QUEUE_REASON_MAX 200  /* bytes of a delivery reason kept ("450 4.2.0 ...") */
#ifndef QUEUE_REC_MAX
#define QUEUE_REC_MAX 2048    /* largest record the writer assembles in RAM */
#endif
#ifndef QUEUE_MAX_WRITERS
#define QUEUE_MAX_WRITERS 36  /* messages being written at the same time: the
			       * relay's INBOUND_MAX_SESSIONS (host 32) and
			       * room for DSNs while every session is in one */
#endif
/* Largest envelope on flash (sender and every recipient, NUL-terminated).
 * max_msg_size counts envelope + content: give it SIZE + QUEUE_ENV_MAX. */
#define QUEUE_ENV_MAX ((QUEUE_ADDR_MAX + 1) * (QUEUE_MAX_RCPT + 1))

/* ---- errors: negative; PORT_E* codes from the flash pass through ------- */
enum queue_err {
	QUEUE_OK = 0,
	QUEUE_ENOENT = -2,     /* no such message (or nothing due) */
	QUEUE_EIO = -5,	       /* flash read-back mismatch or device error */
	QUEUE_ENOMEM = -12,    /* index buffer too small for the flash/limits */
	QUEUE_EBUSY = -16,     /* too many writers at once; try later (451 4.3.0) */
	QUEUE_EINVAL = -22,    /* bad argument or geometry */
	QUEUE_ETOOBIG = -27,   /* message over max_msg_size: 552 5.3.4 */
	QUEUE_EFULL = -28,     /* no room now: 452 4.3.1 */
	QUEUE_ECORRUPT = -84,  /* stored content fails its CRC */
};

/* Message flags given at begin. */
#define QUEUE_F_BOUNCE 0x01u /* a DSN we generate: may use the bounce reserve */

/* Recipient states (2 bits per recipient, RAM and flash). */
enum queue_rcpt_state {
	QUEUE_RCPT_PENDING = 0,	  /* not yet delivered (never tried or deferred) */
	QUEUE_RCPT_DELIVERED = 1, /* final: accepted by the next hop */
	QUEUE_RCPT_FAILED = 2,	  /* final: permanent failure, DSN sent */
	QUEUE_RCPT_DEFERRED = 3,  /* result code only: stays PENDING, retried */
};

struct queue_config {
	const struct port_flash *flash; /* the area; geometry taken from it */
	uint32_t max_bytes;	 /* live bytes (as stored, with overhead); 0: default */
	uint32_t max_msgs;	 /* messages in the queue; bounds the RAM index */
	uint32_t max_msg_size;	 /* envelope + content bytes of one message:
				  * the SMTP SIZE limit + QUEUE_ENV_MAX; 0: default */
	uint32_t bounce_reserve; /* of max_bytes, only for QUEUE_F_BOUNCE messages */
	uint32_t bounce_msgs;	 /* of max_msgs, only for QUEUE_F_BOUNCE messages */
	void *index_buf;	 /* RAM index: queue_index_size() bytes, aligned 8 */
	size_t index_buf_size;
};

/* One message in the RAM index (internal layout, visible so the caller
 * can size static buffers; use the functions, not the fields). */
struct queue_entry {
	uint32_t id, gen;
	uint32_t first_off;  /* flash offset of the first stream record (this gen) */
	uint32_t reason_off; /* flash offset of the last record with a reason, or ~0 */
	uint32_t stream_len, env_len, stream_crc, phys;
	uint64_t arrival, next_attempt;
	uint16_t attempts;
	uint8_t nrcpt, flags, npending;
	uint8_t used;
	uint8_t st[(QUEUE_MAX_RCPT * 2 + 7) / 8]; /* 2-bit state per recipient */
};

/* A message being received. Caller-owned (one per SMTP session); the
 * content is streamed to flash in records of up to QUEUE_REC_MAX bytes. */
struct queue_writer {
	struct queue *q;
	uint32_t id, gen;
	uint32_t first_off;    /* ~0 until the first record is on flash */
	uint32_t stream_len;   /* bytes handed in so far (envelope + content) */
	uint32_t env_len;
	uint32_t stream_crc;   /* running CRC-32C of the stream */
	uint32_t phys;	       /* bytes programmed for this message */
	uint32_t reserved;     /* bytes counted against max_bytes so far */
	uint64_t arrival;
	uint8_t nrcpt, flags;
	int err;	       /* sticky: once set, write and commit return it */
	int slot;	       /* index in q->writers, -1 when closed */
	uint32_t fill;	       /* data bytes waiting in rec */
	uint8_t rec[QUEUE_REC_MAX];
};

/* Per-recipient / message view for consoles and delivery. Strings are
 * read from flash into the caller's struct (bounded by the limits). */
struct queue_msg_info {
	uint32_t id;
	uint32_t size;		/* content bytes (without the envelope) */
	uint64_t arrival, next_attempt;
	uint16_t attempts;
	bool held, bounce;
	uint8_t nrcpt, npending;
	char sender[QUEUE_ADDR_MAX + 1];
	uint8_t rcpt_state[QUEUE_MAX_RCPT]; /* enum queue_rcpt_state */
	char reason[QUEUE_REASON_MAX + 1];  /* last result's reason, "" if none */
};

struct queue_stats {
	uint32_t msgs, max_msgs;
	uint32_t bytes, max_bytes;	/* live, as stored */
	uint32_t blocks, free_blocks;	/* erase blocks: all, not in the ring */
	uint32_t erase_min, erase_max, erase_avg;
	uint32_t relocations;		/* messages moved by reclaim since mount */
	uint32_t reclaims;		/* blocks reclaimed since mount */
	uint32_t dropped_corrupt;	/* messages whose content failed its CRC
					 * when reclaim had to move them */
	uint64_t bytes_programmed;	/* since mount, for write amplification */
	uint64_t bytes_accepted;	/* stream bytes committed since mount */
	uint32_t v1_blocks;		/* ring blocks in format 1 at mount (older
					 * firmware): read, rewritten by reclaim */
};

/* The whole queue state: caller-owned, zeroed by queue_mount. */
struct queue {
	const struct port_flash *flash;
	struct queue_config cfg;
	uint32_t nblocks, hdr, hdr1, bhdr; /* geometry derived at mount; hdr1: format 1 */
	uint32_t *bseq;			/* per block: ring sequence, 0 = not in ring */
	uint32_t *bec;			/* per block: erase count */
	uint32_t *bpos;			/* per block: its slot in ring[] */
	uint8_t *bfree;			/* per block: 1 erased+formatted, 2 needs erase;
					 * in the ring: 0, or 3 format 1 records */
	uint32_t *ring;			/* circular: block numbers oldest first */
	uint32_t ring_tail, ring_count;
	struct queue_entry *msgs;	/* cfg.max_msgs entries */
	uint32_t free_head;		/* free entries chained through .id */
	uint32_t nmsgs, live_bytes, reserved_bytes, reserved_msgs;
	uint32_t head_off;		/* append offset in the head block */
	bool head_open;			/* false: next append opens a new block */
	bool in_gc;
	uint32_t next_bseq, next_id;
	uint32_t gc_blocks;		/* free blocks kept for reclaim */
	struct queue_writer *writers[QUEUE_MAX_WRITERS];
	/* read cursor: sequential queue_msg_read resumes here */
	uint32_t cur_id, cur_gen, cur_off, cur_soff;
	bool cur_valid;
	struct queue_stats st;
	struct queue_writer gcw;	/* the writer reclaim copies with */
};

/* Bytes of index buffer queue_mount needs for this flash and limits. */
size_t queue_index_size(const struct port_flash *flash, uint32_t max_msgs);

/* Boot scan: formats blank blocks, rebuilds the index from the records,
 * ignores anything torn. Reads every record header once; content CRCs
 * are checked when the content is read. 0 or negative error. */
int queue_mount(struct queue *q, const struct queue_config *cfg);

/* For MAIL FROM with SIZE=: 0 if a message of size_hint content bytes
 * (0: unknown) could be taken now, QUEUE_EFULL (452 4.3.1) or
 * QUEUE_ETOOBIG (552 5.3.4) otherwise. */
int queue_can_accept(const struct queue *q, uint32_t size_hint, unsigned flags);

/* Starts a message: envelope (sender "" for the null path, 1..100
 * recipients, each at most QUEUE_ADDR_MAX bytes). size_hint as above.
 * arrival is the caller's clock. w stays owned by the caller. */
int queue_msg_begin(struct queue *q, struct queue_writer *w, const char *sender,
		    const char *const *rcpts, unsigned nrcpt, unsigned flags, uint32_t size_hint,
		    uint64_t arrival);
/* The same in steps, as SMTP hands the envelope over (no copy of the
 * recipients needed): open with the sender at the first accepted RCPT,
 * then add each recipient before the first queue_msg_write. add_rcpt's
 * QUEUE_EFULL / QUEUE_ETOOBIG refuse only that recipient (452 / 552);
 * the message goes on. commit refuses a message without recipients. */
int queue_msg_open(struct queue *q, struct queue_writer *w, const char *sender, unsigned flags,
		   uint32_t size_hint, uint64_t arrival);
int queue_msg_add_rcpt(struct queue_writer *w, const char *rcpt);
/* Streams content. QUEUE_EFULL / QUEUE_ETOOBIG are sticky: keep reading
 * DATA to its end, then answer with the code commit returns. */
int queue_msg_write(struct queue_writer *w, const void *data, size_t len);
/* Programs the commit record, reads it back and syncs the flash. Only a
 * 0 return may be answered with 250; *id is then the message id. The
 * writer is closed whatever the result. */
int queue_msg_commit(struct queue_writer *w, uint32_t *id);
/* Group commit: the same without the sync. The message is in the index
 * (and on the flash, but maybe not durable yet): its 250 must wait until
 * a queue_sync() that started after this returned 0. One sync covers
 * every message committed before it (and every other record). */
int queue_msg_commit_nosync(struct queue_writer *w, uint32_t *id);
int queue_sync(struct queue *q);
/* Drops the message (its records become garbage); closes the writer. */
void queue_msg_abort(struct queue_writer *w);

/* Delivery side. The due message with the earliest next attempt: not
 * held, with a pending recipient, next_attempt <= now. QUEUE_ENOENT if none. */
int queue_next_due(const struct queue *q, uint64_t now, uint32_t *id);
/* The same, passing over messages skip(ctx, id) says are taken (being
 * delivered by another session right now); skip NULL: none. */
int queue_next_due_skip(const struct queue *q, uint64_t now, bool (*skip)(void *ctx, uint32_t id),
			void *ctx, uint32_t *id);
int queue_msg_info(struct queue *q, uint32_t id, struct queue_msg_info *info);
/* Recipient address i (0-based) into buf (bound size, NUL-terminated). */
int queue_msg_rcpt(struct queue *q, uint32_t id, unsigned i, char *buf, size_t size);
/* Reads message content from offset; returns bytes read (0 at the end)
 * or negative (QUEUE_ECORRUPT if a record fails its CRC). */
long queue_msg_read(struct queue *q, uint32_t id, uint32_t offset, void *buf, size_t len);
/* Records a delivery result for recipient i. DEFERRED counts an attempt
 * and sets the message's next attempt. When no recipient is left pending
 * the message is finished and leaves the queue (generate the DSN for a
 * FAILED recipient before recording the result). Durable on return. */
int queue_rcpt_result(struct queue *q, uint32_t id, unsigned i, enum queue_rcpt_state result,
		      const char *reason, uint64_t next_attempt);
int queue_hold(struct queue *q, uint32_t id);
int queue_release(struct queue *q, uint32_t id);
int queue_delete(struct queue *q, uint32_t id);
/* Calls cb for each message older than max_age with recipients still
 * pending; the relay bounces them and records FAILED results. Returns
 * the number of messages reported. */
int queue_expire(const struct queue *q, uint64_t now, uint64_t max_age,
		 void (*cb)(void *ctx, uint32_t id), void *ctx);
/* Calls cb for every message (id order); returns the count. */
int queue_list(const struct queue *q, void (*cb)(void *ctx, uint32_t id), void *ctx);
void queue_stats(const struct queue *q, struct queue_stats *st);

#endif
