/* A directory moved out of the watched tree, within it, out and back in, and a file root's
 * directory moved away, under the real fscd with real inotify. Whatever was below the old
 * path turns negative within one event pass: the moved-out case is timed from rename()
 * returning, over many trials and on a large table, against a bound far below the seconds
 * it took when fscd walked the whole table to find them (the failure mode), and the figures
 * are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_harness.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define CONVERGE_MS	 15000 /* generous: a bound on waiting, not a speed claim */
#define MOVED_MAX_MS	 300   /* old paths negative within this after rename() returns */
#define GIVE_UP_MS	 5000  /* a trial still positive by then has failed anyway */
#define TRIALS		 20
#define BURST		 50
#define PATH_BYTES	 512
#define NREL		 6
#define TABLE_CAPACITY	 "500000"
#define POLL_INTERVAL_MS "200"

/* What each moved directory holds (relative to it); "" is the directory itself. */
static const char *const rels[NREL] = {"", "a", "b", "sub", "sub/c", "sub/deep/d"};

struct fixture {
	struct fsc_test_daemon d;
	char *away; /* outside the tree, on the same filesystem (/tmp) */
};

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_daemon_prepare(&f.d, "mvd");
	f.away = fsc_test_tmpdir("mvdaway");
	/* a large table (512 MiB of slots): finding what was below a moved directory must not
	 * cost a walk of all of it (the first such walk faults in every page: seconds) */
	f.d.extra[0] = "--capacity";
	f.d.extra[1] = TABLE_CAPACITY;
	fsc_test_daemon_start(&f.d, f.d.root, CONVERGE_MS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_rmtree(f->away);
	free(f->away);
	fsc_test_daemon_stop(&f->d);
	return 0;
}

/* out = dir/rel (PATH_BYTES), failing the test if it does not fit. */
static char *pj(char *out, const char *dir, const char *rel)
{
	int n = snprintf(out, PATH_BYTES, "%s/%s", dir, rel);
	assert_true(n > 0 && n < PATH_BYTES);
	return out;
}

/* out = dir/rel followed by the number i. */
static char *pjn(char *out, const char *dir, const char *rel, int i)
{
	int n = snprintf(out, PATH_BYTES, "%s/%s%d", dir, rel, i);
	assert_true(n > 0 && n < PATH_BYTES);
	return out;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The paths of rels below dir, into out (NREL + 1 pointers, NULL-terminated). */
static void paths_below(char buf[NREL][PATH_BYTES], const char **out, const char *dir)
{
	for (int i = 0; i < NREL; i++) {
		out[i] = *rels[i] ? pj(buf[i], dir, rels[i]) : strcpy(buf[i], dir);
	}
	out[NREL] = NULL;
}

/* Makes dir with the entries of rels and waits until every one is served. */
static void make_served(const struct fixture *f, const char *dir)
{
	char p[PATH_BYTES];
	assert_int_equal(mkdir(dir, 0755), 0);
	pj(p, dir, "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	pj(p, dir, "sub/deep");
	assert_int_equal(mkdir(p, 0755), 0);
	for (int i = 0; i < NREL; i++) {
		if (strcmp(rels[i], "") == 0 || strcmp(rels[i], "sub") == 0)
			continue;
		pj(p, dir, rels[i]);
		fsc_test_write_file(p, rels[i], O_EXCL);
	}
	char buf[NREL][PATH_BYTES];
	const char *paths[NREL + 1];
	paths_below(buf, paths, dir);
	fsc_test_wait_agree(f->d.c, paths, FSC_EXPECT_STAT, CONVERGE_MS);
}

/* The first path that the table does not hold as negative, or for which fsc_stat does not say
 * ENOENT (NULL if none), with what fsc_lookup answered for it. */
static const char *first_not_negative(fsc_t *c, const char *const *paths, int *result)
{
	for (size_t i = 0; paths[i]; i++) {
		struct stat st;
		*result = fsc_lookup(c, paths[i], &st, NULL);
		if (*result != FSC_NEGATIVE)
			return paths[i];
		errno = 0;
		if (fsc_stat(c, paths[i], &st) != -1 || errno != ENOENT)
			return paths[i];
	}
	return NULL;
}

static bool all_negative(fsc_t *c, const char *const *paths)
{
	int result;
	return first_not_negative(c, paths, &result) == NULL;
}

/* Polls until every path is negative; returns the microseconds from t0_us, or fails once
 * GIVE_UP_MS have passed, naming a path still not negative. */
static uint64_t wait_negative(fsc_t *c, const char *const *paths, uint64_t t0_us,
			      const char *errlog)
{
	for (;;) {
		int result;
		const char *p = first_not_negative(c, paths, &result);
		if (!p)
			return now_us() - t0_us;
		if (now_us() - t0_us > GIVE_UP_MS * 1000ull)
			fail_msg("%s: not negative %d ms after it was moved (fsc_lookup: %s; "
				 "fs.inotify.max_queued_events: %ld); fscd said:\n%s",
				 p, GIVE_UP_MS, fsc_result_name(result),
				 fsc_harness_inotify_queue_read(), fsc_test_read_file(errlog));
		fsc_test_pause_ms(1); /* the polling interval: it only limits the resolution */
	}
}

/* Fails unless us is within the bound, saying what may explain it (a queue overflow makes
 * fscd re-verify everything: the inotify queue limit is global, and tests lower it). */
static void assert_fast(uint64_t us, const char *what, const char *errlog)
{
	if (us > MOVED_MAX_MS * 1000ull)
		fail_msg("%s: negative only after %.1f ms (bound %d ms; "
			 "fs.inotify.max_queued_events: %ld); fscd said:\n%s",
			 what, us / 1000.0, MOVED_MAX_MS, fsc_harness_inotify_queue_read(),
			 fsc_test_read_file(errlog));
}

/* No path is served as existing (a miss or a negative is fine: both say stat(2)'s ENOENT). */
static void assert_none_positive(fsc_t *c, const char *const *paths)
{
	for (size_t i = 0; paths[i]; i++) {
		struct stat st;
		int r = fsc_lookup(c, paths[i], &st, NULL);
		if (r != FSC_NEGATIVE && r != FSC_MISS)
			fail_msg("%s: the table answers %d, but it was moved away", paths[i], r);
		errno = 0;
		assert_int_equal(fsc_stat(c, paths[i], &st), -1);
		assert_int_equal(errno, ENOENT);
	}
}

/* Renames from to to; returns the microseconds until every old path was negative (or fails
 * once GIVE_UP_MS have passed). */
static uint64_t move_and_time(const struct fixture *f, const char *from, const char *to)
{
	char buf[NREL][PATH_BYTES];
	const char *old[NREL + 1];
	paths_below(buf, old, from);
	assert_int_equal(rename(from, to), 0);
	return wait_negative(f->d.c, old, now_us(), f->d.errlog);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The finding: old paths were positive for 0.7 to 2.2 s after the move. Every trial must be
 * well under that. */
static void test_moved_out_latency(void **state)
{
	struct fixture *f = *state;
	uint64_t us[TRIALS];
	for (int i = 0; i < TRIALS; i++) {
		char from[PATH_BYTES], to[PATH_BYTES];
		pjn(from, f->d.root, "out", i);
		pjn(to, f->away, "out", i);
		make_served(f, from);
		us[i] = move_and_time(f, from, to);
	}
	uint64_t sorted[TRIALS];
	memcpy(sorted, us, sizeof(us));
	qsort(sorted, TRIALS, sizeof(sorted[0]), cmp_u64);
	printf("moved out of the tree, old paths negative after: p50 %.1f ms, max %.1f ms "
	       "(%d trials, bound %d ms)\n",
	       sorted[TRIALS / 2] / 1000.0, sorted[TRIALS - 1] / 1000.0, TRIALS, MOVED_MAX_MS);
	for (int i = 0; i < TRIALS; i++) {
		char what[32];
		snprintf(what, sizeof(what), "trial %d", i);
		assert_fast(us[i], what, f->d.errlog);
	}
}

/* Many directories moved out at once, each its own event: what each costs adds up. */
static void test_moved_out_burst(void **state)
{
	struct fixture *f = *state;
	static char from[BURST][PATH_BYTES], to[BURST][PATH_BYTES], file[BURST][PATH_BYTES];
	const char *old[2 * BURST + 1];
	for (int i = 0; i < BURST; i++) {
		pjn(from[i], f->d.root, "burst", i);
		pjn(to[i], f->away, "burst", i);
		assert_int_equal(mkdir(from[i], 0755), 0);
		fsc_test_write_file(pj(file[i], from[i], "f"), "f", O_EXCL);
		old[2 * i] = from[i];
		old[2 * i + 1] = file[i];
	}
	old[2 * BURST] = NULL;
	fsc_test_wait_agree(f->d.c, old, FSC_EXPECT_STAT, CONVERGE_MS);
	for (int i = 0; i < BURST; i++)
		assert_int_equal(rename(from[i], to[i]), 0);
	uint64_t us = wait_negative(f->d.c, old, now_us(), f->d.errlog);
	printf("%d directories moved out at once: all negative %.1f ms after the last rename\n",
	       BURST, us / 1000.0);
	assert_fast(us, "a burst of moves", f->d.errlog);
}

/* Moved within the tree (renamed in place, and into another directory): the old paths turn
 * negative as fast, the new ones are served, and changes at the new place are followed. */
static void test_moved_within(void **state)
{
	struct fixture *f = *state;
	char from[PATH_BYTES], to[PATH_BYTES], other[PATH_BYTES], to2[PATH_BYTES];
	pj(from, f->d.root, "within");
	pj(to, f->d.root, "within2");
	pj(other, f->d.root, "elsewhere_in_tree");
	pj(to2, f->d.root, "elsewhere_in_tree/within3");
	assert_int_equal(mkdir(other, 0755), 0);
	make_served(f, from);
	char nbuf[NREL][PATH_BYTES];
	const char *now[NREL + 1];
	const char *hops[][2] = {{from, to}, {to, to2}};
	for (size_t h = 0; h < 2; h++) {
		uint64_t us = move_and_time(f, hops[h][0], hops[h][1]);
		printf("moved within the tree: old paths negative after %.1f ms\n", us / 1000.0);
		assert_fast(us, "moved within the tree", f->d.errlog);
		paths_below(nbuf, now, hops[h][1]);
		fsc_test_wait_agree(f->d.c, now, FSC_EXPECT_STAT, CONVERGE_MS);
	}
	/* watched at its new place: a change there is seen */
	char p[PATH_BYTES];
	pj(p, to2, "sub/deep/d");
	fsc_test_write_file(p, "more", O_APPEND);
	pj(p, to2, "sub/new");
	fsc_test_write_file(p, "new", O_EXCL);
	const char *changed[] = {now[5], p, NULL};
	fsc_test_wait_agree(f->d.c, changed, FSC_EXPECT_STAT, CONVERGE_MS);
}

/* Moved out, changed while away, moved back: served again as it now is, and followed. */
static void test_moved_out_and_back(void **state)
{
	struct fixture *f = *state;
	char in[PATH_BYTES], out[PATH_BYTES], p[PATH_BYTES];
	pj(in, f->d.root, "roundtrip");
	pj(out, f->away, "roundtrip");
	make_served(f, in);
	move_and_time(f, in, out);
	pj(p, out, "sub/c");
	fsc_test_write_file(p, "changed away", O_APPEND);
	assert_int_equal(rename(out, in), 0);
	char buf[NREL][PATH_BYTES];
	const char *paths[NREL + 1];
	paths_below(buf, paths, in);
	fsc_test_wait_agree(f->d.c, paths, FSC_EXPECT_STAT, CONVERGE_MS);
	pj(p, in, "sub/deep/back");
	fsc_test_write_file(p, "back", O_EXCL);
	const char *added[] = {p, NULL};
	fsc_test_wait_agree(f->d.c, added, FSC_EXPECT_STAT, CONVERGE_MS);
}

/* Writes in a directory moved out of the tree do not bring its old paths back. */
static void test_moved_away_writes(void **state)
{
	struct fixture *f = *state;
	char in[PATH_BYTES], out[PATH_BYTES], p[PATH_BYTES];
	pj(in, f->d.root, "gone");
	pj(out, f->away, "gone");
	make_served(f, in);
	char buf[NREL][PATH_BYTES];
	const char *old[NREL + 1];
	paths_below(buf, old, in);
	assert_int_equal(rename(in, out), 0);
	/* at once, before fscd may have seen the move, and again after */
	for (int round = 0; round < 2; round++) {
		for (int i = 1; i < NREL; i++) {
			if (strcmp(rels[i], "sub") == 0)
				continue;
			pj(p, out, rels[i]);
			fsc_test_write_file(p, "written away", O_APPEND);
		}
		pjn(p, out, "sub/new", round);
		fsc_test_write_file(p, "new", O_EXCL);
		pjn(p, out, "dir", round);
		assert_int_equal(mkdir(p, 0755), 0);
		pj(p, out, "sub/deep");
		assert_int_equal(chmod(p, 0700), 0);
		/* every event queued so far has been handled */
		fsc_test_settle(f->d.c, f->d.root, CONVERGE_MS);
		assert_true(all_negative(f->d.c, old));
		char extra[3][PATH_BYTES];
		pjn(extra[0], in, "sub/new", round);
		pjn(extra[1], in, "dir", round);
		const char *more[] = {extra[0], extra[1], NULL};
		assert_none_positive(f->d.c, more);
	}
}

/* The directory of a file root moved away: the file turns negative, and is followed again
 * once its directory is back. */
static void test_file_root_parent_moved(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "mvdf");
	char *top = fsc_test_tmpdir("mvdftop");
	char dir[PATH_BYTES], file[PATH_BYTES], away[PATH_BYTES];
	pj(dir, top, "logs");
	pj(file, top, "logs/app.log");
	pj(away, top, "logs.moved");
	assert_int_equal(mkdir(dir, 0755), 0);
	fsc_test_write_file(file, "line\n", O_EXCL);
	d.extra[0] = "--watch";
	d.extra[1] = file;
	fsc_test_daemon_start(&d, file, CONVERGE_MS);
	const char *p[] = {file, NULL};
	fsc_test_wait_agree(d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(rename(dir, away), 0);
	uint64_t t0 = now_us();
	fsc_test_wait_agree(d.c, p, FSC_EXPECT_NEGATIVE, GIVE_UP_MS);
	uint64_t us = now_us() - t0;
	printf("a file root's directory moved away: negative after %.1f ms\n", us / 1000.0);
	assert_fast(us, "a file root's directory moved", d.errlog);
	/* written while away: not the root's business */
	char moved_file[PATH_BYTES];
	pj(moved_file, away, "app.log");
	fsc_test_write_file(moved_file, "away\n", O_APPEND);
	assert_int_equal(rename(away, dir), 0);
	fsc_test_wait_agree(d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_write_file(file, "back\n", O_APPEND);
	fsc_test_wait_agree(d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_daemon_stop(&d);
	fsc_test_rmtree(top);
	free(top);
}

/* Polled directories (--poll): one moved out of a watched directory goes at once, as any
 * watched entry (its parent's event says so); one moved out of a polled directory goes at the
 * next listing of either, so the poll interval is the latency there. */
static void test_polled_moved(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "mvdp");
	char *away = fsc_test_tmpdir("mvdpaway");
	char remote[PATH_BYTES], inner[PATH_BYTES], to[PATH_BYTES];
	pj(remote, d.root, "remote");
	pj(inner, remote, "inner");
	static const struct fsc_test_entry tree[] = {
	    {"remote", NULL},
	    {"remote/a", "a"},
	    {"remote/inner", NULL},
	    {"remote/inner/b", "b"},
	    {"remote/inner/sub", NULL},
	    {"remote/inner/sub/c", "c"},
	    {NULL, NULL},
	};
	d.extra[0] = "--poll";
	d.extra[1] = remote;
	d.extra[2] = "--poll-interval";
	d.extra[3] = POLL_INTERVAL_MS;
	fsc_test_tree_serve(&d, tree, "remote/inner/sub/c", CONVERGE_MS);
	char buf[4][PATH_BYTES];
	const char *below_inner[] = {inner, pj(buf[0], inner, "b"), pj(buf[1], inner, "sub"),
				     pj(buf[2], inner, "sub/c"), NULL};
	fsc_test_wait_agree(d.c, below_inner, FSC_EXPECT_STAT, CONVERGE_MS);
	/* polled below a polled directory: found by polling */
	pj(to, away, "inner");
	assert_int_equal(rename(inner, to), 0);
	uint64_t t0 = now_us();
	fsc_test_wait_agree(d.c, below_inner, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	printf("moved out of a polled directory (polled every %s ms): negative after %.1f ms\n",
	       POLL_INTERVAL_MS, (now_us() - t0) / 1000.0);
	/* back in: listed again */
	assert_int_equal(rename(to, inner), 0);
	fsc_test_wait_agree(d.c, below_inner, FSC_EXPECT_STAT, CONVERGE_MS);
	/* the polled directory itself, from the watched root: at once */
	const char *below_remote[] = {remote,
				      pj(buf[3], remote, "a"),
				      below_inner[0],
				      below_inner[1],
				      below_inner[2],
				      below_inner[3],
				      NULL};
	fsc_test_wait_agree(d.c, below_remote, FSC_EXPECT_STAT, CONVERGE_MS);
	pj(to, away, "remote");
	assert_int_equal(rename(remote, to), 0);
	uint64_t us = wait_negative(d.c, below_remote, now_us(), d.errlog);
	printf("a polled directory moved out of a watched one: negative after %.1f ms\n",
	       us / 1000.0);
	assert_fast(us, "a polled directory moved", d.errlog);
	fsc_test_daemon_stop(&d);
	fsc_test_rmtree(away);
	free(away);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_moved_out_latency), cmocka_unit_test(test_moved_out_burst),
	    cmocka_unit_test(test_moved_within),      cmocka_unit_test(test_moved_out_and_back),
	    cmocka_unit_test(test_moved_away_writes), cmocka_unit_test(test_file_root_parent_moved),
	    cmocka_unit_test(test_polled_moved),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
