/* bench_ram — the TLS arena's peak for the RAM budget: the firmware's own
 * TLS code (firmware/tls/tls.c, its arena, configs and sessions) with N
 * inbound STARTTLS server sessions and M outbound DANE client sessions
 * (P-256 and RSA-2048 leaf + intermediate chains, dane_verify_session),
 * all handshaking at once, then idle with their record buffers. The peers
 * run in a forked child on the libc heap, so only our side is counted.
 * Usage: bench_ram [-i N] [-o M] [-w W] [-v 12|13] [-r rsa-dir] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dane/dane.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/platform.h"
#include "mbedtls/sha256.h"
#include "mbedtls/ssl.h"
#include "tls/tls.h"

#include "../../tests/unit/data/dane/fixtures.h"

#define MAX_SESS 16
#define TURNS 20000 /* poll turns before giving up (a stuck handshake) */

enum kind { K_IN, K_OUT_EC, K_OUT_RSA };

struct sess {
	enum kind kind;
	int fd;
	struct tls_conn c;
	bool up, done, failed;
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* BIO on a socketpair end: tls_conn's own BIO speaks port.h sockets; the
 * memory is the same either way. */
static int fd_send(void *ctx, const unsigned char *b, size_t n)
{
	ssize_t w = send(*(int *)ctx, b, n, MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)w;
}

static int fd_recv(void *ctx, unsigned char *b, size_t n)
{
	ssize_t r = recv(*(int *)ctx, b, n, 0);
	if (r < 0)
		return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)r;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_ram: %s failed: %d (-0x%04x)\n", what, err, (unsigned)-err);
	exit(1);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char bufs[4][8192];
	static int next;
	char *b = bufs[next++ % 4];
	size_t n = fread(b, 1, sizeof(bufs[0]) - 1, f);
	fclose(f);
	b[n] = '\0';
	return b;
}

/* ---- the peers (child process, libc heap) ----------------------------- */
/* The child inherits the arena's blocks (PSA, DRBG state) but allocates
 * on the libc heap: a free of an inherited block must not reach libc. */
#define PEER_PTRS 65536
static void *peer_ptr[PEER_PTRS];

static size_t ptr_slot(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % PEER_PTRS;
}

static void *peer_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		return NULL;
	size_t i = ptr_slot(p);
	while (peer_ptr[i])
		i = (i + 1) % PEER_PTRS;
	peer_ptr[i] = p;
	return p;
}

static void peer_free(void *p)
{
	if (!p)
		return;
	for (size_t i = ptr_slot(p); peer_ptr[i]; i = (i + 1) % PEER_PTRS)
		if (peer_ptr[i] == p) {
			/* backward-shift deletion keeps the probe chains whole */
			size_t j = i;
			for (;;) {
				j = (j + 1) % PEER_PTRS;
				if (!peer_ptr[j])
					break;
				size_t k = ptr_slot(peer_ptr[j]);
				if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
					peer_ptr[i] = peer_ptr[j];
					i = j;
				}
			}
			peer_ptr[i] = NULL;
			free(p);
			return;
		}
	/* an inherited arena block: left alone */
}

struct peer {
	enum kind kind;
	int fd;
	mbedtls_ssl_context ssl;
	bool hs_done, greeted, closed;
};

static void peers_run(struct sess *s, int n, int max_ver, const char *rsa_dir)
{
	/* Everything from here on is the peers': plain libc heap. */
	mbedtls_platform_set_calloc_free(peer_calloc, peer_free);
	static struct peer p[MAX_SESS];
	mbedtls_ssl_config cli_conf, ec_conf, rsa_conf;
	mbedtls_x509_crt ec_chain, rsa_chain;
	mbedtls_pk_context ec_key, rsa_key;
	mbedtls_ssl_config *confs[] = { &cli_conf, &ec_conf, &rsa_conf };
	for (int i = 0; i < 3; i++) {
		mbedtls_ssl_config_init(confs[i]);
		int err = mbedtls_ssl_config_defaults(confs[i], i ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
						      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
		if (err)
			die("peer config", err);
		mbedtls_ssl_conf_rng(confs[i], mbedtls_ctr_drbg_random, tls_drbg());
		mbedtls_ssl_conf_max_tls_version(confs[i], (mbedtls_ssl_protocol_version)max_ver);
	}
	mbedtls_ssl_conf_authmode(&cli_conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_x509_crt_init(&ec_chain);
	mbedtls_x509_crt_init(&rsa_chain);
	mbedtls_pk_init(&ec_key);
	mbedtls_pk_init(&rsa_key);
	int err;
	if ((err = mbedtls_x509_crt_parse(&ec_chain, (const unsigned char *)leaf_mx_pem, sizeof(leaf_mx_pem))) ||
	    (err = mbedtls_x509_crt_parse(&ec_chain, (const unsigned char *)int_a_pem, sizeof(int_a_pem))) ||
	    (err = mbedtls_pk_parse_key(&ec_key, (const unsigned char *)leaf_mx_key_pem,
					sizeof(leaf_mx_key_pem), NULL, 0, mbedtls_ctr_drbg_random,
					tls_drbg())) ||
	    (err = mbedtls_ssl_conf_own_cert(&ec_conf, &ec_chain, &ec_key)))
		die("peer P-256 chain", err);
	char path[512];
	const char *files[] = { "leaf.pem", "int.pem" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", rsa_dir, files[i]);
		char *pem = slurp(path);
		if (!pem || (err = mbedtls_x509_crt_parse(&rsa_chain, (unsigned char *)pem, strlen(pem) + 1)))
			die(path, pem ? err : -1);
	}
	snprintf(path, sizeof(path), "%s/leaf.key", rsa_dir);
	char *pem = slurp(path);
	if (!pem || (err = mbedtls_pk_parse_key(&rsa_key, (unsigned char *)pem, strlen(pem) + 1, NULL, 0,
						mbedtls_ctr_drbg_random, tls_drbg())) ||
	    (err = mbedtls_ssl_conf_own_cert(&rsa_conf, &rsa_chain, &rsa_key)))
		die("peer RSA chain", err);

	for (int i = 0; i < n; i++) {
		p[i].kind = s[i].kind;
		p[i].fd = s[i].fd;
		mbedtls_ssl_init(&p[i].ssl);
		if ((err = mbedtls_ssl_setup(&p[i].ssl, confs[s[i].kind])))
			die("peer setup", err);
		if (s[i].kind == K_IN && (err = mbedtls_ssl_set_hostname(&p[i].ssl, "danegate.lan")))
			die("peer sni", err);
		mbedtls_ssl_set_bio(&p[i].ssl, &p[i].fd, fd_send, fd_recv, NULL);
	}
	for (int open = n; open > 0;) {
		struct pollfd pf[MAX_SESS];
		for (int i = 0; i < n; i++)
			pf[i] = (struct pollfd){ .fd = p[i].closed ? -1 : p[i].fd, .events = POLLIN };
		poll(pf, (nfds_t)n, 50);
		for (int i = 0; i < n; i++) {
			struct peer *q = &p[i];
			if (q->closed)
				continue;
			if (!q->hs_done) {
				err = mbedtls_ssl_handshake(&q->ssl);
				if (err == MBEDTLS_ERR_SSL_WANT_READ || err == MBEDTLS_ERR_SSL_WANT_WRITE)
					continue;
				if (err) {
					fprintf(stderr, "bench_ram: peer %d handshake: -0x%04x\n", i, (unsigned)-err);
					q->closed = true;
					open--;
					continue;
				}
				q->hs_done = true;
			}
			if (!q->greeted) {
				/* Inbound: the client's EHLO; outbound: the server's 250. */
				const char *l = q->kind == K_IN ? "EHLO peer.example\r\n" : "250 ready\r\n";
				if (mbedtls_ssl_write(&q->ssl, (const unsigned char *)l, strlen(l)) > 0)
					q->greeted = true;
			}
			unsigned char b[512];
			int r = mbedtls_ssl_read(&q->ssl, b, sizeof(b));
			if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE ||
			    r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET || r > 0)
				continue;
			q->closed = true; /* close_notify, EOF or error: our side is done */
			open--;
		}
	}
	_exit(0);
}

/* ---- our side ----------------------------------------------------------- */
static size_t arena_now(void)
{
	size_t now, peak;
	tls_heap_stats(&now, &peak);
	return now;
}

static size_t arena_peak(size_t *blocks)
{
	size_t peak, b;
	mbedtls_memory_buffer_alloc_max_get(&peak, &b);
	if (blocks)
		*blocks = b;
	return peak;
}

/* TLSA data: SHA-256 of a certificate's DER (2 0 1) or of its SPKI (2 1 1). */
static void tlsa_of(const mbedtls_x509_crt *c, int selector, uint8_t out[32])
{
	if (selector == DANE_SEL_CERT)
		mbedtls_sha256(c->raw.p, c->raw.len, out, 0);
	else
		mbedtls_sha256(c->pk_raw.p, c->pk_raw.len, out, 0);
}

/* DANE on an outbound session: 2 1 1 / 2 0 1 on the intermediate it sent
 * (as a TLSA RRset from DNS would say), names = the MX host. */
static bool dane_check(struct sess *x, int i)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&x->c.ssl);
	if (!peer || !peer->next) {
		fprintf(stderr, "bench_ram: session %d: no peer chain kept\n", i);
		return false;
	}
	uint8_t digest[32];
	int sel = x->kind == K_OUT_RSA ? DANE_SEL_SPKI : DANE_SEL_CERT;
	tlsa_of(peer->next, sel, digest);
	struct dane_tlsa rr = { .usage = DANE_USAGE_DANE_TA, .selector = (uint8_t)sel,
				.mtype = DANE_MT_SHA256, .len = 32, .data = digest };
	struct dane_tlsa_set set, usable;
	dane_tlsa_set_init(&set);
	dane_tlsa_set_add(&set, &rr, NULL);
	if (dane_select(&set, NULL, &usable) != DANE_USABLE)
		die("dane_select", -1);
	struct dane_refids names = { .name = { "mx.example.net" }, .count = 1 };
	struct dane_result res;
	int v = dane_verify_session(&x->c.ssl, &usable, &names, (int64_t)time(NULL), &res);
	if (v != DANE_OK)
		fprintf(stderr, "bench_ram: session %d: DANE verdict %d\n", i, v);
	return v == DANE_OK;
}

int main(int argc, char **argv)
{
	int n_in = 4, n_out = 2, n_web = 0, ver = 13;
	const char *rsa_dir = "build/bench/ram";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-i"))
			n_in = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-o"))
			n_out = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-w"))
			n_web = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-v"))
			ver = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-r"))
			rsa_dir = argv[i + 1];
	}
	int n = n_in + n_web + n_out;
	if (n < 1 || n > MAX_SESS || (ver != 12 && ver != 13)) {
		fprintf(stderr, "usage: bench_ram [-i N] [-o M] [-w W] [-v 12|13] [-r rsa-dir]\n");
		return 2;
	}
	int max_ver = ver == 13 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
	signal(SIGPIPE, SIG_IGN);

	/* As the firmware boots: arena, PSA, DRBG, the gateway's P-256 key and
	 * self-signed certificate, one server and one client config. */
	int err = tls_init();
	if (err)
		die("tls_init", err);
	static uint8_t kbuf[256], cbuf[1024];
	size_t klen = sizeof(kbuf), clen = sizeof(cbuf);
	static struct tls_cred cred;
	if ((err = tls_cred_generate("danegate.lan", (int64_t)time(NULL), kbuf, &klen, cbuf, &clen)) ||
	    (err = tls_cred_load(&cred, kbuf, klen, cbuf, clen)))
		die("credentials", err);
	static mbedtls_ssl_config srv_conf, cli_conf;
	if ((err = tls_server_config(&srv_conf, &cred)))
		die("server config", err);
	if ((err = tls_client_config(&cli_conf, NULL)))
		die("client config", err);
	dane_conf_client(&cli_conf);
	size_t base = arena_now(), base_peak = arena_peak(NULL);

	static struct sess s[MAX_SESS];
	for (int i = 0; i < n; i++) {
		s[i].kind = i < n_in + n_web ? K_IN : ((i - n_in - n_web) % 2 ? K_OUT_RSA : K_OUT_EC);
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || set_nonblock(sv[0]) || set_nonblock(sv[1]))
			die("socketpair", -errno);
		s[i].fd = sv[0];
		s[i].up = false;
		/* the peer's end travels in the child's copy of s[] */
		s[i].c.sock = sv[1];
	}
	/* The child gets each pair's other end. */
	struct sess child[MAX_SESS];
	for (int i = 0; i < n; i++)
		child[i] = (struct sess){ .kind = s[i].kind, .fd = s[i].c.sock };
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		for (int i = 0; i < n; i++)
			close(s[i].fd);
		peers_run(child, n, max_ver, rsa_dir);
	}
	for (int i = 0; i < n; i++)
		close(child[i].fd);

	/* Every session asks for its TLS context at once, through the gate
	 * (tls.h: TLS_SESSIONS_MAX, TLS_HANDSHAKES_MAX as the board under test
	 * sets them; a refused setup is retried each turn, as the firmware's
	 * ticks do), and every admitted handshake is driven a step at a time
	 * in turn, so they overlap as much as the gate and the peers allow.
	 * Outbound sessions run their DANE verification as soon as their
	 * handshake is done, as firmware/relay/outbound.c does. */
	int done = 0, failed = 0, verified = 0, waited = 0;
	size_t hs_max_now = 0;
	for (int turn = 0; done + failed < n && turn < TURNS; turn++) {
		for (int i = 0; i < n; i++) {
			if (s[i].up)
				continue;
			const bool out = s[i].kind != K_IN;
			err = tls_conn_setup(&s[i].c, out ? &cli_conf : &srv_conf, -1,
					     out ? "mx.example.net" : NULL);
			if (err == TLS_WANT_SLOT) {
				waited++;
				continue;
			}
			if (err)
				die("tls_conn_setup", err);
			mbedtls_ssl_set_bio(&s[i].c.ssl, &s[i].fd, fd_send, fd_recv, NULL);
			s[i].up = true;
			size_t now = arena_now();
			hs_max_now = now > hs_max_now ? now : hs_max_now;
		}
		struct pollfd pf[MAX_SESS];
		for (int i = 0; i < n; i++)
			pf[i] = (struct pollfd){ .fd = !s[i].up || s[i].done || s[i].failed ? -1 : s[i].fd,
						 .events = POLLIN };
		poll(pf, (nfds_t)n, 50);
		for (int i = 0; i < n; i++) {
			if (!s[i].up || s[i].done || s[i].failed)
				continue;
			err = tls_conn_handshake(&s[i].c);
			size_t now = arena_now();
			hs_max_now = now > hs_max_now ? now : hs_max_now;
			if (err == TLS_WANT_READ || err == TLS_WANT_WRITE)
				continue;
			if (err) {
				fprintf(stderr, "bench_ram: session %d handshake: %s (-0x%04x)\n", i,
					tls_strerror(err), (unsigned)-err);
				s[i].failed = true;
				failed++;
				continue;
			}
			s[i].done = true;
			done++;
			if (s[i].kind != K_IN) {
				if (dane_check(&s[i], i))
					verified++;
				tls_conn_drop_peer_chain(&s[i].c); /* as outbound.c does */
			}
			now = arena_now();
			hs_max_now = now > hs_max_now ? now : hs_max_now;
		}
	}
	size_t blocks;
	size_t hs_peak = arena_peak(&blocks);
	size_t hs_blocks = blocks;
	size_t after_hs = arena_now();
	struct tls_gate_stats gs;
	tls_gate_stats(&gs);

	/* Idle: one record each way (the peer's greeting, our answer), then
	 * every session sits with its buffers. */
	for (int turn = 0, got = 0; got < done && turn < 200; turn++) {
		struct pollfd pf[MAX_SESS];
		for (int i = 0; i < n; i++)
			pf[i] = (struct pollfd){ .fd = s[i].done && !s[i].failed ? s[i].fd : -1, .events = POLLIN };
		poll(pf, (nfds_t)n, 50);
		got = 0;
		for (int i = 0; i < n; i++) {
			if (!s[i].done)
				continue;
			if (s[i].up) {
				char b[256];
				long r = tls_conn_read(&s[i].c, b, sizeof(b));
				if (r > 0) {
					const char *a = s[i].kind == K_IN ? "250 danegate.lan\r\n" : "EHLO danegate.lan\r\n";
					(void)tls_conn_write(&s[i].c, a, strlen(a));
					s[i].up = false; /* greeted */
				}
			}
			got += !s[i].up;
		}
	}
	size_t idle = arena_now();
	size_t peak = arena_peak(&blocks);

	for (int i = 0; i < n; i++) {
		tls_conn_free(&s[i].c);
		close(s[i].fd);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	size_t after_free = arena_now();

	printf("bench_ram: %d inbound + %d web (server) + %d outbound (client, DANE) sessions, "
	       "TLS 1.%d peers, %zu-bit, arena %u bytes\n",
	       n_in, n_web, n_out, ver - 10, sizeof(void *) * 8, (unsigned)TLS_ARENA_SIZE);
	printf("bench_ram: handshakes %d ok, %d failed; DANE verified %d of %d\n", done, failed,
	       verified, n_out);
	printf("bench_ram: gate: at most %u sessions, %u handshaking (0: no bound); seen %u and %u; "
	       "%d setups waited for a slot\n",
	       (unsigned)TLS_SESSIONS_MAX, (unsigned)TLS_HANDSHAKES_MAX, gs.sessions_peak,
	       gs.handshakes_peak, waited);
	printf("bench_ram: arena in use: boot %zu (peak %zu), highest during handshakes and DANE %zu, "
	       "after %zu, idle %zu, all freed %zu\n",
	       base, base_peak, hs_max_now, after_hs, idle, after_free);
	printf("bench_ram: per idle session %zu bytes\n", n ? (idle - base) / (size_t)n : 0);
	/* The allocator's own block headers are not in its counts. */
	size_t hdr = 8 * sizeof(size_t);
	hdr = (hdr + 7) & ~(size_t)7;
	printf("bench_ram: arena peak %zu bytes in %zu blocks (+ %zu headers of %zu = %zu bytes)\n",
	       peak, hs_blocks > blocks ? hs_blocks : blocks, blocks, hdr, peak + blocks * hdr);
	printf("arena_peak=%zu\narena_peak_with_headers=%zu\nidle=%zu\nfailed=%d\n", peak,
	       peak + blocks * hdr, idle, failed);
	(void)hs_peak;
	return failed || verified != n_out || after_free != base ? 1 : 0;
}
