/* The inotify watch limit, hit for real: fscd runs in a user namespace of its own whose
 * max_inotify_watches (a per-namespace limit since Linux 5.11, counted against every
 * ancestor too) is lowered to a handful, so the host's limit is never touched. Directories
 * beyond the limit must be reported (log, counter) and polled instead of going blind: every
 * file stays served and every change, in watched and polled directories alike, converges. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
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

#define CONVERGE_MS 15000
#define WATCH_LIMIT "4"
#define NDIRS	    6 /* d0..d5, each with f and sub/g: 13 directories, 4 watches */

static int proc_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Child: a user namespace with a tiny watch limit, then fscd. Reports a failure to set it up
 * on report_fd (close-on-exec: nothing arrives once fscd runs). */
static void fscd_child(const char *const *argv, const char *errlog, int report_fd)
{
	int log = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log >= 0)
		dup2(log, 2);
	char map[64];
	snprintf(map, sizeof(map), "0 %d 1", (int)getuid());
	char gmap[64];
	snprintf(gmap, sizeof(gmap), "0 %d 1", (int)getgid());
	if (unshare(CLONE_NEWUSER) < 0 || proc_write("/proc/self/setgroups", "deny") < 0 ||
	    proc_write("/proc/self/uid_map", map) < 0 ||
	    proc_write("/proc/self/gid_map", gmap) < 0 ||
	    proc_write("/proc/sys/user/max_inotify_watches", WATCH_LIMIT) < 0) {
		char c = 1;
		if (write(report_fd, &c, 1) < 0)
			_exit(2);
		_exit(77);
	}
	execv(FSCD_PATH, (char *const *)argv);
	_exit(127);
}

/* Starts fscd under the limit; false if this machine cannot make the namespace. */
static bool start_limited(struct fsc_test_daemon *d)
{
	const char *full[] = {"fscd",  "--name",	  d->name, "--watch",
			      d->root, "--poll-interval", "100",   NULL};
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fscd_child(full, d->errlog, pipefd[1]);
	close(pipefd[1]);
	char c;
	ssize_t n = read(pipefd[0], &c, 1);
	close(pipefd[0]);
	if (n == 1) {
		waitpid(pid, NULL, 0);
		return false;
	}
	d->fscd = pid;
	return true;
}

static char paths[NDIRS * 4][512];

/* d<i>, d<i>/f, d<i>/sub, d<i>/sub/g for every i */
static void make_tree(const char *root)
{
	for (int i = 0; i < NDIRS; i++) {
		snprintf(paths[4 * i], sizeof(paths[0]), "%s/d%d", root, i);
		snprintf(paths[4 * i + 1], sizeof(paths[0]), "%s/d%d/f", root, i);
		snprintf(paths[4 * i + 2], sizeof(paths[0]), "%s/d%d/sub", root, i);
		snprintf(paths[4 * i + 3], sizeof(paths[0]), "%s/d%d/sub/g", root, i);
		assert_int_equal(mkdir(paths[4 * i], 0755), 0);
		fsc_test_write_file(paths[4 * i + 1], "f", O_EXCL);
		assert_int_equal(mkdir(paths[4 * i + 2], 0755), 0);
		fsc_test_write_file(paths[4 * i + 3], "g", O_EXCL);
	}
}

static void test_directories_beyond_the_limit_are_polled(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "wlimit");
	make_tree(d.root);
	if (!start_limited(&d)) {
		fsc_test_rmtree(d.root);
		free(d.root);
		skip(); /* no user namespaces here */
	}
	d.c = fsc_test_open_new_generation(d.name, paths[4 * NDIRS - 1], 0, CONVERGE_MS);
	const char *all[NDIRS * 4 + 1] = {0};
	for (int i = 0; i < NDIRS * 4; i++)
		all[i] = paths[i];
	fsc_test_wait_agree(d.c, all, FSC_EXPECT_STAT, CONVERGE_MS);

	/* reported: counter, log naming the path and the remedy; never more watches than
	 * allowed, and the rest polled */
	assert_true(fsc_test_counter(d.name, FSC_CTR_WATCH_FAILURES) > 0);
	assert_true(fsc_test_counter(d.name, FSC_CTR_WATCHES) <= 4);
	assert_true(fsc_test_counter(d.name, FSC_CTR_POLLED_DIRS) >= NDIRS * 2 + 1 - 4);
	const char *log = fsc_test_read_file(d.errlog);
	assert_non_null(strstr(log, "inotify watch limit reached"));
	assert_non_null(strstr(log, "max_user_watches"));
	assert_non_null(strstr(log, d.root));
	int polled_files = 0;
	for (int i = 0; i < NDIRS * 4; i++) {
		struct fsc_info info;
		struct stat st;
		assert_int_equal(fsc_lookup(d.c, paths[i], &st, &info), FSC_HIT);
		polled_files += (info.flags & FSC_FLAG_POLLED) != 0;
	}
	assert_true(polled_files > 0);

	/* changes everywhere, watched or polled, converge */
	for (int i = 0; i < NDIRS; i++) {
		fsc_test_write_file(paths[4 * i + 1], " appended", O_APPEND);
		assert_int_equal(unlink(paths[4 * i + 3]), 0);
	}
	const char *changed[NDIRS + 1] = {0}, *deleted[NDIRS + 1] = {0};
	for (int i = 0; i < NDIRS; i++) {
		changed[i] = paths[4 * i + 1];
		deleted[i] = paths[4 * i + 3];
	}
	fsc_test_wait_agree(d.c, changed, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_wait_agree(d.c, deleted, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_directories_beyond_the_limit_are_polled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
