/* fault.c — what the qemu-virt board says when the CPU faults: kind,
 * fault status decoded, fault address, registers, then halt (or reset
 * with QV_FAULT_RESET). Uses only the raw UART: the heap, stdio and the
 * log ring may be what broke. Exports qv_fault(). */
#include <stdint.h>
#include <string.h>

#include "../../drivers/uart/pl011.h"
#include "qv_board.h"

static void put_hex(uint32_t v)
{
	char s[11] = "0x";
	for (int i = 0; i < 8; i++)
		s[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xfu];
	s[10] = 0;
	qv_uart_puts(s);
}

static void put_reg(const char *name, uint32_t v)
{
	qv_uart_puts(" ");
	qv_uart_puts(name);
	qv_uart_puts("=");
	put_hex(v);
}

/* Short-descriptor fault status (ARM ARM B3.13.3), FS[4] = bit 10. */
static const char *fault_status(uint32_t fsr)
{
	switch (((fsr >> 6) & 0x10u) | (fsr & 0xfu)) {
	case 0x01: return "alignment fault";
	case 0x02: return "debug event";
	case 0x03: return "access flag fault (section)";
	case 0x04: return "instruction cache maintenance fault";
	case 0x05: return "translation fault (section): unmapped address";
	case 0x06: return "access flag fault (page)";
	case 0x07: return "translation fault (page)";
	case 0x08: return "synchronous external abort";
	case 0x09: return "domain fault (section)";
	case 0x0b: return "domain fault (page)";
	case 0x0c: return "external abort on table walk";
	case 0x0d: return "permission fault (section)";
	case 0x0f: return "permission fault (page)";
	case 0x16: return "asynchronous external abort";
	case 0x18: return "asynchronous parity error";
	case 0x19: return "synchronous parity error";
	default: return "unknown fault status";
	}
}

extern uint32_t __ram_start[], __ram_end[];

/* The top of the interrupted stack often shows the caller chain: saved lr
 * values are code addresses an objdump of the ELF can name. */
static void put_stack_words(uint32_t sp)
{
	const unsigned n = 16;
	if (sp & 3u || sp < (uintptr_t)__ram_start || sp > (uintptr_t)__ram_end - n * 4u)
		return;
	const uint32_t *w = (const uint32_t *)(uintptr_t)sp;
	qv_uart_puts("stack:");
	for (unsigned i = 0; i < n; i++) {
		qv_uart_puts(i % 8 == 0 && i ? "\n      " : " ");
		put_hex(w[i]);
	}
	qv_uart_puts("\n");
}

static volatile int fault_depth;

void qv_fault(unsigned kind, const struct qv_fault_frame *f)
{
	static const char *const names[] = {
		[QV_FAULT_UNDEF] = "undefined instruction",
		[QV_FAULT_SVC] = "unexpected SVC",
		[QV_FAULT_PABT] = "prefetch abort",
		[QV_FAULT_DABT] = "data abort",
		[QV_FAULT_HYP] = "unexpected hyp trap vector",
		[QV_FAULT_FIQ] = "unexpected FIQ",
		[QV_FAULT_IRQ] = "interrupt without handler",
	};
	__asm__ volatile("cpsid if" ::: "memory");
	if (fault_depth++) /* faulted while reporting: say nothing more */
		qv_halt();
	qv_uart_puts("\n*** FAULT: ");
	qv_uart_puts(kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "?");
	qv_uart_puts(" ***\n");
	uint32_t pc = f->pc;
	if (kind == QV_FAULT_UNDEF && (f->spsr & (1u << 5)))
		pc += 2; /* Thumb: entry subtracted 4, the instruction is at lr-2 */
	if (kind == QV_FAULT_DABT) {
		uint32_t dfsr, dfar;
		__asm__ volatile("mrc p15, 0, %0, c5, c0, 0" : "=r"(dfsr));
		__asm__ volatile("mrc p15, 0, %0, c6, c0, 0" : "=r"(dfar));
		qv_uart_puts(fault_status(dfsr));
		qv_uart_puts(dfsr & (1u << 11) ? " on write" : " on read");
		put_reg("DFAR", dfar);
		put_reg("DFSR", dfsr);
		qv_uart_puts("\n");
	} else if (kind == QV_FAULT_PABT) {
		uint32_t ifsr, ifar;
		__asm__ volatile("mrc p15, 0, %0, c5, c0, 1" : "=r"(ifsr));
		__asm__ volatile("mrc p15, 0, %0, c6, c0, 2" : "=r"(ifar));
		qv_uart_puts(fault_status(ifsr));
		put_reg("IFAR", ifar);
		put_reg("IFSR", ifsr);
		qv_uart_puts("\n");
	} else if (kind == QV_FAULT_IRQ) {
		put_reg("id", f->r[0]);
		qv_uart_puts("\n");
	}
	if (kind != QV_FAULT_IRQ) {
		static const char *const rn[13] = { "r0", "r1", "r2", "r3", "r4", "r5", "r6",
						    "r7", "r8", "r9", "r10", "r11", "r12" };
		for (int i = 0; i < 13; i++) {
			put_reg(rn[i], f->r[i]);
			if (i % 5 == 4)
				qv_uart_puts("\n");
		}
		qv_uart_puts("\n");
		put_reg("pc", pc);
		put_reg("lr", f->lr);
		put_reg("sp", f->sp);
		put_reg("cpsr", f->spsr);
		qv_uart_puts(f->spsr & (1u << 5) ? " (Thumb)\n" : " (ARM)\n");
		put_stack_words(f->sp);
	}
#ifdef QV_FAULT_RESET
	qv_uart_puts("*** resetting ***\n");
	qv_psci_system_reset();
#endif
	qv_uart_puts("*** halted ***\n");
	qv_halt();
}
