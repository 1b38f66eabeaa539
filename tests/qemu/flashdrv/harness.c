/* harness.c — firmware stand-in for tests/qemu/test_flashdrv.py: runs the
 * qemu-virt board's port.h calls against the real QEMU devices (CFI pflash
 * bank 1, PL031, generic timer + WFI, PSCI) and prints one line per check,
 * "T <name> PASS|FAIL <detail>", then "flashdrv: done" and reboots.
 * Exports danegate_main() and network stubs (the board links without net). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "port.h"
#include "qv_net.h"

/* The network is not part of this test. */
int qv_rng_init(void)
{
	return PORT_ENOTSUP;
}
int qv_net_init(void)
{
	return PORT_ENOTSUP;
}
void qv_net_poll(uint64_t now_ms)
{
	(void)now_ms;
}
bool qv_net_pending(void)
{
	return false;
}
uint32_t qv_net_events(void)
{
	return 0;
}
uint32_t qv_net_sleep_ms(void)
{
	return UINT32_MAX; /* no lwIP timers: sleep as long as port_poll asks */
}

/* The block of the config area the host inspects in the flash file. */
#define MARK_BLOCK 3u
static const char mark_text[] = "FLASHDRV-MARK";

static int fails;
static bool second_boot;

static void check(const char *name, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(const char *name, bool ok, const char *fmt, ...)
{
	char detail[96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("T %s %s %s\n", name, ok ? "PASS" : "FAIL", detail);
	if (!ok)
		fails++;
}

static uint8_t pattern[12000], back[12000];

static bool all_ff(const struct port_flash *f, uint32_t off, uint32_t len)
{
	uint8_t buf[256];
	for (uint32_t i = 0; i < len; i += sizeof(buf)) {
		uint32_t n = len - i < sizeof(buf) ? len - i : sizeof(buf);
		if (port_flash_read(f, off + i, buf, n))
			return false;
		for (uint32_t k = 0; k < n; k++)
			if (buf[k] != 0xff)
				return false;
	}
	return true;
}

static void flash_checks(void)
{
	const struct port_flash *cfg = port_flash_area(PORT_FLASH_CONFIG);
	const struct port_flash *q = port_flash_area(PORT_FLASH_QUEUE);
	check("areas_present", cfg && q, "config %d queue %d", cfg != NULL, q != NULL);
	if (!cfg || !q)
		return;
	check("config_geometry", cfg->size == 2u << 20 && cfg->erase_size == 256u << 10 && cfg->program_size == 4,
	      "size %ld erase %ld", (long)cfg->size, (long)cfg->erase_size);
	check("queue_geometry", q->size == 62u << 20 && q->erase_size == 256u << 10, "size %ld erase %ld",
	      (long)q->size, (long)q->erase_size);

	/* Persistence: a mark from the previous boot (the host checks it in
	 * the file as well). */
	uint32_t mark = MARK_BLOCK * cfg->erase_size;
	char seen[sizeof(mark_text)];
	port_flash_read(cfg, mark, seen, sizeof(seen));
	second_boot = memcmp(seen, mark_text, sizeof(mark_text)) == 0;
	printf("I mark %s\n", second_boot ? "present" : "absent");

	uint32_t blk = 2u * cfg->erase_size;
	uint64_t t0 = port_now_ms();
	int err = port_flash_erase(cfg, blk);
	uint64_t t1 = port_now_ms();
	check("erase", err == 0 && all_ff(cfg, blk, cfg->erase_size), "err %d, %ld ms", err, (long)(t1 - t0));

	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 131u + (i >> 8));
	/* From 4 bytes before a 4 KiB write-buffer window: the buffered
	 * program has to split at window edges. */
	uint32_t off = blk + 4096 - 4;
	t0 = port_now_ms();
	err = port_flash_program(cfg, off, pattern, sizeof(pattern));
	t1 = port_now_ms();
	memset(back, 0, sizeof(back));
	port_flash_read(cfg, off, back, sizeof(back));
	check("program_12000_across_windows", err == 0 && memcmp(back, pattern, sizeof(pattern)) == 0,
	      "err %d, %ld ms", err, (long)(t1 - t0));
	check("neighbours_still_erased", all_ff(cfg, blk, off - blk) && all_ff(cfg, off + sizeof(pattern), 1024),
	      "%s", "");

	bool ok = true;
	for (uint32_t skip = 1; skip < 8 && ok; skip++) {
		memset(back, 0, 64);
		ok = port_flash_read(cfg, off + skip, back, 61) == 0 && memcmp(back, pattern + skip, 61) == 0;
	}
	check("unaligned_reads", ok, "%s", "");

	uint8_t one[4] = { 0xff, 0xff, 0xff, 0xff };
	memcpy(back, pattern, 4);
	err = port_flash_program(cfg, off, one, 4);
	uint8_t now4[4];
	port_flash_read(cfg, off, now4, 4);
	check("one_over_zero_refused", err == PORT_ENOTERASED && memcmp(now4, pattern, 4) == 0,
	      "err %d (want %d)", err, PORT_ENOTERASED);

	uint8_t less[4];
	for (int i = 0; i < 4; i++)
		less[i] = (uint8_t)(pattern[i] & 0x0f);
	err = port_flash_program(cfg, off, less, 4);
	port_flash_read(cfg, off, now4, 4);
	check("clear_more_bits", err == 0 && memcmp(now4, less, 4) == 0, "err %d", err);

	check("range_checks",
	      port_flash_read(cfg, cfg->size - 2, back, 4) == PORT_EINVAL &&
		      port_flash_program(cfg, 2, less, 4) == PORT_EINVAL &&
		      port_flash_erase(cfg, 4096) == PORT_EINVAL && port_flash_erase(cfg, cfg->size) == PORT_EINVAL,
	      "%s", "");

	/* Queue area: first block, 64 KiB, to time a realistic burst. */
	static uint8_t big[65536];
	memset(big, 0x5a, sizeof(big));
	err = port_flash_erase(q, 0);
	t0 = port_now_ms();
	if (!err)
		err = port_flash_program(q, 0, big, sizeof(big));
	t1 = port_now_ms();
	check("queue_program_64k", err == 0, "err %d, %ld ms", err, (long)(t1 - t0));
	err = port_flash_erase(q, 0);
	check("queue_erase_back", err == 0 && all_ff(q, 0, q->erase_size), "err %d", err);

	/* Leave the mark for the next boot and the host. */
	err = port_flash_erase(cfg, mark);
	if (!err)
		err = port_flash_program(cfg, mark, mark_text, (sizeof(mark_text) + 3) & ~3u);
	check("mark_written", err == 0, "err %d", err);
	port_flash_sync(cfg);
}

static void board_checks(void)
{
	const struct port_board_info *b = port_board();
	check("board_info", strcmp(b->name, "qemu-virt") == 0 && b->ram_base == 0x40000000u &&
				    b->ram_size == 128u << 20 && b->static_ram > 0 && b->static_ram < (1u << 20),
	      "static_ram %ld", (long)b->static_ram);
	const char *h = port_setting("hostname"), *p = port_setting("smtp_port");
	check("settings", h && strcmp(h, "danegate.lan") == 0 && p && strcmp(p, "25") == 0 &&
				  port_setting("listen") == NULL && port_setting("nonsense") == NULL,
	      "%s", "");
	printf("I wall %ld\n", (long)port_wall_time()); /* nano printf: no %lld */

	uint64_t a = port_now_ms();
	port_poll(200); /* nothing to do: must sleep (WFI) ~200 ms, not return at once */
	uint64_t b2 = port_now_ms();
	check("poll_sleeps_until_timeout", b2 - a >= 195 && b2 - a < 400, "%ld ms", (long)(b2 - a));
	a = port_now_ms();
	port_poll(0);
	b2 = port_now_ms();
	check("poll_zero_returns", b2 - a < 20, "%ld ms", (long)(b2 - a));
	/* Console: the host types once it sees the prompt; the UART interrupt
	 * must end the WFI sleep early and the bytes must come out in order. */
	char in[32];
	while (port_console_read(in, sizeof(in)) > 0)
		; /* drop anything typed before the prompt */
	printf("I type now\n");
	size_t got = 0;
	a = port_now_ms();
	uint64_t first = 0;
	while (got < 6 && port_now_ms() - a < 5000) {
		port_poll(5000);
		long n = port_console_read(in + got, sizeof(in) - 1 - got);
		if (n > 0) {
			if (!got)
				first = port_now_ms() - a;
			got += (size_t)n;
		}
	}
	in[got] = 0;
	check("console_input_wakes_poll", got >= 6 && memcmp(in, "hello\r", 6) == 0 && first < 4000,
	      "got %d bytes after %ld ms", (int)got, (long)first);
	check("console_read_empty", port_console_read(in, sizeof(in)) == PORT_EAGAIN, "%s", "");

	uint32_t sp = port_stack_peak();
	check("stack_peak", sp > 64 && sp < 16384, "%ld bytes", (long)sp);
}

int danegate_main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("I flashdrv start\n");
	board_checks();
	flash_checks();
	printf("flashdrv: done, %d failed\n", fails);
	if (second_boot) {
		/* The fault report: a write to the unmapped first 64 MiB (a NULL
		 * pointer) must give a data abort report, then halt. */
		printf("I fault now\n");
		volatile uintptr_t bad = 0x10;
		*(volatile uint32_t *)bad = 1;
		printf("I fault ignored\n");
	}
	port_reboot(); /* QEMU runs with -no-reboot: it exits here */
	return 0;
}
