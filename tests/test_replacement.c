/* Replacement and takeover: a table is never resized in place but replaced by a new object at
 * the same name. Entries survive with identical records, the old table is marked retired,
 * readers move to the new one on their next call, and closing a writer removes only what is
 * its own. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_map.h"
#include "fsc_shm_table.h"
#include "fsc_test_util.h"

#define NPOS 20
#define NNEG 10

struct fixture {
	char name[64];
	struct fsc_writer *w[2];
	fsc_t *c;
	const struct fsc_shm_header *old; /* our own read-only mapping of a table */
	size_t old_size;
	struct fsc_test_evlog ev;
};

static bool hints_exist(const char *name, uint64_t generation)
{
	char hname[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_hints_name(hname, sizeof(hname), name, generation), 0);
	return access(hname, F_OK) == 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fsc_test_name(f->name, sizeof(f->name), "repl");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_close(f->c);
	for (int i = 0; i < 2; i++)
		fsc_writer_close(f->w[i]);
	if (f->old)
		munmap((void *)f->old, f->old_size);
	int left = fsc_test_shm_leftovers(f->name, true);
	free(f);
	return left ? -1 : 0;
}

static struct fsc_writer *open_writer(struct fixture *f, uint64_t capacity)
{
	return fsc_test_writer_evlog(f->name, capacity, &f->ev);
}

/* Maps whatever table is published at the name now, read-only, to watch its header later. */
static void map_current(struct fixture *f)
{
	struct fsc_shm_mapping m;
	struct fsc_shm_layout l;
	const char *why;
	assert_int_equal(fsc_shm_map_table(f->name, NULL, &m, &l, &why), 0);
	f->old_size = m.size;
	f->old = m.base;
}

static uint32_t state_of(const struct fsc_shm_header *h)
{
	return atomic_load_explicit(&h->state, memory_order_acquire);
}

static uint64_t counter(struct fsc_writer *w, enum fsc_counter c)
{
	return atomic_load(&fsc_writer_header(w)->counters[c]);
}

static void put(struct fsc_writer *w, const char *path, uint64_t id, uint64_t v, uint32_t flags)
{
	struct stat st;
	fsc_test_fake_stat(&st, id, v);
	assert_int_equal(fsc_writer_put(w, path, strlen(path), &st, flags), 0);
}

struct seen {
	int r;
	struct stat st;
	struct fsc_info info;
};

static void entry_path(char *buf, size_t size, int i)
{
	if (i < NPOS)
		snprintf(buf, size, "/pos/%d", i);
	else
		snprintf(buf, size, "/neg/%d", i - NPOS);
}

static void test_replace_keeps_every_entry(void **state)
{
	struct fixture *f = *state;
	f->w[0] = open_writer(f, 64);
	struct fsc_writer *w = f->w[0];
	static const uint32_t flag_cycle[] = {0, FSC_REC_POLLED, FSC_REC_STALE,
					      FSC_REC_POLLED | FSC_REC_STALE};
	char p[32];
	for (int i = 0; i < NPOS + NNEG; i++) {
		entry_path(p, sizeof(p), i);
		if (i < NPOS)
			put(w, p, (uint64_t)i, (uint64_t)(3 * i + 1), flag_cycle[i % 4]);
		else
			assert_int_equal(fsc_writer_put_negative(w, p, strlen(p)), 0);
	}
	f->c = fsc_open(f->name); /* opened before the replace */
	assert_non_null(f->c);
	struct seen before[NPOS + NNEG];
	for (int i = 0; i < NPOS + NNEG; i++) {
		entry_path(p, sizeof(p), i);
		before[i].r = fsc_lookup(f->c, p, &before[i].st, &before[i].info);
		assert_int_equal(before[i].r, i < NPOS ? FSC_HIT : FSC_NEGATIVE);
	}
	map_current(f);
	uint64_t gen0 = f->old->generation;
	assert_true(hints_exist(f->name, gen0));
	uint64_t seq0 = atomic_load(&f->old->change_seq);

	const char *why = NULL;
	int rc = fsc_writer_replace(w, 128, &why);
	if (rc)
		fail_msg("fsc_writer_replace: %s (%d)", why ? why : "?", rc);
	const struct fsc_shm_header *h = fsc_writer_header(w);
	uint64_t gen1 = h->generation;
	assert_true(gen1 > gen0);
	assert_int_equal(state_of(f->old), FSC_TABLE_RETIRED);
	assert_int_equal(state_of(h), FSC_TABLE_LIVE);
	assert_int_equal(h->capacity, 128);
	assert_int_equal(counter(w, FSC_CTR_ENTRIES), NPOS + NNEG);
	assert_int_equal(counter(w, FSC_CTR_REBUILDS), 1);
	assert_int_equal(atomic_load(&h->change_seq), seq0);
	assert_int_equal(f->ev.n, 0);
	/* the retired table's hint segment is gone; the new table has its own */
	assert_false(hints_exist(f->name, gen0));
	assert_true(hints_exist(f->name, gen1));

	/* the handle opened before the replace answers from the new table, record for record */
	for (int i = 0; i < NPOS + NNEG; i++) {
		struct seen now;
		const char *field;
		entry_path(p, sizeof(p), i);
		now.r = fsc_lookup(f->c, p, &now.st, &now.info);
		assert_int_equal(now.r, before[i].r);
		assert_int_equal(now.info.generation, gen1);
		assert_int_equal(now.info.flags, before[i].info.flags);
		assert_int_equal(now.info.change_seq, before[i].info.change_seq);
		assert_int_equal(now.info.verified_ns, before[i].info.verified_ns);
		if (now.r == FSC_HIT && !fsc_test_stat_equal(&now.st, &before[i].st, &field))
			fail_msg("%s: %s differs after replace", p, field);
		uint32_t wflags = 0;
		assert_true(fsc_writer_contains(w, p, strlen(p), &wflags));
		assert_int_equal(wflags, before[i].info.flags);
	}
}

static void test_replace_smaller_evicts_down(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 60,
		SMALL = 16
	};
	f->w[0] = open_writer(f, 64);
	struct fsc_writer *w = f->w[0];
	char p[32];
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "/k/%d", i);
		put(w, p, (uint64_t)i, 1, 0);
	}
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	assert_int_equal(f->ev.n, 0);
	const char *why = NULL;
	assert_int_equal(fsc_writer_replace(w, SMALL, &why), 0);
	uint64_t gen = fsc_writer_header(w)->generation;
	assert_int_equal(counter(w, FSC_CTR_ENTRIES), SMALL);
	assert_int_equal(f->ev.n, N - SMALL);
	int hits = 0;
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "/k/%d", i);
		bool gone = fsc_test_evlog_has(&f->ev, p);
		struct stat st;
		struct fsc_info info;
		int r = fsc_lookup(f->c, p, &st, &info);
		assert_int_equal(r, gone ? FSC_MISS : FSC_HIT);
		assert_int_equal(fsc_writer_contains(w, p, strlen(p), NULL), !gone);
		if (r == FSC_HIT) {
			assert_int_equal(info.generation, gen);
			assert_true(fsc_test_fake_stat_consistent(&st, (uint64_t)i));
			hits++;
		}
	}
	assert_int_equal(hits, SMALL);
}

static void expect_hit(fsc_t *c, const char *path, uint64_t generation, off_t size)
{
	struct stat st;
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, path, &st, &info), FSC_HIT);
	assert_int_equal(info.generation, generation);
	assert_int_equal(st.st_size, size);
}

static void test_takeover_and_close(void **state)
{
	struct fixture *f = *state;
	f->w[0] = open_writer(f, 64);
	put(f->w[0], "/t/a", 1, 1, 0);
	uint64_t gen_a = fsc_writer_header(f->w[0])->generation;
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	expect_hit(f->c, "/t/a", gen_a, 1 * 4096 + 1);

	/* a second writer on the same name takes over */
	f->w[1] = open_writer(f, 64);
	put(f->w[1], "/t/a", 1, 2, 0);
	uint64_t gen_b = fsc_writer_header(f->w[1])->generation;
	assert_true(gen_b != gen_a);
	assert_int_equal(state_of(fsc_writer_header(f->w[0])), FSC_TABLE_RETIRED);
	assert_false(fsc_writer_owns_name(f->w[0]));
	assert_true(fsc_writer_owns_name(f->w[1]));
	expect_hit(f->c, "/t/a", gen_b, 2 * 4096 + 1);

	/* closing the superseded writer must leave the successor's table in place */
	fsc_writer_close(f->w[0]);
	f->w[0] = NULL;
	assert_false(hints_exist(f->name, gen_a));
	assert_true(hints_exist(f->name, gen_b));
	assert_true(fsc_writer_owns_name(f->w[1]));
	fsc_t *c2 = fsc_open(f->name);
	assert_non_null(c2);
	expect_hit(c2, "/t/a", gen_b, 2 * 4096 + 1);
	fsc_close(c2);
	expect_hit(f->c, "/t/a", gen_b, 2 * 4096 + 1);

	/* closing the owner removes the name and its hints: nothing is published any more */
	map_current(f);
	fsc_writer_close(f->w[1]);
	f->w[1] = NULL;
	assert_int_equal(state_of(f->old), FSC_TABLE_STOPPED);
	errno = 0;
	assert_null(fsc_open(f->name));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fsc_lookup(f->c, "/t/a", NULL, NULL), FSC_UNAVAILABLE);
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 0);
}

static void test_close_removes_name_after_replace(void **state)
{
	struct fixture *f = *state;
	f->w[0] = open_writer(f, 64);
	put(f->w[0], "/r/a", 7, 1, 0);
	const char *why = NULL;
	for (int i = 0; i < 3; i++)
		assert_int_equal(fsc_writer_replace(f->w[0], 64 + 64 * (uint64_t)i, &why), 0);
	/* three replacements leave exactly one table and one hint segment */
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 2);
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	expect_hit(f->c, "/r/a", fsc_writer_header(f->w[0])->generation, 1 * 4096 + 7);
	fsc_writer_close(f->w[0]);
	f->w[0] = NULL;
	errno = 0;
	assert_null(fsc_open(f->name));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 0);
}

static int count_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;
	for (int ch; f && (ch = fgetc(f)) != EOF;)
		n += ch == '\n';
	if (f)
		fclose(f);
	return n;
}

/* A long-running reader sees many compactions: what each leaves behind in the reader (a
 * reserved range for threads that might still be inside a lookup) must stay bounded, or
 * the process would eventually hit vm.max_map_count. And answers stay right throughout. */
static void test_many_replacements_keep_reader_bounded(void **state)
{
	struct fixture *f = *state;
	f->w[0] = fsc_test_writer(f->name, 64);
	struct stat st;
	fsc_test_fake_stat(&st, 7, 3);
	assert_int_equal(fsc_writer_put(f->w[0], "/bounded/k", 10, &st, 0), 0);
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	struct stat got;
	assert_int_equal(fsc_lookup(f->c, "/bounded/k", &got, NULL), FSC_HIT);
	int before = count_mappings();
	for (int i = 0; i < 60; i++) {
		const char *why;
		assert_int_equal(fsc_writer_replace(f->w[0], 64, &why), 0);
		struct fsc_info info;
		assert_int_equal(fsc_lookup(f->c, "/bounded/k", &got, &info), FSC_HIT);
		assert_int_equal(info.generation, fsc_writer_header(f->w[0])->generation);
		assert_int_equal(got.st_ino, st.st_ino);
	}
	/* 8 retired maps of 2 ranges each may stay reserved, plus slack; unbounded would be
	 * 120 more */
	assert_true(count_mappings() - before <= 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replace_keeps_every_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replace_smaller_evicts_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_takeover_and_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_removes_name_after_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_replacements_keep_reader_bounded, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
