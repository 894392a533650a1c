/* On-demand caching: a reader's miss (fsc_stat) asks fscd to cache the path. fscd takes it
 * on the second request within its window, only under a root in a directory it watches; and
 * a one-off scan of paths, each asked for once, leaves the entries readers come back to in a
 * full table, where admitting everything (--request-window 0) lets the scan push them out. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000
#define NFILES	    200
#define NHOT	    10
#define CAPACITY    "64"

struct fixture {
	struct fsc_test_daemon d;
	char path[NFILES][512];
};

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* fscd serving ROOT (files f000..f199 and an excluded directory), with extra flags. */
static struct fixture *start(const char *window)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fsc_test_daemon_prepare(&f->d, "ondemand");
	for (int i = 0; i < NFILES; i++) {
		snprintf(f->path[i], sizeof(f->path[i]), "%s/f%03d", f->d.root, i);
		write_file(f->path[i], "x");
	}
	char skip[512];
	snprintf(skip, sizeof(skip), "%s/skipped", f->d.root);
	assert_int_equal(mkdir(skip, 0755), 0);
	f->d.extra[0] = "--capacity";
	f->d.extra[1] = CAPACITY;
	f->d.extra[2] = "--exclude";
	f->d.extra[3] = "skipped";
	f->d.extra[4] = "--request-window";
	f->d.extra[5] = window;
	/* no probe: which files a 64-entry table holds after the scan is CLOCK's choice (the
	 * table is complete once published: fscd builds it first) */
	fsc_test_daemon_start(&f->d, NULL, CONVERGE_MS);
	return f;
}

static void stop(struct fixture *f)
{
	fsc_test_daemon_stop(&f->d);
	free(f);
}

/* Waits until fscd has handled `want` requests in all (they arrive asynchronously). */
static void wait_requests(const struct fixture *f, uint64_t want)
{
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_test_counter(f->d.name, FSC_CTR_REQUESTS) < want) {
		if (fsc_test_now_ms() > end)
			fail_msg("fscd handled %llu requests, expected %llu",
				 (unsigned long long)fsc_test_counter(f->d.name, FSC_CTR_REQUESTS),
				 (unsigned long long)want);
		usleep(1000);
	}
}

/* Reads path as a reader that asks for what it misses (fsc_request: always sent, unlike
 * fsc_stat's own requests, which libfsc rate-limits), and waits for fscd to handle it. */
static int stat_and_settle(struct fixture *f, const char *path)
{
	int r = fsc_lookup(f->d.c, path, NULL, NULL);
	uint64_t before = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS);
	if (r == FSC_MISS) {
		assert_int_equal(fsc_request(f->d.c, path), 0);
		wait_requests(f, before + 1);
	}
	return r;
}

/* fsc_stat on a miss: it sends the request itself (the first two times); wait for it. */
static void fsc_stat_and_settle(struct fixture *f, const char *path)
{
	assert_int_equal(fsc_lookup(f->d.c, path, NULL, NULL), FSC_MISS);
	uint64_t before = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS);
	struct stat st;
	fsc_stat(f->d.c, path, &st);
	wait_requests(f, before + 1);
}

/* A path that does not exist yet: cached as negative on its second request, then followed
 * by the directory's watch when it appears. */
static void test_second_request_caches_a_negative_entry(void **state)
{
	(void)state;
	struct fixture *f = start("10000");
	char later[512];
	snprintf(later, sizeof(later), "%s/appears-later.log", f->d.root);
	fsc_stat_and_settle(f, later);
	assert_int_equal(fsc_lookup(f->d.c, later, NULL, NULL), FSC_MISS); /* remembered only */
	uint64_t admitted0 = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS_ADMITTED);
	fsc_stat_and_settle(f, later);
	assert_int_equal(fsc_test_counter(f->d.name, FSC_CTR_REQUESTS_ADMITTED), admitted0 + 1);
	assert_int_equal(fsc_lookup(f->d.c, later, NULL, NULL), FSC_NEGATIVE);
	errno = 0;
	struct stat st;
	assert_int_equal(fsc_stat(f->d.c, later, &st), -1);
	assert_int_equal(errno, ENOENT);
	write_file(later, "now it exists");
	const char *p[] = {later, NULL};
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	stop(f);
}

/* fsc_stat asks for a missed path by itself, but at most twice in a row (fscd admits on the
 * second request): a path fscd will never cache costs no sendto on every miss. */
static void test_repeated_misses_ask_at_most_twice(void **state)
{
	(void)state;
	struct fixture *f = start("10000");
	uint64_t before = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS);
	struct stat st;
	for (int i = 0; i < 100; i++)
		assert_int_equal(fsc_stat(f->d.c, "/etc/hostname-outside-the-roots", &st), -1);
	/* datagrams are handled in order: once this one is counted, every earlier one is */
	char sentinel[512];
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", f->d.root);
	assert_int_equal(fsc_request(f->d.c, sentinel), 0);
	wait_requests(f, before + 3);
	assert_int_equal(fsc_test_counter(f->d.name, FSC_CTR_REQUESTS), before + 3);
	stop(f);
}

/* Outside every root, in an excluded directory, or malformed: never cached. */
static void test_requests_outside_the_roots_are_refused(void **state)
{
	(void)state;
	struct fixture *f = start("0"); /* admit on first request: only the check refuses */
	char excluded[512];
	snprintf(excluded, sizeof(excluded), "%s/skipped/file", f->d.root);
	write_file(excluded, "x");
	uint64_t refused0 = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS_REFUSED);
	uint64_t n0 = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS);
	assert_int_equal(fsc_request(f->d.c, "/etc/hostname"), 0);
	assert_int_equal(fsc_request(f->d.c, excluded), 0);
	wait_requests(f, n0 + 2);
	assert_int_equal(fsc_test_counter(f->d.name, FSC_CTR_REQUESTS_REFUSED), refused0 + 2);
	assert_int_equal(fsc_lookup(f->d.c, "/etc/hostname", NULL, NULL), FSC_MISS);
	assert_int_equal(fsc_lookup(f->d.c, excluded, NULL, NULL), FSC_MISS);
	/* never sent: not a canonical absolute path */
	errno = 0;
	assert_int_equal(fsc_request(f->d.c, "relative/path"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fsc_request(f->d.c, "/a/../b"), -1);
	stop(f);
}

/* The hot set is made resident by requests, then a scan asks once for every other file.
 * Returns how many hot files still hit afterwards. */
static int hot_survivors_after_scan(struct fixture *f)
{
	/* rounds of use until every hot file is resident: an admitted file starts unreferenced,
	 * so CLOCK may take it back before its first hit; later rounds bring it in again (libfsc
	 * asks for one path at most twice per 2 s, so that may take a few seconds) */
	int resident = 0;
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	while (resident < NHOT && fsc_test_now_ms() < end) {
		resident = 0;
		for (int i = 0; i < NHOT; i++)
			resident += stat_and_settle(f, f->path[i]) == FSC_HIT;
	}
	assert_int_equal(resident, NHOT);
	for (int i = NHOT; i < NFILES; i++)
		stat_and_settle(f, f->path[i]);
	int survivors = 0;
	for (int i = 0; i < NHOT; i++)
		survivors += fsc_lookup(f->d.c, f->path[i], NULL, NULL) == FSC_HIT;
	return survivors;
}

static void test_a_scan_does_not_push_out_the_hot_set(void **state)
{
	(void)state;
	struct fixture *f = start("60000");
	int survivors = hot_survivors_after_scan(f);
	print_message("second-request admission: %d of %d hot files still cached\n", survivors,
		      NHOT);
	assert_int_equal(survivors, NHOT);
	stop(f);
}

/* The control: admitting every request lets the same scan evict the hot set. */
static void test_admitting_everything_lets_a_scan_evict_the_hot_set(void **state)
{
	(void)state;
	struct fixture *f = start("0");
	int survivors = hot_survivors_after_scan(f);
	print_message("admit-all: %d of %d hot files still cached\n", survivors, NHOT);
	assert_true(survivors < NHOT);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_second_request_caches_a_negative_entry),
	    cmocka_unit_test(test_repeated_misses_ask_at_most_twice),
	    cmocka_unit_test(test_requests_outside_the_roots_are_refused),
	    cmocka_unit_test(test_a_scan_does_not_push_out_the_hot_set),
	    cmocka_unit_test(test_admitting_everything_lets_a_scan_evict_the_hot_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
