/* flashsim — NOR flash on a file or in RAM; the model is written down in
 * flashsim.h. Exports the flashsim_* API and, through flashsim_flash(),
 * a struct port_flash for the firmware. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "flashsim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct flashsim {
	struct port_flash flash; /* first: ctx points back at us */
	char name[FLASHSIM_NAME_MAX];
	uint8_t *mem;		/* size bytes: the mapping or a malloc'd block */
	int fd;			/* -1: RAM only */
	uint32_t *erase_counts; /* one per erase block */
	long cut_in;		/* counted ops until the cut; -1: disarmed */
	enum flashsim_cut cut_how;
	bool powered;
	void (*hook)(void *ctx, struct flashsim *fs);
	void *hook_ctx;
	struct flashsim_stats st;
};

static struct flashsim *sim_of(const struct port_flash *f)
{
	return f->ctx;
}

static void power_off(struct flashsim *fs)
{
	fs->powered = false;
	fs->cut_in = -1;
	if (fs->hook)
		fs->hook(fs->hook_ctx, fs);
}

/* Counts one operation against an armed cut. True if this operation is
 * the one the power dies on. */
static bool count_op(struct flashsim *fs)
{
	fs->st.ops++;
	if (fs->cut_in < 0)
		return false;
	if (--fs->cut_in > 0)
		return false;
	return true;
}

static bool in_range(const struct flashsim *fs, uint32_t off, size_t len)
{
	return off <= fs->flash.size && len <= (size_t)(fs->flash.size - off);
}

static int sim_read(const struct port_flash *f, uint32_t off, void *buf, size_t len)
{
	struct flashsim *fs = sim_of(f);
	if (!fs->powered)
		return PORT_EPOWER;
	if (!in_range(fs, off, len) || (len && !buf))
		return PORT_EINVAL;
	memcpy(buf, fs->mem + off, len);
	fs->st.reads++;
	return 0;
}

static int sim_program(const struct port_flash *f, uint32_t off, const void *buf, size_t len)
{
	struct flashsim *fs = sim_of(f);
	if (!fs->powered)
		return PORT_EPOWER;
	if (!in_range(fs, off, len) || off % f->program_size || len % f->program_size ||
	    (len && !buf))
		return PORT_EINVAL;
	const uint8_t *src = buf;
	bool cut = count_op(fs);
	uint8_t *dst = fs->mem + off;
	/* Check the whole range first so a refused program changes nothing. */
	for (size_t i = 0; i < len; i++) {
		if ((uint8_t)(dst[i] & src[i]) != src[i]) {
			if (cut)
				power_off(fs);
			return PORT_ENOTERASED;
		}
	}
	size_t n = cut && fs->cut_how == FLASHSIM_CUT_HALF ? len / 2 : len;
	for (size_t i = 0; i < n; i++)
		dst[i] &= src[i];
	fs->st.programs++;
	fs->st.bytes_programmed += n;
	if (cut) {
		power_off(fs);
		return PORT_EPOWER;
	}
	return 0;
}

static int sim_erase(const struct port_flash *f, uint32_t off)
{
	struct flashsim *fs = sim_of(f);
	if (!fs->powered)
		return PORT_EPOWER;
	if (off % f->erase_size || !in_range(fs, off, f->erase_size))
		return PORT_EINVAL;
	bool cut = count_op(fs);
	size_t n = cut && fs->cut_how == FLASHSIM_CUT_HALF ? f->erase_size / 2 : f->erase_size;
	memset(fs->mem + off, 0xFF, n);
	fs->erase_counts[off / f->erase_size]++;
	fs->st.erases++;
	if (cut) {
		power_off(fs);
		return PORT_EPOWER;
	}
	return 0;
}

static int sim_sync(const struct port_flash *f)
{
	struct flashsim *fs = sim_of(f);
	if (!fs->powered)
		return PORT_EPOWER;
	if (fs->fd < 0)
		return 0;
	/* The relay says 250 only after this returns: the bytes must be on
	 * the disk, not just in the page cache. */
	if (msync(fs->mem, fs->flash.size, MS_SYNC) != 0 || fsync(fs->fd) != 0)
		return PORT_EIO;
	return 0;
}

static const struct port_flash_ops sim_ops = {
	.read = sim_read,
	.program = sim_program,
	.erase = sim_erase,
	.sync = sim_sync,
};

static bool geometry_ok(const struct flashsim_config *cfg)
{
	return cfg->size && cfg->erase_size && cfg->program_size &&
	       cfg->size % cfg->erase_size == 0 && cfg->erase_size % cfg->program_size == 0;
}

/* Opens or creates the backing file and maps it. New or empty files are
 * filled with 0xFF (an erased chip); other sizes are refused. */
static int map_file(struct flashsim *fs, const char *path, uint32_t size)
{
	fs->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fs->fd < 0)
		return PORT_EIO;
	struct stat sb;
	if (fstat(fs->fd, &sb) != 0)
		return PORT_EIO;
	bool fresh = sb.st_size == 0;
	if (!fresh && sb.st_size != (off_t)size)
		return PORT_EINVAL;
	if (fresh && ftruncate(fs->fd, (off_t)size) != 0)
		return PORT_EIO;
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fs->fd, 0);
	if (m == MAP_FAILED)
		return PORT_EIO;
	fs->mem = m;
	if (fresh) {
		memset(fs->mem, 0xFF, size);
		if (msync(fs->mem, size, MS_SYNC) != 0 || fsync(fs->fd) != 0)
			return PORT_EIO;
	}
	return 0;
}

int flashsim_open(struct flashsim **out, const struct flashsim_config *cfg)
{
	if (!out)
		return PORT_EINVAL;
	*out = NULL;
	if (!cfg || !geometry_ok(cfg))
		return PORT_EINVAL;
	struct flashsim *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return PORT_ENOMEM;
	fs->fd = -1;
	fs->cut_in = -1;
	fs->powered = true;
	if (cfg->name) {
		strncpy(fs->name, cfg->name, sizeof(fs->name) - 1);
		fs->name[sizeof(fs->name) - 1] = '\0';
	}
	fs->flash = (struct port_flash){ .ops = &sim_ops,
					 .ctx = fs,
					 .size = cfg->size,
					 .erase_size = cfg->erase_size,
					 .program_size = cfg->program_size,
					 .name = fs->name };
	fs->erase_counts = calloc(cfg->size / cfg->erase_size, sizeof(uint32_t));
	if (!fs->erase_counts) {
		flashsim_close(fs);
		return PORT_ENOMEM;
	}
	int err = 0;
	if (cfg->path) {
		err = map_file(fs, cfg->path, cfg->size);
	} else {
		fs->mem = malloc(cfg->size);
		if (fs->mem)
			memset(fs->mem, 0xFF, cfg->size);
		else
			err = PORT_ENOMEM;
	}
	if (err) {
		flashsim_close(fs);
		return err;
	}
	*out = fs;
	return 0;
}

void flashsim_close(struct flashsim *fs)
{
	if (!fs)
		return;
	if (fs->fd >= 0) {
		if (fs->mem)
			munmap(fs->mem, fs->flash.size);
		close(fs->fd);
	} else {
		free(fs->mem);
	}
	free(fs->erase_counts);
	free(fs);
}

const struct port_flash *flashsim_flash(struct flashsim *fs)
{
	return &fs->flash;
}

void flashsim_powercut_after(struct flashsim *fs, long nops, enum flashsim_cut how)
{
	fs->cut_how = how;
	if (nops < 0) {
		fs->cut_in = -1;
	} else if (nops == 0) {
		if (fs->powered)
			power_off(fs);
	} else {
		fs->cut_in = nops;
	}
}

bool flashsim_powered(const struct flashsim *fs)
{
	return fs->powered;
}

void flashsim_power_on(struct flashsim *fs)
{
	fs->powered = true;
	fs->cut_in = -1;
}

void flashsim_on_powercut(struct flashsim *fs, void (*hook)(void *ctx, struct flashsim *fs),
			  void *ctx)
{
	fs->hook = hook;
	fs->hook_ctx = ctx;
}

void flashsim_stats(const struct flashsim *fs, struct flashsim_stats *out)
{
	*out = fs->st;
}

uint32_t flashsim_erase_count(const struct flashsim *fs, uint32_t block)
{
	if (block >= fs->flash.size / fs->flash.erase_size)
		return 0;
	return fs->erase_counts[block];
}

uint8_t *flashsim_raw(struct flashsim *fs)
{
	return fs->mem;
}
