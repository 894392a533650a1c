/* SIGTERM while fscd starts: it must stop promptly, with status 0, and leave nothing in
 * /dev/shm, whatever stage start-up is at. The stage provoked here is the longest one that
 * does not depend on the tree's size: waiting (up to 5 s) for the first listing of polled
 * directories before publishing. A polled directory on a FUSE mount (tests/fsc_test_fusefs.c)
 * whose requests hang keeps fscd there; its log says when it has got that far. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_fuse.h"
#include "fsc_test_util.h"

#define WAIT_MS	  15000
#define PROMPT_MS 2000 /* well under the 5 s fscd would otherwise wait for polled directories */

struct fixture {
	char name[64];
	char *root, *backing, *logdir;
	char mnt[512], log[512];
	struct fsc_test_fuse m;
	bool mounted;
	pid_t pid;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fsc_test_name(f->name, sizeof(f->name), "startup");
	f->root = fsc_test_tmpdir("startup");
	f->backing = fsc_test_tmpdir("startup-backing");
	f->logdir = fsc_test_tmpdir("startup-log");
	snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->root);
	snprintf(f->log, sizeof(f->log), "%s/fscd.log", f->logdir);
	char path[512];
	snprintf(path, sizeof(path), "%s/remote.log", f->backing);
	fsc_test_write_file(path, "remote", O_EXCL);
	snprintf(path, sizeof(path), "%s/local.log", f->root);
	fsc_test_write_file(path, "local", O_EXCL);
	f->mounted = fsc_test_fuse_mount(&f->m, f->backing, f->mnt);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->pid > 0)
		fsc_test_fscd_stop(f->pid);
	fsc_test_fuse_unmount(&f->m); /* before rmtree: never walk into a live mount */
	fsc_test_shm_leftovers(f->name, true);
	fsc_test_rmtree(f->root);
	fsc_test_rmtree(f->backing);
	fsc_test_rmtree(f->logdir);
	free(f->root);
	free(f->backing);
	free(f->logdir);
	free(f);
	return 0;
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* SIGTERM while fscd waits for a polled directory whose listing hangs. */
static void test_sigterm_while_polled_dirs_settle(void **state)
{
	struct fixture *f = *state;
	if (!f->mounted)
		skip();
	fsc_test_fuse_hang(&f->m, true);
	const char *argv[] = {"fscd",	"--name", f->name,	     "--watch", f->root,
			      "--poll", f->mnt,	  "--poll-interval", "100",	NULL};
	f->pid = fsc_test_fscd_start(argv, f->log);
	/* logged by the scan, just before fscd waits for the listing */
	char needle[600];
	snprintf(needle, sizeof(needle), "polling %s every", f->mnt);
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	while (!strstr(fsc_test_read_file(f->log), needle)) {
		if (fsc_test_now_ms() > end || fsc_test_fscd_wait(f->pid, 0) != -1)
			fail_msg("fscd never got to polling %s: %s", f->mnt,
				 fsc_test_read_file(f->log));
		pause_ms(2);
	}
	uint64_t t0 = fsc_test_now_ms();
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	int status = fsc_test_fscd_wait(f->pid, WAIT_MS);
	uint64_t took = fsc_test_now_ms() - t0;
	f->pid = 0;
	assert_true(status != -1);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("fscd ended with status 0x%x: %s", status, fsc_test_read_file(f->log));
	if (took > PROMPT_MS)
		fail_msg("fscd took %llu ms to honour SIGTERM while starting: %s",
			 (unsigned long long)took, fsc_test_read_file(f->log));
	assert_non_null(strstr(fsc_test_read_file(f->log), "stopping before serving"));
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 0);
	assert_null(fsc_open(f->name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sigterm_while_polled_dirs_settle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
