/* host.h — the host board's internal interface between main.c,
 * port_host.c and net_posix.c. Never included by firmware/ (which sees
 * the board only through port.h). Exports host_board_init/fini, the
 * console hooks for port_poll and the stack painter. */
#ifndef DANEGATE_HOST_H
#define DANEGATE_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "flashsim.h"

/* Host flash geometry, mirroring the QEMU virt pflash (CFI NOR, 256 KiB
 * erase blocks) so the firmware meets the same block size on both
 * boards. The queue gets 64 blocks; the config area 8, as on qemu-virt
 * (QV_FLASH_CONFIG_BLOCKS): blocks 0-1 boot counter, 2-3 settings, the
 * rest spare for the firmware. */
#define HOST_FLASH_ERASE (256u * 1024u)
#define HOST_FLASH_PROGRAM 4u
#define HOST_QUEUE_SIZE (64u * HOST_FLASH_ERASE)  /* 16 MiB, file FLASH */
#define HOST_CONFIG_SIZE (8u * HOST_FLASH_ERASE)  /* 2 MiB, file FLASH.config */
#define HOST_PATH_MAX 512			  /* bound on --flash FILE */
#define HOST_SETTINGS_MAX 64			  /* --set / --config settings kept */
#define HOST_CONFIG_FILE_MAX (64u * 1024u)	  /* bound on a --config file */

struct host_config {
	const char *flash_path;	    /* queue image; config is flash_path + ".config" */
	const char *hostname;	    /* port_setting("hostname"), NULL: unset */
	const char *smtp_port;	    /* port_setting("smtp_port") */
	const char *listen;	    /* port_setting("listen") */
	const char *set[HOST_SETTINGS_MAX]; /* "key=value" from --set / --config, in order */
	unsigned nset;
	long powercut_after;	    /* cut a flash area after N ops; -1: never */
	enum flashsim_cut powercut_how;
	enum port_flash_area powercut_area; /* which one (default: the queue) */
	char **argv;		    /* for port_reboot's re-exec */
	const char *ca_pem;	    /* --ca-file: port_setting("tls_ca"), the verify
				     * policy's read-only trust anchors (PEM) */
};

/* Paints the stack below the caller for port_stack_peak(); main() calls
 * it first thing. */
void host_stack_paint(void);

/* Opens the flash files and remembers the settings (strings must outlive
 * the board: main's argv). 0 or PORT_E*. */
int host_board_init(const struct host_config *cfg);
/* Syncs and closes the flash files. */
void host_board_fini(void);

/* For port_poll: whether stdin belongs in the poll set right now (only
 * after the firmware drained it, so an unread console cannot spin the
 * loop), and what poll said about it. */
bool host_console_wants_poll(void);
void host_console_polled(short revents);

/* A terminal on stdin goes to character mode without echo (the firmware
 * edits lines itself); restored by host_board_fini, at exit and on fatal
 * signals. No-op when stdin is not a terminal or we are in the background. */
void host_console_raw(void);

/* Closes every socket handle (before re-exec). */
void host_net_close_all(void);

#endif
