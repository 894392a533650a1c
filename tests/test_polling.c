/* Polling: directories fscd lists every poll interval instead of watching (--poll here; the
 * same path serves filesystems inotify cannot see and directories no watch could be had for,
 * see test_watch_limit and test_hung_stat). The checks: what is polled is served, flagged
 * POLLED with a verified time that keeps moving; every kind of change converges to stat();
 * the loop holds no watch on a polled directory, so polling is what found the changes; and
 * fsc_stat_fresh() refuses a polled record older than asked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define CONVERGE_MS	 15000 /* generous: a bound on waiting, not a speed claim */
#define POLL_INTERVAL_MS "100"

struct fixture {
	struct fsc_test_daemon d;
	char polled[512]; /* ROOT/remote, polled; the rest of ROOT is watched */
};

/* ROOT/rel, in one of fsc_test_path's rotating buffers */
static const char *at(const struct fixture *f, const char *rel)
{
	return fsc_test_path(f->d.root, rel);
}

static void wait_one(fsc_t *c, const char *path, enum fsc_test_expect e)
{
	const char *p[] = {path, NULL};
	fsc_test_wait_agree(c, p, e, CONVERGE_MS);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fsc_test_daemon_prepare(&f->d, "poll");
	snprintf(f->polled, sizeof(f->polled), "%s/remote", f->d.root);
	static const struct fsc_test_entry tree[] =
	    {
		{"remote", NULL},	{"remote/sub", NULL},
		{"remote/empty", NULL}, /* a listing of nothing */
		{"remote/a.log", "a"},	{"remote/sub/b.log", "b"},
		{"local.log", "local"}, {NULL, NULL},
	    };
	f->d.extra[0] = "--poll";
	f->d.extra[1] = f->polled;
	f->d.extra[2] = "--poll-interval";
	f->d.extra[3] = POLL_INTERVAL_MS;
	fsc_test_tree_serve(&f->d, tree, "remote/sub/b.log", CONVERGE_MS);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_daemon_stop(&f->d);
	free(f);
	return 0;
}

static uint32_t flags_of(fsc_t *c, const char *path)
{
	struct fsc_info info;
	struct stat st;
	int r = fsc_lookup(c, path, &st, &info);
	assert_true(r == FSC_HIT || r == FSC_NEGATIVE);
	return info.flags;
}

/* Published before the table went live (build, then publish), flagged, and only there. */
static void test_polled_tree_is_served_and_flagged(void **state)
{
	struct fixture *f = *state;
	const char *all[] = {f->polled,
			     at(f, "remote/a.log"),
			     at(f, "remote/sub"),
			     at(f, "remote/sub/b.log"),
			     at(f, "remote/empty"),
			     at(f, "local.log"),
			     NULL};
	fsc_test_wait_agree(f->d.c, all, FSC_EXPECT_STAT, CONVERGE_MS);
	for (int i = 0; i < 5; i++)
		assert_true(flags_of(f->d.c, all[i]) & FSC_FLAG_POLLED);
	assert_false(flags_of(f->d.c, at(f, "local.log")) & FSC_FLAG_POLLED);
	/* one watch (the root); remote, remote/sub and remote/empty are polled, not watched */
	assert_int_equal(fsc_test_counter(f->d.name, FSC_CTR_WATCHES), 1);
	assert_int_equal(fsc_test_counter(f->d.name, FSC_CTR_POLLED_DIRS), 3);
}

/* An unchanged polled record is re-verified every interval: its verified time moves, its
 * change_seq does not (a re-verification is not a change). */
static void test_verified_time_moves_without_a_change(void **state)
{
	struct fixture *f = *state;
	const char *p = at(f, "remote/a.log");
	wait_one(f->d.c, p, FSC_EXPECT_STAT);
	struct fsc_info first, later;
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, p, &st, &first), FSC_HIT);
	uint64_t scans0 = fsc_test_counter(f->d.name, FSC_CTR_POLL_SCANS);
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	do {
		assert_int_equal(fsc_lookup(f->d.c, p, &st, &later), FSC_HIT);
	} while (later.verified_ns == first.verified_ns && fsc_test_now_ms() < end);
	assert_true(later.verified_ns > first.verified_ns);
	assert_int_equal(later.change_seq, first.change_seq);
	assert_true(fsc_test_counter(f->d.name, FSC_CTR_POLL_SCANS) > scans0);
}

/* Every kind of change below a polled directory reaches the table with no watch on it. */
static void test_changes_converge(void **state)
{
	struct fixture *f = *state;
	fsc_test_write_file(at(f, "remote/a.log"), " more", O_APPEND);
	fsc_test_write_file(at(f, "remote/new.log"), "new", O_EXCL);
	assert_int_equal(truncate(at(f, "remote/sub/b.log"), 0), 0);
	assert_int_equal(chmod(at(f, "remote/sub/b.log"), 0600), 0);
	assert_int_equal(mkdir(at(f, "remote/sub/deeper"), 0755), 0);
	fsc_test_write_file(at(f, "remote/sub/deeper/c.log"), "c", O_EXCL);
	const char *now[] = {
	    at(f, "remote/a.log"),	at(f, "remote/new.log"),	  at(f, "remote/sub/b.log"),
	    at(f, "remote/sub/deeper"), at(f, "remote/sub/deeper/c.log"), NULL};
	fsc_test_wait_agree(f->d.c, now, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_true(flags_of(f->d.c, at(f, "remote/sub/deeper/c.log")) & FSC_FLAG_POLLED);

	/* deletions and a directory renamed: old names negative, new ones served */
	assert_int_equal(unlink(at(f, "remote/new.log")), 0);
	assert_int_equal(rename(at(f, "remote/sub"), at(f, "remote/moved")), 0);
	const char *gone[] = {at(f, "remote/new.log"), at(f, "remote/sub"),
			      at(f, "remote/sub/b.log"), at(f, "remote/sub/deeper/c.log"), NULL};
	fsc_test_wait_agree(f->d.c, gone, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	const char *moved[] = {at(f, "remote/moved"), at(f, "remote/moved/b.log"),
			       at(f, "remote/moved/deeper/c.log"), NULL};
	fsc_test_wait_agree(f->d.c, moved, FSC_EXPECT_STAT, CONVERGE_MS);
	/* still no watch below the root: polling did all of it */
	assert_int_equal(fsc_test_counter(f->d.name, FSC_CTR_WATCHES), 1);
}

/* The polled directory itself deleted and made again. */
static void test_polled_directory_deleted_and_recreated(void **state)
{
	struct fixture *f = *state;
	fsc_test_rmtree(f->polled);
	const char *gone[] = {f->polled, at(f, "remote/a.log"), at(f, "remote/sub/b.log"), NULL};
	fsc_test_wait_agree(f->d.c, gone, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	assert_int_equal(mkdir(f->polled, 0755), 0);
	fsc_test_write_file(at(f, "remote/again.log"), "again", O_EXCL);
	const char *back[] = {f->polled, at(f, "remote/again.log"), NULL};
	fsc_test_wait_agree(f->d.c, back, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_true(flags_of(f->d.c, at(f, "remote/again.log")) & FSC_FLAG_POLLED);
}

/* fsc_stat_fresh: while fscd is stopped (SIGSTOP, within the readers' writer timeout) a
 * polled record ages; once older than asked, fsc_stat_fresh answers with stat(2) while
 * fsc_stat still serves the cached record. */
static void test_stat_fresh_refuses_old_polled_records(void **state)
{
	struct fixture *f = *state;
	const char *p = at(f, "remote/a.log");
	wait_one(f->d.c, p, FSC_EXPECT_STAT);
	struct stat cached, fresh, real;
	assert_int_equal(fsc_stat_fresh(f->d.c, p, &fresh, 60000), 0);
	assert_int_equal(kill(f->d.fscd, SIGSTOP), 0);
	fsc_test_write_file(p, " grown while fscd sleeps", O_APPEND);
	assert_int_equal(lstat(p, &real), 0);
	bool seen = false;
	uint64_t end = fsc_test_now_ms() + 1500; /* the writer timeout is 2 s */
	while (!seen && fsc_test_now_ms() < end) {
		struct fsc_info info;
		if (fsc_lookup(f->d.c, p, &cached, &info) != FSC_HIT)
			break; /* the writer timed out: nothing left to compare with */
		assert_int_equal(fsc_stat_fresh(f->d.c, p, &fresh, 200), 0);
		/* a generous bound still answers from the table: the old size */
		struct stat lax;
		assert_int_equal(fsc_stat_fresh(f->d.c, p, &lax, 60000), 0);
		assert_int_equal(lax.st_size, cached.st_size);
		seen = cached.st_size != real.st_size && fresh.st_size == real.st_size;
	}
	assert_int_equal(kill(f->d.fscd, SIGCONT), 0);
	assert_true(seen);
	wait_one(f->d.c, p, FSC_EXPECT_STAT);
}

int main(void)
{
	/* each test on a fresh tree and fscd */
#define POLLING_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    POLLING_TEST(test_polled_tree_is_served_and_flagged),
	    POLLING_TEST(test_verified_time_moves_without_a_change),
	    POLLING_TEST(test_changes_converge),
	    POLLING_TEST(test_polled_directory_deleted_and_recreated),
	    POLLING_TEST(test_stat_fresh_refuses_old_polled_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
