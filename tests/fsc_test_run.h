/* Running one of the project's tools (or any program) from a test and capturing what it
 * printed. Failures to run it fail the test. */
#ifndef FSC_TEST_RUN_H
#define FSC_TEST_RUN_H

#include <sys/types.h>

struct fsc_test_run {
	int status; /* exit status, or 128 + signal */
	char *out;  /* all of stdout, NUL-terminated (free with fsc_test_run_free) */
	char *err;  /* all of stderr */
};

/* Starts path with argv, its stdout and stderr on pipes (*out_fd, *err_fd); returns the pid. */
pid_t fsc_test_spawn(const char *path, char *const argv[], int *out_fd, int *err_fd);
/* Reaps pid: its exit status, or 128 + the signal that killed it. */
int fsc_test_wait_status(pid_t pid);
/* Runs path with the arguments that follow (NULL-terminated) to completion, capturing stdout
 * and stderr; a tool silent for 30 s fails the test. */
void fsc_test_run_tool(struct fsc_test_run *r, const char *path, ...);
void fsc_test_run_free(struct fsc_test_run *r);

#endif
