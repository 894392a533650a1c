/* Admission for on-demand caching: a path readers ask fscd to cache is admitted on its second
 * request within a window, so a one-off scan (a backup or find(1) walking a tree) passes
 * through without displacing the entries readers come back to.
 *
 * The filter is a "doorkeeper": a fixed table of (hash tag, first-seen time) entries, grouped
 * in sets of FSCD_ADMIT_WAYS (one 64-byte cache line per set). A request looks in one set:
 *   - its tag is there and at most window_ns old: admit (true) and clear the entry;
 *   - its tag is there but older than window_ns: start over (remember now, false);
 *   - not there: remember it (false) in an empty way, else in the way holding the oldest
 *     first-seen time (expired entries are always older than live ones).
 *
 * What the caller can rely on, and what it cannot:
 *   - Memory is fixed at init: entries * 16 bytes, whatever the key stream. A request is
 *     O(FSCD_ADMIT_WAYS), allocates nothing and makes no system call.
 *   - False admissions: the tag is the whole 64-bit key_hash, so a first request is admitted
 *     only if another key with the same 64-bit hash was remembered (chance about
 *     remembered / 2^64 per request). Pass a keyed hash (e.g. XXH3-64 with a random
 *     per-process seed, as the table does) so that paths cannot be crafted to collide. A
 *     false admission only caches a path early; it never produces a wrong record.
 *   - Forgetting: a remembered key is dropped once window_ns has passed, or earlier when
 *     FSCD_ADMIT_WAYS newer keys are remembered in its set. With S = entries /
 *     FSCD_ADMIT_WAYS sets and well-mixed hashes, a key survives k other first requests with
 *     probability P[Poisson(k / S) < FSCD_ADMIT_WAYS]: about 86% for k = entries / 2 and 43%
 *     for k = entries. Size entries for the number of distinct first requests expected within
 *     the window. A forgotten key is not lost, only delayed: it needs two more requests.
 *   - Admission clears the entry: the key is in the cache now. If the cache evicts it later,
 *     it again needs two requests within a window to come back.
 *   - Time: now_ns should be monotonic (CLOCK_MONOTONIC). A now_ns earlier than a remembered
 *     time counts as age 0 (within the window).
 *   - One thread only (fscd's main loop); no locking.
 */
#ifndef FSCD_ADMIT_H
#define FSCD_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FSCD_ADMIT_WAYS 4

struct fscd_admit_stats {
	uint64_t requests;   /* calls to fscd_admit_request */
	uint64_t admitted;   /* second request within the window */
	uint64_t remembered; /* first requests stored (including restarts after expiry) */
	uint64_t expired;    /* second request that came after the window */
	uint64_t displaced;  /* keys forgotten before their window ran out (set full) */
};

struct fscd_admit_entry {
	uint64_t tag;	  /* key_hash (0 is stored as 1); 0 = empty way */
	uint64_t seen_ns; /* when the key was first requested */
};

/* Fields other than stats are private. */
struct fscd_admit {
	struct fscd_admit_entry *entries; /* (set_mask + 1) * FSCD_ADMIT_WAYS, cache-line aligned */
	uint64_t set_mask;
	uint64_t window_ns;
	struct fscd_admit_stats stats;
};

/* entries: how many keys the filter can remember; a power of two, at least FSCD_ADMIT_WAYS.
 * window_ns: the longest time between a key's two requests that admits it (inclusive).
 * Returns 0, -EINVAL (bad entries) or -ENOMEM. */
int fscd_admit_init(struct fscd_admit *a, size_t entries, uint64_t window_ns);
void fscd_admit_free(struct fscd_admit *a);

/* A request for the key with this hash at now_ns: true = admit it now (its second request
 * within the window), false = remembered (a first request, or a restart after expiry). */
bool fscd_admit_request(struct fscd_admit *a, uint64_t key_hash, uint64_t now_ns);

/* Bytes held by the filter (constant from init to free). */
size_t fscd_admit_memory(const struct fscd_admit *a);
/* Keys currently remembered, expired or not (a walk over every entry: for stats and tests). */
size_t fscd_admit_remembered(const struct fscd_admit *a);

#endif
