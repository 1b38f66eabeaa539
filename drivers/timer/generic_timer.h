/* generic_timer.h — ARMv7 generic timer, virtual view (CNTVCT, CNTV_*):
 * the monotonic clock and a one-shot compare that raises PPI 27 to wake
 * the CPU from WFI. Exports gtimer_*. */
#ifndef DRV_GENERIC_TIMER_H
#define DRV_GENERIC_TIMER_H

#include <stdint.h>

/* GIC interrupt id of the virtual timer (PPI 11). */
#define GTIMER_VIRT_IRQ 27u

/* Reads CNTFRQ; 0 or PORT_EIO when firmware left it unset (0). */
int gtimer_init(void);
uint32_t gtimer_freq(void);
uint64_t gtimer_count(void);
/* Milliseconds since the counter started (boot), monotonic. */
uint64_t gtimer_ms(void);
/* Fire the virtual timer interrupt once, ms from now (clamped so the
 * 32-bit down-counter cannot wrap). */
void gtimer_oneshot_ms(uint32_t ms);
/* Disable the compare (the interrupt line drops). */
void gtimer_stop(void);

#endif
