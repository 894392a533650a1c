/* A filesystem inotify cannot see, and a stat that hangs on it, for real: a FUSE mount
 * (tests/fsc_test_fusefs.c) inside a watched tree. fscd must find out by itself (a mount
 * point below a root, its type read with statfs on a worker) that the mount needs polling,
 * serve it flagged POLLED and follow changes made behind it; and when stats on it hang (as
 * on a dead NFS server), keep serving everything else, keep its heartbeat, flag the mount's
 * records STALE instead of vouching for them, recover when the mount answers again, and still
 * stop cleanly while a worker is stuck. */
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
#include "fsc_test_fuse.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000
#define STALL_MS    20000 /* fscd calls a listing stalled after 5 s (twice the interval at most) */

struct fixture {
	struct fsc_test_daemon d;
	struct fsc_test_fuse m;
	char *backing;
	bool mounted; /* false: FUSE is not available here, the tests skip */
};

static const char *at(const struct fixture *f, const char *rel)
{
	return fsc_test_path(f->d.root, rel);
}

static void in_backing(struct fixture *f, const char *rel, const char *text, int flags)
{
	fsc_test_write_file(fsc_test_path(f->backing, rel), text, flags);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fsc_test_daemon_prepare(&f->d, "fuse");
	f->backing = fsc_test_tmpdir("fuse-backing");
	static const struct fsc_test_entry backing[] = {
	    {"remote.log", "remote"}, {"sub", NULL}, {"sub/deep.log", "deep"}, {NULL, NULL}};
	fsc_test_tree_make(f->backing, backing);
	fsc_test_write_file(at(f, "local.log"), "local", O_EXCL);
	*state = f;
	if (!(f->mounted = fsc_test_fuse_mount(&f->m, f->backing, at(f, "mnt"))))
		return 0;
	f->d.extra[0] = "--poll-interval";
	f->d.extra[1] = "100";
	fsc_test_daemon_start(&f->d, at(f, "local.log"), CONVERGE_MS);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->mounted) {
		fsc_test_fuse_unmount(&f->m); /* before rmtree: never walk into a live mount */
		fsc_test_daemon_stop(&f->d);
	} else {
		fsc_test_rmtree(f->d.root);
		free(f->d.root);
	}
	fsc_test_rmtree(f->backing);
	free(f->backing);
	free(f);
	return 0;
}

static uint32_t flags_of(fsc_t *c, const char *path)
{
	struct fsc_info info;
	int r = fsc_lookup(c, path, NULL, &info);
	return r == FSC_HIT || r == FSC_NEGATIVE ? info.flags : 0;
}

static void wait_counter(struct fixture *f, int counter, uint64_t at_least, int timeout_ms)
{
	uint64_t end = fsc_test_now_ms() + (uint64_t)timeout_ms;
	while (fsc_test_counter(f->d.name, counter) < at_least) {
		if (fsc_test_now_ms() > end)
			fail_msg("counter %d stayed below %llu", counter,
				 (unsigned long long)at_least);
		usleep(10000);
	}
}

/* The mount is found, classified and polled with nothing configured. */
static void test_fuse_mount_is_detected_and_polled(void **state)
{
	struct fixture *f = *state;
	if (!f->mounted)
		skip();
	const char *served[] = {at(f, "mnt/remote.log"), at(f, "mnt/sub/deep.log"), NULL};
	fsc_test_wait_agree(f->d.c, served, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_true(flags_of(f->d.c, served[0]) & FSC_FLAG_POLLED);
	assert_false(flags_of(f->d.c, at(f, "local.log")) & FSC_FLAG_POLLED);
	assert_non_null(strstr(fsc_test_read_file(f->d.errlog), "fuse"));
	/* changes made behind the mount's back raise no inotify event: polling finds them */
	in_backing(f, "remote.log", " more", O_APPEND);
	in_backing(f, "sub/new.log", "new", O_EXCL);
	const char *changed[] = {at(f, "mnt/remote.log"), at(f, "mnt/sub/new.log"), NULL};
	fsc_test_wait_agree(f->d.c, changed, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(unlink(fsc_test_path(f->backing, "sub/deep.log")), 0);
	const char *deleted[] = {at(f, "mnt/sub/deep.log"), NULL};
	fsc_test_wait_agree(f->d.c, deleted, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
}

/* Stats on the mount hang: the rest is served on, the mount's records turn stale, and
 * everything comes back when the mount answers again. */
static void test_hung_mount_never_blocks_the_loop(void **state)
{
	struct fixture *f = *state;
	if (!f->mounted)
		skip();
	const char *remote = at(f, "mnt/remote.log");
	const char *served[] = {remote, NULL};
	fsc_test_wait_agree(f->d.c, served, FSC_EXPECT_STAT, CONVERGE_MS);
	uint64_t stalls0 = fsc_test_counter(f->d.name, FSC_CTR_POLL_STALLS);
	fsc_test_fuse_hang(&f->m, true);

	/* meanwhile the watched part of the tree keeps being served, change by change */
	for (int i = 0; i < 3; i++) {
		fsc_test_write_file(at(f, "local.log"), " appended", O_APPEND);
		const char *local[] = {at(f, "local.log"), NULL};
		fsc_test_wait_agree(f->d.c, local, FSC_EXPECT_STAT, CONVERGE_MS);
	}
	wait_counter(f, FSC_CTR_POLL_STALLS, stalls0 + 1, STALL_MS);
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	while (!(flags_of(f->d.c, remote) & FSC_FLAG_STALE) && fsc_test_now_ms() < end)
		usleep(10000);
	assert_true(flags_of(f->d.c, remote) & FSC_FLAG_STALE);
	/* the heartbeat never stopped: the table is still trusted for the rest */
	assert_int_equal(fsc_lookup(f->d.c, at(f, "local.log"), NULL, NULL), FSC_HIT);
	assert_non_null(strstr(fsc_test_read_file(f->d.errlog), "has not returned"));

	fsc_test_fuse_hang(&f->m, false);
	fsc_test_wait_agree(f->d.c, served, FSC_EXPECT_STAT, CONVERGE_MS);
	end = fsc_test_now_ms() + CONVERGE_MS;
	while ((flags_of(f->d.c, remote) & FSC_FLAG_STALE) && fsc_test_now_ms() < end)
		usleep(10000);
	assert_false(flags_of(f->d.c, remote) & FSC_FLAG_STALE);
}

/* SIGTERM while a worker is stuck in the mount: fscd still exits, cleanly and soon. */
static void test_stop_while_a_worker_is_stuck(void **state)
{
	struct fixture *f = *state;
	if (!f->mounted)
		skip();
	uint64_t stalls0 = fsc_test_counter(f->d.name, FSC_CTR_POLL_STALLS);
	fsc_test_fuse_hang(&f->m, true);
	wait_counter(f, FSC_CTR_POLL_STALLS, stalls0 + 1, STALL_MS); /* a worker is stuck */
	assert_int_equal(kill(f->d.fscd, SIGTERM), 0);
	int status = fsc_test_fscd_wait(f->d.fscd, 10000);
	fsc_test_fuse_hang(&f->m, false);
	assert_true(status != -1);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the fixture's stop must not wait for it again: start a fresh one to stop */
	f->d.fscd = fsc_test_fscd_start(
	    (const char *const[]){"fscd", "--name", f->d.name, "--watch", f->d.root, NULL},
	    f->d.errlog);
	fsc_close(f->d.c);
	f->d.c = fsc_test_open_when_live(f->d.name, CONVERGE_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fuse_mount_is_detected_and_polled, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_hung_mount_never_blocks_the_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_while_a_worker_is_stuck, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
