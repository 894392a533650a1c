/* The doorkeeper that admits a path on its second request within a window (fscd_admit.h). */
#define _GNU_SOURCE
#include "fscd_admit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SET_BYTES (FSCD_ADMIT_WAYS * sizeof(struct fscd_admit_entry))

_Static_assert(SET_BYTES == 64, "one set is one cache line");

int fscd_admit_init(struct fscd_admit *a, size_t entries, uint64_t window_ns)
{
	memset(a, 0, sizeof(*a));
	if (entries < FSCD_ADMIT_WAYS || (entries & (entries - 1)) != 0 ||
	    entries > SIZE_MAX / sizeof(struct fscd_admit_entry))
		return -EINVAL;
	size_t bytes = entries * sizeof(struct fscd_admit_entry);
	a->entries = aligned_alloc(SET_BYTES, bytes);
	if (!a->entries)
		return -ENOMEM;
	memset(a->entries, 0, bytes);
	a->set_mask = entries / FSCD_ADMIT_WAYS - 1;
	a->window_ns = window_ns;
	return 0;
}

void fscd_admit_free(struct fscd_admit *a)
{
	free(a->entries);
	memset(a, 0, sizeof(*a));
}

static uint64_t age_ns(uint64_t seen_ns, uint64_t now_ns)
{
	return now_ns > seen_ns ? now_ns - seen_ns : 0; /* a clock step back counts as now */
}

static struct fscd_admit_entry *set_of(const struct fscd_admit *a, uint64_t tag)
{
	/* fold the high half in: callers' hashes may also pick a table slot from the low bits */
	uint64_t set = (tag ^ (tag >> 32)) & a->set_mask;
	return &a->entries[set * FSCD_ADMIT_WAYS];
}

/* The way to overwrite for a new key: an empty one, else the oldest first-seen time. */
static struct fscd_admit_entry *victim_way(struct fscd_admit_entry *set, uint64_t now_ns)
{
	struct fscd_admit_entry *oldest = &set[0];
	for (int i = 0; i < FSCD_ADMIT_WAYS; i++) {
		if (set[i].tag == 0)
			return &set[i];
		if (age_ns(set[i].seen_ns, now_ns) > age_ns(oldest->seen_ns, now_ns))
			oldest = &set[i];
	}
	return oldest;
}

bool fscd_admit_request(struct fscd_admit *a, uint64_t key_hash, uint64_t now_ns)
{
	uint64_t tag = key_hash ? key_hash : 1; /* 0 marks an empty way */
	struct fscd_admit_entry *set = set_of(a, tag);
	a->stats.requests++;
	for (int i = 0; i < FSCD_ADMIT_WAYS; i++) {
		if (set[i].tag != tag)
			continue;
		if (age_ns(set[i].seen_ns, now_ns) <= a->window_ns) {
			set[i].tag = 0; /* admitted: the cache holds the key from now on */
			a->stats.admitted++;
			return true;
		}
		set[i].seen_ns = now_ns; /* too late: this request is a new first request */
		a->stats.expired++;
		a->stats.remembered++;
		return false;
	}
	struct fscd_admit_entry *way = victim_way(set, now_ns);
	if (way->tag != 0 && age_ns(way->seen_ns, now_ns) <= a->window_ns)
		a->stats.displaced++;
	way->tag = tag;
	way->seen_ns = now_ns;
	a->stats.remembered++;
	return false;
}

size_t fscd_admit_memory(const struct fscd_admit *a)
{
	return a->entries ? (size_t)(a->set_mask + 1) * SET_BYTES : 0;
}

size_t fscd_admit_remembered(const struct fscd_admit *a)
{
	size_t n = 0;
	if (!a->entries)
		return 0;
	for (uint64_t i = 0; i < (a->set_mask + 1) * FSCD_ADMIT_WAYS; i++)
		n += a->entries[i].tag != 0;
	return n;
}
