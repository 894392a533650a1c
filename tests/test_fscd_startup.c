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

/* SIGTERM now: fscd must exit 0 within PROMPT_MS, having published nothing. */
static void expect_prompt_stop(struct fixture *f)
{
	uint64_t t0 = fsc_test_now_ms();
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	int status = fsc_test_fscd_wait(f->pid, 3 * PROMPT_MS);
	uint64_t took = fsc_test_now_ms() - t0;
	if (status == -1)
		fail_msg("fscd ignored SIGTERM while starting for %d ms: %s", 3 * PROMPT_MS,
			 fsc_test_read_file(f->log)); /* teardown stops it */
	f->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("fscd ended with status 0x%x: %s", status, fsc_test_read_file(f->log));
	if (took > PROMPT_MS)
		fail_msg("fscd took %llu ms to honour SIGTERM while starting: %s",
			 (unsigned long long)took, fsc_test_read_file(f->log));
	assert_non_null(strstr(fsc_test_read_file(f->log), "stopping before serving"));
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 0);
	assert_null(fsc_open(f->name));
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
	expect_prompt_stop(f);
}

/* What fscd's main thread is blocked in (/proc/PID/wchan), "" if running. */
static const char *wchan_of(pid_t pid)
{
	static char buf[128];
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* SIGTERM while fscd checks a watch root whose stat hangs (a dead mount). */
static void test_sigterm_while_a_root_hangs(void **state)
{
	struct fixture *f = *state;
	if (!f->mounted)
		skip();
	fsc_test_fuse_hang(&f->m, true);
	const char *argv[] = {"fscd", "--name", f->name, "--watch", f->mnt, NULL};
	f->pid = fsc_test_fscd_start(argv, f->log);
	/* blocked in a FUSE request: the stat of the root */
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	while (!strstr(wchan_of(f->pid), "fuse") && !strstr(wchan_of(f->pid), "request")) {
		if (fsc_test_now_ms() > end || fsc_test_fscd_wait(f->pid, 0) != -1)
			fail_msg("fscd never blocked on %s (wchan %s): %s", f->mnt,
				 wchan_of(f->pid), fsc_test_read_file(f->log));
		pause_ms(2);
	}
	expect_prompt_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sigterm_while_polled_dirs_settle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_while_a_root_hangs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
