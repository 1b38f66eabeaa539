/* board.c — the qemu-virt board behind port.h (everything except the
 * network and entropy calls, which net_lwip.c / net_rng.c implement):
 * identity, settings, clock, console, log sink, event loop with WFI
 * sleep, flash areas, reboot, and the interrupt routing of qv_irq.h.
 * Exports port_* (see port.h), qv_irq_*, qv_board_init, qv_uart_*. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lwip/init.h"

#include "../../drivers/flash/cfi_pflash.h"
#include "../../drivers/irq/gicv2.h"
#include "../../drivers/rtc/pl031.h"
#include "../../drivers/timer/generic_timer.h"
#include "../../drivers/uart/pl011.h"
#include "port.h"
#include "qv_board.h"
#include "qv_irq.h"
#include "qv_net.h"

/* Longest sleep in one WFI: lwIP's timers (TCP 250 ms, DHCP 500 ms) and
 * a NIC without a working interrupt are serviced at least this often. */
#ifndef QV_TICK_MS
#define QV_TICK_MS 20u
#endif
/* Console receive ring (power of two); beyond it input is dropped and
 * counted, the operator sees missing characters, nothing else breaks. */
#define QV_CONSOLE_RING 512u
/* Memory figures are logged when the heap high-water mark grows by
 * QV_HEAP_LOG_STEP or the stack peak by QV_STACK_LOG_STEP; the stack is
 * scanned at most once per QV_STACK_SCAN_MS. */
#define QV_HEAP_LOG_STEP 4096u
#define QV_STACK_LOG_STEP 1024u
#define QV_STACK_SCAN_MS 1000u
#define QV_STACK_PAINT 0xa5a5a5a5u
/* Lowest bytes of the SVC stack watched as a guard: a frame with a big,
 * sparsely written local array can skip a few words, not a whole KiB. */
#define QV_STACK_GUARD_WORDS 256u

#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u

extern uint32_t __stack_svc_bottom[], __stack_svc_top[], __stack_start[], __stack_end[];
extern uint8_t __data_start[], __text_start[], qv_ttb[], __ttb_end[];

/* Bytes fixed at link time from `from` on: up to the end of the stacks,
 * plus the MMU table (the heap between them is counted by its peak). */
static uint32_t static_bytes_from(const uint8_t *from)
{
	return (uint32_t)(((uintptr_t)__stack_end - (uintptr_t)from) + (uintptr_t)(__ttb_end - qv_ttb));
}

static const struct pl011 qv_uart = { .base = QV_UART_BASE, .clk_hz = QV_UART_CLK_HZ,
				      .baud = QV_UART_BAUD };
static const struct pl031 qv_rtc = { .base = QV_RTC_BASE };

struct qv_irq_slot {
	void (*fn)(void *);
	void *ctx;
};

static struct {
	struct gicv2 gic;
	bool gic_ok;
	struct qv_irq_slot irq[QV_IRQ_MAX];
	volatile uint32_t dev_irqs; /* device (non-timer) interrupts taken */

	/* console RX: the UART IRQ produces, port_console_read consumes */
	uint8_t rx[QV_CONSOLE_RING];
	volatile uint32_t rx_head, rx_tail;
	volatile uint32_t rx_dropped;
	uint32_t rx_seen; /* rx_head when port_poll last returned */
	bool tx_cr;	  /* last console byte written was '\r' */

	bool wall_ok;	      /* the RTC answered at boot */
	int64_t wall_base;    /* RTC seconds at wall_base_ms */
	uint64_t wall_base_ms;

	struct cfi_pflash flash;
	struct cfi_pflash_area area_ctx[PORT_FLASH_AREAS];
	struct port_flash area[PORT_FLASH_AREAS];
	bool flash_ok;

	size_t heap_logged;
	uint32_t stack_logged;
	uint64_t stack_scan_due_ms; /* 0: at the first loop turn */
	bool stack_overflow_logged;
} qv; /* zero-initialised: .bss, not a 3 KiB .data image */

static void qv_log(enum port_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qv_log(enum port_log_level lvl, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	port_log_sink(lvl, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ---- UART output ---------------------------------------------------- */

void qv_uart_write(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && !qv.tx_cr)
			pl011_putc(&qv_uart, '\r');
		qv.tx_cr = p[i] == '\r';
		pl011_putc(&qv_uart, p[i]);
	}
}

void qv_uart_puts(const char *s)
{
	qv_uart_write(s, strlen(s));
}

/* ---- identity, settings, reboot --------------------------------------- */

const struct port_board_info *port_board(void)
{
	static struct port_board_info info = {
		.name = "qemu-virt",
		.cpu = "cortex-a15",
		.netstack = "lwIP " LWIP_VERSION_STRING,
		.ram_base = 0x40000000u,
		.ram_size = 128u * 1024u * 1024u,
		.stack_info = "SVC 10 KiB (main loop), IRQ 2 KiB, ABT/UND 1 KiB, in RAM after .bss",
	};
	/* .data + .bss + stacks + MMU table: everything fixed at link time
	 * (the heap is not: its peak is logged as it grows). */
	info.static_ram = static_bytes_from(__data_start);
	return &info;
}

uint32_t port_heap_peak(void)
{
	return (uint32_t)qv_heap_peak();
}

uint32_t port_stack_peak(void)
{
	const uint32_t *p = __stack_svc_bottom;
	while (p < __stack_svc_top && *p == QV_STACK_PAINT)
		p++;
	return (uint32_t)((uintptr_t)__stack_svc_top - (uintptr_t)p);
}

long port_file_read(const char *path, void *buf, size_t size)
{
	(void)path;
	(void)buf;
	(void)size;
	return PORT_ENOTSUP; /* no file system: settings live in flash */
}

const char *port_setting(const char *key)
{
	/* Built-in defaults until the firmware's own config (flash) loads.
	 * "listen" is deliberately unset: unset means every address of both
	 * families, where "0.0.0.0" would drop the SLAAC IPv6 addresses. */
	static const struct {
		const char *key, *value;
	} defaults[] = {
		{ "hostname", "danegate.lan" },
		{ "smtp_port", "25" },
	};
	for (size_t i = 0; key && i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (strcmp(defaults[i].key, key) == 0)
			return defaults[i].value;
	return NULL;
}

static void psci_call(uint32_t fn)
{
	register uint32_t r0 __asm__("r0") = fn;
	__asm__ volatile(".arch_extension virt\n\thvc #0" : "+r"(r0)::"r1", "r2", "r3", "memory");
}

void qv_psci_system_reset(void)
{
	psci_call(PSCI_SYSTEM_RESET);
}

void qv_psci_system_off(void)
{
	psci_call(PSCI_SYSTEM_OFF);
}

void port_reboot(void)
{
	qv_uart_puts("board: reboot (PSCI SYSTEM_RESET)\n");
	pl011_flush(&qv_uart);
	__asm__ volatile("cpsid i" ::: "memory");
	qv_psci_system_reset();
	/* Only reached without PSCI (e.g. booted at EL2/EL3 by other
	 * firmware): no watchdog to fall back on, so stop visibly. */
	qv_uart_puts("board: PSCI reset failed, halted\n");
	pl011_flush(&qv_uart);
	qv_halt();
}

/* ---- clock -------------------------------------------------------------- */

uint64_t port_now_ms(void)
{
	return gtimer_ms();
}

int64_t port_wall_time(void)
{
	/* RTC read once at boot, then the monotonic timer: the PL031 only
	 * counts seconds and a jump would confuse retry schedules. */
	if (!qv.wall_ok)
		return -1;
	return qv.wall_base + (int64_t)((gtimer_ms() - qv.wall_base_ms) / 1000u);
}

int64_t qv_wall_ms(void)
{
	if (!qv.wall_ok)
		return -1;
	return qv.wall_base * 1000 + (int64_t)(gtimer_ms() - qv.wall_base_ms);
}

/* ---- interrupts ------------------------------------------------------------ */

int qv_irq_enable(unsigned irq, void (*handler)(void *), void *ctx)
{
	if (irq >= QV_IRQ_MAX || !handler || !qv.gic_ok)
		return PORT_EINVAL;
	if (qv.irq[irq].fn && qv.irq[irq].fn != handler)
		return PORT_EADDRINUSE;
	qv.irq[irq].ctx = ctx;
	qv.irq[irq].fn = handler;
	return gicv2_enable(&qv.gic, irq, true);
}

void qv_irq_disable(unsigned irq)
{
	if (irq >= QV_IRQ_MAX || !qv.gic_ok)
		return;
	gicv2_enable(&qv.gic, irq, false);
	qv.irq[irq].fn = NULL;
	qv.irq[irq].ctx = NULL;
}

void qv_irq_dispatch(void)
{
	/* Take everything pending before returning: one exception entry
	 * for a burst. Bounded so a stuck line cannot starve the loop. */
	for (int n = 0; n < 16; n++) {
		uint32_t iar = gicv2_ack(&qv.gic);
		uint32_t id = iar & 0x3ffu;
		if (id >= 1020u)
			return; /* spurious: nothing (more) pending */
		if (id >= QV_IRQ_MAX || !qv.irq[id].fn) {
			struct qv_fault_frame f = { 0 };
			f.r[0] = id;
			gicv2_eoi(&qv.gic, iar);
			qv_fault(QV_FAULT_IRQ, &f);
		}
		qv.irq[id].fn(qv.irq[id].ctx);
		if (id != QV_IRQ_TIMER)
			qv.dev_irqs++;
		gicv2_eoi(&qv.gic, iar);
	}
}

static void timer_irq(void *ctx)
{
	(void)ctx;
	gtimer_stop(); /* one-shot: it only had to end the WFI */
}

static void uart_irq(void *ctx)
{
	(void)ctx;
	/* Acknowledge first, then drain: a byte that lands after the last read
	 * raises the interrupt again. (Acknowledging after the drain lost it:
	 * the end of a pasted line sat in the FIFO until the next key.) */
	pl011_irq_clear(&qv_uart);
	for (;;) {
		int c = pl011_getc(&qv_uart);
		if (c == PORT_EAGAIN)
			break;
		if (c < 0)
			continue; /* line error: byte discarded */
		uint32_t head = qv.rx_head;
		if (head - qv.rx_tail >= QV_CONSOLE_RING) {
			qv.rx_dropped++;
			continue;
		}
		qv.rx[head % QV_CONSOLE_RING] = (uint8_t)c;
		__asm__ volatile("dmb" ::: "memory"); /* byte before index */
		qv.rx_head = head + 1;
	}
}

static inline uint32_t irq_save(void)
{
	uint32_t cpsr;
	__asm__ volatile("mrs %0, cpsr\n\tcpsid i" : "=r"(cpsr)::"memory");
	return cpsr;
}

static inline void irq_restore(uint32_t cpsr)
{
	__asm__ volatile("msr cpsr_c, %0" ::"r"(cpsr) : "memory");
}

/* ---- console ------------------------------------------------------------ */

long port_console_read(void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t n = 0;
	if (!qv.gic_ok) /* no IRQ: poll the FIFO directly */
		uart_irq(NULL);
	while (n < len && qv.rx_tail != qv.rx_head) {
		__asm__ volatile("dmb" ::: "memory");
		out[n++] = qv.rx[qv.rx_tail % QV_CONSOLE_RING];
		qv.rx_tail = qv.rx_tail + 1;
	}
	return n ? (long)n : PORT_EAGAIN;
}

void port_console_write(const void *buf, size_t len)
{
	qv_uart_write(buf, len);
}

void port_log_sink(enum port_log_level level, const char *line, size_t len)
{
	(void)level; /* the firmware's line already says how bad it is */
	qv_uart_write(line, len);
	qv_uart_write("\n", 1);
}

/* ---- the event loop -------------------------------------------------------- */

/* Memory watch, once per loop turn: the SVC stack's guard (its lowest
 * painted KiB), then stack peak and heap high-water as figures for the
 * operator. Cheap, and trouble is heard of before it becomes a fault. */
static void memory_watch(void)
{
	bool guard_hit = false;
	for (unsigned i = 0; i < QV_STACK_GUARD_WORDS && !qv.stack_overflow_logged; i++)
		guard_hit |= __stack_svc_bottom[i] != QV_STACK_PAINT;
	if (guard_hit) {
		qv.stack_overflow_logged = true;
		qv_log(PORT_LOG_ERR, "board: SVC stack (%lu bytes) reached its last KiB or beyond: the IRQ stack below may be damaged",
		       (unsigned long)((uintptr_t)__stack_svc_top - (uintptr_t)__stack_svc_bottom));
	}
	size_t heap = qv_heap_peak();
	uint32_t stack = qv.stack_logged;
	uint64_t now = gtimer_ms();
	if (now >= qv.stack_scan_due_ms) {
		qv.stack_scan_due_ms = now + QV_STACK_SCAN_MS;
		stack = port_stack_peak();
	}
	if (heap >= qv.heap_logged + QV_HEAP_LOG_STEP || stack >= qv.stack_logged + QV_STACK_LOG_STEP) {
		qv.heap_logged = heap;
		qv.stack_logged = stack;
		qv_log(PORT_LOG_INFO, "board: stack peak %lu of %lu bytes, heap high-water %lu of %lu bytes",
		       (unsigned long)stack,
		       (unsigned long)((uintptr_t)__stack_svc_top - (uintptr_t)__stack_svc_bottom),
		       (unsigned long)heap, (unsigned long)qv_heap_limit());
	}
}

void port_poll(uint32_t timeout_ms)
{
	uint64_t now = port_now_ms();
	uint64_t deadline = now + timeout_ms;
	bool woken = false;
	for (;;) {
		bool busy = woken || qv_net_pending();
		uint32_t irqs = qv.dev_irqs;
		uint32_t net_events = qv_net_events();
		qv_net_poll(now);
		memory_watch();
		bool typed = qv.rx_head != qv.rx_seen;
		/* lwIP timers can dispatch events qv_net_pending() could not
		 * foresee (a retransmit timeout closing a socket): count them. */
		if (busy || typed || qv_net_events() != net_events) {
			/* Something arrived and was dispatched (or is waiting
			 * for the firmware to read it): hand control back. */
			qv.rx_seen = qv.rx_head;
			return;
		}
		now = port_now_ms();
		if (now >= deadline)
			return;
		uint64_t wait = deadline - now;
		if (wait > QV_TICK_MS)
			wait = QV_TICK_MS;
		if (wait > qv_net_sleep_ms())
			wait = qv_net_sleep_ms();
		/* WFI with IRQs masked still wakes on a pending interrupt; the
		 * check and the sleep cannot miss one that lands in between. */
		uint32_t cpsr = irq_save();
		if (qv.dev_irqs == irqs && !qv_net_pending() && qv.rx_head == qv.rx_seen) {
			gtimer_oneshot_ms((uint32_t)wait);
			__asm__ volatile("dsb\n\twfi" ::: "memory");
		}
		irq_restore(cpsr); /* the pending interrupt is taken here */
		woken = qv.dev_irqs != irqs;
		now = port_now_ms();
	}
}

/* ---- flash --------------------------------------------------------------- */

const struct port_flash *port_flash_area(enum port_flash_area area)
{
	if (!qv.flash_ok || (unsigned)area >= PORT_FLASH_AREAS)
		return NULL;
	return &qv.area[area];
}

static int flash_init(void)
{
	qv.flash = (struct cfi_pflash){ .base = QV_FLASH1_BASE, .bus_width = 4, .device_width = 2,
					.now_ms = gtimer_ms };
	int err = cfi_pflash_probe(&qv.flash);
	if (err)
		return err;
	if (qv.flash.nblocks <= QV_FLASH_CONFIG_BLOCKS + 2u)
		return PORT_ENOSPC;
	uint32_t queue_blocks = qv.flash.nblocks - QV_FLASH_CONFIG_BLOCKS;
	static const char *const names[PORT_FLASH_AREAS] = { "queue", "config" };
	uint32_t start[PORT_FLASH_AREAS] = { 0, queue_blocks * qv.flash.erase_size };
	uint32_t blocks[PORT_FLASH_AREAS] = { queue_blocks, QV_FLASH_CONFIG_BLOCKS };
	for (int a = 0; a < PORT_FLASH_AREAS; a++) {
		qv.area_ctx[a] = (struct cfi_pflash_area){ .dev = &qv.flash, .start = start[a] };
		qv.area[a] = (struct port_flash){
			.ops = &cfi_pflash_area_ops,
			.ctx = &qv.area_ctx[a],
			.size = blocks[a] * qv.flash.erase_size,
			.erase_size = qv.flash.erase_size,
			.program_size = qv.flash.bus_width,
			.name = names[a],
		};
	}
	qv.flash_ok = true;
	return 0;
}

/* ---- bring-up --------------------------------------------------------------- */

void qv_board_init(void)
{
	uint64_t t0 = 0;
	/* UART first, so every later failure can be seen. */
	int uerr = pl011_init(&qv_uart);
	int terr = gtimer_init();
	t0 = gtimer_ms();
	qv_log(PORT_LOG_INFO, "board: qemu-virt, cortex-a15, RAM 128 MiB at 0x40000000, "
	       "image + static RAM %lu KiB, up %lu ms",
	       (unsigned long)(static_bytes_from(__text_start) / 1024u),
	       (unsigned long)t0);
	if (uerr)
		qv_log(PORT_LOG_ERR, "board: uart init: %s", port_strerror(uerr));
	if (terr)
		qv_log(PORT_LOG_ERR, "board: generic timer has no frequency (CNTFRQ = 0)");

	qv.gic = (struct gicv2){ .dist = QV_GICD_BASE, .cpu = QV_GICC_BASE };
	int err = gicv2_init(&qv.gic);
	if (err) {
		qv_log(PORT_LOG_ERR, "board: GIC init: %s; polling only", port_strerror(err));
	} else {
		qv.gic_ok = true;
		qv_irq_enable(QV_IRQ_TIMER, timer_irq, NULL);
		qv_irq_enable(QV_IRQ_UART, uart_irq, NULL);
		pl011_rx_irq(&qv_uart, true);
		__asm__ volatile("cpsie i" ::: "memory");
	}

	err = pl031_init(&qv_rtc);
	if (err) {
		qv_log(PORT_LOG_WARN, "board: no PL031 RTC, wall clock unknown");
	} else {
		qv.wall_base = pl031_read(&qv_rtc);
		qv.wall_base_ms = gtimer_ms();
		qv.wall_ok = true;
	}

	err = flash_init();
	if (err)
		qv_log(PORT_LOG_ERR, "board: flash bank 1: %s; no queue, no config", port_strerror(err));
	else
		qv_log(PORT_LOG_INFO, "board: flash bank 1 CFI cmdset %lu, %lu x %lu KiB blocks, queue %lu KiB, config %lu KiB",
		       (unsigned long)qv.flash.cmdset, (unsigned long)qv.flash.nblocks,
		       (unsigned long)(qv.flash.erase_size / 1024),
		       (unsigned long)(qv.area[PORT_FLASH_QUEUE].size / 1024),
		       (unsigned long)(qv.area[PORT_FLASH_CONFIG].size / 1024));

	err = qv_rng_init();
	if (err)
		qv_log(PORT_LOG_ERR, "board: no virtio-rng: %s (TLS and network need it)", port_strerror(err));
	err = qv_net_init();
	if (err)
		qv_log(PORT_LOG_ERR, "board: network: %s", port_strerror(err));
	qv_log(PORT_LOG_INFO, "board: init done in %lu ms (timer %lu Hz)",
	       (unsigned long)(gtimer_ms() - t0), (unsigned long)gtimer_freq());
}
