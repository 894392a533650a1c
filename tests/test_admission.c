/* The admission doorkeeper (writer/fscd/fscd_admit.c): a key is admitted on its second request
 * within the window, one-off keys never are, a hot key survives a scan of other keys passing
 * through, and the memory stays what init allocated whatever the key stream. Time is passed
 * in explicitly: nothing here sleeps. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fscd_admit.h"

#define SEC    1000000000ull
#define WINDOW (10 * SEC)

/* A well-mixed 64-bit hash of a key number (the splitmix64 finalizer), like a path hash. */
static uint64_t key_hash(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void init(struct fscd_admit *a, size_t entries)
{
	assert_int_equal(fscd_admit_init(a, entries, WINDOW), 0);
}

static void test_second_request_within_window_admits(void **state)
{
	(void)state;
	struct fscd_admit a;
	init(&a, 64);
	uint64_t h = key_hash(1);
	assert_false(fscd_admit_request(&a, h, 100 * SEC));
	assert_int_equal(fscd_admit_remembered(&a), 1);
	assert_true(fscd_admit_request(&a, h, 100 * SEC + WINDOW)); /* the window is inclusive */
	assert_int_equal(a.stats.admitted, 1);
	/* admission clears the entry: the next request is a first request again */
	assert_int_equal(fscd_admit_remembered(&a), 0);
	assert_false(fscd_admit_request(&a, h, 101 * SEC + WINDOW));
	assert_true(fscd_admit_request(&a, h, 102 * SEC + WINDOW));
	/* a clock that steps back counts as no time passed, never as a huge age */
	assert_false(fscd_admit_request(&a, h, 500 * SEC));
	assert_true(fscd_admit_request(&a, h, 400 * SEC));
	/* another key's request does not admit this one */
	assert_false(fscd_admit_request(&a, h, 600 * SEC));
	assert_false(fscd_admit_request(&a, key_hash(2), 600 * SEC));
	assert_int_equal(a.stats.requests, 8);
	assert_int_equal(a.stats.admitted, 3);
	assert_int_equal(a.stats.remembered, 5);
	fscd_admit_free(&a);
}

static void test_second_request_after_window_starts_over(void **state)
{
	(void)state;
	struct fscd_admit a;
	init(&a, 64);
	uint64_t h = key_hash(7);
	assert_false(fscd_admit_request(&a, h, 0));
	assert_false(fscd_admit_request(&a, h, WINDOW + 1)); /* one ns late */
	assert_int_equal(a.stats.expired, 1);
	assert_int_equal(a.stats.admitted, 0);
	/* the late request was remembered as a new first request: WINDOW after it admits,
	 * though that is twice the window after the very first request */
	assert_true(fscd_admit_request(&a, h, 2 * WINDOW + 1));
	assert_int_equal(a.stats.admitted, 1);
	fscd_admit_free(&a);
}

static void test_scan_of_distinct_keys_admits_none(void **state)
{
	(void)state;
	enum {
		ENTRIES = 1024,
		SCAN = 100000
	};
	struct fscd_admit a;
	init(&a, ENTRIES);
	for (uint64_t i = 0; i < SCAN; i++)
		if (fscd_admit_request(&a, key_hash(i), i))
			fail_msg("one-off key %llu admitted", (unsigned long long)i);
	assert_int_equal(a.stats.admitted, 0);
	assert_int_equal(a.stats.remembered, SCAN);
	/* the table was full and kept turning over: the scan really churned it */
	assert_int_equal(fscd_admit_remembered(&a), ENTRIES);
	assert_true(a.stats.displaced >= SCAN - ENTRIES);
	fscd_admit_free(&a);
}

static void test_hot_key_admitted_through_a_scan(void **state)
{
	(void)state;
	enum {
		ENTRIES = 1024,
		SCAN = 50000,
		EVERY = 16 /* scan keys between two requests of the hot key */
	};
	struct fscd_admit a;
	init(&a, ENTRIES);
	uint64_t hot = key_hash(UINT32_MAX);
	int hot_requests = 0, hot_admitted = 0;
	for (uint64_t i = 0; i < SCAN; i++) {
		uint64_t now = i * 1000; /* 1 us apart: all within the window */
		if (fscd_admit_request(&a, key_hash(i), now))
			fail_msg("scan key %llu admitted", (unsigned long long)i);
		if (i % EVERY == 0) {
			bool admitted = fscd_admit_request(&a, hot, now);
			/* every second request of the hot key is admitted (its first restarts) */
			if (admitted != (hot_requests % 2 == 1))
				fail_msg("hot request %d: admitted=%d", hot_requests, admitted);
			hot_requests++;
			hot_admitted += admitted;
		}
	}
	assert_int_equal(hot_admitted, hot_requests / 2);
	assert_int_equal(a.stats.admitted, hot_admitted);
	/* control: the scan displaced remembered keys all along; the hot key was not one */
	assert_true(a.stats.displaced >= SCAN - ENTRIES);
	fscd_admit_free(&a);
}

static void test_memory_bounded_and_old_keys_forgotten(void **state)
{
	(void)state;
	enum {
		ENTRIES = 256,
		KEYS = 100 * ENTRIES,
		RECENT = ENTRIES / 4
	};
	struct fscd_admit a;
	init(&a, ENTRIES);
	size_t bytes = fscd_admit_memory(&a);
	assert_int_equal(bytes, ENTRIES * sizeof(struct fscd_admit_entry));
	for (uint64_t i = 0; i < KEYS; i++) {
		fscd_admit_request(&a, key_hash(i), i);
		if (fscd_admit_remembered(&a) > ENTRIES)
			fail_msg("remembers %zu keys in %d entries", fscd_admit_remembered(&a),
				 ENTRIES);
	}
	assert_int_equal(fscd_admit_memory(&a), bytes);
	/* the most recent keys are still there: a quarter of the entries back, a key has met
	 * about one newer key in its set, far from the FSCD_ADMIT_WAYS that displace it
	 * (admitting them empties their ways and displaces nothing) */
	int admitted = 0;
	for (uint64_t i = KEYS - RECENT; i < KEYS; i++)
		admitted += fscd_admit_request(&a, key_hash(i), KEYS);
	assert_true(admitted >= RECENT * 9 / 10);
	/* the first keys were overwritten, not kept in some growing structure */
	for (uint64_t i = 0; i < ENTRIES; i++)
		assert_false(fscd_admit_request(&a, key_hash(i), KEYS));
	fscd_admit_free(&a);
}

/* Tags with the high half zero and these low bits all fall in one set of a small filter. */
static uint64_t same_set_tag(uint64_t i)
{
	return (i << 8) | 0x5;
}

static void test_full_set_forgets_its_oldest(void **state)
{
	(void)state;
	struct fscd_admit a;
	init(&a, 64); /* 16 sets: tags from same_set_tag share one */
	for (uint64_t i = 0; i < FSCD_ADMIT_WAYS; i++)
		assert_false(fscd_admit_request(&a, same_set_tag(i), i));
	assert_int_equal(a.stats.displaced, 0);
	/* a fifth key in the set overwrites the oldest (key 0) though its window is not over */
	assert_false(fscd_admit_request(&a, same_set_tag(100), 10));
	assert_int_equal(a.stats.displaced, 1);
	assert_true(fscd_admit_request(&a, same_set_tag(1), 11));  /* the others are still there */
	assert_false(fscd_admit_request(&a, same_set_tag(0), 12)); /* forgotten: starts over */
	assert_int_equal(a.stats.displaced, 1); /* into the way key 1's admission emptied */
	/* keys 2 and 3 have expired, 100 and 0 have not: the expired ones are overwritten
	 * first (they are the oldest), and losing them is no displacement */
	uint64_t later = 3 + WINDOW + 1;
	assert_false(fscd_admit_request(&a, same_set_tag(200), later));
	assert_false(fscd_admit_request(&a, same_set_tag(201), later));
	assert_int_equal(a.stats.displaced, 1);
	assert_true(fscd_admit_request(&a, same_set_tag(100), later));
	assert_true(fscd_admit_request(&a, same_set_tag(0), later));
	assert_false(fscd_admit_request(&a, same_set_tag(2), later));
	fscd_admit_free(&a);
}

static void test_init_rejects_bad_sizes(void **state)
{
	(void)state;
	struct fscd_admit a;
	assert_int_equal(fscd_admit_init(&a, 0, WINDOW), -EINVAL);
	assert_int_equal(fscd_admit_init(&a, 2, WINDOW), -EINVAL);
	assert_int_equal(fscd_admit_init(&a, 96, WINDOW), -EINVAL);
	assert_int_equal(fscd_admit_init(&a, SIZE_MAX / 2 + 1, WINDOW), -EINVAL);
	assert_int_equal(fscd_admit_init(&a, FSCD_ADMIT_WAYS, WINDOW), 0);
	/* hash 0 (the empty marker) still works as a key */
	assert_false(fscd_admit_request(&a, 0, 0));
	assert_true(fscd_admit_request(&a, 0, 1));
	fscd_admit_free(&a);
	assert_int_equal(fscd_admit_memory(&a), 0);
	fscd_admit_free(&a); /* freeing twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_second_request_within_window_admits),
	    cmocka_unit_test(test_second_request_after_window_starts_over),
	    cmocka_unit_test(test_scan_of_distinct_keys_admits_none),
	    cmocka_unit_test(test_hot_key_admitted_through_a_scan),
	    cmocka_unit_test(test_memory_bounded_and_old_keys_forgotten),
	    cmocka_unit_test(test_full_set_forgets_its_oldest),
	    cmocka_unit_test(test_init_rejects_bad_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
