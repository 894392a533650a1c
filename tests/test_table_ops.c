/* Insert, update, delete, negative entries and tombstone reuse, seen through libfsc. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_util.h"

/* Read a counter now. Never keep a header pointer across writer calls: a put may compact the
 * table into a new object and unmap the old one. */
#define CTR(w, c) (fsc_writer_header(w)->counters[c])

struct fixture {
	char name[64];
	struct fsc_writer *w;
	fsc_t *c;
};

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_name(f.name, sizeof(f.name), "ops");
	f.w = fsc_test_writer(f.name, 64);
	f.c = fsc_open(f.name);
	assert_non_null(f.c);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_close(f->c);
	fsc_writer_close(f->w);
	return 0;
}

static int put(struct fsc_writer *w, const char *path, uint64_t id, uint64_t v)
{
	struct stat st;
	fsc_test_fake_stat(&st, id, v);
	return fsc_writer_put(w, path, strlen(path), &st, 0);
}

static void test_insert_then_hit(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f->w, "/var/log/syslog", 1, 5), 0);
	struct stat st, want;
	struct fsc_info info;
	assert_int_equal(fsc_lookup(f->c, "/var/log/syslog", &st, &info), FSC_HIT);
	fsc_test_fake_stat(&want, 1, 5);
	const char *why;
	assert_true(fsc_test_stat_equal(&st, &want, &why));
	assert_int_equal(info.flags, 0);
	assert_true(info.change_seq > 0);
	assert_true(info.verified_ns > 0);
	assert_int_equal(info.generation, fsc_writer_header(f->w)->generation);
}

static void test_update_in_place(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f->w, "/a/b", 2, 1), 0);
	int64_t slot = fsc_writer_slot_of(f->w, "/a/b", 4);
	struct fsc_info i1, i2;
	struct stat st;
	assert_int_equal(fsc_lookup(f->c, "/a/b", &st, &i1), FSC_HIT);
	assert_int_equal(put(f->w, "/a/b", 2, 9), 0);
	assert_int_equal(fsc_writer_slot_of(f->w, "/a/b", 4), slot);
	assert_int_equal(fsc_lookup(f->c, "/a/b", &st, &i2), FSC_HIT);
	assert_int_equal(st.st_size, 9 * 4096 + 2);
	assert_true(i2.change_seq > i1.change_seq);
}

/* Re-verifying a file that did not change is not a change: same change_seq, fresher
 * verified_ns (the backstop and overflow recovery re-verify everything). */
static void test_unchanged_put_only_refreshes_verified_time(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f->w, "/same", 8, 2), 0);
	struct fsc_info a, b;
	assert_int_equal(fsc_lookup(f->c, "/same", NULL, &a), FSC_HIT);
	uint64_t seq = fsc_writer_header(f->w)->change_seq;
	uint64_t updates = CTR(f->w, FSC_CTR_UPDATES);
	assert_int_equal(put(f->w, "/same", 8, 2), 0);
	assert_int_equal(fsc_lookup(f->c, "/same", NULL, &b), FSC_HIT);
	assert_int_equal(b.change_seq, a.change_seq);
	assert_true(b.verified_ns > a.verified_ns);
	assert_int_equal(fsc_writer_header(f->w)->change_seq, seq);
	assert_int_equal(CTR(f->w, FSC_CTR_UPDATES), updates);
	assert_int_equal(put(f->w, "/same", 8, 3), 0); /* a real change is one */
	assert_int_equal(fsc_lookup(f->c, "/same", NULL, &b), FSC_HIT);
	assert_true(b.change_seq > a.change_seq);
}

static void test_miss_and_prefix_is_not_a_hit(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f->w, "/x/longer-name", 3, 1), 0);
	assert_int_equal(fsc_lookup(f->c, "/x/longer-nam", NULL, NULL), FSC_MISS);
	assert_int_equal(fsc_lookup(f->c, "/x/longer-name2", NULL, NULL), FSC_MISS);
	assert_int_equal(fsc_lookup(f->c, "/nothing/here", NULL, NULL), FSC_MISS);
}

static void test_uncacheable_paths_miss(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f->w, "/d/f", 4, 1), 0);
	/* the same file spelled differently is not answered from the table */
	const char *spellings[] = {"d/f", "/d//f", "/d/./f", "/d/../d/f", "/d/f/", ""};
	for (size_t i = 0; i < sizeof(spellings) / sizeof(*spellings); i++)
		assert_int_equal(fsc_lookup(f->c, spellings[i], NULL, NULL), FSC_MISS);
	assert_int_equal(fsc_writer_put(f->w, "/d/./f", 6, &(struct stat){0}, 0), -EINVAL);
	char longp[600];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	uint64_t before = fsc_writer_header(f->w)->counters[FSC_CTR_UNCACHEABLE];
	assert_int_equal(put(f->w, longp, 5, 1), -ENAMETOOLONG);
	assert_int_equal(fsc_writer_header(f->w)->counters[FSC_CTR_UNCACHEABLE], before + 1);
	assert_int_equal(fsc_lookup(f->c, longp, NULL, NULL), FSC_MISS);
}

static void test_negative_entry(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(put(f->w, "/gone", 6, 1), 0);
	assert_int_equal(fsc_writer_put_negative(f->w, "/gone", 5), 0);
	struct fsc_info info;
	assert_int_equal(fsc_lookup(f->c, "/gone", NULL, &info), FSC_NEGATIVE);
	assert_true(info.flags & FSC_FLAG_NEGATIVE);
	/* fsc_stat answers a negative entry as stat(2) would, without calling it */
	struct stat st;
	errno = 0;
	assert_int_equal(fsc_stat(f->c, "/gone", &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_remove_then_reinsert_reuses_tombstone(void **state)
{
	struct fixture *f = *state;
	/* Find two keys with the same home slot so that removing the first leaves a tombstone
	 * (its successor is live) that the next insert into that chain must reuse. */
	const struct fsc_shm_layout *l = fsc_writer_layout(f->w);
	char a[32], b[32], c[32];
	uint64_t home = UINT64_MAX;
	int found = 0;
	for (int i = 0; i < 100000 && found < 3; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/chain/%d", i);
		uint64_t hh = fsc_shm_hash(l->hash_seed, p, strlen(p)) & l->mask;
		if (home == UINT64_MAX)
			home = hh;
		if (hh != home)
			continue;
		strcpy(found == 0 ? a : found == 1 ? b : c, p);
		found++;
	}
	assert_int_equal(found, 3);
	assert_int_equal(put(f->w, a, 10, 1), 0);
	assert_int_equal(put(f->w, b, 11, 1), 0);
	int64_t slot_a = fsc_writer_slot_of(f->w, a, strlen(a));
	uint64_t tombs = CTR(f->w, FSC_CTR_TOMBSTONES);
	assert_int_equal(fsc_writer_remove(f->w, a, strlen(a)), 0);
	assert_int_equal(CTR(f->w, FSC_CTR_TOMBSTONES), tombs + 1);
	assert_int_equal(fsc_lookup(f->c, a, NULL, NULL), FSC_MISS);
	/* b sits after the tombstone: still found */
	assert_int_equal(fsc_lookup(f->c, b, NULL, NULL), FSC_HIT);
	assert_int_equal(put(f->w, c, 12, 1), 0);
	assert_int_equal(fsc_writer_slot_of(f->w, c, strlen(c)), slot_a);
	assert_int_equal(CTR(f->w, FSC_CTR_TOMBSTONES), tombs);
	assert_int_equal(fsc_lookup(f->c, c, NULL, NULL), FSC_HIT);
	assert_int_equal(fsc_writer_remove(f->w, a, strlen(a)), -ENOENT);
}

/* Invariant 3 (PROTOCOL.md): no tombstone is ever followed by an EMPTY slot, so once every
 * key is removed, whatever the order and the (random) hash seed, no tombstone is left. */
static void test_trailing_tombstones_become_empty(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "trail");
	struct fsc_writer *w = fsc_test_writer(name, 64);
	char p[32];
	for (int i = 0; i < 24; i++) { /* < 32 tombstones ever: no compaction */
		snprintf(p, sizeof(p), "/solo/%d", i);
		assert_int_equal(put(w, p, 20 + (uint64_t)i, 1), 0);
	}
	for (int i = 0; i < 24; i++) { /* < 32 tombstones ever: no compaction */
		snprintf(p, sizeof(p), "/solo/%d", (i * 7) % 24); /* an order unrelated to chains */
		assert_int_equal(fsc_writer_remove(w, p, strlen(p)), 0);
	}
	assert_int_equal(CTR(w, FSC_CTR_ENTRIES), 0);
	assert_int_equal(CTR(w, FSC_CTR_TOMBSTONES), 0);
	assert_int_equal(CTR(w, FSC_CTR_REBUILDS), 0); /* emptied by invariant 3, not compaction */
	fsc_writer_close(w);
}

/* Churn at capacity would fill the table with tombstones (they become EMPTY only at the end
 * of a chain): the writer compacts by publishing a replacement, and readers follow it. */
static void test_churn_compacts_tombstones(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "compact");
	struct fsc_writer *w = fsc_test_writer(name, 32); /* 64 slots */
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	assert_int_equal(put(w, "/keep", 99, 1), 0);
	uint64_t gen = fsc_writer_header(w)->generation;
	char p[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "/churn/%d", i);
		assert_int_equal(put(w, p, (uint64_t)i, 1), 0);
		if (i % 3 == 0)
			assert_int_equal(fsc_writer_remove(w, p, strlen(p)), 0);
		const struct fsc_shm_header *h = fsc_writer_header(w);
		/* never more than a quarter of the slots are tombstones for long */
		assert_true(CTR(w, FSC_CTR_TOMBSTONES) <= h->slot_count / 4);
	}
	const struct fsc_shm_header *h = fsc_writer_header(w);
	assert_true(h->counters[FSC_CTR_REBUILDS] > 0);
	assert_true(h->generation != gen);
	/* the reader followed the replacements; what is live is found, what was removed is not */
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, "/churn/1999", NULL, &info), FSC_HIT);
	assert_int_equal(info.generation, h->generation);
	assert_int_equal(fsc_lookup(c, "/churn/1997", NULL, NULL), FSC_HIT);
	assert_int_equal(fsc_lookup(c, "/churn/1998", NULL, NULL), FSC_MISS); /* removed */
	fsc_close(c);
	fsc_writer_close(w);
}

static void test_stat_falls_back_when_not_cached(void **state)
{
	struct fixture *f = *state;
	struct stat a, b;
	assert_int_equal(fsc_stat(f->c, "/", &a), 0); /* a miss: real stat(2) */
	assert_int_equal(stat("/", &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(fsc_stat(NULL, "/", &a), 0); /* no handle: plain stat(2) */
	assert_int_equal(fsc_lookup(NULL, "/", NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_open_errors(void **state)
{
	(void)state;
	assert_null(fsc_open("no_such_table_here"));
	assert_int_equal(errno, ENOENT);
	assert_null(fsc_open("../etc/passwd"));
	assert_int_equal(errno, EINVAL);
	assert_null(fsc_open(""));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_insert_then_hit),
	    cmocka_unit_test(test_update_in_place),
	    cmocka_unit_test(test_unchanged_put_only_refreshes_verified_time),
	    cmocka_unit_test(test_miss_and_prefix_is_not_a_hit),
	    cmocka_unit_test(test_uncacheable_paths_miss),
	    cmocka_unit_test(test_negative_entry),
	    cmocka_unit_test(test_remove_then_reinsert_reuses_tombstone),
	    cmocka_unit_test(test_trailing_tombstones_become_empty),
	    cmocka_unit_test(test_churn_compacts_tombstones),
	    cmocka_unit_test(test_stat_falls_back_when_not_cached),
	    cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
