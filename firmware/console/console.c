/* console — see console.h. One table of commands; each handler checks
 * all of its arguments before it changes anything, and prints why when
 * it refuses. Output goes only through struct console_out. */
#include "console/console.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/pk.h"
#include "mbedtls/platform.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509_crt.h"

#include "log/log.h"
#include "port.h"
#include "relay/trust.h"
#include "version.h"

/* ---- output sink ---------------------------------------------------------- */

void console_out_init(struct console_out *o, char *buf, size_t size,
		      void (*flush)(void *ctx, const char *data, size_t len), void *ctx)
{
	o->buf = buf;
	o->size = size;
	o->len = 0;
	o->truncated = false;
	o->flush = flush;
	o->ctx = ctx;
	if (size)
		buf[0] = '\0';
}

void console_out_flush(struct console_out *o)
{
	if (o->flush && o->len) {
		o->flush(o->ctx, o->buf, o->len);
		o->len = 0;
		o->buf[0] = '\0';
	}
}

static void out_write(struct console_out *o, const char *s, size_t n)
{
	while (n) {
		size_t room = o->size > o->len + 1 ? o->size - o->len - 1 : 0;
		if (room == 0) {
			if (!o->flush) {
				o->truncated = true;
				return;
			}
			console_out_flush(o);
			continue;
		}
		size_t k = n < room ? n : room;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		o->buf[o->len] = '\0';
		s += k;
		n -= k;
	}
}

void console_puts(struct console_out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

void console_printf(struct console_out *o, const char *fmt, ...)
{
	char line[LOG_LINE_MAX + 128]; /* bounds one formatted piece */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out_write(o, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ---- delivery statistics ------------------------------------------------- */

static const char *const class_names[CONSOLE_CLASSES] = { "Verified", "Trusted", "Untrusted",
							   "Anonymous", "clear" };

const char *console_class_name(enum console_class cls)
{
	return (unsigned)cls < CONSOLE_CLASSES ? class_names[cls] : "?";
}

void console_stats_record(struct console_stats *st, const char *domain, enum console_class cls,
			  bool dnssec, uint64_t now_ms)
{
	if ((unsigned)cls >= CONSOLE_CLASSES)
		return;
	st->by_class[cls]++;
	struct console_stats_domain *d = NULL, *oldest = &st->dom[0];
	for (unsigned i = 0; i < CONSOLE_STATS_DOMAINS && !d; i++) {
		struct console_stats_domain *e = &st->dom[i];
		if (e->domain[0] && strncmp(e->domain, domain, CONSOLE_DOMAIN_MAX - 1) == 0)
			d = e;
		else if (!e->domain[0] || (oldest->domain[0] && e->last_ms < oldest->last_ms))
			oldest = e;
	}
	if (!d) { /* the least recently used slot gives way */
		d = oldest;
		memset(d, 0, sizeof(*d));
		snprintf(d->domain, sizeof(d->domain), "%s", domain);
	}
	d->by_class[cls]++;
	d->dnssec = dnssec;
	d->last_ms = now_ms;
}

/* ---- helpers ------------------------------------------------------------- */

struct args {
	int argc;
	char *argv[CONSOLE_ARGS_MAX];
	const char *rest[CONSOLE_ARGS_MAX]; /* the original line from word i on */
	char copy[CONSOLE_LINE_MAX];
};

static int split(const char *line, struct args *a)
{
	size_t n = strlen(line);
	if (n >= sizeof(a->copy))
		return CONSOLE_EINVAL;
	memcpy(a->copy, line, n + 1);
	a->argc = 0;
	char *p = a->copy;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (a->argc == CONSOLE_ARGS_MAX)
			break; /* further words are reachable through rest[] */
		a->argv[a->argc] = p;
		a->rest[a->argc] = line + (p - a->copy);
		a->argc++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return 0;
}

static uint64_t now_ms(const struct console *c)
{
	return c->env->now_ms ? c->env->now_ms() : port_now_ms();
}

static int64_t wall(const struct console *c)
{
	return c->env->wall_time ? c->env->wall_time() : port_wall_time();
}

static void fmt_age(uint64_t s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%lud%02luh", (unsigned long)(s / 86400),
			 (unsigned long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, size, "%luh%02lum", (unsigned long)(s / 3600),
			 (unsigned long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, size, "%lum%02lus", (unsigned long)(s / 60), (unsigned long)(s % 60));
	else
		snprintf(buf, size, "%lus", (unsigned long)s);
}

static int parse_id(const char *t, uint32_t *id)
{
	char *end;
	if (!t || !*t || strlen(t) > 8)
		return CONSOLE_EINVAL;
	unsigned long v = strtoul(t, &end, 16); /* ids print as %08lX (inbound.c) */
	if (*end || !isxdigit((unsigned char)t[0]))
		return CONSOLE_EINVAL;
	*id = (uint32_t)v;
	return 0;
}

static int bad(struct console_out *o, const char *usage, const char *why)
{
	console_printf(o, "error: %s\nusage: %s\n", why, usage);
	return CONSOLE_EINVAL;
}

/* ---- commands ----------------------------------------------------------- */

struct cmd {
	const char *name;
	int (*run)(struct console *c, struct args *a, struct console_out *o);
	const char *usage;
	const char *help;
};
static const struct cmd cmds[];

static int cmd_help(struct console *c, struct args *a, struct console_out *o);

static int cmd_status(struct console *c, struct args *a, struct console_out *o)
{
	(void)a;
	const struct console_env *e = c->env;
	const struct port_board_info *b = port_board();
	uint64_t up = now_ms(c) / 1000;
	char age[32];
	fmt_age(up, age, sizeof(age));
	console_printf(o, "danegate %s on %s (%s, %s), up %s, boot %lu\n", DANEGATE_VERSION, b->name,
		       b->cpu, b->netstack, age, (unsigned long)e->boot_count);
	size_t heap_now = 0, heap_peak = 0;
	tls_heap_stats(&heap_now, &heap_peak);
	console_printf(o, "ram: %lu KiB, static %lu bytes, stack peak %lu bytes, TLS heap %lu "
			  "in use, peak %lu of %lu bytes\n",
		       (unsigned long)(b->ram_size / 1024), (unsigned long)b->static_ram,
		       (unsigned long)port_stack_peak(), (unsigned long)heap_now,
		       (unsigned long)heap_peak, (unsigned long)TLS_ARENA_SIZE);
	uint32_t hp = port_heap_peak();
	if (hp)
		console_printf(o, "ram high-water: static %lu + heap %lu = %lu KiB\n",
			       (unsigned long)b->static_ram, (unsigned long)hp,
			       (unsigned long)((b->static_ram + hp + 1023) / 1024));
	struct port_net_stats ns;
	if (port_net_stats(&ns) == 0)
		console_printf(o, "net buffers: receive pool %lu of %lu in use, stack heap %lu of %lu "
				  "bytes; frames dropped %lu (no buffer), %lu (data shed to keep "
				  "buffers for ACKs)\n",
			       (unsigned long)ns.pool_used, (unsigned long)ns.pool_size,
			       (unsigned long)ns.heap_used, (unsigned long)ns.heap_size,
			       (unsigned long)ns.rx_nobuf, (unsigned long)ns.rx_shed);
	if (e->queue) {
		struct queue_stats st;
		queue_stats(e->queue, &st);
		console_printf(o, "queue: %lu of %lu messages, %lu of %lu KiB\n", (unsigned long)st.msgs,
			       (unsigned long)st.max_msgs, (unsigned long)(st.bytes / 1024),
			       (unsigned long)(st.max_bytes / 1024));
		console_printf(o, "flash queue: %lu blocks, %lu free, erase count min %lu avg %lu max "
				  "%lu, %lu reclaims, %lu moved, %lu dropped corrupt\n",
			       (unsigned long)st.blocks, (unsigned long)st.free_blocks,
			       (unsigned long)st.erase_min, (unsigned long)st.erase_avg,
			       (unsigned long)st.erase_max, (unsigned long)st.reclaims,
			       (unsigned long)st.relocations, (unsigned long)st.dropped_corrupt);
	} else {
		console_puts(o, "queue: not mounted\n");
	}
	if (e->inbound_stats) {
		struct inbound_stats in;
		e->inbound_stats(&in);
		console_printf(o, "inbound: %lu sessions (%lu active), %lu refused busy, %lu "
				  "messages accepted, TLS %lu handshakes, %lu failed\n",
			       (unsigned long)in.sessions, (unsigned long)in.active,
			       (unsigned long)in.refused_busy, (unsigned long)in.accepted_msgs,
			       (unsigned long)in.tls_handshakes, (unsigned long)in.tls_failures);
	} else {
		console_puts(o, "inbound: not running\n");
	}
	if (e->dns_status) {
		char line[LOG_LINE_MAX];
		e->dns_status(line, sizeof(line));
		console_printf(o, "dns: %s\n", line);
	} else {
		console_puts(o, "dns: no resolver running\n");
	}
	if (e->out_status) {
		char line[LOG_LINE_MAX];
		e->out_status(line, sizeof(line));
		console_printf(o, "outbound: %s\n", line);
	} else {
		console_puts(o, "outbound: not running\n");
	}
	console_printf(o, "config: %s, generation %lu, %lu of %u bytes of the settings image\n",
		       e->settings->dirty ? "changed, not saved (config save)" : "saved",
		       (unsigned long)e->settings->store.gen, (unsigned long)e->settings->len,
		       (unsigned)SETTINGS_IMAGE_MAX);
	return 0;
}

/* Why a message is waiting, in words. */
static void waiting_reason(const struct queue_msg_info *m, int64_t now, char *buf, size_t size)
{
	char when[32];
	int64_t dt = (int64_t)m->next_attempt - now;
	fmt_age(dt > 0 ? (uint64_t)dt : 0, when, sizeof(when));
	if (m->held)
		snprintf(buf, size, "held by the operator (queue release)");
	else if (m->attempts == 0)
		snprintf(buf, size, dt > 0 ? "new, first attempt in %s" : "new, due now", when);
	else
		snprintf(buf, size, "%s after %u attempt%s; %s%s",
			 m->reason[0] ? m->reason : "deferred", (unsigned)m->attempts,
			 m->attempts == 1 ? "" : "s", dt > 0 ? "next in " : "due now",
			 dt > 0 ? when : "");
}

struct collect {
	uint32_t *ids;
	unsigned n, max;
};
static void collect_id(void *ctx, uint32_t id)
{
	struct collect *k = ctx;
	if (k->n < k->max)
		k->ids[k->n] = id;
	k->n++;
}

static const char *queue_usage = "queue [list] | queue show ID | queue hold|release|delete ID | "
				 "queue flush";

/* Scratch of `queue list` and `queue show`, from the heap for the call. */
struct queue_scratch {
	struct queue_msg_info info;
	uint32_t ids[CONSOLE_QUEUE_LIST_MAX];
};

static struct queue_scratch *queue_scratch(struct console_out *o)
{
	struct queue_scratch *x = malloc(sizeof(*x));
	if (!x)
		console_puts(o, "error: out of memory\n");
	return x;
}

static int queue_show(struct console *c, uint32_t id, struct console_out *o)
{
	struct queue *q = c->env->queue;
	struct queue_scratch *x = queue_scratch(o);
	if (!x)
		return CONSOLE_EFAIL;
	struct queue_msg_info *m = &x->info;
	int err = queue_msg_info(q, id, m);
	if (err) {
		free(x);
		console_printf(o, "error: no message %08lX\n", (unsigned long)id);
		return CONSOLE_EINVAL;
	}
	int64_t now = wall(c);
	char age[32], why[QUEUE_REASON_MAX + 64];
	fmt_age(now > (int64_t)m->arrival ? (uint64_t)(now - (int64_t)m->arrival) : 0, age,
		sizeof(age));
	waiting_reason(m, now, why, sizeof(why));
	console_printf(o, "id %08lX, %lu bytes, age %s, %u attempt(s)%s%s\n", (unsigned long)m->id,
		       (unsigned long)m->size, age, (unsigned)m->attempts, m->held ? ", held" : "",
		       m->bounce ? ", a bounce" : "");
	console_printf(o, "from <%s>\n", m->sender);
	static const char *const st[] = { "pending", "delivered", "failed", "deferred" };
	for (unsigned i = 0; i < m->nrcpt; i++) {
		char rcpt[QUEUE_ADDR_MAX + 1];
		if (queue_msg_rcpt(q, id, i, rcpt, sizeof(rcpt)) != 0)
			snprintf(rcpt, sizeof(rcpt), "?");
		console_printf(o, "to <%s>: %s\n", rcpt, st[m->rcpt_state[i] & 3]);
	}
	console_printf(o, "waiting: %s\n", why);
	free(x);
	return 0;
}

static int cmd_queue(struct console *c, struct args *a, struct console_out *o)
{
	struct queue *q = c->env->queue;
	const char *sub = a->argc > 1 ? a->argv[1] : "list";
	if (!q) {
		console_puts(o, "error: the queue is not mounted\n");
		return CONSOLE_EFAIL;
	}
	if (strcmp(sub, "list") == 0) {
		if (a->argc > 2)
			return bad(o, queue_usage, "queue list takes no argument");
		struct queue_scratch *x = queue_scratch(o);
		if (!x)
			return CONSOLE_EFAIL;
		struct collect k = { x->ids, 0, CONSOLE_QUEUE_LIST_MAX };
		queue_list(q, collect_id, &k);
		if (k.n == 0) {
			free(x);
			console_puts(o, "queue empty\n");
			return 0;
		}
		int64_t now = wall(c);
		console_puts(o, "ID       AGE      SIZE     RCPTS  FROM / WHY WAITING\n");
		for (unsigned i = 0; i < k.n && i < k.max; i++) {
			struct queue_msg_info *m = &x->info;
			if (queue_msg_info(q, x->ids[i], m) != 0)
				continue; /* left the queue meanwhile */
			char age[32], why[QUEUE_REASON_MAX + 64];
			fmt_age(now > (int64_t)m->arrival ? (uint64_t)(now - (int64_t)m->arrival) : 0,
				age, sizeof(age));
			waiting_reason(m, now, why, sizeof(why));
			console_printf(o, "%08lX %-8s %-8lu %3u/%-3u <%.60s>\n    %s\n",
				       (unsigned long)m->id, age, (unsigned long)m->size,
				       (unsigned)m->npending, (unsigned)m->nrcpt, m->sender, why);
		}
		if (k.n > k.max)
			console_printf(o, "... and %u more\n", k.n - k.max);
		console_printf(o, "%u message(s)\n", k.n);
		free(x);
		return 0;
	}
	if (strcmp(sub, "flush") == 0) {
		if (!c->env->queue_flush) {
			console_puts(o, "error: queue flush is not available: outbound delivery is not "
					"running\n");
			return CONSOLE_ENOTSUP;
		}
		int n = c->env->queue_flush();
		if (n < 0) {
			console_printf(o, "error: queue flush failed (%d)\n", n);
			return CONSOLE_EFAIL;
		}
		console_printf(o, "%d message(s) will be tried now\n", n);
		LOG_INFO("console: queue flush");
		return 0;
	}
	bool show = strcmp(sub, "show") == 0, hold = strcmp(sub, "hold") == 0,
	     rel = strcmp(sub, "release") == 0, del = strcmp(sub, "delete") == 0;
	if (!show && !hold && !rel && !del) {
		console_printf(o, "error: unknown queue command '%.40s'\nusage: %s\n", sub, queue_usage);
		return CONSOLE_EINVAL;
	}
	uint32_t id;
	if (a->argc != 3 || parse_id(a->argv[2], &id) != 0)
		return bad(o, queue_usage, "give one message ID (hex, as queue list shows it)");
	if (show)
		return queue_show(c, id, o);
	int err = hold ? queue_hold(q, id) : rel ? queue_release(q, id) : queue_delete(q, id);
	if (err == QUEUE_ENOENT) {
		console_printf(o, "error: no message %08lX\n", (unsigned long)id);
		return CONSOLE_EINVAL;
	}
	if (err) {
		console_printf(o, "error: %s failed (%d)\n", sub, err);
		return CONSOLE_EFAIL;
	}
	console_printf(o, "%08lX %s\n", (unsigned long)id,
		       hold ? "held" : rel ? "released" : "deleted (no bounce sent)");
	LOG_INFO("console: queue %s %08lX", sub, (unsigned long)id);
	return 0;
}

static const char *log_usage = "log [tail] [N] [err|warn|info|debug] [TEXT]";

static int log_level_of(const char *t)
{
	static const struct {
		const char *n;
		enum port_log_level l;
	} lv[] = { { "err", PORT_LOG_ERR }, { "error", PORT_LOG_ERR }, { "warn", PORT_LOG_WARN },
		   { "info", PORT_LOG_INFO }, { "debug", PORT_LOG_DEBUG } };
	for (unsigned i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
		if (strcmp(t, lv[i].n) == 0)
			return (int)lv[i].l;
	return -1;
}

static bool log_match(enum port_log_level l, const char *line, int maxlevel, const char *text)
{
	return (int)l <= maxlevel && (!text || strstr(line, text));
}

static int cmd_log(struct console *c, struct args *a, struct console_out *o)
{
	(void)c;
	unsigned n = 20;
	int maxlevel = PORT_LOG_DEBUG;
	const char *text = NULL;
	int i = 1;
	if (i < a->argc && strcmp(a->argv[i], "tail") == 0)
		i++;
	for (; i < a->argc; i++) {
		const char *w = a->argv[i];
		int l = log_level_of(w);
		if (isdigit((unsigned char)w[0]) && strspn(w, "0123456789") == strlen(w)) {
			unsigned long v = strtoul(w, NULL, 10);
			if (v == 0 || v > CONSOLE_LOG_TAIL_MAX || strlen(w) > 4)
				return bad(o, log_usage, "N is 1 to 200");
			n = (unsigned)v;
		} else if (l >= 0) {
			maxlevel = l;
		} else if (!text) {
			text = w;
		} else {
			return bad(o, log_usage, "one TEXT to look for (no spaces)");
		}
	}
	/* Two passes over the RAM ring instead of a buffer of n lines: count
	 * the matches, then print the last n of them. */
	char line[LOG_LINE_MAX + 1];
	enum port_log_level l;
	uint32_t cur = 0;
	unsigned total = 0, seen = 0, shown = 0;
	while (log_read(&cur, &l, line, sizeof(line)) > 0)
		total += log_match(l, line, maxlevel, text);
	cur = 0;
	while (log_read(&cur, &l, line, sizeof(line)) > 0) {
		if (!log_match(l, line, maxlevel, text))
			continue;
		if (seen++ + n < total)
			continue;
		if (shown++ == n)
			break; /* records added while printing wait for next time */
		static const char lc[8] = { '?', '?', '?', 'E', 'W', '?', 'I', 'D' };
		console_printf(o, "%c %s\n", lc[(unsigned)l & 7], line);
	}
	if (total == 0)
		console_puts(o, "(no matching log lines)\n");
	return 0;
}

static const char *config_usage = "config show [KEY] | config set KEY VALUE | config unset KEY | "
				  "config save | config reset yes";

static void config_show_key(struct console *c, const struct config_key *k, bool verbose,
			    struct console_out *o)
{
	enum { V = CONFIG_VALUE_MAX + 1 };
	char *v = malloc(V); /* scratch for this call: too big for the stack */
	if (!v) {
		console_printf(o, "%-16s (out of memory)\n", k->name);
		return;
	}
	int src = config_show_value(c->env->settings, c->env->board, k->name, v, V);
	if (src < 0)
		snprintf(v, V, "(unreadable: %d)", src);
	console_printf(o, "%-16s = %s", k->name, v[0] ? "" : "\"\"");
	console_puts(o, v);
	console_printf(o, "  (%s)\n", src >= 0 ? config_src_name((enum config_src)src) : "?");
	if (verbose)
		console_printf(o, "  %s; %s, default \"%s\"\n", k->help, config_type_name(k->type),
			       k->def);
	free(v);
}

static int cmd_config(struct console *c, struct args *a, struct console_out *o)
{
	struct settings *s = c->env->settings;
	const char *sub = a->argc > 1 ? a->argv[1] : "show";
	char err[CONFIG_ERR_MAX];
	if (strcmp(sub, "show") == 0) {
		if (a->argc > 3)
			return bad(o, config_usage, "config show takes at most one KEY");
		if (a->argc == 3) {
			const struct config_key *k = config_key_find(a->argv[2]);
			if (!k) {
				console_printf(o, "error: no such key '%.40s'\n", a->argv[2]);
				return CONSOLE_EINVAL;
			}
			config_show_key(c, k, true, o);
			return 0;
		}
		for (unsigned i = 0; i < config_key_count(); i++)
			config_show_key(c, config_key_at(i), false, o);
		if (s->dirty)
			console_puts(o, "(changes not saved: config save)\n");
		return 0;
	}
	if (strcmp(sub, "set") == 0) {
		if (a->argc < 3)
			return bad(o, config_usage, "config set needs KEY and VALUE");
		/* VALUE is the rest of the line: lists have spaces. An empty
		 * value is spelled "" */
		const char *v = a->argc > 3 ? a->rest[3] : NULL;
		if (!v)
			return bad(o, config_usage, "config set needs a VALUE (\"\" for empty; "
						    "config unset KEY for the default)");
		char val[CONSOLE_LINE_MAX];
		snprintf(val, sizeof(val), "%s", strcmp(v, "\"\"") == 0 ? "" : v);
		size_t vl = strlen(val);
		while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
			val[--vl] = '\0';
		const struct config_key *k = config_key_find(a->argv[2]);
		if (k && k->type == CONFIG_T_HASH) {
			console_puts(o, "error: set passwords with passwd (not echoed)\n");
			return CONSOLE_EINVAL;
		}
		int e = config_set(s, a->argv[2], val, err, sizeof(err));
		mbedtls_platform_zeroize(val, sizeof(val));
		if (e) {
			console_printf(o, "error: %s\n", err);
			return CONSOLE_EINVAL;
		}
		console_printf(o, "%s set (config save to keep it; most keys act at the next boot)\n",
			       k->name);
		return 0;
	}
	if (strcmp(sub, "unset") == 0) {
		if (a->argc != 3)
			return bad(o, config_usage, "config unset needs one KEY");
		if (config_unset(s, a->argv[2], err, sizeof(err)) != 0) {
			console_printf(o, "error: %s\n", err);
			return CONSOLE_EINVAL;
		}
		console_printf(o, "%s back to the board's value or the default (config save to keep it)\n",
			       a->argv[2]);
		return 0;
	}
	if (strcmp(sub, "save") == 0) {
		if (a->argc != 2)
			return bad(o, config_usage, "config save takes no argument");
		int e = config_save(s);
		if (e) {
			console_printf(o, "error: save failed (%d): the previous settings stay in force\n", e);
			return CONSOLE_EFAIL;
		}
		console_puts(o, "saved\n");
		LOG_INFO("console: config saved");
		return 0;
	}
	if (strcmp(sub, "reset") == 0) {
		if (a->argc != 3 || strcmp(a->argv[2], "yes") != 0) {
			console_puts(o, "factory reset erases every setting, the console password and "
					"the gateway's key and certificate (a new TLSA record is needed).\n"
					"type: config reset yes\n");
			return a->argc == 2 ? 0 : CONSOLE_EINVAL;
		}
		int e = config_factory_reset(s);
		if (e) {
			console_printf(o, "error: factory reset failed (%d)\n", e);
			return CONSOLE_EFAIL;
		}
		console_puts(o, "settings erased; reboot to start from the defaults\n");
		LOG_WARN("console: factory reset");
		return 0;
	}
	console_printf(o, "error: unknown config command '%.40s'\nusage: %s\n", sub, config_usage);
	return CONSOLE_EINVAL;
}

/* The certificate in service: the live one (it changes with a switch),
 * else the env's (tests, or no live credential). */
static const mbedtls_x509_crt *cur_cert(const struct console *c)
{
	const struct tls_cred *l = tls_live_cred();
	return l ? &l->cert : c->env->cred ? &c->env->cred->cert : NULL;
}

/* subject, issuer, validity, names of crt, indented under label. */
static void tlsa_describe(struct console *c, const mbedtls_x509_crt *crt, struct console_out *o)
{
	char host[CONFIG_VALUE_MAX + 1], text[700];
	if (config_get(c->env->settings, c->env->board, "hostname", host, sizeof(host)) < 0)
		host[0] = '\0';
	tls_cert_describe(crt, host, wall(c), text, sizeof(text));
	for (const char *p = text; *p;) {
		size_t l = strcspn(p, "\n");
		console_printf(o, "         %.*s\n", (int)l, p);
		p += l + (p[l] == '\n');
	}
}

/* "_25._tcp.<host>. IN TLSA 3 1 1 <sha256(SPKI)>" for a certificate. */
static int tlsa_record(struct console *c, const mbedtls_x509_crt *crt, const char *label,
		       struct console_out *o)
{
	uint8_t dig[32];
	if (rollover_spki_sha256(crt, dig) != 0) {
		console_puts(o, "error: the certificate has no public key\n");
		return CONSOLE_EFAIL;
	}
	char host[CONFIG_VALUE_MAX + 1], hex[65];
	config_get(c->env->settings, c->env->board, "hostname", host, sizeof(host));
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	console_printf(o, "%s_25._tcp.%s. IN TLSA 3 1 1 %s\n", label, host, hex);
	return 0;
}

/* The DNS watch of the next record (DANE-RULES 24), for show and switch. */
static bool tlsa_watch(struct console *c, struct console_out *o, struct rollover_status *st)
{
	if (!c->env->tlsa_status) {
		console_puts(o, "dns:     no resolver: the next record cannot be checked here\n");
		return false;
	}
	c->env->tlsa_status(st);
	console_printf(o, "dns:     %s: %s%s%s%s\n", st->name, rollover_verdict_name(st->verdict),
		       st->detail[0] ? " (" : "", st->detail, st->detail[0] ? ")" : "");
	if (st->checked_at && st->verdict != ROLLOVER_LOOKUP_FAILED)
		console_printf(o, "         current record %s, next record %s\n",
			       st->current_published ? "published" : "NOT published",
			       st->next_published ? "published" : "not published");
	if (st->verdict == ROLLOVER_WAITING || st->verdict == ROLLOVER_READY) {
		int64_t now = wall(c);
		console_printf(o, "         next record seen since %lld s, TTL %lu s; %s\n",
			       (long long)(now > st->first_seen ? now - st->first_seen : 0),
			       (unsigned long)st->ttl,
			       st->verdict == ROLLOVER_READY ? "switch is safe"
							     : "switch safe in");
		if (st->verdict == ROLLOVER_WAITING)
			console_printf(o, "         %lld s (two TTLs after the first sighting)\n",
				       (long long)(st->ready_at - now));
	}
	return true;
}

static int tlsa_next_record(struct console *c, struct console_out *o, bool describe)
{
	const uint8_t *crt;
	int cl = settings_get(c->env->settings, "tls_next_cert", &crt);
	if (cl <= 0)
		return CONSOLE_ENOTSUP;
	mbedtls_x509_crt x;
	mbedtls_x509_crt_init(&x);
	int err = tls_chain_der_load(&x, crt, (size_t)cl);
	if (!err) {
		err = tlsa_record(c, &x, "next:    ", o);
		if (!err && describe)
			tlsa_describe(c, &x, o);
	} else
		console_printf(o, "error: the stored next certificate does not parse (%d)\n", err);
	mbedtls_x509_crt_free(&x);
	return err ? CONSOLE_EFAIL : 0;
}

/* The current pair from the settings into service now (the switch hook,
 * tls_live_set): new inbound sessions and HTTPS get it at once. */
static int tlsa_live(struct console *c, struct console_out *o, const char *what)
{
	int e = c->env->tls_cred_switch
			? rollover_apply_current(c->env->settings, c->env->tls_cred_switch)
			: CONSOLE_ENOTSUP;
	if (e == TLS_LIVE_EBUSY) {
		LOG_WARN("console: tlsa: %s; in service when the sessions on the key before end", what);
		console_printf(o, "%s: new sessions get the new key as soon as the sessions still on "
				  "the key before it end (the relay retries every second).\n", what);
		return 0;
	}
	if (e) {
		LOG_WARN("console: tlsa: %s; the new key is used from the next boot", what);
		console_printf(o, "%s: the new key is used from the next boot (reboot yes). Keep the "
				  "old record until then, and remove it afterwards.\n", what);
		return 0;
	}
	LOG_WARN("console: tlsa: %s: the new key is in service", what);
	console_printf(o, "%s: new sessions use the new key now. Remove the old record from DNS "
			  "if it changed.\n", what);
	return 0;
}

int console_tlsa_import(struct console *c, const char *text, struct console_out *o)
{
	struct settings *s = c->env->settings;
	const mbedtls_x509_crt *cur = cur_cert(c);
	if (!c->env->cred || !cur) {
		console_puts(o, "error: no TLS credentials loaded\n");
		return CONSOLE_EFAIL;
	}
	struct tls_import *im = tls_import_new();
	if (!im) {
		console_puts(o, "error: not enough TLS memory now; try again\n");
		return CONSOLE_EFAIL;
	}
	char host[CONFIG_VALUE_MAX + 1];
	if (config_get(s, c->env->board, "hostname", host, sizeof(host)) < 0)
		host[0] = '\0';
	int e = tls_import_pem(im, text, host, wall(c));
	if (e) {
		console_printf(o, "error: not imported: %s. Nothing changed.\n", im->err);
		LOG_WARN("console: tlsa import refused: %s", im->err);
		tls_import_free(im);
		return CONSOLE_EINVAL;
	}
	console_printf(o, "%s key, %u certificate(s)%s\n", im->key_type, im->ncerts,
		       im->self_signed ? ", self-signed" : "");
	if (!im->name_ok)
		console_printf(o, "warning: the certificate does not name %.*s (DANE 3 1 1 does not "
				  "care; clients checking names will)\n", 200, host);
	if (im->expired)
		console_puts(o, "warning: the certificate has EXPIRED\n");
	if (im->not_yet_valid)
		console_puts(o, "warning: the certificate is not valid yet\n");
	if (im->order_warning)
		console_puts(o, "warning: the chain is not in issuing order (leaf, then its issuer, ...)\n");
	e = rollover_import(s, im);
	tls_import_free(im);
	if (e < 0) {
		console_printf(o, "error: not stored (%d)%s. Nothing changed.\n", e,
			       e == SETTINGS_ENOSPC ? ": the settings are full (a smaller key or "
						      "chain fits)" : "");
		return CONSOLE_EFAIL;
	}
	LOG_INFO("console: tlsa import stored (%s)",
		 e == ROLLOVER_IMPORT_RENEW ? "current key" : "next key");
	if (e == ROLLOVER_IMPORT_RENEW) {
		console_puts(o, "the key is the current one: its 3 1 1 record is unchanged.\n");
		return tlsa_live(c, o, "imported");
	}
	if (c->env->tlsa_changed)
		c->env->tlsa_changed();
	console_puts(o, e == ROLLOVER_IMPORT_NEXT_RENEW
				? "the key is the next key's: its certificate renewed.\n"
				: "a new key: stored as the NEXT key (DANE-RULES 24). Publish both "
				  "records now:\n");
	tlsa_record(c, cur, "current: ", o);
	e = tlsa_next_record(c, o, false);
	console_puts(o, "then, two TTLs after it is visible in DNS, tlsa switch confirm "
			"(the relay watches DNS and says when: tlsa show)\n");
	return e;
}

/* One line of a paste (CONSOLE_MODE_IMPORT): never echoed nor logged. */
static int import_line(struct console *c, const char *line, struct console_out *o)
{
	char *text = tls_import_text_claim(c);
	size_t l = strlen(line);
	bool done = (l == 0 && c->import_len) || strcmp(line, "end") == 0;
	int e = 0;
	if (!text || strcmp(line, "abort") == 0) {
		console_puts(o, text ? "import cancelled\n" : "error: import buffer lost\n");
		e = text ? 0 : CONSOLE_EFAIL;
		done = true;
		text = NULL;
	} else if (done) {
		text[c->import_len] = '\0';
		e = console_tlsa_import(c, text, o);
	} else if (l && c->import_len + l + 1 > TLS_IMPORT_TEXT_MAX) {
		console_printf(o, "error: more than %u bytes pasted: import cancelled\n",
			       (unsigned)TLS_IMPORT_TEXT_MAX);
		e = CONSOLE_EINVAL;
		done = true;
	} else if (l) {
		memcpy(text + c->import_len, line, l);
		text[c->import_len + l] = '\n';
		c->import_len += l + 1;
	}
	if (done) {
		tls_import_text_release(c);
		c->import_len = 0;
		c->mode = CONSOLE_MODE_CMD;
	}
	return e;
}

static const char *tlsa_usage =
	"tlsa [show] | tlsa next | tlsa import | tlsa check | tlsa switch confirm|force";

static int cmd_tlsa(struct console *c, struct args *a, struct console_out *o)
{
	struct settings *s = c->env->settings;
	const char *sub = a->argc > 1 ? a->argv[1] : "show";
	const mbedtls_x509_crt *cur = cur_cert(c);
	if (!c->env->cred || !cur) {
		console_puts(o, "error: no TLS credentials loaded\n");
		return CONSOLE_EFAIL;
	}
	if (strcmp(sub, "show") == 0 && a->argc <= 2) {
		int e = tlsa_record(c, cur, "", o);
		if (!e)
			tlsa_describe(c, cur, o);
		const uint8_t *v;
		if (!e && settings_get(s, "tls_next_cert", &v) > 0) {
			struct rollover_status st;
			e = tlsa_next_record(c, o, true);
			tlsa_watch(c, o, &st);
		}
		return e;
	}
	if (strcmp(sub, "check") == 0 && a->argc == 2) {
		if (!c->env->tlsa_check) {
			console_puts(o, "error: no resolver: cannot look the record up\n");
			return CONSOLE_ENOTSUP;
		}
		int e = c->env->tlsa_check();
		if (e == ROLLOVER_ENOENT) {
			console_puts(o, "error: no next key: tlsa next first\n");
			return CONSOLE_EINVAL;
		}
		if (e && e != ROLLOVER_EBUSY) {
			console_printf(o, "error: lookup not started (%d)\n", e);
			return CONSOLE_EFAIL;
		}
		console_puts(o, "looking the TLSA record up; the answer shows in `tlsa show` and "
				"the log\n");
		return 0;
	}
	if (strcmp(sub, "import") == 0 && a->argc == 2) {
		if (!tls_import_text_claim(c)) {
			console_puts(o, "error: another console is pasting (tlsa import or ca add), or not "
					"enough TLS memory now; try again\n");
			return CONSOLE_EFAIL;
		}
		c->import_len = 0;
		c->mode = CONSOLE_MODE_IMPORT;
		console_puts(o, "paste the PEM private key (not encrypted) and the certificate chain, "
				"leaf first; an empty line (or: end) finishes, abort cancels. Nothing "
				"pasted is shown or logged.\n");
		return 0;
	}
	if (strcmp(sub, "next") == 0 && a->argc == 2) {
		const uint8_t *v;
		if (settings_get(s, "tls_next_cert", &v) <= 0) {
			/* Only one next key at a time: making another would
			 * orphan a record that may already be published. */
			char host[CONFIG_VALUE_MAX + 1];
			config_get(s, c->env->board, "hostname", host, sizeof(host));
			enum { KEY_MAX = 256, CRT_MAX = 1024 };
			uint8_t *der = malloc(KEY_MAX + CRT_MAX); /* key, then certificate */
			size_t kl = KEY_MAX, cl = CRT_MAX;
			int64_t t = wall(c);
			int e = der ? tls_cred_generate(host, t < 0 ? 0 : t, der, &kl, der + KEY_MAX, &cl)
				    : PORT_ENOMEM;
			if (!e && (e = settings_set(s, "tls_next_key", der, kl)) == 0 &&
			    (e = settings_set(s, "tls_next_cert", der + KEY_MAX, cl)) == 0)
				e = settings_save(s);
			if (der) {
				mbedtls_platform_zeroize(der, KEY_MAX);
				free(der);
			}
			if (e) {
				settings_set(s, "tls_next_key", NULL, 0);
				settings_set(s, "tls_next_cert", NULL, 0);
				console_printf(o, "error: cannot make or save the next key (%d)\n", e);
				return CONSOLE_EFAIL;
			}
			LOG_INFO("console: tlsa next key made");
			console_puts(o, "next key and certificate made and saved.\n");
			if (c->env->tlsa_changed)
				c->env->tlsa_changed();
		} else {
			console_puts(o, "a next key exists already (shown below).\n");
		}
		console_puts(o, "publish both records now:\n");
		tlsa_record(c, cur, "current: ", o);
		int e = tlsa_next_record(c, o, false);
		console_puts(o, "then, two TTLs after it is visible in DNS, tlsa switch confirm "
				"(the relay watches DNS and says when: tlsa show)\n");
		return e;
	}
	if (strcmp(sub, "switch") == 0) {
		const uint8_t *k, *crt;
		int kl = settings_get(s, "tls_next_key", &k);
		int cl = settings_get(s, "tls_next_cert", &crt);
		if (kl <= 0 || cl <= 0) {
			console_puts(o, "error: no next key: tlsa next first\n");
			return CONSOLE_EINVAL;
		}
		bool force = a->argc == 3 && strcmp(a->argv[2], "force") == 0;
		bool confirm = a->argc == 3 && strcmp(a->argv[2], "confirm") == 0;
		struct rollover_status st;
		bool watched = tlsa_watch(c, o, &st);
		bool safe = watched && st.verdict == ROLLOVER_READY;
		if (!force && !safe) {
			console_puts(o, "the switch waits (DANE-RULES.md rule 24): the next record must be "
					"visible, DNSSEC-signed, for two TTLs, or senders holding the old "
					"RRset fail DANE and defer mail. tlsa check asks DNS now; "
					"tlsa switch force skips the check.\n");
			return a->argc == 2 ? 0 : CONSOLE_EINVAL;
		}
		if (!force && !confirm) {
			console_puts(o, "type: tlsa switch confirm\n");
			return a->argc == 2 ? 0 : CONSOLE_EINVAL;
		}
		if (force && !safe)
			LOG_WARN("console: tlsa switch forced before the next record was seen for two TTLs");
		int e = rollover_switch(s);
		if (e) {
			console_printf(o, "error: switch not saved (%d): the current key stays\n", e);
			return CONSOLE_EFAIL;
		}
		if (c->env->tlsa_changed)
			c->env->tlsa_changed();
		return tlsa_live(c, o, "switched");
	}
	return bad(o, tlsa_usage, "unknown tlsa command");
}

static int cmd_stats(struct console *c, struct args *a, struct console_out *o)
{
	(void)a;
	const struct console_stats *st = c->env->stats;
	if (!st) {
		console_puts(o, "no delivery statistics yet\n");
		return 0;
	}
	console_puts(o, "deliveries by class:");
	for (unsigned i = 0; i < CONSOLE_CLASSES; i++)
		console_printf(o, " %s %lu", class_names[i], (unsigned long)st->by_class[i]);
	console_printf(o, "\ndeferred %lu, bounced %lu\n", (unsigned long)st->deferred,
		       (unsigned long)st->bounced);
	bool any = false;
	for (unsigned i = 0; i < CONSOLE_STATS_DOMAINS; i++) {
		const struct console_stats_domain *d = &st->dom[i];
		if (!d->domain[0])
			continue;
		if (!any)
			console_puts(o, "DOMAIN                         DNSSEC    V    T    U    A    C\n");
		any = true;
		console_printf(o, "%-30.30s %-6s %4lu %4lu %4lu %4lu %4lu%s\n", d->domain,
			       d->dnssec ? "secure" : "no", (unsigned long)d->by_class[0],
			       (unsigned long)d->by_class[1], (unsigned long)d->by_class[2],
			       (unsigned long)d->by_class[3], (unsigned long)d->by_class[4],
			       d->by_class[0] ? "  DANE-verified" : "");
	}
	return 0;
}

static int cmd_passwd(struct console *c, struct args *a, struct console_out *o)
{
	if (a->argc != 1)
		return bad(o, "passwd", "passwd takes no argument: the password is asked for, "
					"not echoed");
	c->mode = CONSOLE_MODE_PASSWD_NEW;
	return 0;
}

static int cmd_reboot(struct console *c, struct args *a, struct console_out *o)
{
	if (a->argc != 2 || strcmp(a->argv[1], "yes") != 0) {
		if (c->env->settings->dirty)
			console_puts(o, "note: config changes are not saved (config save)\n");
		console_puts(o, "type: reboot yes\n");
		return a->argc == 1 ? 0 : CONSOLE_EINVAL;
	}
	console_puts(o, "rebooting\n");
	LOG_WARN("console: reboot");
	return CONSOLE_REBOOT;
}

static int cmd_logout(struct console *c, struct args *a, struct console_out *o)
{
	(void)a;
	console_logout(c);
	console_puts(o, c->mode == CONSOLE_MODE_LOGIN ? "logged out\n"
						      : "no console password set: nothing to log out of\n");
	return 0;
}

/* Probe output arrives later, from the event loop: straight to the
 * serial console (the web console passes its own line sink to env->probe). */
static void probe_console_line(void *ctx, const char *s)
{
	(void)ctx;
	port_console_write(s, strlen(s));
	port_console_write("\n", 1);
}

static int cmd_probe(struct console *c, struct args *a, struct console_out *o)
{
	const struct console_env *e = c->env;
	if (a->argc != 2)
		return bad(o, "probe DOMAIN | probe cancel", "give one domain (or cancel)");
	if (strcmp(a->argv[1], "cancel") == 0) {
		if (e->probe_cancel)
			e->probe_cancel();
		console_puts(o, "probe cancelled\n");
		return 0;
	}
	if (!e->probe) {
		console_puts(o, "error: probe: outbound delivery is not running\n");
		return CONSOLE_ENOTSUP;
	}
	int err = e->probe(a->argv[1], probe_console_line, NULL);
	if (err) {
		console_printf(o, "error: probe %.60s: %s\n", a->argv[1],
			       err == -16 ? "a probe is already running (probe cancel)" : "not started");
		return CONSOLE_EFAIL;
	}
	console_printf(o, "probe: %.200s: started (lines follow; probe cancel stops it)\n",
		       a->argv[1]);
	return 0;
}

/* ---- ca: trust anchors of the verify policy (relay/trust.h) ---------- */

static const char *ca_usage = "ca [list] | ca add (then paste the PEM) | ca delete N";
/* The paste decoder lives in the shared import text buffer (tls.h:
 * lent from the TLS arena while a paste runs, one paste at a time, `tlsa
 * import`'s or this one), not in static RAM. */
_Static_assert(sizeof(struct trust_pem) <= TLS_IMPORT_TEXT_MAX + 1, "ca paste in the import buffer");
static struct trust_pem *ca_pem_claim(struct console *c, struct console_out *o)
{
	struct trust_pem *p = (struct trust_pem *)(void *)tls_import_text_claim(c);
	if (!p)
		console_puts(o, "error: another console is pasting (ca add or tlsa import), or not "
				"enough TLS memory now; try again\n");
	else
		trust_pem_init(p);
	return p;
}

struct ca_list_ctx {
	struct console *c;
	struct console_out *o;
};

static void ca_list_line(void *ctx, unsigned n, bool board, const uint8_t *der, size_t len)
{
	struct ca_list_ctx *k = ctx;
	char d[TRUST_DESC_MAX];
	trust_describe(der, len, wall(k->c), d, sizeof(d));
	console_printf(k->o, "%s%u: %s\n", board ? "board " : "", n, d);
}

static int cmd_ca(struct console *c, struct args *a, struct console_out *o)
{
	struct settings *s = c->env->settings;
	const char *sub = a->argc > 1 ? a->argv[1] : "list";
	if (strcmp(sub, "list") == 0 && a->argc <= 2) {
		struct ca_list_ctx k = { c, o };
		if (trust_each(s, ca_list_line, &k) == 0)
			console_puts(o, "no trust anchors: destinations under the verify policy are "
					"deferred (ca add)\n");
		return 0;
	}
	if (strcmp(sub, "add") == 0 && a->argc == 2) {
		if (!ca_pem_claim(c, o))
			return CONSOLE_EFAIL;
		c->mode = CONSOLE_MODE_CA_PEM;
		console_puts(o, "paste the CA certificate (PEM, -----BEGIN CERTIFICATE----- to "
				"-----END CERTIFICATE-----); a blank line cancels\n");
		return 0;
	}
	if (strcmp(sub, "delete") == 0 && a->argc == 3) {
		char *end;
		unsigned long n = strtoul(a->argv[2], &end, 10);
		if (*end || n == 0 || n > TRUST_MAX)
			return bad(o, ca_usage, "N is the number ca list shows (board anchors cannot be "
						"deleted here)");
		int e = trust_delete(s, (unsigned)n);
		if (!e)
			e = settings_save(s);
		if (e) {
			console_printf(o, "error: %s\n", e == TRUST_ENOENT ? trust_strerror(e)
									  : "not saved");
			return e == TRUST_ENOENT ? CONSOLE_EINVAL : CONSOLE_EFAIL;
		}
		LOG_INFO("console: ca delete %lu", n);
		console_printf(o, "trust anchor %lu deleted and saved\n", n);
		return 0;
	}
	return bad(o, ca_usage, "unknown ca command");
}

/* One line of a `ca add` paste. */
/* The end of a paste: r is trust_pem_line()'s last result. */
static int ca_pem_end(struct console *c, struct trust_pem *p, int r, struct console_out *o)
{
	c->mode = CONSOLE_MODE_CMD;
	if (r == TRUST_PEM_EMPTY) {
		tls_import_text_release(c);
		console_puts(o, "ca add cancelled\n");
		return 0;
	}
	int e = r == TRUST_PEM_DONE ? trust_add(c->env->settings, p->der, p->len)
	      : r == TRUST_PEM_MORE ? TRUST_EPEM
				    : r;
	if (e) {
		tls_import_text_release(c);
		console_printf(o, "error: certificate not added: %s\n", trust_strerror(e));
		return CONSOLE_EINVAL;
	}
	if ((e = settings_save(c->env->settings)) != 0) {
		tls_import_text_release(c);
		console_printf(o, "error: certificate added but not saved (%d): config save\n", e);
		return CONSOLE_EFAIL;
	}
	char d[TRUST_DESC_MAX];
	trust_describe(p->der, p->len, wall(c), d, sizeof(d));
	tls_import_text_release(c);
	int n = trust_each(c->env->settings, NULL, NULL);
	LOG_INFO("console: ca add: %.200s", d);
	console_printf(o, "trust anchor added and saved (%d in all): %s\n", n, d);
	return 0;
}

/* One line of a `ca add` paste. */
static int ca_pem_entry(struct console *c, const char *line, struct console_out *o)
{
	struct trust_pem *p = (struct trust_pem *)(void *)tls_import_text_claim(c);
	if (!p) { /* cannot happen: claimed at `ca add` until the paste ends */
		c->mode = CONSOLE_MODE_CMD;
		return CONSOLE_EFAIL;
	}
	int r = trust_pem_line(p, line);
	return r == TRUST_PEM_MORE ? 0 : ca_pem_end(c, p, r, o);
}

int console_ca_add(struct console *c, char *text, struct console_out *o)
{
	/* text may be the import buffer itself (a web body lent from it):
	 * the decoder takes its own 2 KiB of the TLS arena for this call */
	struct trust_pem *p = mbedtls_calloc(1, sizeof(*p));
	if (!p) {
		console_puts(o, "error: certificate not added: not enough TLS memory now; try again\n");
		return CONSOLE_EFAIL;
	}
	trust_pem_init(p);
	int r = TRUST_PEM_MORE;
	bool any = false;
	for (char *line = text; line && r == TRUST_PEM_MORE;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		bool blank = strspn(line, " \t\r") == strlen(line);
		if (!blank || any) /* blank lines before the text are no end */
			r = trust_pem_line(p, line);
		any = any || !blank;
		if (nl)
			*nl = '\n';
		line = nl ? nl + 1 : NULL;
	}
	int e = ca_pem_end(c, p, !any ? TRUST_PEM_EMPTY : r, o);
	mbedtls_platform_zeroize(p, sizeof(*p));
	mbedtls_free(p);
	return e;
}

static const struct cmd cmds[] = {
	{ "help", cmd_help, "help [COMMAND]", "list commands, or explain one" },
	{ "status", cmd_status, "status",
	  "version, board, uptime, RAM and TLS heap, queue and flash wear, inbound SMTP" },
	{ "queue", cmd_queue, NULL,
	  "messages waiting and why; show one; hold, release or delete one; flush" },
	{ "log", cmd_log, NULL, "the last N log lines (default 20), by level and/or text" },
	{ "config", cmd_config, NULL,
	  "show settings, set/unset a key, save to flash, factory reset" },
	{ "tlsa", cmd_tlsa, NULL,
	  "the gateway's certificate and TLSA 3 1 1 record; rollover watched in DNS (next, "
	  "import, check, switch)" },
	{ "ca", cmd_ca, NULL,
	  "trust anchors (CA certificates) of the verify TLS policy: list, add (paste PEM), delete" },
	{ "stats", cmd_stats, "stats", "deliveries by TLS class and destination domain" },
	{ "probe", cmd_probe, "probe DOMAIN | probe cancel",
	  "MX, addresses, TLSA, STARTTLS, TLS, chain, DANE match and class for a domain" },
	{ "passwd", cmd_passwd, "passwd", "set the console password (asked twice, not echoed)" },
	{ "logout", cmd_logout, "logout", "end this console session" },
	{ "reboot", cmd_reboot, "reboot [yes]", "restart the gateway (asks for yes)" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char *usage_of(const struct cmd *k)
{
	if (k->usage)
		return k->usage;
	if (k->run == cmd_queue)
		return queue_usage;
	if (k->run == cmd_log)
		return log_usage;
	if (k->run == cmd_config)
		return config_usage;
	if (k->run == cmd_ca)
		return ca_usage;
	return tlsa_usage;
}

static int cmd_help(struct console *c, struct args *a, struct console_out *o)
{
	(void)c;
	if (a->argc == 1) {
		for (unsigned i = 0; i < NCMDS; i++)
			console_printf(o, "%-8s %s\n", cmds[i].name, cmds[i].help);
		console_puts(o, "help COMMAND for its usage; config show KEY explains a key\n");
		return 0;
	}
	for (unsigned i = 0; i < NCMDS; i++)
		if (strcmp(a->argv[1], cmds[i].name) == 0) {
			console_printf(o, "%s: %s\nusage: %s\n", cmds[i].name, cmds[i].help,
				       usage_of(&cmds[i]));
			return 0;
		}
	console_printf(o, "error: no command '%.40s' (help lists them)\n", a->argv[1]);
	return CONSOLE_EUNKNOWN;
}

/* ---- login and password entry ------------------------------------------ */

static bool password_set(const struct console *c, char *buf, size_t size)
{
	return config_get(c->env->settings, c->env->board, "console_password", buf, size) >= 0 &&
	       buf[0];
}

void console_init(struct console *c, const struct console_env *env)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	console_logout(c);
}

void console_logout(struct console *c)
{
	if (c->mode == CONSOLE_MODE_IMPORT || c->mode == CONSOLE_MODE_CA_PEM) { /* a paste cut off: wipe it */
		tls_import_text_release(c);
		c->import_len = 0;
	}
	char h[CONFIG_VALUE_MAX + 1];
	c->authed = !password_set(c, h, sizeof(h));
	c->mode = c->authed ? CONSOLE_MODE_CMD : CONSOLE_MODE_LOGIN;
}

const char *console_prompt(const struct console *c)
{
	switch (c->mode) {
	case CONSOLE_MODE_LOGIN: return "Password: ";
	case CONSOLE_MODE_PASSWD_NEW: return "New password: ";
	case CONSOLE_MODE_PASSWD_AGAIN: return "Again: ";
	case CONSOLE_MODE_IMPORT: return "";
	case CONSOLE_MODE_CA_PEM: return "";
	case CONSOLE_MODE_CMD: break;
	}
	return "danegate> ";
}

bool console_echo(const struct console *c)
{
	return c->mode == CONSOLE_MODE_CMD || c->mode == CONSOLE_MODE_CA_PEM;
}

static int login(struct console *c, const char *line, struct console_out *o)
{
	char h[CONFIG_VALUE_MAX + 1];
	uint64_t now = now_ms(c);
	if (now < c->login_pause_until) {
		console_printf(o, "too many wrong passwords: wait %lu s\n",
			       (unsigned long)((c->login_pause_until - now + 999) / 1000));
		return CONSOLE_EACCES;
	}
	if (!password_set(c, h, sizeof(h)) || config_hash_check(h, line) == 0) {
		c->authed = true;
		c->mode = CONSOLE_MODE_CMD;
		c->login_failures = 0;
		console_puts(o, "welcome (help lists the commands)\n");
		return 0;
	}
	if (++c->login_failures % CONSOLE_LOGIN_TRIES == 0)
		c->login_pause_until = now + CONSOLE_LOGIN_PAUSE_MS;
	LOG_WARN("console: wrong password");
	console_puts(o, "wrong password\n");
	return CONSOLE_EACCES;
}

static int passwd_entry(struct console *c, const char *line, struct console_out *o)
{
	char err[CONFIG_ERR_MAX];
	if (c->mode == CONSOLE_MODE_PASSWD_NEW) {
		if (config_validate("console_password", line, err, sizeof(err)) != 0 ||
		    config_hash_is_hash(line)) {
			c->mode = CONSOLE_MODE_CMD;
			console_printf(o, "error: %s; password not changed\n",
				       config_hash_is_hash(line) ? "not a password" : err);
			return CONSOLE_EINVAL;
		}
		/* Only a digest waits for the second entry, never the text. */
		mbedtls_sha256((const unsigned char *)line, strlen(line), c->pw_first, 0);
		c->mode = CONSOLE_MODE_PASSWD_AGAIN;
		return 0;
	}
	c->mode = CONSOLE_MODE_CMD;
	unsigned char again[sizeof(c->pw_first)];
	mbedtls_sha256((const unsigned char *)line, strlen(line), again, 0);
	bool same = mbedtls_ct_memcmp(again, c->pw_first, sizeof(again)) == 0;
	int e = same ? config_set(c->env->settings, "console_password", line, err, sizeof(err)) : 0;
	mbedtls_platform_zeroize(c->pw_first, sizeof(c->pw_first));
	mbedtls_platform_zeroize(again, sizeof(again));
	if (!same) {
		console_puts(o, "error: the two entries differ; password not changed\n");
		return CONSOLE_EINVAL;
	}
	if (!e)
		e = config_save(c->env->settings);
	if (e) {
		console_printf(o, "error: password not saved (%d)\n", e);
		return CONSOLE_EFAIL;
	}
	LOG_INFO("console: password changed");
	console_puts(o, "password changed and saved\n");
	return 0;
}

int console_exec(struct console *c, const char *line, struct console_out *out)
{
	if (c->mode == CONSOLE_MODE_LOGIN)
		return login(c, line, out);
	if (c->mode == CONSOLE_MODE_PASSWD_NEW || c->mode == CONSOLE_MODE_PASSWD_AGAIN)
		return passwd_entry(c, line, out);
	if (c->mode == CONSOLE_MODE_IMPORT)
		return import_line(c, line, out);
	if (c->mode == CONSOLE_MODE_CA_PEM)
		return ca_pem_entry(c, line, out);
	if (!c->authed) {
		console_puts(out, "error: log in first\n");
		return CONSOLE_EACCES;
	}
	static struct args a; /* scratch (a copy of the line): single-threaded */
	if (split(line, &a) != 0) {
		console_printf(out, "error: line longer than %u bytes\n", CONSOLE_LINE_MAX - 1);
		return CONSOLE_EINVAL;
	}
	if (a.argc == 0)
		return 0;
	for (unsigned i = 0; i < NCMDS; i++)
		if (strcmp(a.argv[0], cmds[i].name) == 0)
			return cmds[i].run(c, &a, out);
	console_printf(out, "error: unknown command '%.40s' (help lists the commands)\n", a.argv[0]);
	return CONSOLE_EUNKNOWN;
}
