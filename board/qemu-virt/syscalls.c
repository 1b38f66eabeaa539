/* syscalls.c — the newlib system layer of the qemu-virt board: a bounded
 * heap for _sbrk with a high-water mark, stdout/stderr on the UART,
 * non-blocking stdin from the console ring, time from RTC + timer, and
 * power-off on _exit. Exports the _* stubs newlib links against, and
 * qv_heap_peak/qv_heap_limit. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include "port.h"
#include "qv_board.h"

/* Not declared for us by newlib's public headers. */
void *_sbrk(ptrdiff_t incr);
int _write(int fd, const void *buf, size_t len);
int _read(int fd, void *buf, size_t len);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
off_t _lseek(int fd, off_t off, int whence);
int _open(const char *path, int flags, int mode);
int _gettimeofday(struct timeval *tv, void *tz);
int _kill(int pid, int sig);
int _getpid(void);
void _exit(int status);
void _init(void);
void _fini(void);

extern uint8_t __heap_start[], __heap_end[];
static uint8_t *heap_brk = __heap_start;

void *_sbrk(ptrdiff_t incr)
{
	uint8_t *old = heap_brk;
	/* Bounded by the linker script's QV_HEAP_SIZE: ENOMEM, never an
	 * overlap with the stacks or the MMU table. */
	if (incr > __heap_end - heap_brk || incr < __heap_start - heap_brk) {
		errno = ENOMEM;
		return (void *)-1;
	}
	heap_brk += incr;
	return old;
}

/* newlib's malloc never gives memory back to _sbrk, so brk is the peak. */
size_t qv_heap_peak(void)
{
	return (size_t)(heap_brk - __heap_start);
}

size_t qv_heap_limit(void)
{
	return (size_t)(__heap_end - __heap_start);
}

int _write(int fd, const void *buf, size_t len)
{
	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	qv_uart_write(buf, len);
	return (int)len;
}

/* stdin never blocks: the event loop owns waiting. */
int _read(int fd, void *buf, size_t len)
{
	if (fd != 0) {
		errno = EBADF;
		return -1;
	}
	long n = port_console_read(buf, len);
	if (n == PORT_EAGAIN) {
		errno = EAGAIN;
		return -1;
	}
	return (int)n;
}

int _close(int fd)
{
	if (fd >= 0 && fd <= 2)
		return 0;
	errno = EBADF;
	return -1;
}

int _fstat(int fd, struct stat *st)
{
	if (fd < 0 || fd > 2) {
		errno = EBADF;
		return -1;
	}
	*st = (struct stat){ .st_mode = S_IFCHR };
	return 0;
}

int _isatty(int fd)
{
	if (fd >= 0 && fd <= 2)
		return 1;
	errno = EBADF;
	return 0;
}

off_t _lseek(int fd, off_t off, int whence)
{
	(void)fd, (void)off, (void)whence;
	errno = ESPIPE;
	return -1;
}

/* No file system on this board: flash is reached through port.h only. */
int _open(const char *path, int flags, int mode)
{
	(void)path, (void)flags, (void)mode;
	errno = ENOSYS;
	return -1;
}

int _gettimeofday(struct timeval *tv, void *tz)
{
	(void)tz;
	int64_t ms = qv_wall_ms();
	if (ms < 0) {
		errno = EIO;
		return -1;
	}
	if (tv) {
		tv->tv_sec = (time_t)(ms / 1000);
		tv->tv_usec = (suseconds_t)(ms % 1000 * 1000);
	}
	return 0;
}

int _kill(int pid, int sig)
{
	(void)pid, (void)sig;
	errno = EINVAL;
	return -1;
}

int _getpid(void)
{
	return 1;
}

/* exit()/abort(): power off, so QEMU ends and a test sees the exit. */
void _exit(int status)
{
	(void)status;
	qv_uart_puts("board: exit, powering off\n");
	qv_psci_system_off();
	qv_halt();
}

/* __libc_init_array calls these; there is no crti/crtn on this board. */
void _init(void)
{
}

void _fini(void)
{
}
