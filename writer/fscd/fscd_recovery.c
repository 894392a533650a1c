/* Getting back to the truth when events were lost or never came.
 *
 * Overflow: the kernel dropped events and queued one IN_Q_OVERFLOW; the only safe recovery is
 * to re-verify everything tracked. Under a sustained storm overflows repeat, and re-verifying
 * on each would keep fscd busy re-verifying forever (Watchman's recrawl loop, #1354). So a
 * re-verification is owed at once the first time, and afterwards no sooner than a backoff
 * that doubles while overflows keep coming (1 s to 60 s) and resets once they stop. An owed
 * re-verification is never dropped: it runs when its time comes, storm or not.
 *
 * Backstop: some changes produce no event at all (writes through mmap, writes through a hard
 * link in an unwatched directory). A slow sweep refreshes every tracked entry in turn, a
 * bounded number per tick, so its cost stays small and flat.
 *
 * This file owns t->recovery. */
#include <inttypes.h>
#include <stdint.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

#define FSCD_BACKOFF_MIN_NS	     1000000000ull
#define FSCD_BACKOFF_MAX_NS	     60000000000ull
#define FSCD_BACKSTOP_SLOTS_PER_TICK 4096 /* slots examined per tick (about once a second) */

void fscd_recovery_note_overflow(struct fscd_tree *t, uint64_t now)
{
	struct fscd_recovery *r = &t->recovery;
	fsc_writer_count(t->w, FSC_CTR_OVERFLOWS, 1);
	if (r->backoff_ns == 0 || now - r->last_overflow_ns > 4 * r->backoff_ns)
		r->backoff_ns = FSCD_BACKOFF_MIN_NS; /* quiet for a while: start over */
	r->last_overflow_ns = now;
	if (r->reverify_due_ns)
		return; /* one re-verification owed covers every overflow before it runs */
	uint64_t earliest = r->last_reverify_ns ? r->last_reverify_ns + r->backoff_ns : now;
	r->reverify_due_ns = earliest > now ? earliest : now;
	if (r->reverify_due_ns > now) {
		fscd_log(FSCD_LOG_WARN,
			 "inotify queue overflowed again: re-verifying everything in %" PRIu64
			 " ms (backing off while the storm lasts)",
			 (r->reverify_due_ns - now) / 1000000);
		if (r->backoff_ns < FSCD_BACKOFF_MAX_NS)
			r->backoff_ns *= 2;
	} else {
		fscd_log(FSCD_LOG_WARN, "inotify queue overflowed: re-verifying everything");
	}
}

void fscd_recovery_run_due(struct fscd_tree *t, uint64_t now)
{
	struct fscd_recovery *r = &t->recovery;
	if (!r->reverify_due_ns || now < r->reverify_due_ns)
		return;
	r->reverify_due_ns = 0;
	r->last_reverify_ns = now;
	fscd_tree_reverify_all(t);
}

void fscd_recovery_backstop(struct fscd_tree *t)
{
	/* A tick examines a bounded run of slots: at most FSCD_BACKSTOP_SLOTS_PER_TICK, about
	 * half of them live, each refreshed by one lstat (an unchanged record costs one word
	 * write). The default table of 32768 slots is swept in 8 ticks. */
	t->recovery.backstop_cursor =
	    fscd_tree_queue_range(t, t->recovery.backstop_cursor, FSCD_BACKSTOP_SLOTS_PER_TICK);
}
