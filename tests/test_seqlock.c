/* The per-slot seqlock primitives (shm/fsc_shm_seqlock.h): retry rules, and that a reader that
 * passes read_retry never returns a torn copy while a writer thread rewrites the data. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fsc_shm_seqlock.h"

#define WORDS	8
#define READERS 2
/* The writer writes at least WRITES_MIN times, and goes on until every reader has made
 * READS_MIN consistent copies meanwhile, so writing and reading overlap; WRITES_MAX and
 * READER_ATTEMPTS_MAX only bound the loops. */
#define WRITES_MIN	    200000ull
#define WRITES_MAX	    100000000ull
#define READS_MIN	    20000ull
#define READER_ATTEMPTS_MAX 400000000ull

struct shared {
	_Atomic uint64_t seq;
	_Atomic uint64_t word[WORDS];
	alignas(64) _Atomic int started;
	_Atomic int writer_done;
	_Atomic uint64_t progress[READERS]; /* consistent copies per reader, while writing */
	uint64_t writes;
};

struct reader_result {
	struct shared *sh;
	int id;
	uint64_t ok;	    /* copies that passed read_retry */
	uint64_t retries;   /* copies discarded */
	uint64_t torn;	    /* passed copies whose words disagree: must stay 0 */
	uint64_t backwards; /* passed copies older than an earlier passed copy: must stay 0 */
	uint64_t last;	    /* the value of the last copy, taken after the writer finished */
};

static void test_odd_sequence_retries(void **state)
{
	(void)state;
	_Atomic uint64_t seq = 0;
	uint64_t s0 = fsc_shm_seqlock_read_begin(&seq);
	assert_false(fsc_shm_seqlock_is_writing(s0));
	assert_false(fsc_shm_seqlock_read_retry(&seq, s0));
	/* a writer in progress: odd, and the read must be retried even though seq is stable */
	uint64_t odd = fsc_shm_seqlock_write_begin(&seq);
	assert_int_equal(odd, 1);
	assert_true(fsc_shm_seqlock_is_writing(odd));
	s0 = fsc_shm_seqlock_read_begin(&seq);
	assert_int_equal(s0, 1);
	assert_true(fsc_shm_seqlock_read_retry(&seq, s0));
	fsc_shm_seqlock_write_end(&seq, odd);
	assert_int_equal(atomic_load(&seq), 2);
	s0 = fsc_shm_seqlock_read_begin(&seq);
	assert_false(fsc_shm_seqlock_read_retry(&seq, s0));
	/* an odd snapshot stays invalid whatever seq is later */
	assert_true(fsc_shm_seqlock_read_retry(&seq, 3));
}

static void test_write_between_begin_and_retry(void **state)
{
	(void)state;
	_Atomic uint64_t seq = 40;
	uint64_t s0 = fsc_shm_seqlock_read_begin(&seq);
	uint64_t odd = fsc_shm_seqlock_write_begin(&seq);
	/* the writer has begun: the read that started before must retry */
	assert_true(fsc_shm_seqlock_read_retry(&seq, s0));
	fsc_shm_seqlock_write_end(&seq, odd);
	/* a complete write in between: still a retry (the data may be mixed) */
	assert_true(fsc_shm_seqlock_read_retry(&seq, s0));
	assert_int_equal(atomic_load(&seq), 42);
	/* several writes: sequence advances by two per write */
	for (int i = 0; i < 5; i++)
		fsc_shm_seqlock_write_end(&seq, fsc_shm_seqlock_write_begin(&seq));
	assert_int_equal(atomic_load(&seq), 52);
	s0 = fsc_shm_seqlock_read_begin(&seq);
	assert_false(fsc_shm_seqlock_read_retry(&seq, s0));
}

static void *writer_main(void *arg)
{
	struct shared *sh = arg;
	while (atomic_load_explicit(&sh->started, memory_order_acquire) < READERS)
		; /* spin: the readers are about to read */
	uint64_t v = 0;
	while (v < WRITES_MAX) {
		v++;
		uint64_t odd = fsc_shm_seqlock_write_begin(&sh->seq);
		for (int i = 0; i < WORDS; i++)
			atomic_store_explicit(&sh->word[i], v, memory_order_relaxed);
		fsc_shm_seqlock_write_end(&sh->seq, odd);
		if (v < WRITES_MIN || v % 1024)
			continue;
		bool enough = true;
		for (int r = 0; r < READERS; r++)
			enough &= atomic_load_explicit(&sh->progress[r], memory_order_relaxed) >=
				  READS_MIN;
		if (enough)
			break;
	}
	sh->writes = v;
	atomic_store_explicit(&sh->writer_done, 1, memory_order_release);
	return NULL;
}

/* Checks one consistent copy; returns false if it is torn. */
static bool copy_consistent(const uint64_t copy[WORDS], uint64_t s0)
{
	for (int i = 1; i < WORDS; i++)
		if (copy[i] != copy[0])
			return false;
	/* seq 2v is published with value v: a consistent copy matches its sequence */
	return copy[0] == s0 / 2;
}

static void *reader_main(void *arg)
{
	struct reader_result *r = arg;
	struct shared *sh = r->sh;
	atomic_fetch_add_explicit(&sh->started, 1, memory_order_release);
	for (uint64_t n = 0; n < READER_ATTEMPTS_MAX; n++) {
		bool done = atomic_load_explicit(&sh->writer_done, memory_order_acquire);
		uint64_t copy[WORDS];
		uint64_t s0 = fsc_shm_seqlock_read_begin(&sh->seq);
		for (int i = 0; i < WORDS; i++)
			copy[i] = atomic_load_explicit(&sh->word[i], memory_order_relaxed);
		if (fsc_shm_seqlock_read_retry(&sh->seq, s0)) {
			r->retries++;
			continue;
		}
		r->ok++;
		if (!done)
			atomic_store_explicit(&sh->progress[r->id], r->ok, memory_order_relaxed);
		r->torn += !copy_consistent(copy, s0);
		r->backwards += copy[0] < r->last;
		r->last = copy[0];
		if (done)
			break; /* read after the writer finished: must be its last value */
	}
	return NULL;
}

static void test_concurrent_no_torn_reads(void **state)
{
	(void)state;
	static struct shared sh;
	struct reader_result res[READERS];
	memset(res, 0, sizeof(res));
	pthread_t rt[READERS], wt;
	assert_int_equal(pthread_create(&wt, NULL, writer_main, &sh), 0);
	for (int i = 0; i < READERS; i++) {
		res[i].sh = &sh;
		res[i].id = i;
		assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &res[i]), 0);
	}
	assert_int_equal(pthread_join(wt, NULL), 0);
	uint64_t ok = 0, retries = 0;
	for (int i = 0; i < READERS; i++) {
		assert_int_equal(pthread_join(rt[i], NULL), 0);
		assert_int_equal(res[i].torn, 0);
		assert_int_equal(res[i].backwards, 0);
		assert_true(res[i].ok > READS_MIN);
		assert_int_equal(res[i].last, sh.writes);
		ok += res[i].ok;
		retries += res[i].retries;
	}
	assert_true(sh.writes >= WRITES_MIN && sh.writes <= WRITES_MAX);
	assert_int_equal(atomic_load(&sh.seq), 2 * sh.writes);
	print_message("seqlock: %llu writes, %llu consistent reads, %llu retried\n",
		      (unsigned long long)sh.writes, (unsigned long long)ok,
		      (unsigned long long)retries);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_odd_sequence_retries),
	    cmocka_unit_test(test_write_between_begin_and_retry),
	    cmocka_unit_test(test_concurrent_no_torn_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
