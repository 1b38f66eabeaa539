/* port_host — port.h for the host board (a Linux process), everything but
 * the sockets: identity, stack high-water mark, settings, reboot, clocks,
 * getrandom entropy, stdin/stdout console, stderr log, flash areas on
 * flashsim files. Exports those port_* calls and host_board_init/fini,
 * host_stack_paint and the console hooks of host.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <signal.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "port.h"

#define HOST_EXIT_POWERCUT 99	/* exit status after a simulated power cut */
#define HOST_LOG_LINE_MAX 1024	/* longer log lines are cut here */
#define HOST_STACK_PAINT (256u * 1024u) /* bytes watched by port_stack_peak */
#define HOST_STACK_COLOUR 0xA5

/* Linker-defined bounds of .data + .bss (weak: 0 if a libc lacks them). */
extern char __data_start[] __attribute__((weak));
extern char _end[] __attribute__((weak));

static struct {
	struct host_config cfg;
	bool inited;
	char config_path[HOST_PATH_MAX + 8];
	char exe_path[HOST_PATH_MAX];	/* this program, for port_reboot */
	struct flashsim *flash[PORT_FLASH_AREAS];
	struct utsname uts;
	struct port_board_info info;
	bool info_ready;
	uintptr_t stack_top;		/* frame of host_stack_paint's caller */
	volatile uint8_t *stack_lo;	/* lowest painted byte */
	bool con_eof;			/* stdin gave EOF or is not open */
	bool con_armed;			/* firmware drained stdin: poll it again */
	bool tty_raw;			/* stdin's terminal switched, tty_saved to restore */
	struct termios tty_saved;
} host = { .con_armed = true };

/* ---- identity and stack --------------------------------------------- */

const struct port_board_info *port_board(void)
{
	if (!host.info_ready) {
		struct sysinfo si;
		uint64_t ram = 0;
		if (sysinfo(&si) == 0)
			ram = (uint64_t)si.totalram * si.mem_unit;
		const char *cpu = uname(&host.uts) == 0 ? host.uts.machine : "unknown";
		uint32_t sram = 0;
		uintptr_t lo = (uintptr_t)&__data_start[0], hi = (uintptr_t)&_end[0];
		if (lo && hi > lo)
			sram = (uint32_t)(hi - lo);
		host.info = (struct port_board_info){
			.name = "host",
			.cpu = cpu,
			.netstack = "POSIX sockets",
			.ram_base = 0,
			.ram_size = ram,
			.static_ram = sram,
			.stack_info = "process main thread stack (ulimit -s), peak watched over 256 KiB",
		};
		host.info_ready = true;
	}
	return &host.info;
}

/* Fills HOST_STACK_PAINT bytes below the caller with a colour; the stack
 * grows down on every host we build for (x86, ARM). Not instrumented: it
 * must sit on the real stack, not on ASan's fake one. */
__attribute__((noinline, no_sanitize_address)) static void paint_below(void)
{
	volatile uint8_t area[HOST_STACK_PAINT];
	for (size_t i = 0; i < sizeof(area); i++)
		area[i] = HOST_STACK_COLOUR;
	host.stack_lo = area;
}

void host_stack_paint(void)
{
	host.stack_top = (uintptr_t)__builtin_frame_address(0);
	paint_below();
}

/* Scans dead stack (other frames' leftovers and ASan redzones), hence
 * uninstrumented. A peak beyond the painted range reads as its size. */
/* The host's heap belongs to glibc (and ASan in tests): no high-water
 * mark that means what it means on a board. */
uint32_t port_heap_peak(void)
{
	return 0;
}

/* The kernel owns the host's network buffers. */
int port_net_stats(struct port_net_stats *st)
{
	(void)st;
	return PORT_ENOTSUP;
}

__attribute__((no_sanitize_address)) uint32_t port_stack_peak(void)
{
	if (!host.stack_lo)
		return 0;
	const volatile uint8_t *p = host.stack_lo;
	const volatile uint8_t *end = host.stack_lo + HOST_STACK_PAINT;
	while (p < end && *p == HOST_STACK_COLOUR)
		p++;
	if ((uintptr_t)p >= host.stack_top)
		return 0;
	return (uint32_t)(host.stack_top - (uintptr_t)p);
}

long port_file_read(const char *path, void *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return PORT_EIO;
	size_t n = fread(buf, 1, size, f);
	long r = ferror(f) ? PORT_EIO : (n == size && fgetc(f) != EOF) ? PORT_ENOSPC : (long)n;
	fclose(f);
	return r;
}

const char *port_setting(const char *key)
{
	if (!host.inited || !key)
		return NULL;
	size_t kl = strlen(key);
	for (unsigned i = host.cfg.nset; i-- > 0;) /* --set / --config: the last one wins */
		if (strncmp(host.cfg.set[i], key, kl) == 0 && host.cfg.set[i][kl] == '=')
			return host.cfg.set[i] + kl + 1;
	if (strcmp(key, "hostname") == 0)
		return host.cfg.hostname;
	if (strcmp(key, "smtp_port") == 0)
		return host.cfg.smtp_port;
	if (strcmp(key, "listen") == 0)
		return host.cfg.listen;
	if (strcmp(key, "web_port") == 0)
		return "8443"; /* the web console without root (firmware default 443) */
	if (strcmp(key, "tls_ca") == 0)
		return host.cfg.ca_pem; /* --ca-file (relay/trust.h) */
	return NULL;
}

void port_reboot(void)
{
	static const char msg[] = "host: reboot (re-exec)\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	fflush(NULL);
	host_net_close_all();
	host_board_fini();
	if (host.cfg.argv) {
		/* The path resolved at init first: qemu-user (armhf tests)
		 * emulates readlink of /proc/self/exe but not exec of it. */
		if (host.exe_path[0])
			execv(host.exe_path, host.cfg.argv);
		execv("/proc/self/exe", host.cfg.argv);
	}
	static const char fail[] = "host: reboot failed, exiting\n";
	(void)!write(2, fail, sizeof(fail) - 1);
	_exit(1);
}

/* ---- clocks and entropy ------------------------------------------------ */

uint64_t port_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t port_wall_time(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec;
}

int port_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		/* getrandom returns at most 32 MiB - 1 per call, and may be
		 * interrupted; never fall back to anything weaker. */
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOSYS ? PORT_ENOTSUP : PORT_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- console ---------------------------------------------------------- */
/* stdin is never switched to O_NONBLOCK: the flag would land on the open
 * file the shell shares with us (a tty) and outlive the process. poll
 * with a zero timeout tells whether one read() will not block. */

long port_console_read(void *buf, size_t len)
{
	if (host.con_eof)
		return 0;
	if (len == 0)
		return PORT_EINVAL;
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int r = poll(&p, 1, 0);
	if (r == 0 || (r < 0 && errno == EINTR)) {
		host.con_armed = true;
		return PORT_EAGAIN;
	}
	if (r < 0 || (p.revents & POLLNVAL)) {
		host.con_eof = true;
		return 0;
	}
	ssize_t n = read(0, buf, len);
	if (n > 0)
		return (long)n;
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		host.con_armed = true;
		return PORT_EAGAIN;
	}
	host.con_eof = true; /* 0 = EOF; a read error ends the console too */
	return 0;
}

void port_console_write(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(1, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd w = { .fd = 1, .events = POLLOUT };
			(void)poll(&w, 1, 1000); /* someone made stdout non-blocking */
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			return; /* stdout gone (EPIPE, closed): drop, keep running */
		}
	}
}

/* A terminal on stdin is switched to character mode without echo, so the
 * firmware's line editor (firmware/console/serial.c: editing, history,
 * no echo of passwords) sees every key as a UART would; Ctrl-C still
 * stops the process (ISIG stays on). Only when we are the terminal's
 * foreground process: tcsetattr from the background would stop us
 * (SIGTTOU). Restored at exit, on fatal signals and before re-exec. */
static void tty_restore(void)
{
	if (host.tty_raw) {
		(void)tcsetattr(0, TCSAFLUSH, &host.tty_saved);
		host.tty_raw = false;
	}
}

static void tty_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

void host_console_raw(void)
{
	if (host.tty_raw || !isatty(0) || tcgetpgrp(0) != getpgrp() ||
	    tcgetattr(0, &host.tty_saved) != 0)
		return;
	struct termios t = host.tty_saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | IEXTEN);
	t.c_iflag &= ~(tcflag_t)(IXON | ISTRIP);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSAFLUSH, &t) != 0)
		return;
	host.tty_raw = true;
	static bool hooked;
	if (!hooked) {
		atexit(tty_restore);
		const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], tty_signal);
		hooked = true;
	}
}

bool host_console_wants_poll(void)
{
	return !host.con_eof && host.con_armed;
}

void host_console_polled(short revents)
{
	if (revents & POLLNVAL)
		host.con_eof = true;
	else if (revents)
		host.con_armed = false; /* wait until the firmware drained it */
}

/* ---- log sink ------------------------------------------------------------ */

void port_log_sink(enum port_log_level level, const char *line, size_t len)
{
	static const char *const names[] = { [PORT_LOG_ERR] = "ERR",
					     [PORT_LOG_WARN] = "WARN",
					     [PORT_LOG_INFO] = "INFO",
					     [PORT_LOG_DEBUG] = "DEBUG" };
	const char *name = (unsigned)level < sizeof(names) / sizeof(names[0]) && names[level]
				   ? names[level]
				   : "?";
	char out[HOST_LOG_LINE_MAX + 64];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000L, name);
	if (n < 0 || (size_t)n >= sizeof(out))
		return;
	size_t room = sizeof(out) - (size_t)n - 1;
	if (len > room)
		len = room;
	if (len > HOST_LOG_LINE_MAX)
		len = HOST_LOG_LINE_MAX;
	memcpy(out + n, line, len);
	len += (size_t)n;
	out[len++] = '\n';
	/* One write per line so concurrent instances do not interleave. */
	(void)!write(2, out, len);
}

/* ---- flash areas -------------------------------------------------------- */

const struct port_flash *port_flash_area(enum port_flash_area area)
{
	if ((unsigned)area >= PORT_FLASH_AREAS || !host.flash[area])
		return NULL;
	return flashsim_flash(host.flash[area]);
}

/* The router lost power: stop at once, the way the CPU would. What was
 * programmed is in the file (the page cache survives the process). */
static void powercut_exit(void *ctx, struct flashsim *fs)
{
	(void)ctx;
	struct flashsim_stats st;
	flashsim_stats(fs, &st);
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "host: power cut on flash %s after %llu operations\n",
			 flashsim_flash(fs)->name, (unsigned long long)st.ops);
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(HOST_EXIT_POWERCUT);
}

int host_board_init(const struct host_config *cfg)
{
	host.cfg = *cfg;
	host.inited = true;
	ssize_t el = readlink("/proc/self/exe", host.exe_path, sizeof(host.exe_path) - 1);
	host.exe_path[el > 0 ? el : 0] = '\0';
	if (!cfg->flash_path)
		return 0;
	size_t plen = strlen(cfg->flash_path);
	if (plen == 0 || plen > HOST_PATH_MAX)
		return PORT_EINVAL;
	snprintf(host.config_path, sizeof(host.config_path), "%s.config", cfg->flash_path);
	const struct flashsim_config q = { .path = cfg->flash_path,
					   .size = HOST_QUEUE_SIZE,
					   .erase_size = HOST_FLASH_ERASE,
					   .program_size = HOST_FLASH_PROGRAM,
					   .name = "queue" };
	const struct flashsim_config c = { .path = host.config_path,
					   .size = HOST_CONFIG_SIZE,
					   .erase_size = HOST_FLASH_ERASE,
					   .program_size = HOST_FLASH_PROGRAM,
					   .name = "config" };
	int err = flashsim_open(&host.flash[PORT_FLASH_QUEUE], &q);
	if (!err)
		err = flashsim_open(&host.flash[PORT_FLASH_CONFIG], &c);
	if (err) {
		host_board_fini();
		return err;
	}
	for (int i = 0; i < PORT_FLASH_AREAS; i++)
		flashsim_on_powercut(host.flash[i], powercut_exit, NULL);
	if (cfg->powercut_after >= 0) {
		if ((unsigned)cfg->powercut_area >= PORT_FLASH_AREAS) {
			host_board_fini();
			return PORT_EINVAL;
		}
		flashsim_powercut_after(host.flash[cfg->powercut_area], cfg->powercut_after,
					cfg->powercut_how);
	}
	return 0;
}

void host_board_fini(void)
{
	tty_restore();
	for (int i = 0; i < PORT_FLASH_AREAS; i++) {
		if (host.flash[i]) {
			if (flashsim_powered(host.flash[i]))
				(void)port_flash_sync(flashsim_flash(host.flash[i]));
			flashsim_close(host.flash[i]);
			host.flash[i] = NULL;
		}
	}
}
