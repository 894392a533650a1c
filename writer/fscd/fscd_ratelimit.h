/* Per-sender rate limit for readers' caching requests: a token bucket for each uid that
 * sends (the uid comes from the datagram's SCM_CREDENTIALS, which the kernel fills in, so a
 * sender cannot claim another's). Every uid gets rate requests a second with a burst of one
 * second's worth; root gets root_factor times that (more, but never unlimited).
 *
 * Memory is fixed at init: FSCD_RATELIMIT_UIDS buckets. A uid not in the table takes an empty
 * bucket, else the one used least recently, and starts with a full burst. Only root can send
 * as many uids; a forgotten bucket only forgets how much that uid has spent lately.
 * One thread only (fscd's loop); no locking, no allocation after init, no system call. */
#ifndef FSCD_RATELIMIT_H
#define FSCD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FSCD_RATELIMIT_UIDS 64

struct fscd_ratelimit_bucket {
	uid_t uid;
	bool used;
	uint64_t credit_ns; /* time's worth of requests left: each costs cost_ns */
	uint64_t last_ns;   /* when the credit was last brought up to date */
};

/* Fields are private. */
struct fscd_ratelimit {
	struct fscd_ratelimit_bucket bucket[FSCD_RATELIMIT_UIDS];
	uint64_t cost_ns;     /* 1 s / rate */
	unsigned root_factor; /* root's rate and burst, as a multiple */
};

/* rate: requests per second per uid (at least 1); root_factor: root's multiple (at least 1). */
void fscd_ratelimit_init(struct fscd_ratelimit *l, unsigned rate, unsigned root_factor);
/* May uid send one more request at now_ns (CLOCK_MONOTONIC)? true takes it from the bucket. */
bool fscd_ratelimit_take(struct fscd_ratelimit *l, uid_t uid, uint64_t now_ns);

#endif
