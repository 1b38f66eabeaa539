/* inbound — the LAN side of the relay: listeners, a bounded set of SMTP
 * sessions, each an smtp_server engine on a port.h socket with optional
 * STARTTLS, whose messages stream into the flash queue. `250` is sent
 * only once the message is committed and the flash synced: sessions that
 * finish a message in the same event-loop round share one sync (group
 * commit), and their output is held until it returned.
 * Exports inbound_start(), inbound_tick(), inbound_stats(). */
#ifndef DANEGATE_INBOUND_H
#define DANEGATE_INBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "queue/queue.h"
#include "smtp/smtp_server.h"
#include "tls/tls.h"

/* Concurrent SMTP sessions the board has RAM for (board.mk may set it:
 * host 32); the setting smtp_max_sessions picks at most this many, then
 * 421 4.3.2. */
#define INBOUND_LOG_FROM 96 /* sender bytes kept per session for the log */

#ifndef INBOUND_MAX_SESSIONS
#define INBOUND_MAX_SESSIONS 4
#endif
_Static_assert(INBOUND_MAX_SESSIONS >= 1 && INBOUND_MAX_SESSIONS + 2 <= QUEUE_MAX_WRITERS,
	       "every session holds a queue writer, and DSNs need one too");
#define INBOUND_RELAY_NETS 16	  /* relay_networks entries */
#define INBOUND_USERS 8		  /* AUTH users */
#define INBOUND_IN_BUF 512	  /* input read per event, fed to the engine */
#define INBOUND_HANDSHAKE_MS 60000 /* STARTTLS handshake must finish within */

struct inbound_user {
	char name[SMTP_AUTH_FIELD_MAX + 1];
	char pass[SMTP_AUTH_FIELD_MAX + 1];
};

struct inbound_config {
	struct smtp_server_config smtp; /* relay_nets point at relay_nets[] */
	struct smtp_cidr relay_nets[INBOUND_RELAY_NETS];
	struct inbound_user users[INBOUND_USERS];
	unsigned nusers;
	uint16_t port;
	struct port_addr listen; /* family NONE: every address, IPv4 and IPv6 */
	char hostname[SMTP_HOST_MAX + 1];
};

struct inbound_stats {
	uint32_t sessions, refused_busy, accepted_msgs, tls_handshakes, tls_failures;
	uint32_t active;
};

/* Parses "a/b, c/d ..." into cfg->relay_nets. 0, or the index+1 of the
 * first bad entry negated. */
int inbound_parse_relay_nets(struct inbound_config *cfg, const char *text);
/* Parses "user:pass user2:pass2" into cfg->users. 0 or negative. */
int inbound_parse_users(struct inbound_config *cfg, const char *text);

/* Listens on cfg->port (IPv4 and IPv6). cred may be NULL (no STARTTLS);
 * else STARTTLS presents the live credential (tls_live_set, which must
 * have been called). cfg, q and cred must outlive the relay. 0 if at least one listener is up. */
int inbound_start(const struct inbound_config *cfg, struct queue *q, struct tls_cred *cred);
/* Timeouts; call at least once a second. */
void inbound_tick(uint64_t now_ms);
void inbound_stats(struct inbound_stats *st);

#endif
