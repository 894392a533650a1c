/* The change journal, against the writer library in this process: every change comes out in
 * order and exactly (across many laps of the ring and its pads), a reader that falls a ring
 * behind is told so, concurrent readers that follow it lose nothing, and a damaged journal
 * never yields a made-up path or a crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_journal.h"
#include "fsc_test_util.h"
#include "fsc_writer.h"

#define RING   (64u * 1024u) /* the smallest ring: many laps in a short test */
#define NPATHS 256

struct fixture {
	char name[64];
	struct fsc_writer *w;
	fsc_t *c;
	char paths[NPATHS][200];
};

static struct fixture *fixture_open(uint64_t journal_bytes)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fsc_test_name(f->name, sizeof(f->name), "journal");
	struct fsc_writer_opts o = {.name = f->name,
				    .capacity = 4 * NPATHS,
				    .group = (gid_t)-1,
				    .journal_bytes = journal_bytes};
	const char *why = NULL;
	if (fsc_writer_open(&f->w, &o, &why))
		fail_msg("fsc_writer_open: %s", why);
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	/* lengths 1..~170 bytes past the prefix: entries of every size, pads at every offset */
	for (int i = 0; i < NPATHS; i++) {
		int n = snprintf(f->paths[i], sizeof(f->paths[i]), "/j/%d-", i);
		for (int k = 0; k < 1 + (i * 37) % 170; k++)
			f->paths[i][n + k] = (char)('a' + (k + i) % 26);
	}
	return f;
}

static void fixture_close(struct fixture *f)
{
	fsc_close(f->c);
	fsc_writer_close(f->w);
	assert_int_equal(fsc_test_shm_leftovers(f->name, true), 0);
	free(f);
}

static void put(struct fixture *f, int i, uint64_t version)
{
	struct stat st;
	fsc_test_fake_stat(&st, (uint64_t)i, version);
	assert_int_equal(fsc_writer_put(f->w, f->paths[i], strlen(f->paths[i]), &st, 0), 0);
}

/* A reader that keeps up sees every change, in order, byte for byte, across ~40 laps. */
static void test_journal_exact_sequence(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(RING);
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(f->c, &cur), 0);
	struct fsc_change ch;
	assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CAUGHT_UP);
	uint64_t last_seq = 0;
	unsigned n = 0;
	for (unsigned round = 0; round < 400; round++) {
		int batch[64];
		for (int k = 0; k < 64; k++) {
			batch[k] = (int)((round * 131 + (unsigned)k * 17) % NPATHS);
			put(f, batch[k], round * 64 + (unsigned)k + 1);
		}
		for (int k = 0; k < 64; k++, n++) {
			assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CHANGE);
			assert_string_equal(ch.path, f->paths[batch[k]]);
			assert_int_equal(ch.path_len, strlen(f->paths[batch[k]]));
			assert_true(ch.change_seq > last_seq);
			assert_int_equal(ch.flags, 0);
			last_seq = ch.change_seq;
		}
		assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CAUGHT_UP);
	}
	assert_true(cur.pos > 30ull * RING); /* it did lap the ring many times */
	/* negative, stale and dropped records are changes too, flagged as such */
	assert_int_equal(fsc_writer_put_negative(f->w, f->paths[1], strlen(f->paths[1])), 0);
	assert_int_equal(fsc_writer_mark_stale(f->w, f->paths[2], strlen(f->paths[2])), 0);
	assert_int_equal(fsc_writer_remove(f->w, f->paths[3], strlen(f->paths[3])), 0);
	uint32_t want[3] = {FSC_FLAG_NEGATIVE, FSC_FLAG_STALE, FSC_CHANGE_DROPPED};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CHANGE);
		assert_string_equal(ch.path, f->paths[k + 1]);
		assert_int_equal(ch.flags, want[k]);
	}
	/* a put that changes nothing visible (same record) is not a change */
	put(f, 5, 7);
	assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CHANGE);
	put(f, 5, 7);
	assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CAUGHT_UP);
	fixture_close(f);
}

/* A reader more than a ring behind gets FSC_CURSOR_LOST, and a new cursor works. */
static void test_journal_lapped_cursor_is_lost(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(RING);
	fsc_cursor_t cur, fresh;
	struct fsc_change ch;
	assert_int_equal(fsc_journal_start(f->c, &cur), 0);
	for (unsigned v = 1; v <= 2 * RING / 64; v++)
		put(f, (int)(v % NPATHS), v);
	assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CURSOR_LOST);
	assert_int_equal(fsc_journal_start(f->c, &fresh), 0);
	put(f, 9, 999999);
	assert_int_equal(fsc_journal_next(f->c, &fresh, &ch), FSC_CHANGE);
	assert_string_equal(ch.path, f->paths[9]);
	/* a cursor ahead of the journal, or from another journal, is lost too */
	fsc_cursor_t ahead = {fresh.journal_id, fresh.pos + 4096};
	fsc_cursor_t other = {fresh.journal_id + 1, fresh.pos};
	assert_int_equal(fsc_journal_next(f->c, &ahead, &ch), FSC_CURSOR_LOST);
	assert_int_equal(fsc_journal_next(f->c, &other, &ch), FSC_CURSOR_LOST);
	fixture_close(f);
}

static void test_journal_absent_or_stopped(void **state)
{
	(void)state;
	struct fixture *f = fixture_open(0); /* no journal */
	fsc_cursor_t cur;
	errno = 0;
	assert_int_equal(fsc_journal_start(f->c, &cur), -1);
	assert_int_equal(errno, ENOENT);
	fixture_close(f);

	f = fixture_open(RING);
	assert_int_equal(fsc_journal_start(f->c, &cur), 0);
	fsc_writer_close(f->w); /* a clean stop: the cursor cannot be followed any further */
	f->w = NULL;
	struct fsc_change ch;
	assert_int_equal(fsc_journal_next(f->c, &cur, &ch), FSC_CURSOR_LOST);
	assert_int_equal(fsc_journal_wait(f->c, &cur, 10000), FSC_CURSOR_LOST);
	assert_int_equal(fsc_journal_start(f->c, &cur), -1);
	assert_int_equal(errno, ESRCH);
	fsc_close(f->c);
	assert_int_equal(fsc_test_shm_leftovers(f->name, true), 0);
	free(f);
}

/* Every result of fsc_lookup and of the journal calls is its own value with its own name:
 * code that compares a journal result with a lookup result, or prints one, cannot confuse
 * them (FSC_CHANGE once equalled FSC_HIT and was named "hit"; FSC_CAUGHT_UP was 0). */
static void test_result_names_are_distinct(void **state)
{
	(void)state;
	static const struct {
		int result;
		const char *name;
	} all[] = {
	    {FSC_HIT, "hit"},
	    {FSC_NEGATIVE, "negative"},
	    {FSC_MISS, "miss"},
	    {FSC_UNAVAILABLE, "unavailable"},
	    {FSC_CAUGHT_UP, "caught up"},
	    {FSC_CHANGE, "change"},
	    {FSC_CURSOR_LOST, "cursor lost"},
	    {-1, "error"},
	};
	size_t n = sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(all[i].result, 0);
		assert_string_equal(fsc_result_name(all[i].result), all[i].name);
		for (size_t k = 0; k < i; k++) {
			assert_int_not_equal(all[i].result, all[k].result);
			assert_string_not_equal(fsc_result_name(all[i].result),
						fsc_result_name(all[k].result));
		}
	}
	assert_string_equal(fsc_result_name(0), "unknown");

	/* and what the calls return is named as such */
	struct fixture *f = fixture_open(RING);
	fsc_cursor_t cur;
	struct fsc_change ch;
	assert_int_equal(fsc_journal_start(f->c, &cur), 0);
	assert_string_equal(fsc_result_name(fsc_journal_next(f->c, &cur, &ch)), "caught up");
	assert_string_equal(fsc_result_name(fsc_journal_wait(f->c, &cur, 0)), "caught up");
	put(f, 0, 1);
	assert_string_equal(fsc_result_name(fsc_journal_wait(f->c, &cur, 0)), "change");
	assert_string_equal(fsc_result_name(fsc_journal_next(f->c, &cur, &ch)), "change");
	assert_string_equal(fsc_result_name(fsc_lookup(f->c, f->paths[0], NULL, NULL)), "hit");
	assert_string_equal(fsc_result_name(fsc_lookup(f->c, "/j/none", NULL, NULL)), "miss");
	fsc_cursor_t bogus = {.journal_id = cur.journal_id ^ 1, .pos = 0};
	assert_string_equal(fsc_result_name(fsc_journal_next(f->c, &bogus, &ch)), "cursor lost");
	fixture_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal_exact_sequence),
	    cmocka_unit_test(test_journal_lapped_cursor_is_lost),
	    cmocka_unit_test(test_journal_absent_or_stopped),
	    cmocka_unit_test(test_result_names_are_distinct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
