/* dsn — delivery status notifications: an RFC 3464 multipart/report
 * (failed or delayed) about a queued message, streamed into the queue as
 * a new QUEUE_F_BOUNCE message from the null sender to the original
 * sender. Exports dsn_generate, dsn_status, dsn_format_date.
 *
 * Never a bounce for a bounce: a message from the null sender or one that
 * is itself a DSN gets none (DSN_ENULLSENDER / DSN_ELOOP; the caller
 * records the recipient's result and logs a line).
 *
 * The DSN: Date, From: MAILER-DAEMON@<hostname>, To: <sender>, Subject,
 * Message-ID, MIME-Version, Content-Type multipart/report;
 * report-type=delivery-status, Auto-Submitted: auto-replied (RFC 3834);
 * part 1 text/plain for people, part 2 message/delivery-status (RFC 3464:
 * Reporting-MTA, Arrival-Date, per recipient Final-Recipient, Action,
 * Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date,
 * Will-Retry-Until), part 3 text/rfc822-headers: the original header,
 * at most DSN_HDR_MAX bytes of it. All CRLF, 7-bit (other bytes of the
 * original become '?'), every line at most 998 octets (RFC 5322 2.1.1;
 * longer original header lines are folded).
 *
 * How the delivery side uses it (one attempt of message m):
 * - 5xx per recipient: collect them; dsn_generate(DSN_FAILED) once for
 *   all of them, *then* queue_rcpt_result(FAILED) each (the last result
 *   removes m and with it the header part 3 needs). On 0 or
 *   dsn_suppressed(): record FAILED. On QUEUE_EFULL (the bounce reserve
 *   is used up too) record DEFERRED instead and try again at the next
 *   attempt, so a failure is never dropped without its notice.
 * - 4xx: retry_decide(); expired: as 5xx with status RETRY_EXPIRED_STATUS
 *   and the last reply; delay_dsn: dsn_generate(DSN_DELAYED,
 *   will_retry_until = arrival + max_age) for the deferred recipients,
 *   then record DEFERRED with d.next_attempt (a failed warning is only
 *   logged: it is a courtesy, the mail itself is safe).
 * - queue_expire() reports ids through a callback on a const queue:
 *   collect them there, bounce and record afterwards. */
#ifndef DANEGATE_DSN_H
#define DANEGATE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

#define DSN_HDR_MAX 16384  /* bytes of the original header read into part 3 */
#define DSN_HOST_MAX 253   /* our host name (a DNS name) */
#define DSN_LINE_MAX 998   /* octets of one line without CRLF */
#define DSN_DATE_SIZE 32   /* "Sat, 28 Nov 2026 13:36:53 +0000" + NUL */
#define DSN_STATUS_SIZE 12 /* "5.123.123" + NUL, rounded */

enum dsn_err {
	DSN_OK = 0,
	DSN_EINVAL = -22,	/* bad argument: hostname, recipient index, n */
	DSN_ENULLSENDER = -301, /* the original's sender is <>: no DSN by rule */
	DSN_ELOOP = -302,	/* the original is a DSN itself: no DSN by rule */
	/* QUEUE_E* codes of the original or of the new message pass through
	 * (QUEUE_EFULL: not even the bounce reserve had room; try later). */
};

/* True for the two "no DSN by rule" codes: drop the recipient, log it. */
static inline bool dsn_suppressed(int err)
{
	return err == DSN_ENULLSENDER || err == DSN_ELOOP;
}

enum dsn_action {
	DSN_FAILED,  /* returned: "Undelivered Mail Returned to Sender" */
	DSN_DELAYED, /* warning: "Delayed Mail (still being retried)" */
};

/* One recipient of the original the report is about. Strings are
 * borrowed for the call and may be NULL; each is cut to its bound. */
struct dsn_rcpt {
	unsigned index;		/* recipient index in the original (queue_msg_rcpt) */
	const char *status;	/* "5.1.1"; NULL: from reply's enhanced code. dsn_status
				 * fixes the class to the action (4.4.7 -> 5.4.7) */
	const char *reply;	/* the remote reply "550 5.1.1 no such user" (smtp
				 * diagnostic) or our own reason; <= QUEUE_REASON_MAX used */
	const char *remote_mta; /* host name of the peer; NULL/"" unknown */
	uint64_t last_attempt;	/* wall seconds; 0: never tried (field left out) */
};

struct dsn_info {
	enum dsn_action action;	   /* for every recipient of this report */
	const char *hostname;	   /* our name: Reporting-MTA, From, Message-ID */
	uint64_t now;		   /* wall seconds (UTC) for Date: and Message-ID */
	uint64_t will_retry_until; /* DSN_DELAYED: arrival + max age; 0: left out */
	uint32_t rnd;		   /* random: Message-ID and MIME boundary */
};

/* Writes the report about n (1..QUEUE_MAX_RCPT) recipients of message
 * orig_id and commits it: on 0, *new_id is the DSN, queued with flags
 * QUEUE_F_BOUNCE (it may use the bounce reserve), sender "" and one
 * recipient, the original sender. w is the caller's writer (about 2 KB;
 * free again on return whatever the result). Stack: about 2.7 KB
 * (2.6 KB measured, Cortex-A15 -Os: one output line, one address and
 * the original's queue_msg_info).
 * Returns DSN_ENULLSENDER / DSN_ELOOP without writing anything, DSN_EINVAL,
 * or a QUEUE_E* code (nothing queued). A content read error of the
 * original only shortens part 3: the sender still learns what happened. */
int dsn_generate(struct queue *q, uint32_t orig_id, const struct dsn_rcpt *rcpts, unsigned n,
		 const struct dsn_info *info, struct queue_writer *w, uint32_t *new_id);

/* The Status: value for a recipient: explicit (if it is a valid RFC 3463
 * code) or the enhanced code at the start of the reply's text
 * ("550 5.1.1 ..."), else 5.0.0 / 4.0.0; the class follows the action
 * (failed: 5, delayed: 4). out: DSN_STATUS_SIZE bytes. */
void dsn_status(enum dsn_action action, const char *status, const char *reply, char *out);

/* RFC 5322 date-time in UTC, "Sat, 28 Nov 2026 13:36:53 +0000" (no
 * locale, no strftime). Returns the length, or DSN_EINVAL if size is
 * below DSN_DATE_SIZE. Years up to 9999. */
int dsn_format_date(uint64_t t, char *buf, size_t size);

#endif
