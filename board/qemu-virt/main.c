/* main.c — entry of the qemu-virt image after startup.S: board bring-up,
 * then the firmware. Exports main(). */
#include "port.h"
#include "qv_board.h"

int main(void)
{
	qv_board_init();
	int rc = danegate_main();
	qv_uart_puts("board: danegate_main returned, halting\n");
	(void)rc;
	qv_halt();
}
