/* Mounting tests/fsc_test_fusefs.c for the tests; see fsc_test_fuse.h. */
#define _GNU_SOURCE
#include "fsc_test_fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_test_util.h"

#define MOUNT_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS	 5000

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Reaps pid within timeout_ms; returns its wait status, or -1 if it is still running. */
static int reap_within(pid_t pid, int timeout_ms)
{
	uint64_t deadline = fsc_test_now_ms() + (uint64_t)timeout_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return r == pid ? status : 0;
		if (fsc_test_now_ms() >= deadline)
			return -1;
		pause_ms(10);
	}
}

/* Reaps pid, killing it if it takes longer than timeout_ms. Returns its wait status. */
static int stop_child(pid_t pid, int timeout_ms)
{
	int status = reap_within(pid, timeout_ms);
	if (status == -1) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return status;
}

/* Runs argv (no shell), waiting at most timeout_ms; returns true if it exited 0. */
static bool run_bounded(const char *const *argv, int timeout_ms)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status = stop_child(pid, timeout_ms);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void hang_path(const struct fsc_test_fuse *m, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/.hang", m->backing);
	assert_true(n > 0 && (size_t)n < size);
}

/* Is the filesystem mounted at mountpoint (and not what was there before, on device dev)? */
static bool mounted(const struct fsc_test_fuse *m, dev_t dev)
{
	struct statfs sf;
	struct stat st;
	if (statfs(m->mountpoint, &sf) != 0 || sf.f_type != FSC_TEST_FUSE_MAGIC)
		return false;
	return stat(m->mountpoint, &st) == 0 && st.st_dev != dev;
}

/* In the child: the filesystem dies with the test, and holds none of its descriptors. */
static void exec_fusefs(const struct fsc_test_fuse *m, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	if (close_range(3, ~0U, 0) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	execl(FSC_TEST_FUSEFS_PATH, "fsc-test-fusefs", m->backing, m->mountpoint, (char *)NULL);
	fprintf(stderr, "fsc_test_fuse: exec %s: %s\n", FSC_TEST_FUSEFS_PATH, strerror(errno));
	_exit(127);
}

/* Checks what mounting needs and records the paths; false (saying why) if it cannot. */
static bool prepare(struct fsc_test_fuse *m, const char *backing, const char *mountpoint,
		    dev_t *dev)
{
	char hang[PATH_MAX + 8];
	struct stat st;

	memset(m, 0, sizeof(*m));
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr, "fsc_test_fuse: /dev/fuse: %s\n", strerror(errno));
		return false;
	}
	if (!realpath(backing, m->backing) || strlen(mountpoint) >= sizeof(m->mountpoint)) {
		fprintf(stderr, "fsc_test_fuse: bad backing %s or mountpoint\n", backing);
		return false;
	}
	strcpy(m->mountpoint, mountpoint);
	if ((mkdir(m->mountpoint, 0755) != 0 && errno != EEXIST) || stat(m->mountpoint, &st) != 0) {
		fprintf(stderr, "fsc_test_fuse: %s: %s\n", m->mountpoint, strerror(errno));
		return false;
	}
	*dev = st.st_dev;
	hang_path(m, hang, sizeof(hang));
	unlink(hang);
	return true;
}

bool fsc_test_fuse_mount(struct fsc_test_fuse *m, const char *backing, const char *mountpoint)
{
	dev_t dev;
	if (!prepare(m, backing, mountpoint, &dev))
		return false;
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exec_fusefs(m, parent);
	uint64_t deadline = fsc_test_now_ms() + MOUNT_TIMEOUT_MS;
	while (!mounted(m, dev)) {
		int status = reap_within(pid, 0);
		if (status != -1) {
			fprintf(stderr, "fsc_test_fuse: fsc-test-fusefs failed (status %#x)\n",
				status);
			return false;
		}
		if (fsc_test_now_ms() >= deadline) {
			fprintf(stderr, "fsc_test_fuse: %s not mounted within %d ms\n",
				m->mountpoint, MOUNT_TIMEOUT_MS);
			kill(pid, SIGTERM);
			stop_child(pid, STOP_TIMEOUT_MS);
			return false;
		}
		pause_ms(10);
	}
	m->pid = pid;
	return true;
}

/* Is a FUSE filesystem (live, or dead: ENOTCONN) still mounted at mountpoint? */
static bool fuse_left(const struct fsc_test_fuse *m)
{
	struct statfs sf;
	if (statfs(m->mountpoint, &sf) != 0)
		return errno == ENOTCONN;
	return sf.f_type == FSC_TEST_FUSE_MAGIC;
}

void fsc_test_fuse_unmount(struct fsc_test_fuse *m)
{
	if (m->pid <= 0)
		return;
	/* Release hung requests, and let them finish (a path walk takes a few in a row) before
	 * SIGTERM, on which the filesystem unmounts (lazily) and exits. */
	char hang[PATH_MAX + 8];
	hang_path(m, hang, sizeof(hang));
	if (unlink(hang) == 0)
		pause_ms(100);
	kill(m->pid, SIGTERM);
	stop_child(m->pid, STOP_TIMEOUT_MS);
	m->pid = 0;
	/* Killed, or stopped before it could unmount: detach what is left. */
	if (fuse_left(m) && umount2(m->mountpoint, MNT_DETACH) != 0 && errno == EPERM) {
		const char *const argv[] = {"fusermount3", "-u", "-z", m->mountpoint, NULL};
		run_bounded(argv, STOP_TIMEOUT_MS);
	}
}

void fsc_test_fuse_hang(struct fsc_test_fuse *m, bool on)
{
	char path[PATH_MAX + 8];
	hang_path(m, path, sizeof(path));
	if (on) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			fail_msg("fsc_test_fuse: %s: %s", path, strerror(errno));
		close(fd);
	} else if (unlink(path) != 0 && errno != ENOENT) {
		fail_msg("fsc_test_fuse: %s: %s", path, strerror(errno));
	}
}
