/* fsc-wait never returns early: 200 trials of a writer writing in pieces with random pauses
 * (0-20 ms) between them, into a new file or an existing one, give no early return. The
 * writer (this process) checks before its close that fsc-wait is still waiting, and that it
 * returns after the close with the whole size. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000
#define TRIALS	    200

static void test_chunked_writers_never_early(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "wtrials");
	char probe[4200], f[4200];
	snprintf(probe, sizeof(probe), "%s/probe", d.root);
	snprintf(f, sizeof(f), "%s/part.dat", d.root);
	fsc_test_write_file(probe, "p", 0);
	fsc_test_daemon_start(&d, probe, CONVERGE_MS);
	srand(12345);
	int early = 0;
	for (int trial = 0; trial < TRIALS; trial++) {
		bool fresh = trial % 2 == 0;
		if (fresh)
			unlink(f);
		int fd = open(f, O_WRONLY | O_CREAT | (fresh ? O_EXCL : O_TRUNC) | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		char *argv[] = {"fsc-wait", "--name", d.name, "--json", f, NULL};
		int out, err;
		pid_t pid = fsc_test_spawn(FSC_WAIT_PATH, argv, &out, &err);
		int pieces = 2 + rand() % 3;
		for (int i = 0; i < pieces; i++) {
			assert_int_equal(write(fd, "0123456789", 10), 10);
			fsc_test_pause_ms(rand() % 21); /* the writer's own pace */
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			early++;
			fprintf(stderr, "trial %d: fsc-wait returned before the close\n", trial);
		} else {
			assert_int_equal(close(fd), 0);
			fd = -1;
			st = fsc_test_fscd_wait(pid, CONVERGE_MS);
			assert_int_not_equal(st, -1);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			char buf[512], want[64];
			ssize_t n = read(out, buf, sizeof(buf) - 1);
			buf[n > 0 ? n : 0] = '\0';
			snprintf(want, sizeof(want), "\"size\":%d", pieces * 10);
			if (!strstr(buf, want))
				fail_msg("trial %d: expected %s, fsc-wait said %s", trial, want,
					 buf);
		}
		if (fd >= 0)
			close(fd);
		close(out);
		close(err);
	}
	assert_int_equal(early, 0);
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunked_writers_never_early),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
