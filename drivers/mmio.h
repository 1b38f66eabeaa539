/* mmio.h — the one way drivers touch device registers: small inline
 * accessors with the ordering a device needs. Exports mmio_read32/16/8,
 * mmio_write32/16/8 and mmio_barrier().
 * A host unit test defines DRV_MMIO_FAKE before including a driver's .c
 * and supplies fake_mmio_read32/fake_mmio_write32 (a device model), so a
 * driver's register protocol can be tested without hardware. */
#ifndef DRV_MMIO_H
#define DRV_MMIO_H

#include <stdint.h>

#ifdef DRV_MMIO_FAKE

uint32_t fake_mmio_read32(uintptr_t addr);
void fake_mmio_write32(uintptr_t addr, uint32_t v);

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return fake_mmio_read32(addr);
}
static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	fake_mmio_write32(addr, v);
}
static inline void mmio_barrier(void)
{
}

#else

/* Device memory on ARMv7 is already ordered against other device
 * accesses; the dsb in mmio_barrier() is for ordering against normal
 * memory (DMA buffers, the flash contents read as array). */
static inline void mmio_barrier(void)
{
#if defined(__arm__)
	__asm__ volatile("dsb sy" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}
static inline uint32_t mmio_read32(uintptr_t addr)
{
	uint32_t v = *(volatile const uint32_t *)addr;
	__asm__ volatile("" ::: "memory");
	return v;
}
static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	__asm__ volatile("" ::: "memory");
	*(volatile uint32_t *)addr = v;
}
static inline uint16_t mmio_read16(uintptr_t addr)
{
	uint16_t v = *(volatile const uint16_t *)addr;
	__asm__ volatile("" ::: "memory");
	return v;
}
static inline void mmio_write16(uintptr_t addr, uint16_t v)
{
	__asm__ volatile("" ::: "memory");
	*(volatile uint16_t *)addr = v;
}
static inline uint8_t mmio_read8(uintptr_t addr)
{
	uint8_t v = *(volatile const uint8_t *)addr;
	__asm__ volatile("" ::: "memory");
	return v;
}
static inline void mmio_write8(uintptr_t addr, uint8_t v)
{
	__asm__ volatile("" ::: "memory");
	*(volatile uint8_t *)addr = v;
}

#endif /* DRV_MMIO_FAKE */

#endif
