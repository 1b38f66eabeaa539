/* start.S — minimal reset code of the netdrv test image (not the board
 * startup): stack, FPU on, .bss cleared, main(). The MMU is set up in C. */
	.syntax unified
	.arm
	.section .text.start, "ax"
	.global _start
_start:
	ldr sp, =__stack_top
	/* FPU: CPACR cp10/cp11 full access, then FPEXC.EN */
	mrc p15, 0, r0, c1, c0, 2
	orr r0, r0, #(0xf << 20)
	mcr p15, 0, r0, c1, c0, 2
	isb
	mov r0, #0x40000000
	vmsr fpexc, r0
	ldr r0, =__bss_start
	ldr r1, =__bss_end
	mov r2, #0
1:	cmp r0, r1
	strlo r2, [r0], #4
	blo 1b
	bl main
2:	wfi
	b 2b
