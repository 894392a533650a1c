/* CLOCK eviction: the table never holds more than capacity entries, on_evict reports exactly
 * the keys that went, and entries readers hit (hint byte set in the hints segment) get a
 * second chance, so a scan of one-off keys cannot flush a hot set. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

struct fixture {
	char name[64];
	struct fsc_writer *w;
	fsc_t *c;
	struct fsc_test_evlog ev;
	void *hints_map[2]; /* our own mappings of the hints segment */
	size_t hints_len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	*state = f;
	return f ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_close(f->c);
	fsc_writer_close(f->w);
	for (int i = 0; i < 2; i++)
		if (f->hints_map[i])
			munmap(f->hints_map[i], f->hints_len);
	int left = fsc_test_shm_leftovers(f->name, true);
	free(f);
	return left ? -1 : 0; /* the writer must remove its table and hints on close */
}

/* Names the table, opens the writer (with the eviction log) and a reader handle on it. */
static void open_table(struct fixture *f, uint64_t capacity)
{
	fsc_test_name(f->name, sizeof(f->name), "clock");
	f->w = fsc_test_writer_evlog(f->name, capacity, &f->ev);
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
}

static void key(char *buf, size_t size, const char *tag, int i)
{
	snprintf(buf, size, "/%s/%d", tag, i);
}

static void put_key(struct fixture *f, const char *tag, int i)
{
	char p[32];
	struct stat st;
	key(p, sizeof(p), tag, i);
	fsc_test_fake_stat(&st, (uint64_t)i, 1);
	assert_int_equal(fsc_writer_put(f->w, p, strlen(p), &st, 0), 0);
}

static uint64_t counter(const struct fixture *f, enum fsc_counter c)
{
	return atomic_load(&fsc_writer_header(f->w)->counters[c]);
}

/* Lookup through the reader handle (this sets the key's hint byte on a hit). */
static int lookup(struct fixture *f, const char *tag, int i)
{
	char p[32];
	struct stat st;
	key(p, sizeof(p), tag, i);
	int r = fsc_lookup(f->c, p, &st, NULL);
	if (r == FSC_HIT && !fsc_test_fake_stat_consistent(&st, (uint64_t)i))
		fail_msg("%s: hit with a record of another key", p);
	return r;
}

static void test_capacity_bound_and_evict_callback(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 16,
		K = 10
	};
	open_table(f, N);
	for (int i = 0; i < N + K; i++)
		put_key(f, "k", i);
	assert_int_equal(counter(f, FSC_CTR_ENTRIES), N);
	assert_int_equal(counter(f, FSC_CTR_EVICTIONS), K);
	assert_int_equal(counter(f, FSC_CTR_PROBE_EVICTIONS), 0);
	assert_int_equal(counter(f, FSC_CTR_INSERTS), N + K);
	assert_int_equal(f->ev.n, K);
	/* the callback named K distinct keys that were inserted */
	for (int a = 0; a < K; a++) {
		assert_int_equal(strncmp(f->ev.paths[a], "/k/", 3), 0);
		int id = atoi(f->ev.paths[a] + 3);
		assert_true(id >= 0 && id < N + K);
		for (int b = 0; b < a; b++)
			assert_string_not_equal(f->ev.paths[a], f->ev.paths[b]);
	}
	/* exactly those miss; all the others hit */
	int hits = 0;
	for (int i = 0; i < N + K; i++) {
		char p[32];
		key(p, sizeof(p), "k", i);
		bool gone = fsc_test_evlog_has(&f->ev, p);
		assert_int_equal(fsc_writer_contains(f->w, p, strlen(p), NULL), !gone);
		assert_int_equal(lookup(f, "k", i), gone ? FSC_MISS : FSC_HIT);
		hits += !gone;
	}
	assert_int_equal(hits, N);
}

static void test_referenced_entries_get_second_chance(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 16
	};
	open_table(f, N);
	for (int i = 0; i < N; i++)
		put_key(f, "k", i);
	/* a reader hits the even keys: their hint bytes are set */
	for (int i = 0; i < N; i += 2)
		assert_int_equal(lookup(f, "k", i), FSC_HIT);
	/* N/2 new keys force N/2 evictions: all must fall on unreferenced entries */
	for (int i = 0; i < N / 2; i++)
		put_key(f, "new", i);
	assert_int_equal(counter(f, FSC_CTR_ENTRIES), N);
	assert_int_equal(f->ev.n, N / 2);
	for (int i = 0; i < N; i += 2) {
		char p[32];
		key(p, sizeof(p), "k", i);
		assert_false(fsc_test_evlog_has(&f->ev, p));
		assert_int_equal(lookup(f, "k", i), FSC_HIT);
	}
	/* every victim was an unreferenced key (odd original or a new one) */
	for (int a = 0; a < f->ev.n; a++) {
		const char *p = f->ev.paths[a];
		assert_true(strncmp(p, "/new/", 5) == 0 ||
			    (strncmp(p, "/k/", 3) == 0 && atoi(p + 3) % 2 == 1));
	}
}

static void test_scan_does_not_flush_hot_set(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 32,
		HOT = 8,
		COLD = 8,
		SCAN = 400
	};
	open_table(f, N);
	for (int i = 0; i < HOT; i++)
		put_key(f, "hot", i);
	for (int i = 0; i < COLD; i++)
		put_key(f, "cold", i);
	for (int s = 0; s < SCAN; s++) {
		put_key(f, "scan", s);
		/* readers keep hitting the hot set between inserts */
		for (int i = 0; i < HOT; i++)
			if (lookup(f, "hot", i) != FSC_HIT)
				fail_msg("hot key %d evicted by one-off key %d", i, s);
	}
	assert_int_equal(counter(f, FSC_CTR_ENTRIES), N);
	assert_int_equal(counter(f, FSC_CTR_EVICTIONS), HOT + COLD + SCAN - N);
	assert_int_equal(f->ev.n, HOT + COLD + SCAN - N);
	for (int a = 0; a < f->ev.n; a++)
		assert_int_not_equal(strncmp(f->ev.paths[a], "/hot/", 5), 0);
	/* control: keys nobody hits were swept out by the same scan */
	for (int i = 0; i < COLD; i++)
		assert_int_equal(lookup(f, "cold", i), FSC_MISS);
}

/* Maps the hints segment of the writer's current table with prot: read-write as a reader
 * of the owning user does (fsc_shm_map_hints), or a read-only view of the whole object. */
static _Atomic uint8_t *map_hints(struct fixture *f, int which, int prot)
{
	char hname[FSC_SHM_OBJECT_NAME_MAX];
	const struct fsc_shm_layout *l = fsc_writer_layout(f->w);
	struct fsc_shm_mapping m;
	const char *why;
	if (prot & PROT_WRITE) {
		assert_int_equal(fsc_shm_map_hints(f->name, l, &m), 0);
	} else {
		assert_int_equal(fsc_shm_hints_name(hname, sizeof(hname), f->name, l->generation),
				 0);
		assert_int_equal(fsc_shm_map_object(hname, l->slot_count, NULL, &m, &why), 0);
	}
	assert_int_equal(m.size, l->slot_count);
	f->hints_map[which] = m.base;
	f->hints_len = l->slot_count;
	return m.base;
}

static uint8_t hint(_Atomic uint8_t *h, int64_t idx)
{
	return atomic_load_explicit(&h[idx], memory_order_relaxed);
}

static void test_hint_written_once_cleared_by_clock(void **state)
{
	struct fixture *f = *state;
	enum {
		N = 16
	};
	open_table(f, N);
	_Atomic uint8_t *ro = map_hints(f, 0, PROT_READ);
	_Atomic uint8_t *rw = map_hints(f, 1, PROT_READ | PROT_WRITE);
	put_key(f, "a", 0);
	int64_t idx = fsc_writer_slot_of(f->w, "/a/0", 4);
	assert_true(idx >= 0);
	assert_int_equal(hint(ro, idx), 0); /* a new key starts unreferenced */
	assert_int_equal(lookup(f, "a", 0), FSC_HIT);
	assert_int_equal(hint(ro, idx), 1);
	/* A repeat hit must only load the byte: mark it with a value no reader ever stores and
	 * check that a hit leaves it alone (an unconditional store would turn it into 1). */
	atomic_store_explicit(&rw[idx], 2, memory_order_relaxed);
	assert_int_equal(lookup(f, "a", 0), FSC_HIT);
	assert_int_equal(hint(ro, idx), 2);
	atomic_store_explicit(&rw[idx], 1, memory_order_relaxed);
	/* fill the table, then evict until the CLOCK hand passes /a/0 and clears its hint */
	for (int i = 0; i < N - 1; i++)
		put_key(f, "fill", i);
	int inserted = 0;
	while (hint(ro, idx) != 0 && inserted < 8 * N)
		put_key(f, "more", inserted++);
	assert_int_equal(hint(ro, idx), 0);
	assert_true(inserted > 0);
	/* the pass that cleared the hint spared the key (second chance) */
	assert_true(fsc_writer_contains(f->w, "/a/0", 4, NULL));
	assert_int_equal(fsc_writer_slot_of(f->w, "/a/0", 4), idx);
	assert_false(fsc_test_evlog_has(&f->ev, "/a/0"));
	/* a new hit sets it again */
	assert_int_equal(lookup(f, "a", 0), FSC_HIT);
	assert_int_equal(hint(ro, idx), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_capacity_bound_and_evict_callback, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_referenced_entries_get_second_chance, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_scan_does_not_flush_hot_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hint_written_once_cleared_by_clock, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
