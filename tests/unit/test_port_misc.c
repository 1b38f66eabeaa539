/* test_port_misc — the host board's non-network port calls: clocks,
 * getrandom entropy, board identity, stack high-water mark, settings and
 * flash areas from host_board_init, the stdin console (through a pipe)
 * and the stderr log line format. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../board/host/host.h"
#include "port.h"
#include "support/port_test_util.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void monotonic_clock_moves_forward_only(void **state)
{
	(void)state;
	uint64_t t0 = port_now_ms(), prev = t0;
	for (int i = 0; i < 100000; i++) {
		uint64_t t = port_now_ms();
		assert_true(t >= prev);
		prev = t;
	}
	sleep_ms(30);
	uint64_t t1 = port_now_ms();
	assert_true(t1 - t0 >= 30);
	assert_true(t1 - t0 < 10000);
}

static void wall_clock_is_plausible(void **state)
{
	(void)state;
	int64_t w = port_wall_time();
	assert_true(w > 1700000000);		  /* after Nov 2023 */
	assert_true(w < (int64_t)4102444800); /* before 2100 */
	assert_true(llabs((long long)(w - (int64_t)time(NULL))) <= 2);
}

static void random_fills_every_byte_and_varies(void **state)
{
	(void)state;
	enum { N = 1 << 20 };
	uint8_t *a = malloc(N), *b = malloc(N);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 0, N);
	memset(b, 0, N);
	assert_int_equal(port_random(a, N), 0);
	assert_int_equal(port_random(b, N), 0);
	assert_memory_not_equal(a, b, N);
	/* Every byte value shows up in 1 MiB, and the tail was written too
	 * (a short fill would leave the zeros we put there). */
	unsigned hist[256] = { 0 };
	for (size_t i = 0; i < N; i++)
		hist[a[i]]++;
	for (int v = 0; v < 256; v++)
		assert_true(hist[v] > N / 256 / 2 && hist[v] < N / 256 * 2);
	size_t zeros = 0;
	for (size_t i = N - 64; i < N; i++)
		zeros += a[i] == 0;
	assert_true(zeros < 8);
	assert_int_equal(port_random(a, 0), 0);
	/* Small requests, as mbedTLS makes them. */
	uint8_t x[16] = { 0 }, y[16] = { 0 };
	assert_int_equal(port_random(x, sizeof(x)), 0);
	assert_int_equal(port_random(y, sizeof(y)), 0);
	assert_memory_not_equal(x, y, sizeof(x));
	free(a);
	free(b);
}

static void board_identity(void **state)
{
	(void)state;
	const struct port_board_info *b = port_board();
	assert_non_null(b);
	assert_string_equal(b->name, "host");
	assert_string_equal(b->netstack, "POSIX sockets");
	assert_true(strlen(b->cpu) > 0);
	assert_string_not_equal(b->cpu, "unknown");
	assert_true(b->ram_size > 16u * 1024 * 1024);
	assert_int_equal(b->ram_base, 0);
	assert_non_null(b->stack_info);
	assert_ptr_equal(port_board(), b); /* filled once */
}

/* Uses about `kib` KiB of stack, opaque to the optimiser. */
static __attribute__((noinline)) unsigned deep(unsigned kib)
{
	volatile uint8_t frame[1024];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	return kib ? deep(kib - 1) + frame[7] : frame[3];
}

static void stack_peak_sees_a_deep_call(void **state)
{
	(void)state;
	uint32_t before = port_stack_peak();
	assert_true(deep(64) > 0);
	uint32_t after = port_stack_peak();
	assert_true(after >= before);
	assert_true(after >= 64u * 1024);
	assert_true(after <= 256u * 1024); /* the painted window */
}

static void board_init_opens_flash_and_answers_settings(void **state)
{
	(void)state;
	assert_null(port_flash_area(PORT_FLASH_QUEUE)); /* before init */
	char dir[PTU_PATH_MAX], path[PTU_PATH_MAX + 32], cpath[PTU_PATH_MAX + 48];
	ptu_tempdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/flash.img", dir);
	snprintf(cpath, sizeof(cpath), "%s.config", path);
	struct host_config cfg = { .flash_path = path, .hostname = "mx.example.test",
				   .smtp_port = "2525", .listen = "::1", .powercut_after = -1 };
	assert_int_equal(host_board_init(&cfg), 0);
	assert_string_equal(port_setting("hostname"), "mx.example.test");
	assert_string_equal(port_setting("smtp_port"), "2525");
	assert_string_equal(port_setting("listen"), "::1");
	assert_null(port_setting("nonsense"));
	assert_null(port_setting(NULL));
	const struct port_flash *q = port_flash_area(PORT_FLASH_QUEUE);
	const struct port_flash *c = port_flash_area(PORT_FLASH_CONFIG);
	assert_non_null(q);
	assert_non_null(c);
	assert_null(port_flash_area(PORT_FLASH_AREAS));
	assert_string_equal(q->name, "queue");
	assert_string_equal(c->name, "config");
	assert_int_equal(q->size, HOST_QUEUE_SIZE);
	assert_int_equal(c->size, HOST_CONFIG_SIZE);
	assert_int_equal(q->erase_size, HOST_FLASH_ERASE);
	assert_int_equal(c->size / c->erase_size, 8); /* like qemu-virt */
	uint8_t d[4] = { 1, 2, 3, 4 };
	assert_int_equal(port_flash_program(c, 8, d, sizeof(d)), 0);
	assert_int_equal(port_flash_sync(c), 0);
	host_board_fini();
	assert_null(port_flash_area(PORT_FLASH_CONFIG));
	assert_int_equal(ptu_file_size(path), HOST_QUEUE_SIZE);
	assert_int_equal(ptu_file_size(cpath), HOST_CONFIG_SIZE);
	/* Next "boot": the config area kept what was programmed. */
	assert_int_equal(host_board_init(&cfg), 0);
	uint8_t r[4];
	assert_int_equal(port_flash_read(port_flash_area(PORT_FLASH_CONFIG), 8, r, 4), 0);
	assert_memory_equal(r, d, 4);
	host_board_fini();
	ptu_rmtree(dir);
}

/* port_file_read: the whole file, or ENOSPC past the buffer (even by one
 * byte), or EIO when there is no such file. */
static void file_read_whole_bounded_or_error(void **state)
{
	(void)state;
	char path[] = "/tmp/dg-file-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	char buf[16];
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(port_file_read(path, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(port_file_read(path, buf, 10), 10); /* exactly fits */
	assert_int_equal(port_file_read(path, buf, 9), PORT_ENOSPC);
	unlink(path);
	assert_int_equal(port_file_read(path, buf, sizeof(buf)), PORT_EIO);
}

static void log_sink_writes_one_stamped_line(void **state)
{
	(void)state;
	char dir[PTU_PATH_MAX], path[PTU_PATH_MAX + 16];
	ptu_tempdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	assert_true(dup2(fd, 2) == 2);
	port_log_sink(PORT_LOG_WARN, "queue: 90% full", 15);
	static char big[5000];
	memset(big, 'L', sizeof(big));
	port_log_sink(PORT_LOG_ERR, big, sizeof(big));
	dup2(saved, 2);
	close(saved);
	char out[8192];
	ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	assert_true(n > 0);
	out[n] = '\0';
	/* 2026-11-28T12:00:00.000Z WARN  queue: 90% full */
	char *nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_true(nl - out == 24 + 1 + 6 + 15);
	assert_int_equal(out[4], '-');
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[23], 'Z');
	assert_memory_equal(out + 25, "WARN  queue: 90% full\n", 22);
	/* The long line is cut to the bound, still one line. */
	char *second = nl + 1;
	char *nl2 = strchr(second, '\n');
	assert_non_null(nl2);
	assert_memory_equal(second + 25, "ERR   LLL", 9);
	assert_true(nl2 - second <= 1024 + 64);
	assert_int_equal(nl2[1], '\0');
	ptu_rmtree(dir);
}

/* --powercut-after: the process dies at the cut like a router losing
 * power (exit 99), and what completed is in the file. Child process. */
static void powercut_kills_the_board_after_n_ops(void **state)
{
	(void)state;
	char dir[PTU_PATH_MAX], path[PTU_PATH_MAX + 32];
	ptu_tempdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/flash.img", dir);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct host_config cfg = { .flash_path = path, .powercut_after = 2,
					   .powercut_how = FLASHSIM_CUT_CLEAN };
		if (host_board_init(&cfg) != 0)
			_exit(10);
		const struct port_flash *q = port_flash_area(PORT_FLASH_QUEUE);
		uint8_t d[4] = { 0x12, 0x34, 0x56, 0x78 };
		if (port_flash_program(q, 0, d, 4) != 0)
			_exit(11);
		(void)port_flash_program(q, 4, d, 4); /* the power dies here */
		_exit(12);			      /* never reached */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 99);
	struct host_config cfg = { .flash_path = path, .powercut_after = -1 };
	assert_int_equal(host_board_init(&cfg), 0);
	uint8_t r[12];
	assert_int_equal(port_flash_read(port_flash_area(PORT_FLASH_QUEUE), 0, r, sizeof(r)), 0);
	const uint8_t want[12] = { 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0xFF, 0xFF, 0xFF, 0xFF };
	assert_memory_equal(r, want, sizeof(r));
	host_board_fini();
	ptu_rmtree(dir);
}

static char *self_path;

/* port_reboot re-executes the program with the argv given at init. */
/* Exit status of a child that execs this program with --rebooted. */
static int plain_exec_status(void)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { self_path, (char *)"--rebooted", NULL };
		execv(self_path, argv);
		_exit(13);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void reboot_re_executes_self(void **state)
{
	(void)state;
	if (plain_exec_status() != 42) {
		/* qemu-user without binfmt_misc cannot exec an ARM program
		 * from inside one: nothing port_reboot could do about it. */
		print_message("SKIPPED: this machine cannot exec the test binary again\n");
		skip();
	}
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { self_path, (char *)"--rebooted", NULL };
		struct host_config cfg = { .powercut_after = -1, .argv = argv };
		if (host_board_init(&cfg) != 0)
			_exit(10);
		port_reboot();
		_exit(11); /* never reached */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 42);
}

/* Runs last: the console's EOF is sticky for the process. */
static void console_reads_stdin_without_blocking(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	int saved = dup(0);
	assert_true(dup2(p[0], 0) == 0);
	close(p[0]);
	char buf[16];
	assert_int_equal(port_console_read(buf, sizeof(buf)), PORT_EAGAIN); /* nothing yet */
	assert_int_equal(write(p[1], "help\n", 5), 5);
	assert_int_equal(port_console_read(buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "help\n", 5);
	assert_int_equal(port_console_read(buf, sizeof(buf)), PORT_EAGAIN);
	/* port_poll wakes up for console input. */
	assert_int_equal(write(p[1], "x", 1), 1);
	uint64_t t0 = port_now_ms();
	port_poll(3000);
	assert_true(port_now_ms() - t0 < 1500);
	assert_int_equal(port_console_read(buf, sizeof(buf)), 1);
	/* Unread input must not make port_poll spin: once woken, it waits
	 * for the firmware to read before it watches stdin again. */
	assert_int_equal(write(p[1], "y", 1), 1);
	port_poll(1000); /* wakes for "y" */
	t0 = port_now_ms();
	port_poll(200); /* "y" still unread: this one sleeps */
	assert_true(port_now_ms() - t0 >= 150);
	assert_int_equal(port_console_read(buf, sizeof(buf)), 1);
	close(p[1]);
	assert_int_equal(port_console_read(buf, sizeof(buf)), 0); /* EOF */
	assert_int_equal(port_console_read(buf, sizeof(buf)), 0);
	t0 = port_now_ms();
	port_poll(100); /* stdin at EOF is no longer polled */
	assert_true(port_now_ms() - t0 >= 80);
	dup2(saved, 0);
	close(saved);
	port_console_write("console ok\n", 11);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--rebooted") == 0)
		return 42; /* the second life of reboot_re_executes_self */
	self_path = argv[0];
	host_stack_paint();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(monotonic_clock_moves_forward_only),
		cmocka_unit_test(wall_clock_is_plausible),
		cmocka_unit_test(random_fills_every_byte_and_varies),
		cmocka_unit_test(board_identity),
		cmocka_unit_test(file_read_whole_bounded_or_error),
		cmocka_unit_test(stack_peak_sees_a_deep_call),
		cmocka_unit_test(board_init_opens_flash_and_answers_settings),
		cmocka_unit_test(log_sink_writes_one_stamped_line),
		cmocka_unit_test(powercut_kills_the_board_after_n_ops),
		cmocka_unit_test(reboot_re_executes_self),
		cmocka_unit_test(console_reads_stdin_without_blocking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
