/* The pending set: see fscd_pending.h. */
#define _GNU_SOURCE
#include "fscd_pending.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#define XXH_INLINE_ALL /* one short hash per event: no call into the library */
#include <xxhash.h>

#include "fsc_shm_journal.h"
#include "fscd_log.h"

#define FSCD_PENDING_MIN_SLOTS	 64
#define FSCD_PENDING_MIN_ENTRIES 32
#define FSCD_PENDING_MIN_ARENA	 2048
/* A flushed set keeps at most this much arena (with at most FSCD_PENDING_KEEP entries). */
#define FSCD_PENDING_KEEP_ARENA (FSCD_PENDING_KEEP * (size_t)64)

/* Random, so that no one naming files can make the paths collide (in one process). */
static uint64_t fscd_pending_seed;
static pthread_once_t fscd_pending_seed_once = PTHREAD_ONCE_INIT;

static void fscd_pending_seed_init(void)
{
	if (getrandom(&fscd_pending_seed, sizeof(fscd_pending_seed), GRND_NONBLOCK) !=
	    sizeof(fscd_pending_seed))
		fscd_pending_seed =
		    0x9e3779b97f4a7c15ull; /* a fixed seed only costs hash quality */
}

/* Room for one more path with at most half the slots used. */
static bool fscd_pending_room_slots(struct fscd_pending_set *s)
{
	if (s->count + 1 >= UINT32_MAX)
		return false; /* slots hold 1 + an index in 32 bits */
	if (s->slots && (s->count + 1) * 2 <= s->mask + 1)
		return true;
	size_t n = s->slots ? (s->mask + 1) * 2 : FSCD_PENDING_MIN_SLOTS;
	if (n > SIZE_MAX / sizeof(uint32_t))
		return false;
	uint32_t *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < s->count; i++) {
		size_t j = (size_t)s->entries[i].hash & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(s->slots);
	s->slots = slots;
	s->mask = n - 1;
	return true;
}

/* Room for one more entry, and len + 1 more bytes in the arena. */
static bool fscd_pending_room_path(struct fscd_pending_set *s, size_t len)
{
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : FSCD_PENDING_MIN_ENTRIES;
		if (cap > SIZE_MAX / sizeof(*s->entries))
			return false;
		struct fscd_pending_entry *e = realloc(s->entries, cap * sizeof(*e));
		if (!e)
			return false;
		s->entries = e;
		s->cap = cap;
	}
	if (len >= SIZE_MAX / 4 - s->arena_used)
		return false;
	size_t need = s->arena_used + len + 1;
	if (need > s->arena_size) {
		size_t size = s->arena_size ? s->arena_size * 2 : FSCD_PENDING_MIN_ARENA;
		while (size < need)
			size *= 2;
		char *a = realloc(s->arena, size);
		if (!a)
			return false;
		s->arena = a;
		s->arena_size = size;
	}
	return true;
}

/* The slot holding path, or the empty slot where it goes. */
static size_t fscd_pending_slot(const struct fscd_pending_set *s, const char *path, size_t len,
				uint64_t hash)
{
	for (size_t i = (size_t)hash & s->mask;; i = (i + 1) & s->mask) {
		uint32_t v = s->slots[i];
		if (v == 0)
			return i;
		const struct fscd_pending_entry *e = &s->entries[v - 1];
		if (e->hash == hash && e->len == len && memcmp(s->arena + e->off, path, len) == 0)
			return i;
	}
}

/* Merges what an event saw into what earlier ones did (see FSCD_SEEN_WRITING). */
static uint32_t fscd_pending_merge(uint32_t had, uint32_t seen)
{
	if (seen & FSC_CK_MODIFY)
		had = (had & ~FSCD_SEEN_DONE) | FSCD_SEEN_WRITING;
	if (seen & (FSC_CK_CLOSE_WRITE | FSC_CK_MOVED_TO))
		had = (had & ~FSCD_SEEN_WRITING) | FSCD_SEEN_DONE;
	return had | (seen & FSC_CK_MASK);
}

void fscd_pending_add_len(struct fscd_pending *p, const char *path, size_t len)
{
	fscd_pending_add_seen(p, path, len, 0);
}

void fscd_pending_add_seen(struct fscd_pending *p, const char *path, size_t len, uint32_t seen)
{
	struct fscd_pending_set *s = &p->cur;
	pthread_once(&fscd_pending_seed_once, fscd_pending_seed_init);
	uint64_t hash = XXH3_64bits_withSeed(path, len, fscd_pending_seed);
	if (!fscd_pending_room_slots(s))
		goto nomem;
	size_t i = fscd_pending_slot(s, path, len, hash);
	if (s->slots[i]) { /* already pending: one refresh, all it saw */
		struct fscd_pending_entry *e = &s->entries[s->slots[i] - 1];
		e->seen = fscd_pending_merge(e->seen, seen);
		return;
	}
	if (!fscd_pending_room_path(s, len))
		goto nomem;
	s->entries[s->count] = (struct fscd_pending_entry){
	    .off = s->arena_used, .len = len, .hash = hash, .seen = fscd_pending_merge(0, seen)};
	memcpy(s->arena + s->arena_used, path, len);
	s->arena[s->arena_used + len] = '\0';
	s->arena_used += len + 1;
	s->slots[i] = (uint32_t)++s->count;
	return;
nomem:
	fscd_log(FSCD_LOG_ERROR, "out of memory queueing %s", path);
}

void fscd_pending_add(struct fscd_pending *p, const char *path)
{
	fscd_pending_add_len(p, path, strlen(path));
}

static void fscd_pending_set_free(struct fscd_pending_set *s)
{
	free(s->arena);
	free(s->entries);
	free(s->slots);
	*s = (struct fscd_pending_set){0};
}

/* Empties s, keeping its memory unless it grew big. */
static void fscd_pending_set_empty(struct fscd_pending_set *s)
{
	if (s->cap > FSCD_PENDING_KEEP || s->arena_size > FSCD_PENDING_KEEP_ARENA) {
		fscd_pending_set_free(s);
		return;
	}
	if (s->count * 4 >= s->mask + 1) {
		if (s->slots)
			memset(s->slots, 0, (s->mask + 1) * sizeof(*s->slots));
	} else {
		/* a few paths in many slots: clear just theirs */
		for (size_t i = 0; i < s->count; i++) {
			size_t j = (size_t)s->entries[i].hash & s->mask;
			while (s->slots[j] != i + 1)
				j = (j + 1) & s->mask;
			s->slots[j] = 0;
		}
	}
	s->count = 0;
	s->arena_used = 0;
}

/* One of fn and fn_seen is called for each path. */
static void
fscd_pending_flush_any(struct fscd_pending *p, void (*fn)(void *ctx, const char *path, size_t len),
		       void (*fn_seen)(void *ctx, const char *path, size_t len, uint32_t seen),
		       void *ctx)
{
	/* fn may add paths (a rescan does): they go to a fresh set, for the next flush */
	struct fscd_pending_set batch = p->cur;
	p->cur = p->spare;
	p->spare = (struct fscd_pending_set){0};
	for (size_t i = 0; i < batch.count; i++) {
		const struct fscd_pending_entry *e = &batch.entries[i];
		if (fn_seen)
			fn_seen(ctx, batch.arena + e->off, e->len, e->seen);
		else
			fn(ctx, batch.arena + e->off, e->len);
	}
	fscd_pending_set_empty(&batch);
	fscd_pending_set_free(&p->spare); /* only a flush from within fn leaves one */
	p->spare = batch;
}

void fscd_pending_flush(struct fscd_pending *p, void (*fn)(void *ctx, const char *path, size_t len),
			void *ctx)
{
	fscd_pending_flush_any(p, fn, NULL, ctx);
}

void fscd_pending_flush_seen(struct fscd_pending *p,
			     void (*fn)(void *ctx, const char *path, size_t len, uint32_t seen),
			     void *ctx)
{
	fscd_pending_flush_any(p, NULL, fn, ctx);
}

size_t fscd_pending_count(const struct fscd_pending *p)
{
	return p->cur.count;
}

void fscd_pending_free(struct fscd_pending *p)
{
	fscd_pending_set_free(&p->cur);
	fscd_pending_set_free(&p->spare);
}
