/* The private lookup floor; see bench_private_table.h. */
#define _GNU_SOURCE
#include "bench_private_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fsc.h"

/* One slot: the key's hash and length first, so a probe that passes over other keys reads
 * one cache line of each; the key itself lives in the table's own arena. */
struct private_entry {
	uint64_t hash;
	uint32_t len; /* 0: empty slot */
	uint32_t negative;
	size_t key_offset; /* into arena */
	struct stat st;
};

struct bench_private_table {
	struct private_entry *entries;
	uint64_t mask;
	uint64_t seed;
	size_t count, max_entries;
	char *arena;
	size_t arena_used, arena_size;
};

static uint64_t slots_for(size_t max_entries)
{
	uint64_t slots = 64;
	while (slots < 2 * (uint64_t)max_entries)
		slots <<= 1;
	return slots;
}

struct bench_private_table *bench_private_create(size_t max_entries, uint64_t seed)
{
	struct bench_private_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	uint64_t slots = slots_for(max_entries);
	t->entries = calloc(slots, sizeof(*t->entries));
	if (!t->entries) {
		free(t);
		return NULL;
	}
	t->mask = slots - 1;
	t->seed = seed;
	t->max_entries = max_entries;
	return t;
}

void bench_private_destroy(struct bench_private_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->arena);
	free(t);
}

size_t bench_private_slot_count(const struct bench_private_table *t)
{
	return (size_t)t->mask + 1;
}

static int arena_append(struct bench_private_table *t, const char *key, size_t len, size_t *offset)
{
	if (t->arena_used + len > t->arena_size) {
		size_t size = t->arena_size ? t->arena_size : 4096;
		while (size < t->arena_used + len)
			size *= 2;
		char *grown = realloc(t->arena, size);
		if (!grown)
			return -ENOMEM;
		t->arena = grown;
		t->arena_size = size;
	}
	memcpy(t->arena + t->arena_used, key, len);
	*offset = t->arena_used;
	t->arena_used += len;
	return 0;
}

static bool entry_holds(const struct bench_private_table *t, const struct private_entry *e,
			uint64_t hash, const char *path, size_t len)
{
	return e->hash == hash && e->len == len && memcmp(t->arena + e->key_offset, path, len) == 0;
}

int bench_private_put(struct bench_private_table *t, const char *key, const struct stat *st)
{
	size_t len = strlen(key);
	if (len == 0 || len > UINT32_MAX)
		return -EINVAL;
	uint64_t hash = XXH3_64bits_withSeed(key, len, t->seed);
	for (uint64_t i = 0; i <= t->mask; i++) {
		struct private_entry *e = &t->entries[(hash + i) & t->mask];
		if (e->len && entry_holds(t, e, hash, key, len))
			return -EEXIST;
		if (e->len)
			continue;
		if (t->count == t->max_entries)
			return -ENOSPC;
		int rc = arena_append(t, key, len, &e->key_offset);
		if (rc)
			return rc;
		e->hash = hash;
		e->len = (uint32_t)len;
		e->negative = st == NULL;
		if (st)
			e->st = *st;
		t->count++;
		return 0;
	}
	return -ENOSPC;
}

int bench_private_lookup(const struct bench_private_table *t, const char *path, struct stat *st)
{
	size_t len = strlen(path);
	uint64_t hash = XXH3_64bits_withSeed(path, len, t->seed);
	for (uint64_t i = 0; i <= t->mask; i++) {
		const struct private_entry *e = &t->entries[(hash + i) & t->mask];
		if (e->len == 0)
			return FSC_MISS;
		if (!entry_holds(t, e, hash, path, len))
			continue;
		if (e->negative)
			return FSC_NEGATIVE;
		*st = e->st;
		return FSC_HIT;
	}
	return FSC_MISS;
}
