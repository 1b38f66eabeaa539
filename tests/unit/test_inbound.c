/* test_inbound — the relay's group commit on the host board's loopback
 * sockets: several clients finish a message in the same event-loop round,
 * the relay commits each without a sync and syncs once for all of them,
 * and no client ever sees its "250" before a sync that covered its message
 * (checked after every step of the loop against a flash whose sync is
 * counted); a failed sync closes those sessions without any 250. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "port.h"
#include "queue/queue.h"
#include "relay/inbound.h"
#include "../../board/host/flashsim.h"

#define NCLIENT 4 /* at most the default bound (qemu-virt: 4) */

/* ---- a flash whose sync is watched ------------------------------------ */
static struct flashsim *fs;
static struct port_flash wflash;
static struct queue q;
static _Alignas(8) uint8_t qindex[64 * 1024];
static unsigned syncs;
static uint32_t synced_msgs; /* messages in the index when the last sync ran */
static int sync_fail;	     /* > 0: the next syncs fail */

static int w_read(const struct port_flash *f, uint32_t off, void *buf, size_t len)
{
	(void)f;
	const struct port_flash *u = flashsim_flash(fs);
	return u->ops->read(u, off, buf, len);
}
static int w_program(const struct port_flash *f, uint32_t off, const void *buf, size_t len)
{
	(void)f;
	const struct port_flash *u = flashsim_flash(fs);
	return u->ops->program(u, off, buf, len);
}
static int w_erase(const struct port_flash *f, uint32_t off)
{
	(void)f;
	const struct port_flash *u = flashsim_flash(fs);
	return u->ops->erase(u, off);
}
static int w_sync(const struct port_flash *f)
{
	(void)f;
	syncs++;
	if (sync_fail > 0) {
		sync_fail--;
		return PORT_EIO;
	}
	synced_msgs = q.nmsgs; /* every message committed so far is durable now */
	return 0;
}
static const struct port_flash_ops wops = { w_read, w_program, w_erase, w_sync };

/* ---- clients -------------------------------------------------------------- */
struct client {
	int fd;
	char in[2048];
	size_t len;
	bool sent_body, acked, eof;
};
static struct client cl[NCLIENT];
static unsigned acks; /* "250 2.0.0" replies seen by all clients */

static uint16_t free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void client_open(struct client *c, uint16_t port)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	static const char cmds[] = "EHLO t.lan.test\r\nMAIL FROM:<a@lan.test>\r\n"
				   "RCPT TO:<b@example.net>\r\nDATA\r\n";
	assert_int_equal(send(c->fd, cmds, sizeof(cmds) - 1, 0), (ssize_t)sizeof(cmds) - 1);
}

static bool hold_bodies; /* wait until every client has its 354 */

/* Reads what arrived; sends the body once the 354 is in. */
static void client_pump(struct client *c, unsigned i)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->len, sizeof(c->in) - 1 - c->len, 0);
		if (n == 0)
			c->eof = true;
		if (n <= 0)
			break;
		c->len += (size_t)n;
		c->in[c->len] = '\0';
	}
	if (!c->sent_body && !hold_bodies && strstr(c->in, "\r\n354 ")) {
		char body[600];
		int n = snprintf(body, sizeof(body), "Subject: group %u\r\n\r\n", i);
		for (int k = 0; k < 8; k++)
			n += snprintf(body + n, sizeof(body) - (size_t)n, "line %d of message %u\r\n", k, i);
		n += snprintf(body + n, sizeof(body) - (size_t)n, ".\r\nQUIT\r\n");
		assert_int_equal(send(c->fd, body, (size_t)n, 0), n);
		c->sent_body = true;
	}
	if (!c->acked && strstr(c->in, "\r\n250 2.0.0 ")) {
		c->acked = true;
		acks++;
	}
}

/* The property: a client holds a 250 only for a message a sync covered. */
static void pump_and_check(const char *where)
{
	for (unsigned i = 0; i < NCLIENT; i++)
		client_pump(&cl[i], i);
	if (acks > synced_msgs)
		fail_msg("%s: %u acknowledged, only %u messages synced", where, acks, synced_msgs);
}

static struct inbound_config icfg;

static void start(void)
{
	struct flashsim_config fc = { .size = 16 * 4096, .erase_size = 4096, .program_size = 4,
				      .name = "queue" };
	assert_int_equal(flashsim_open(&fs, &fc), 0);
	wflash = *flashsim_flash(fs);
	wflash.ops = &wops;
	struct queue_config qc = { .flash = &wflash, .max_msgs = 32, .max_msg_size = 8192,
				   .index_buf = qindex, .index_buf_size = sizeof(qindex) };
	assert_int_equal(queue_mount(&q, &qc), 0);
	smtp_server_config_defaults(&icfg.smtp);
	icfg.smtp.max_sessions = NCLIENT;
	assert_int_equal(inbound_parse_relay_nets(&icfg, "127.0.0.0/8"), 0);
	strcpy(icfg.hostname, "relay.lan.test");
	icfg.smtp.hostname = icfg.hostname;
	icfg.port = free_port();
	assert_int_equal(port_addr_parse("127.0.0.1", &icfg.listen), 0);
	assert_int_equal(inbound_start(&icfg, &q, NULL), 0);
}

/* Runs the event loop as danegate does (poll, then inbound_tick), checking
 * the property after each half, until every client is done. */
static void run_loop(void)
{
	uint64_t end = port_now_ms() + 10000;
	bool done = false;
	while (!done && port_now_ms() < end) {
		port_poll(5);
		pump_and_check("after port_poll");
		inbound_tick(port_now_ms());
		pump_and_check("after inbound_tick");
		done = true;
		for (unsigned i = 0; i < NCLIENT; i++)
			done &= cl[i].eof;
	}
	assert_true(done);
}

static void one_sync_covers_a_round_and_no_250_comes_before_it(void **state)
{
	(void)state;
	start();
	for (unsigned i = 0; i < NCLIENT; i++)
		client_open(&cl[i], icfg.port);
	/* bring every session to its 354 first, then send the bodies
	 * back to back: they land in the same loop round */
	hold_bodies = true;
	uint64_t end = port_now_ms() + 5000;
	unsigned ready = 0;
	while (ready < NCLIENT && port_now_ms() < end) {
		port_poll(5);
		inbound_tick(port_now_ms());
		ready = 0;
		for (unsigned i = 0; i < NCLIENT; i++) {
			client_pump(&cl[i], i);
			ready += strstr(cl[i].in, "\r\n354 ") != NULL;
		}
	}
	assert_int_equal(ready, NCLIENT);
	hold_bodies = false;
	for (unsigned i = 0; i < NCLIENT; i++)
		client_pump(&cl[i], i);
	unsigned s0 = syncs;
	run_loop();
	assert_int_equal(acks, NCLIENT);
	assert_int_equal(q.nmsgs, NCLIENT);
	/* grouped: fewer syncs than messages (one per loop round) */
	print_message("%u messages, %u sync(s)\n", NCLIENT, syncs - s0);
	assert_true(syncs - s0 >= 1 && syncs - s0 < NCLIENT);
	for (unsigned i = 0; i < NCLIENT; i++)
		close(cl[i].fd);
}

static void failed_sync_closes_without_250(void **state)
{
	(void)state;
	acks = 0;
	unsigned before = q.nmsgs;
	for (unsigned i = 0; i < NCLIENT; i++)
		client_open(&cl[i], icfg.port);
	sync_fail = 1000;
	run_loop();
	sync_fail = 0;
	/* committed on flash (they may be delivered twice: at least once),
	 * but no client was told 250 */
	assert_int_equal(acks, 0);
	for (unsigned i = 0; i < NCLIENT; i++) {
		assert_null(strstr(cl[i].in, "\r\n250 2.0.0 "));
		close(cl[i].fd);
	}
	assert_true(q.nmsgs > before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_sync_covers_a_round_and_no_250_comes_before_it),
		cmocka_unit_test(failed_sync_closes_without_250),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
