/* startup.S — reset entry and exception vectors of the qemu-virt board:
 * VBAR, per-mode stacks (painted for the high-water mark), VFP/NEON on,
 * .bss cleared, a flat 1 MiB-section MMU map with caches on, then main().
 * Also the IRQ entry (saves the VFP caller-saved state so C handlers may
 * use it) and the fault entries that hand a register frame to qv_fault().
 * Exports _start, qv_vectors, qv_halt. ARM state; C code is Thumb. */
	.syntax unified
	.arch armv7-a
	.fpu neon-vfpv4
	.arm

#define MODE_FIQ 0x11
#define MODE_IRQ 0x12
#define MODE_SVC 0x13
#define MODE_ABT 0x17
#define MODE_UND 0x1b
#define MODE_SYS 0x1f
#define MODE_USR 0x10
#define PSR_IF 0xc0

#define QV_STACK_PAINT 0xa5a5a5a5

/* Short-descriptor section entries (ARM ARM B3.5.1), AP = full access. */
#define SECT 0x2
#define SECT_B (1 << 2)
#define SECT_C (1 << 3)
#define SECT_XN (1 << 4)
#define SECT_AP_RW (3 << 10)
#define SECT_TEX1 (1 << 12)
#define SECT_S (1 << 16)
/* MMIO: Shareable Device, never executable (no speculative fetches). */
#define SECT_DEVICE (SECT | SECT_B | SECT_XN | SECT_AP_RW)
/* RAM: Normal, inner/outer write-back write-allocate. */
#define SECT_NORMAL (SECT | SECT_B | SECT_C | SECT_TEX1 | SECT_AP_RW | SECT_S)
/* MiB index where device space starts. The first 64 MiB (flash bank 0,
 * which holds no code of ours) stay unmapped so a NULL pointer faults. */
#define QV_DEV_MB_FIRST 0x040

/* fault kinds, as in qv_board.h */
#define QV_FAULT_UNDEF 1
#define QV_FAULT_SVC 2
#define QV_FAULT_PABT 3
#define QV_FAULT_DABT 4
#define QV_FAULT_HYP 5
#define QV_FAULT_FIQ 6

	.section .vectors, "ax"
	.align 5
	.global qv_vectors
qv_vectors:
	ldr pc, =_start
	ldr pc, =qv_undef_entry
	ldr pc, =qv_svc_entry
	ldr pc, =qv_pabt_entry
	ldr pc, =qv_dabt_entry
	ldr pc, =qv_hyp_entry
	ldr pc, =qv_irq_entry
	ldr pc, =qv_fiq_entry
	.ltorg

	.section .text.boot, "ax"
	.global _start
	.type _start, %function
_start:
	cpsid if
	/* QEMU -kernel starts an ELF in SVC mode (no EL2/EL3 on -M virt
	 * by default); anything else is a setup this image does not handle. */
	mrs r0, cpsr
	and r0, r0, #0x1f
	cmp r0, #MODE_SVC
	bne qv_halt

	ldr r0, =qv_vectors
	mcr p15, 0, r0, c12, c0, 0	@ VBAR
	mrc p15, 0, r0, c1, c0, 0
	bic r0, r0, #(1 << 13)		@ SCTLR.V = 0: vectors at VBAR
	mcr p15, 0, r0, c1, c0, 0
	isb

	/* Paint every stack before any is used. */
	ldr r0, =__stack_start
	ldr r1, =__stack_end
	ldr r2, =QV_STACK_PAINT
1:	cmp r0, r1
	strlo r2, [r0], #4
	blo 1b

	cps #MODE_FIQ
	ldr sp, =__stack_fiq_top
	cps #MODE_UND
	ldr sp, =__stack_und_top
	cps #MODE_ABT
	ldr sp, =__stack_abt_top
	cps #MODE_IRQ
	ldr sp, =__stack_irq_top
	cps #MODE_SYS			@ unused, but never a wild pointer
	ldr sp, =__stack_abt_top
	cps #MODE_SVC
	ldr sp, =__stack_svc_top

	/* VFP/NEON before any C: the hard-float ABI and newlib's string
	 * functions use the FP registers. CPACR cp10/cp11 full access. */
	mrc p15, 0, r0, c1, c0, 2
	orr r0, r0, #(0xf << 20)
	mcr p15, 0, r0, c1, c0, 2
	isb
	mov r0, #0x40000000		@ FPEXC.EN
	vmsr fpexc, r0

	/* .bss. .data needs no copy: QEMU loads it at its run address. */
	ldr r0, =__bss_start
	ldr r1, =__bss_end
	mov r2, #0
2:	cmp r0, r1
	strlo r2, [r0], #4
	blo 2b

	/* Flat map, 1 MiB sections, VA = PA. Done in assembly because C
	 * compiled for ARMv7 may do unaligned accesses, which fault on the
	 * strongly-ordered memory of a disabled MMU (QEMU 7.2 lets them pass,
	 * hardware and newer QEMU do not). */
	ldr r0, =qv_ttb
	mov r1, #0
	ldr r3, =__ram_mb_first
	ldr r4, =__ram_mb_end
	ldr r5, =SECT_DEVICE
	ldr r6, =SECT_NORMAL
	mov r7, #QV_DEV_MB_FIRST
3:	mov r2, #0			@ unmapped: translation fault
	cmp r1, r7
	movhs r2, r5			@ device space below RAM
	cmp r1, r3
	movhs r2, r6			@ our RAM
	cmp r1, r4
	movhs r2, #0			@ beyond RAM: unmapped
	cmp r2, #0
	orrne r2, r2, r1, lsl #20
	str r2, [r0, r1, lsl #2]
	add r1, r1, #1
	cmp r1, #2048			@ TTBR0 covers 0-2 GiB (TTBCR.N = 1)
	blo 3b
	dsb

	/* Caches: the Cortex-A15 invalidates L1 and L2 in hardware at
	 * reset, so only TLBs, I-cache and branch predictor are cleared. */
	mov r0, #0
	mcr p15, 0, r0, c8, c7, 0	@ TLBIALL
	mcr p15, 0, r0, c7, c5, 0	@ ICIALLU
	mcr p15, 0, r0, c7, c5, 6	@ BPIALL
	dsb
	isb
	ldr r0, =0x55555555		@ DACR: every domain "client" (AP checked)
	mcr p15, 0, r0, c3, c0, 0
	mov r0, #0x21			@ TTBCR: short descriptors, N = 1: TTBR0
	mcr p15, 0, r0, c2, c0, 2	@ for 0-2 GiB (all we use); PD1: no walks above
	ldr r0, =qv_ttb			@ table walks uncached: the table was
	mcr p15, 0, r0, c2, c0, 0	@ written with caches off, never again
	isb
	mrc p15, 0, r0, c1, c0, 0
	orr r0, r0, #(1 << 0)		@ M: MMU
	orr r0, r0, #(1 << 2)		@ C: data cache
	orr r0, r0, #(1 << 11)		@ Z: branch prediction
	orr r0, r0, #(1 << 12)		@ I: instruction cache
	bic r0, r0, #(1 << 1)		@ A: unaligned access allowed on Normal memory
	bic r0, r0, #(1 << 28)		@ TRE off: TEX/C/B as written
	bic r0, r0, #(1 << 29)		@ AFE off
	bic r0, r0, #(1 << 30)		@ TE: exceptions in ARM state
	mcr p15, 0, r0, c1, c0, 0
	isb

	bl __libc_init_array
	bl main
	/* main() does not return; if it does, stop here. */
	.global qv_halt
	.type qv_halt, %function
qv_halt:
	cpsid if
4:	wfi
	b 4b
	.ltorg

/* ---- IRQ ------------------------------------------------------------- *
 * Runs qv_irq_dispatch() on the IRQ stack with interrupts masked (no
 * nesting). r0-r3, r12, lr and the VFP caller-saved registers d0-d7,
 * d16-d31 and FPSCR are preserved: a C handler or a library call it makes
 * may use them, and the interrupted code owns them. */
	.text
	.align 2
	.type qv_irq_entry, %function
qv_irq_entry:
	sub lr, lr, #4
	srsdb sp!, #MODE_IRQ		@ return address + SPSR (2 words)
	push {r0-r3, r12, lr}		@ 6 words: frame stays 8-byte aligned
	vmrs r0, fpscr
	push {r0, r1}
	vpush {d0-d7}
	vpush {d16-d31}
	bl qv_irq_dispatch
	vpop {d16-d31}
	vpop {d0-d7}
	pop {r0, r1}
	vmsr fpscr, r0
	pop {r0-r3, r12, lr}
	rfeia sp!

/* ---- faults -------------------------------------------------------------
 * Frame handed to qv_fault(kind, frame), lowest address first:
 *   spsr, sp and lr of the interrupted mode, pad, r0-r12, pc (faulting
 *   instruction, for Thumb undef see qv_fault). Never returns. */
	.macro FAULT_ENTRY name, kind, adjust
	.type \name, %function
\name:
	sub lr, lr, #\adjust
	stmfd sp!, {r0-r12, lr}
	mrs r4, spsr
	and r6, r4, #0x1f
	cmp r6, #MODE_USR
	moveq r6, #MODE_SYS		@ user registers are reachable from SYS
	mrs r7, cpsr
	bic r8, r7, #0x1f
	orr r8, r8, r6
	orr r8, r8, #PSR_IF
	msr cpsr_c, r8			@ visit the interrupted mode ...
	mov r9, sp
	mov r10, lr
	msr cpsr_c, r7			@ ... and come back
	mov r11, #0
	stmfd sp!, {r4, r9, r10, r11}
	mov r0, #\kind
	mov r1, sp
	bl qv_fault
	b qv_halt
	.endm

	FAULT_ENTRY qv_undef_entry, QV_FAULT_UNDEF, 4
	FAULT_ENTRY qv_svc_entry, QV_FAULT_SVC, 4
	FAULT_ENTRY qv_pabt_entry, QV_FAULT_PABT, 4
	FAULT_ENTRY qv_dabt_entry, QV_FAULT_DABT, 8
	FAULT_ENTRY qv_hyp_entry, QV_FAULT_HYP, 4
	FAULT_ENTRY qv_fiq_entry, QV_FAULT_FIQ, 4
