/* Hashing and linear probing: colliding chains, the max_probe bound with probe evictions, and
 * that only a full path compare (never the hash alone) makes a hit. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_seqlock.h"
#include "fsc_shm_table.h"
#include "fsc_test_util.h"

#define MAX_KEYS 16

static void test_hash_deterministic_and_seeded(void **state)
{
	(void)state;
	const char *p = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	size_t n = strlen(p);
	char copy[64];
	memcpy(copy, p, n + 1);
	assert_int_equal(fsc_shm_hash(42, p, n), fsc_shm_hash(42, copy, n));
	assert_true(fsc_shm_hash(42, p, n) != fsc_shm_hash(43, p, n));
	assert_true(fsc_shm_hash(0, p, n) != fsc_shm_hash(1ull << 63, p, n));
	/* the length is part of the input: a prefix, or the same bytes plus a NUL, differ */
	assert_true(fsc_shm_hash(42, p, n) != fsc_shm_hash(42, p, n - 1));
	assert_true(fsc_shm_hash(42, p, n) != fsc_shm_hash(42, p, n + 1));
	/* 100 seeds give 100 different hashes of one path */
	uint64_t seen[100];
	for (int i = 0; i < 100; i++) {
		seen[i] = fsc_shm_hash((uint64_t)i * 0x9e3779b97f4a7c15ull, p, n);
		for (int j = 0; j < i; j++)
			assert_true(seen[i] != seen[j]);
	}
}

static void test_hash_covers_every_byte(void **state)
{
	(void)state;
	/* lengths on both sides of XXH3's internal size classes */
	static const size_t lens[] = {1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1000, 4184};
	static unsigned char buf[4184];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 31 + 7);
	for (size_t li = 0; li < sizeof(lens) / sizeof(*lens); li++) {
		size_t n = lens[li];
		uint64_t base = fsc_shm_hash(7, buf, n);
		size_t step = n > 300 ? 13 : 1; /* every byte of short keys, a sample of long */
		for (size_t i = 0; i < n; i += step) {
			for (int bit = 0; bit<8; bit += n> 300 ? 3 : 1) {
				buf[i] ^= (unsigned char)(1u << bit);
				uint64_t h = fsc_shm_hash(7, buf, n);
				buf[i] ^= (unsigned char)(1u << bit);
				if (h == base)
					fail_msg("len %zu: flipping byte %zu bit %d keeps the hash",
						 n, i, bit);
			}
		}
		/* the last byte always */
		buf[n - 1] ^= 0x80;
		assert_true(fsc_shm_hash(7, buf, n) != base);
		buf[n - 1] ^= 0x80;
	}
}

/* Finds count distinct keys "/<tag>/<i, 7 digits>" (so all of one length) homed at home. */
static void colliding_keys(const struct fsc_shm_layout *l, const char *tag, uint64_t home,
			   char keys[][32], int count)
{
	int found = 0;
	for (int i = 0; i < 10000000 && found < count; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/%s/%07d", tag, i);
		if ((fsc_shm_hash(l->hash_seed, p, strlen(p)) & l->mask) == home)
			strcpy(keys[found++], p);
	}
	assert_int_equal(found, count);
}

static int put(struct fsc_writer *w, const char *path, uint64_t id)
{
	struct stat st;
	fsc_test_fake_stat(&st, id, 1);
	return fsc_writer_put(w, path, strlen(path), &st, 0);
}

static uint64_t distance(const struct fsc_shm_layout *l, int64_t slot, uint64_t home)
{
	return ((uint64_t)slot - home) & l->mask;
}

/* The writer and reader of one test, closed by the teardown even when the test fails. */
struct tables {
	struct fsc_writer *w;
	fsc_t *c;
};

static int tables_setup(void **state)
{
	static struct tables t;
	memset(&t, 0, sizeof(t));
	*state = &t;
	return 0;
}

static int tables_teardown(void **state)
{
	struct tables *t = *state;
	fsc_close(t->c);
	fsc_writer_close(t->w);
	memset(t, 0, sizeof(*t));
	return 0;
}

/* A 64-entry table named after tag (max_probe 0: the default) and a reader on it, kept in the
 * test's state for the teardown; returns the table's layout. */
static const struct fsc_shm_layout *tables_open(void **state, const char *tag, uint32_t max_probe,
						struct fsc_writer **w, fsc_t **c)
{
	struct tables *t = *state;
	char name[64];
	fsc_test_name(name, sizeof(name), tag);
	struct fsc_writer_opts o = {
	    .name = name, .capacity = 64, .max_probe = max_probe, .group = (gid_t)-1};
	t->w = fsc_test_writer_with(&o);
	t->c = fsc_open(name);
	assert_non_null(t->c);
	*w = t->w;
	*c = t->c;
	return fsc_writer_layout(t->w);
}

static void test_colliding_chain(void **state)
{
	struct fsc_writer *w;
	fsc_t *c;
	const struct fsc_shm_layout *l = tables_open(state, "chain", 0, &w, &c);
	uint64_t home = l->mask - 3; /* the chain wraps around the end of the slot array */
	char keys[MAX_KEYS][32];
	colliding_keys(l, "c", home, keys, 12);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(put(w, keys[i], 100 + (uint64_t)i), 0);
		/* an empty table: each key takes the next slot of the chain */
		int64_t slot = fsc_writer_slot_of(w, keys[i], strlen(keys[i]));
		assert_true(slot >= 0);
		assert_int_equal(distance(l, slot, home), i);
	}
	for (int i = 0; i < 12; i++) {
		struct stat st;
		assert_int_equal(fsc_lookup(c, keys[i], &st, NULL), FSC_HIT);
		assert_true(fsc_test_fake_stat_consistent(&st, 100 + (uint64_t)i));
		int64_t slot = fsc_writer_slot_of(w, keys[i], strlen(keys[i]));
		assert_true(distance(l, slot, home) < l->max_probe);
	}
	/* a key of the same home that is absent: probes the whole chain, ends at EMPTY */
	char absent[1][32];
	colliding_keys(l, "absent", home, absent, 1);
	assert_int_equal(fsc_lookup(c, absent[0], NULL, NULL), FSC_MISS);
	/* removing a key in the middle leaves a tombstone: the rest of the chain is found */
	assert_int_equal(fsc_writer_remove(w, keys[5], strlen(keys[5])), 0);
	assert_int_equal(fsc_lookup(c, keys[5], NULL, NULL), FSC_MISS);
	for (int i = 6; i < 12; i++)
		assert_int_equal(fsc_lookup(c, keys[i], NULL, NULL), FSC_HIT);
}

static void test_small_max_probe_bounds_placement(void **state)
{
	struct fsc_writer *w;
	fsc_t *c;
	const struct fsc_shm_layout *l = tables_open(state, "probe", 4, &w, &c);
	const struct fsc_shm_header *h = fsc_writer_header(w);
	assert_int_equal(l->max_probe, 4);
	assert_int_equal(h->max_probe, 4);
	uint64_t home = 17;
	char keys[MAX_KEYS][32];
	colliding_keys(l, "p", home, keys, 10);
	for (int i = 0; i < 10; i++) {
		uint64_t before = h->counters[FSC_CTR_PROBE_EVICTIONS];
		assert_int_equal(put(w, keys[i], 200 + (uint64_t)i), 0);
		uint64_t after = h->counters[FSC_CTR_PROBE_EVICTIONS];
		/* the first four fill the window; every later one evicts inside it */
		assert_int_equal(after - before, i < 4 ? 0 : 1);
		int64_t slot = fsc_writer_slot_of(w, keys[i], strlen(keys[i]));
		assert_true(slot >= 0);
		assert_true(distance(l, slot, home) < 4);
		assert_int_equal(fsc_lookup(c, keys[i], NULL, NULL), FSC_HIT);
		/* the window never holds more than four of these keys, each within it */
		int live = 0;
		for (int j = 0; j <= i; j++) {
			int64_t s = fsc_writer_slot_of(w, keys[j], strlen(keys[j]));
			if (s < 0) {
				assert_int_equal(fsc_lookup(c, keys[j], NULL, NULL), FSC_MISS);
				continue;
			}
			live++;
			assert_true(distance(l, s, home) < 4);
			assert_int_equal(fsc_lookup(c, keys[j], NULL, NULL), FSC_HIT);
		}
		assert_int_equal(live, i < 4 ? i + 1 : 4);
	}
	assert_int_equal(h->counters[FSC_CTR_PROBE_EVICTIONS], 6);
	assert_int_equal(h->counters[FSC_CTR_ENTRIES], 4);
	/* the slot just past the window stayed EMPTY: nothing was placed beyond max_probe */
	const struct fsc_shm_slot *beyond = fsc_shm_slot_at(h, l, home + 4);
	assert_int_equal(fsc_shm_meta_state(beyond->meta), FSC_SLOT_EMPTY);
}

/* Stores into a slot of the writer's own (writable) mapping under the slot's seqlock. */
static void slot_store_path_word(struct fsc_writer *w, int64_t idx, uint32_t word, uint64_t v)
{
	const struct fsc_shm_slot *cs =
	    fsc_shm_slot_at(fsc_writer_header(w), fsc_writer_layout(w), (uint64_t)idx);
	struct fsc_shm_slot *s = (struct fsc_shm_slot *)(uintptr_t)cs;
	uint64_t seq = fsc_shm_seqlock_write_begin(&s->seq);
	atomic_store_explicit(&s->path[word], v, memory_order_relaxed);
	fsc_shm_seqlock_write_end(&s->seq, seq);
}

static void test_hash_match_is_not_a_hit(void **state)
{
	struct fsc_writer *w;
	fsc_t *c;
	const struct fsc_shm_layout *l = tables_open(state, "hcoll", 0, &w, &c);
	/* same length, same home, different bytes: probes the slot, compares, misses */
	char keys[2][32];
	colliding_keys(l, "s", 40, keys, 2);
	assert_int_equal(strlen(keys[0]), strlen(keys[1]));
	assert_int_equal(put(w, keys[0], 300), 0);
	assert_int_equal(fsc_lookup(c, keys[0], NULL, NULL), FSC_HIT);
	assert_int_equal(fsc_lookup(c, keys[1], NULL, NULL), FSC_MISS);

	/* A true 64-bit collision: make the slot of "/hc/abcdefgh" hold the path
	 * "/hc/abcdefgX" while keeping the hash of the original. A lookup of the original
	 * then finds hash and length equal and must still miss on the path bytes; the
	 * stored spelling misses too (its own hash points elsewhere or differs). */
	const char orig[16] = "/hc/abcdefgh";
	size_t n = strlen(orig);
	assert_int_equal(put(w, orig, 301), 0);
	int64_t idx = fsc_writer_slot_of(w, orig, n);
	assert_true(idx >= 0);
	assert_int_equal(fsc_lookup(c, orig, NULL, NULL), FSC_HIT);
	uint64_t word;
	char forged[16] = "/hc/abcdefgX";
	memcpy(&word, forged + 8, 8);
	slot_store_path_word(w, idx, 1, word);
	assert_int_equal(fsc_lookup(c, orig, NULL, NULL), FSC_MISS);
	assert_int_equal(fsc_lookup(c, forged, NULL, NULL), FSC_MISS);
	/* restoring the byte restores the hit: the miss was the path compare */
	memcpy(&word, orig + 8, 8);
	slot_store_path_word(w, idx, 1, word);
	assert_int_equal(fsc_lookup(c, orig, NULL, NULL), FSC_HIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_deterministic_and_seeded),
	    cmocka_unit_test(test_hash_covers_every_byte),
	    cmocka_unit_test_setup_teardown(test_colliding_chain, tables_setup, tables_teardown),
	    cmocka_unit_test_setup_teardown(test_small_max_probe_bounds_placement, tables_setup,
					    tables_teardown),
	    cmocka_unit_test_setup_teardown(test_hash_match_is_not_a_hit, tables_setup,
					    tables_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
