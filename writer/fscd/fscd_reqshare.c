/* The share of the table readers' requests may fill (fscd_reqshare.h). */
#define _GNU_SOURCE
#include "fscd_reqshare.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SHARE_DIVISOR 8
#define SHARE_MIN     16u
#define RING_MIN      16u

struct fscd_reqshare_entry {
	char *path;
	size_t len;
	uint64_t key; /* keyed hash of path, never 0 */
	uint64_t sig; /* the record the request stored */
	uint64_t seq; /* admission number: the index names the latest one of each key */
};

uint64_t fscd_reqshare_limit(uint64_t capacity)
{
	uint64_t share = capacity / SHARE_DIVISOR;
	uint64_t floor = capacity < SHARE_MIN ? capacity : SHARE_MIN;
	return share > floor ? share : floor;
}

void fscd_reqshare_init(struct fscd_reqshare *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->next_seq = 1;
}

static struct fscd_reqshare_entry *at(const struct fscd_reqshare *s, size_t i)
{
	return &s->ring[(s->head + i) % s->cap];
}

void fscd_reqshare_free(struct fscd_reqshare *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(at(s, i)->path);
	free(s->ring);
	free(s->index);
	memset(s, 0, sizeof(*s));
}

size_t fscd_reqshare_count(const struct fscd_reqshare *s)
{
	return s->count;
}

/* The index: linear probing over (key, seq) pairs, at most half full. */
static size_t index_find(const struct fscd_reqshare *s, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 32)) & s->index_mask;
	while (s->index[2 * i] != 0 && s->index[2 * i] != key)
		i = (i + 1) & s->index_mask;
	return i;
}

static uint64_t index_get(const struct fscd_reqshare *s, uint64_t key)
{
	size_t i = index_find(s, key);
	return s->index[2 * i] == key ? s->index[2 * i + 1] : 0;
}

static void index_put(struct fscd_reqshare *s, uint64_t key, uint64_t seq)
{
	size_t i = index_find(s, key);
	s->index[2 * i] = key;
	s->index[2 * i + 1] = seq;
}

/* Backward-shift deletion: no tombstones, so probes stay short. */
static void index_del(struct fscd_reqshare *s, uint64_t key)
{
	size_t i = index_find(s, key);
	if (s->index[2 * i] != key)
		return;
	for (size_t j = (i + 1) & s->index_mask; s->index[2 * j] != 0;
	     j = (j + 1) & s->index_mask) {
		uint64_t k = s->index[2 * j];
		size_t home = (size_t)(k ^ (k >> 32)) & s->index_mask;
		/* can k move to the hole at i? only if its home is not in (i, j] (cyclically) */
		if (((j - home) & s->index_mask) >= ((j - i) & s->index_mask)) {
			s->index[2 * i] = k;
			s->index[2 * i + 1] = s->index[2 * j + 1];
			i = j;
		}
	}
	s->index[2 * i] = 0;
	s->index[2 * i + 1] = 0;
}

/* Room for cap entries: a new ring (in admission order) and a new index. */
static int grow(struct fscd_reqshare *s, size_t cap)
{
	size_t slots = 1;
	while (slots < 2 * cap)
		slots <<= 1;
	struct fscd_reqshare_entry *ring = calloc(cap, sizeof(*ring));
	uint64_t *index = calloc(slots, 2 * sizeof(*index));
	if (!ring || !index) {
		free(ring);
		free(index);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->count; i++)
		ring[i] = *at(s, i);
	uint64_t *old_index = s->index;
	size_t old_mask = s->index_mask;
	free(s->ring);
	s->ring = ring;
	s->cap = cap;
	s->head = 0;
	s->index = index;
	s->index_mask = slots - 1;
	for (size_t i = 0; old_index && i <= old_mask; i++)
		if (old_index[2 * i] != 0)
			index_put(s, old_index[2 * i], old_index[2 * i + 1]);
	free(old_index);
	return 0;
}

/* What the table holds for path now, reduced to 64 bits; 0 if nothing. */
static uint64_t record_sig(struct fsc_writer *w, const char *path, size_t len)
{
	struct stat st;
	uint32_t flags = 0;
	if (!fsc_writer_get(w, path, len, &st, &flags))
		return 0;
	uint64_t v[10] = {flags & FSC_REC_NEGATIVE,	(uint64_t)st.st_dev,
			  (uint64_t)st.st_ino,		(uint64_t)st.st_mode,
			  (uint64_t)st.st_size,		(uint64_t)st.st_mtim.tv_sec,
			  (uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ctim.tv_sec,
			  (uint64_t)st.st_ctim.tv_nsec, 1};
	uint64_t sig = XXH3_64bits(v, sizeof(v));
	return sig ? sig : 1;
}

/* Takes the oldest admission out: removes its entry if the table still holds what the
 * request stored and no later admission of the same path took over. */
static void pop_oldest(struct fscd_reqshare *s, struct fsc_writer *w)
{
	struct fscd_reqshare_entry e = *at(s, 0);
	s->head = (s->head + 1) % s->cap;
	s->count--;
	if (index_get(s, e.key) == e.seq) {
		index_del(s, e.key);
		if (record_sig(w, e.path, e.len) == e.sig)
			fsc_writer_remove(w, e.path, e.len);
	}
	free(e.path);
}

static size_t limit_of(const struct fsc_writer *w)
{
	uint64_t limit = fscd_reqshare_limit(fsc_writer_header(w)->capacity);
	return limit > SIZE_MAX / 4 ? SIZE_MAX / 4 : (size_t)limit;
}

int fscd_reqshare_make_room(struct fscd_reqshare *s, struct fsc_writer *w)
{
	size_t limit = limit_of(w);
	while (s->count > 0 && s->count >= limit)
		pop_oldest(s, w);
	if (s->count < s->cap)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : RING_MIN;
	return grow(s, cap < limit ? cap : limit);
}

int fscd_reqshare_add(struct fscd_reqshare *s, struct fsc_writer *w, const char *path, size_t len)
{
	uint64_t sig = record_sig(w, path, len);
	if (sig == 0)
		return 0; /* nothing cached (a symlink, a stat error) */
	if (s->count >= s->cap || s->count >= limit_of(w)) {
		int rc = fscd_reqshare_make_room(s, w);
		if (rc < 0 || s->count >= s->cap)
			return rc < 0 ? rc : -ENOMEM;
	}
	char *copy = strndup(path, len);
	if (!copy)
		return -ENOMEM;
	uint64_t key = XXH3_64bits_withSeed(path, len, s->seed);
	key = key ? key : 1;
	struct fscd_reqshare_entry *e = at(s, s->count);
	*e = (struct fscd_reqshare_entry){
	    .path = copy, .len = len, .key = key, .sig = sig, .seq = s->next_seq++};
	s->count++;
	index_put(s, key, e->seq);
	return 0;
}
