/* Scenarios in a private mount namespace with a small tmpfs over the object directory
 * (fsc_test_privshm.h). */
#define _GNU_SOURCE
#include "fsc_test_privshm.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsc_test_fscd.h"

#define NS_ARG	  "--in-private-shm"
#define EXIT_SKIP 77
#define TMPFS_MAX (4u << 20) /* the most a scenario's tmpfs may hold */

const char *fsc_test_privshm_dir(void)
{
	const char *d = getenv("FSC_DIR");
	return d ? d : "/nonexistent";
}

static const struct fsc_test_privshm *scenario_named(const struct fsc_test_privshm *all, size_t n,
						     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			return &all[i];
	return NULL;
}

/* The child: a mount namespace of its own, / private (nothing propagates back), a small
 * tmpfs over the object directory, then this program again to run the scenario there. */
static void private_shm_child(const struct fsc_test_privshm *s)
{
	setpgid(0, 0); /* the scenario and its fscd: one group, killed together on timeout */
	char opts[64];
	/* 0755: an object directory nobody else may write (readers refuse any other) */
	snprintf(opts, sizeof(opts), "size=%s,mode=0755", s->tmpfs_size);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("fsc-test-shm", fsc_test_privshm_dir(), "tmpfs", MS_NOSUID | MS_NODEV, opts) <
		0) {
		fprintf(stderr, "no private object directory here (%s): skipped\n",
			strerror(errno));
		_exit(EXIT_SKIP);
	}
	execl("/proc/self/exe", "fsc-test-privshm", NS_ARG, s->name, (char *)NULL);
	fprintf(stderr, "cannot re-execute /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

void fsc_test_privshm_run(const struct fsc_test_privshm *all, size_t n, const char *name,
			  int timeout_ms)
{
	if (geteuid() != 0)
		skip(); /* mounting needs root */
	const struct fsc_test_privshm *s = scenario_named(all, n, name);
	assert_non_null(s);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		private_shm_child(s);
	int status = fsc_test_fscd_wait(pid, timeout_ms);
	if (status == -1) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("scenario %s did not finish within %d ms", name, timeout_ms);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP)
		skip();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("scenario %s failed in its namespace (status 0x%x): see above", name,
			 status);
}

int fsc_test_privshm_dispatch(int argc, char **argv, const struct fsc_test_privshm *all, size_t n)
{
	if (argc != 3 || strcmp(argv[1], NS_ARG) != 0)
		return -1;
	const struct fsc_test_privshm *s = scenario_named(all, n, argv[2]);
	struct statvfs v;
	const char *dir = fsc_test_privshm_dir();
	/* never fill a real object directory: only the small private tmpfs will do */
	if (!s || statvfs(dir, &v) < 0 || (uint64_t)v.f_blocks * v.f_frsize > TMPFS_MAX) {
		fprintf(stderr, "%s is not a private test tmpfs: refusing to run %s\n", dir,
			argv[2]);
		return 2;
	}
	const struct CMUnitTest t[] = {{.name = s->name, .test_func = s->fn}};
	return cmocka_run_group_tests_name(s->name, t, NULL, NULL) ? 1 : 0;
}
