/* libfsc: the lookup path. A hit makes no system call, takes no lock, allocates nothing and
 * stores into shared memory at most once per slot (the hit hint, only when it is clear). */
#define _GNU_SOURCE
#include "fsc_reader.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void hint_mark(const struct fsc_map *m, uint64_t index)
{
	if (!m->hints)
		return;
	_Atomic uint8_t *h = &m->hints[index & m->layout.mask];
	/* Load first and store only when clear: repeat hits leave the cache line shared
	 * instead of bouncing it between cores. relaxed: the hint is advisory for CLOCK. */
	if (!atomic_load_explicit(h, memory_order_relaxed))
		atomic_store_explicit(h, 1, memory_order_relaxed);
}

struct fsc_map *fsc_reader_usable_map(fsc_t *c)
{
	/* acquire: pairs with the release store in fsc_reader_reattach */
	struct fsc_map *m = atomic_load_explicit(&c->current, memory_order_acquire);
	for (int round = 0; round < 2; round++) {
		enum fsc_map_status s = fsc_map_status(m);
		if (s == MAP_OK)
			return m;
		m = fsc_reader_reattach(c, m);
		if (!m)
			return NULL;
	}
	return NULL;
}

static enum fsc_result probe(const struct fsc_map *m, const struct fsc_shm_key *key,
			     uint64_t *index, struct fsc_shm_record *rec, struct stat *st)
{
	const struct fsc_shm_layout *l = &m->layout;
	for (uint32_t i = 0; i < l->max_probe; i++) {
		uint64_t idx = fsc_shm_probe_index(l, key->hash, i);
		switch (fsc_shm_slot_read(fsc_shm_slot_at(m->base, l, idx), key, rec, st, NULL)) {
		case FSC_SLOT_MATCH_FOUND:
			*index = idx;
			return FSC_HIT;
		case FSC_SLOT_MATCH_EMPTY:
			return FSC_MISS;
		case FSC_SLOT_MATCH_BUSY:
			return FSC_UNAVAILABLE;
		case FSC_SLOT_MATCH_OTHER:
			break;
		}
	}
	/* the writer never places a key further than max_probe from its home */
	return FSC_MISS;
}

/* fsc_lookup, and on FSC_HIT and FSC_NEGATIVE the slot that answered (*slot, below
 * *slot_count, the answering table's slot count). Inlined into both entry points. */
static inline int lookup_in(fsc_t *c, const char *path, struct stat *st, struct fsc_info *info,
			    uint64_t *slot, uint64_t *slot_count)
{
	if (!c || !path) {
		errno = EINVAL;
		return -1;
	}
	struct fsc_map *m = fsc_reader_usable_map(c);
	if (!m)
		return FSC_UNAVAILABLE;
	size_t len = strlen(path);
	/* Only the bounds matter here: the writer stores canonical absolute paths only and a hit
	 * needs every byte to match, so "/a//b", "/a/./b" or "a/b" simply miss (and fsc_stat
	 * hands them to stat(2)). Checking canonical form here cost 40% of a hit. */
	if (len == 0 || len > m->layout.path_max || path[0] != '/')
		return FSC_MISS;
	struct fsc_shm_key key;
	fsc_shm_key_init(&key, m->layout.hash_seed, path, len);
	struct fsc_shm_record rec;
	struct stat scratch;
	uint64_t index = 0;
	int r = probe(m, &key, &index, &rec, st ? st : &scratch);
	if (r != FSC_HIT)
		return r;
	hint_mark(m, index);
	if (info) {
		info->change_seq = rec.change_seq;
		info->verified_ns = rec.verified_ns;
		info->generation = m->layout.generation;
		info->flags = rec.flags & FSC_REC_MASK;
		info->reserved = 0;
	}
	if (slot) {
		*slot = index; /* probe indexes are masked already */
		*slot_count = m->layout.slot_count;
	}
	return (rec.flags & FSC_REC_NEGATIVE) ? FSC_NEGATIVE : FSC_HIT;
}

int fsc_lookup(fsc_t *c, const char *path, struct stat *st, struct fsc_info *info)
{
	return lookup_in(c, path, st, info, NULL, NULL);
}

int fsc_reader_lookup_slot(fsc_t *c, const char *path, struct stat *st, struct fsc_info *info,
			   uint64_t *slot, uint64_t *slot_count)
{
	return lookup_in(c, path, st, info, slot, slot_count);
}

/* How old the record is, by the clock fscd stamps verified_ns with (vDSO: no syscall). */
static uint64_t record_age_ns(const struct fsc_info *info)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return now > info->verified_ns ? now - info->verified_ns : 0;
}

/* fsc_stat and fsc_stat_fresh: answer from the table when the record can be trusted. */
static int stat_cached(fsc_t *c, const char *path, struct stat *st, uint64_t max_polled_age_ns)
{
	if (c && path) {
		struct fsc_info info;
		int r = fsc_lookup(c, path, st, &info);
		bool trusted =
		    (r == FSC_HIT || r == FSC_NEGATIVE) && !(info.flags & FSC_FLAG_STALE) &&
		    (!(info.flags & FSC_FLAG_POLLED) || max_polled_age_ns == UINT64_MAX ||
		     record_age_ns(&info) <= max_polled_age_ns);
		if (trusted && r == FSC_HIT)
			return 0;
		if (trusted && r == FSC_NEGATIVE) {
			errno = ENOENT;
			return -1;
		}
		/* ask fscd to cache it: never blocks, and a failure changes nothing */
		if (r == FSC_MISS)
			fsc_request_on_miss(c, path);
	}
	return stat(path, st);
}

int fsc_stat(fsc_t *c, const char *path, struct stat *st)
{
	return stat_cached(c, path, st, UINT64_MAX);
}

int fsc_stat_fresh(fsc_t *c, const char *path, struct stat *st, uint32_t max_age_ms)
{
	return stat_cached(c, path, st, (uint64_t)max_age_ms * 1000000ull);
}

const char *fsc_result_name(int result)
{
	/* every value of both enums has a case: two equal values would not compile */
	switch (result) {
	case FSC_HIT:
		return "hit";
	case FSC_NEGATIVE:
		return "negative";
	case FSC_MISS:
		return "miss";
	case FSC_UNAVAILABLE:
		return "unavailable";
	case FSC_CAUGHT_UP:
		return "caught up";
	case FSC_CHANGE:
		return "change";
	case FSC_CURSOR_LOST:
		return "cursor lost";
	case -1:
		return "error";
	default:
		return "unknown";
	}
}
