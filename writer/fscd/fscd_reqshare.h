/* The share of the table that readers' requests may fill (PROTOCOL.md "Requests").
 *
 * The rule: an entry is request-admitted from the request that caches it until it leaves the
 * table or its record changes (an event or a scan publishing something else over it: from then
 * on the watch follows it like any entry fscd found by itself). At most `limit` entries are
 * request-admitted; caching one more first takes the oldest out (FIFO): it is removed from the
 * table if its record is still the one the request stored, else (changed, or already gone) only
 * forgotten here. So the table never holds more than `limit` request-admitted entries, and a
 * flood of distinct names churns only those.
 *
 * What is kept: for each request-admitted path, in admission order, the path, a keyed hash of
 * it and a signature of the record the request stored (kind, device, inode, mode, size, times).
 * Memory: at most `limit` paths; an index of 2 * limit words finds a path re-admitted after
 * CLOCK evicted it, so that its older admission does not remove it again. Loop thread only. */
#ifndef FSCD_REQSHARE_H
#define FSCD_REQSHARE_H

#include <stddef.h>
#include <stdint.h>

#include "fsc_writer.h"

struct fscd_reqshare_entry;

/* Fields are private. */
struct fscd_reqshare {
	struct fscd_reqshare_entry *ring; /* cap entries, oldest at head */
	size_t cap, head, count;
	uint64_t *index; /* (key, seq) pairs: the latest admission of each key; 0 = empty */
	size_t index_mask;
	uint64_t next_seq;
	uint64_t seed;
};

/* The share of a table of this capacity: an eighth, at least min(16, capacity). */
uint64_t fscd_reqshare_limit(uint64_t capacity);

/* seed: keys the path hash (random per process). Empty until the first admission. */
void fscd_reqshare_init(struct fscd_reqshare *s, uint64_t seed);
void fscd_reqshare_free(struct fscd_reqshare *s);
/* Before caching a request's path: makes room for one more within the share of w's capacity
 * (taking the oldest out as described above). 0 or -ENOMEM. */
int fscd_reqshare_make_room(struct fscd_reqshare *s, struct fsc_writer *w);
/* After caching it: remembers path as request-admitted with the record w holds now (nothing if
 * w holds none). 0 or -ENOMEM (then the path is not tracked: one entry over the share). */
int fscd_reqshare_add(struct fscd_reqshare *s, struct fsc_writer *w, const char *path, size_t len);
/* Request-admitted paths remembered (including some that may have left the table since). */
size_t fscd_reqshare_count(const struct fscd_reqshare *s);

#endif
