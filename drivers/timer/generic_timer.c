/* generic_timer.c — ARMv7-A generic timer through CP15 (ARM ARM B8):
 * CNTFRQ, CNTVCT and the virtual timer CNTV_TVAL/CNTV_CTL. The virtual
 * view is the one a PL1 kernel owns when there is no hypervisor (QEMU
 * virt without EL2: CNTVOFF is 0). Exports gtimer_*. */
#include "generic_timer.h"

#include "port.h"

#define CTL_ENABLE (1u << 0)
#define CTL_IMASK (1u << 1)

static uint32_t gtimer_hz;

static inline uint32_t cntfrq_read(void)
{
	uint32_t v;
	__asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(v));
	return v;
}

uint64_t gtimer_count(void)
{
	uint32_t lo, hi;
	/* The isb stops the read being hoisted above earlier code. */
	__asm__ volatile("isb\n\tmrrc p15, 1, %0, %1, c14" : "=r"(lo), "=r"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void cntv_ctl_write(uint32_t v)
{
	__asm__ volatile("mcr p15, 0, %0, c14, c3, 1\n\tisb" ::"r"(v) : "memory");
}

static inline void cntv_tval_write(uint32_t v)
{
	__asm__ volatile("mcr p15, 0, %0, c14, c3, 0\n\tisb" ::"r"(v) : "memory");
}

int gtimer_init(void)
{
	gtimer_hz = cntfrq_read();
	cntv_ctl_write(CTL_IMASK);
	return gtimer_hz ? 0 : PORT_EIO;
}

uint32_t gtimer_freq(void)
{
	return gtimer_hz;
}

uint64_t gtimer_ms(void)
{
	uint64_t c = gtimer_count();
	if (!gtimer_hz)
		return 0;
	/* Split so c * 1000 cannot overflow however long the board runs. */
	return c / gtimer_hz * 1000u + (c % gtimer_hz) * 1000u / gtimer_hz;
}

void gtimer_oneshot_ms(uint32_t ms)
{
	uint64_t ticks = (uint64_t)ms * gtimer_hz / 1000u;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0x7fffffffu) /* TVAL is a signed 32-bit down-counter */
		ticks = 0x7fffffffu;
	cntv_tval_write((uint32_t)ticks);
	cntv_ctl_write(CTL_ENABLE);
}

void gtimer_stop(void)
{
	cntv_ctl_write(CTL_IMASK);
}
