/* IN_Q_OVERFLOW: events were lost. fscd re-verifies everything, counts it, backs off while
 * overflows repeat, and nothing stays wrong once the storm ends. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_harness.h"
#include "fsc_shm_format.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define WAIT_MS 30000

struct fixture {
	struct fsc_test_daemon d;
	long saved_limit;
	int storm_files; /* more events than the queue holds */
};

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_daemon_prepare(&f.d, "overflow");
	/* The queue limit is read when an inotify instance is made: lower it for fscd's only.
	 * Without root, outgrow the default queue instead. */
	f.saved_limit = fsc_harness_inotify_queue_read();
	f.storm_files = 20000;
	if (f.saved_limit > 0 && fsc_harness_inotify_queue_write(64))
		f.storm_files = 400;
	fsc_test_daemon_start(&f.d, f.d.root, WAIT_MS);
	if (f.storm_files == 400)
		fsc_harness_inotify_queue_write(f.saved_limit);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->saved_limit > 0 && fsc_harness_inotify_queue_read() != f->saved_limit)
		fsc_harness_inotify_queue_write(
		    f->saved_limit); /* setup failed before restoring it */
	fsc_test_daemon_stop(&f->d);
	return 0;
}

/* Makes a burst of changes while fscd is stopped, so that the queue must overflow, and
 * waits until fscd has read the overflow (the kernel queues one per full queue). */
static void storm(struct fixture *f, const char *tag, int files)
{
	uint64_t before = fsc_test_counter(f->d.name, FSC_CTR_OVERFLOWS);
	kill(f->d.fscd, SIGSTOP);
	char p[512];
	for (int i = 0; i < files; i++) {
		snprintf(p, sizeof(p), "%s/%s-%d", f->d.root, tag, i);
		int fd = open(p, O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	kill(f->d.fscd, SIGCONT);
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	while (fsc_test_counter(f->d.name, FSC_CTR_OVERFLOWS) == before) {
		if (fsc_test_now_ms() > end)
			fail_msg("fscd did not report the overflow of storm %s", tag);
		usleep(1000);
	}
}

static void wait_all(struct fixture *f, const char *tag, int files)
{
	static const char *paths[2];
	char p[512];
	/* every file of the burst, one at a time, each with the full deadline budget shared */
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	for (int i = 0; i < files; i += (i < 64 ? 1 : 97)) {
		snprintf(p, sizeof(p), "%s/%s-%d", f->d.root, tag, i);
		paths[0] = p;
		uint64_t now = fsc_test_now_ms();
		fsc_test_wait_agree(f->d.c, paths, FSC_EXPECT_STAT,
				    now < end ? (int)(end - now) : 1);
	}
	snprintf(p, sizeof(p), "%s/%s-%d", f->d.root, tag, files - 1);
	paths[0] = p;
	fsc_test_wait_agree(f->d.c, paths, FSC_EXPECT_STAT, WAIT_MS);
}

static void test_overflow_reverifies_everything(void **state)
{
	struct fixture *f = *state;
	uint64_t overflows = fsc_test_counter(f->d.name, FSC_CTR_OVERFLOWS);
	uint64_t rescans = fsc_test_counter(f->d.name, FSC_CTR_RESCANS);
	storm(f, "a", f->storm_files);
	wait_all(f, "a", f->storm_files);
	assert_true(fsc_test_counter(f->d.name, FSC_CTR_OVERFLOWS) > overflows);
	assert_true(fsc_test_counter(f->d.name, FSC_CTR_RESCANS) > rescans);
	/* the root directory's own record (its mtime and size changed) is right too */
	const char *root[] = {f->d.root, NULL};
	fsc_test_wait_agree(f->d.c, root, FSC_EXPECT_STAT, WAIT_MS);
}

/* Overflows in quick succession: the re-verification is deferred (backoff), never lost. */
static void test_repeated_overflows_back_off_and_converge(void **state)
{
	struct fixture *f = *state;
	uint64_t overflows = fsc_test_counter(f->d.name, FSC_CTR_OVERFLOWS);
	storm(f, "b", f->storm_files);
	storm(f, "c", f->storm_files);
	/* deletions lost in an overflow must turn negative too */
	char gone[512];
	snprintf(gone, sizeof(gone), "%s/a-0", f->d.root);
	kill(f->d.fscd, SIGSTOP);
	assert_int_equal(unlink(gone), 0);
	kill(f->d.fscd, SIGCONT);
	storm(f, "d", f->storm_files);
	/* three overflows within a second or two: the later re-verifications were deferred */
	wait_all(f, "b", f->storm_files);
	wait_all(f, "d", f->storm_files);
	const char *g[] = {gone, NULL};
	fsc_test_wait_agree(f->d.c, g, FSC_EXPECT_NEGATIVE, WAIT_MS);
	assert_true(fsc_test_counter(f->d.name, FSC_CTR_OVERFLOWS) >= overflows + 3);
	assert_non_null(strstr(fsc_test_read_file(f->d.errlog), "overflowed again"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overflow_reverifies_everything),
	    cmocka_unit_test(test_repeated_overflows_back_off_and_converge),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
