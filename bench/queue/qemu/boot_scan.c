/* boot_scan.c — firmware stand-in for the queue's boot-time benchmark on
 * the qemu-virt board: mounts the queue on the real CFI pflash area
 * (prepared on the host by bench_queue image ...), times the boot scan
 * with the board clock, prints one line per mount and reboots (QEMU runs
 * with -no-reboot, so it exits). Exports danegate_main() and the network
 * stubs the board links against. */
#include <stdio.h>
#include <string.h>

#include "port.h"
#include "qv_net.h"
#include "queue/queue.h"

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

#define MAX_MSGS 4096u
static _Alignas(8) uint8_t index_buf[512 * 1024];
static struct queue q;

static void say(const char *s)
{
	port_console_write(s, strlen(s));
}

int danegate_main(void)
{
	char line[200];
	const struct port_flash *f = port_flash_area(PORT_FLASH_QUEUE);
	if (!f) {
		say("boot_scan: no queue flash area\n");
		port_reboot();
	}
	struct queue_config cfg = { .flash = f, .max_msgs = MAX_MSGS, .index_buf = index_buf,
				    .index_buf_size = sizeof(index_buf) };
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = port_now_ms();
		int err = queue_mount(&q, &cfg);
		uint64_t t1 = port_now_ms();
		struct queue_stats st;
		queue_stats(&q, &st);
		snprintf(line, sizeof(line),
			 "boot_scan: mount %d in %lu ms: %lu msgs, %lu live bytes, %lu/%lu blocks "
			 "free, area %lu KiB, erase %lu KiB, program %lu\n",
			 err, (unsigned long)(t1 - t0), (unsigned long)st.msgs,
			 (unsigned long)st.bytes, (unsigned long)st.free_blocks,
			 (unsigned long)st.blocks, (unsigned long)(f->size >> 10),
			 (unsigned long)(f->erase_size >> 10), (unsigned long)f->program_size);
		say(line);
	}
	say("boot_scan: done\n");
	port_reboot();
	return 0;
}
