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
	const struct fsc_shm_header *h = fsc_writer_header(f->w);
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
	uint64_t tombs = h->counters[FSC_CTR_TOMBSTONES];
	assert_int_equal(fsc_writer_remove(f->w, a, strlen(a)), 0);
	assert_int_equal(h->counters[FSC_CTR_TOMBSTONES], tombs + 1);
	assert_int_equal(fsc_lookup(f->c, a, NULL, NULL), FSC_MISS);
	/* b sits after the tombstone: still found */
	assert_int_equal(fsc_lookup(f->c, b, NULL, NULL), FSC_HIT);
	assert_int_equal(put(f->w, c, 12, 1), 0);
	assert_int_equal(fsc_writer_slot_of(f->w, c, strlen(c)), slot_a);
	assert_int_equal(h->counters[FSC_CTR_TOMBSTONES], tombs);
	assert_int_equal(fsc_lookup(f->c, c, NULL, NULL), FSC_HIT);
	assert_int_equal(fsc_writer_remove(f->w, a, strlen(a)), -ENOENT);
}

static void test_trailing_tombstones_become_empty(void **state)
{
	struct fixture *f = *state;
	const struct fsc_shm_header *h = fsc_writer_header(f->w);
	uint64_t tombs = h->counters[FSC_CTR_TOMBSTONES];
	uint64_t entries = h->counters[FSC_CTR_ENTRIES];
	/* a key alone at the end of its chain leaves no tombstone behind */
	for (int i = 0; i < 20; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/solo/%d", i);
		assert_int_equal(put(f->w, p, 20 + (uint64_t)i, 1), 0);
	}
	for (int i = 0; i < 20; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/solo/%d", i);
		assert_int_equal(fsc_writer_remove(f->w, p, strlen(p)), 0);
	}
	assert_int_equal(h->counters[FSC_CTR_ENTRIES], entries);
	assert_true(h->counters[FSC_CTR_TOMBSTONES] <= tombs);
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
	    cmocka_unit_test(test_miss_and_prefix_is_not_a_hit),
	    cmocka_unit_test(test_uncacheable_paths_miss),
	    cmocka_unit_test(test_negative_entry),
	    cmocka_unit_test(test_remove_then_reinsert_reuses_tombstone),
	    cmocka_unit_test(test_trailing_tombstones_become_empty),
	    cmocka_unit_test(test_stat_falls_back_when_not_cached),
	    cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
