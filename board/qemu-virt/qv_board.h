/* qv_board.h — internals shared by the qemu-virt board's own files
 * (board.c, fault.c, syscalls.c, main.c): the memory map, board init, the
 * raw UART output used where the log path cannot be trusted (faults,
 * newlib's _write), heap and stack accounting. Exports qv_*. */
#ifndef QV_BOARD_H
#define QV_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Devices of `-M virt` (QEMU 7.2 hw/arm/virt.c memmap). */
#define QV_FLASH1_BASE 0x04000000u /* pflash bank 1, 64 MiB, ours */
#define QV_GICD_BASE 0x08000000u
#define QV_GICC_BASE 0x08010000u
#define QV_UART_BASE 0x09000000u
#define QV_RTC_BASE 0x09010000u
#define QV_UART_CLK_HZ 24000000u   /* apb-pclk of the virt board */
#define QV_UART_BAUD 115200u

/* Flash bank 1 split: the last QV_FLASH_CONFIG_BLOCKS erase blocks hold
 * the configuration (the boot counter takes its first two), everything
 * before them is the message queue. 8 x 256 KiB = 2 MiB for config. */
#define QV_FLASH_CONFIG_BLOCKS 8u

/* Fault kinds (match startup.S). */
enum qv_fault_kind {
	QV_FAULT_UNDEF = 1,
	QV_FAULT_SVC = 2,
	QV_FAULT_PABT = 3,
	QV_FAULT_DABT = 4,
	QV_FAULT_HYP = 5,
	QV_FAULT_FIQ = 6,
	QV_FAULT_IRQ = 7, /* interrupt without a handler */
};

struct qv_fault_frame {
	uint32_t spsr; /* CPSR of the interrupted code */
	uint32_t sp;   /* its banked sp and lr */
	uint32_t lr;
	uint32_t pad;
	uint32_t r[13];
	uint32_t pc;   /* faulting (or next, see qv_fault) instruction */
};

/* Brings up UART, clock, GIC, RTC, flash, entropy and network, logging
 * each step; failures are logged and the board carries on with less. */
void qv_board_init(void);

/* Raw, unbuffered UART output with "\n" -> "\r\n"; safe in fault context. */
void qv_uart_write(const void *buf, size_t len);
void qv_uart_puts(const char *s);

/* Wall clock in ms (RTC at boot + generic timer), -1 if unknown. */
int64_t qv_wall_ms(void);

/* newlib heap: bytes handed out so far (high-water) and the limit. */
size_t qv_heap_peak(void);
size_t qv_heap_limit(void);

/* Called from startup.S / IRQ entry. */
void qv_fault(unsigned kind, const struct qv_fault_frame *f) __attribute__((noreturn));
void qv_irq_dispatch(void);
void qv_halt(void) __attribute__((noreturn));
int main(void);

/* PSCI (QEMU's firmware interface on -M virt without EL3: HVC conduit). */
void qv_psci_system_reset(void);
void qv_psci_system_off(void);

#endif
