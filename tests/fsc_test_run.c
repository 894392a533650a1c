/* Running a tool in a test: see fsc_test_run.h. */
#define _GNU_SOURCE
#include "fsc_test_run.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void drain(int fd, char **buf, size_t *len, size_t *cap, bool *open)
{
	if (*len + 4096 + 1 > *cap) {
		*cap = (*cap + 4096) * 2;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
	if (n <= 0) {
		*open = false;
		close(fd);
	} else {
		*len += (size_t)n;
	}
	(*buf)[*len] = '\0';
}

pid_t fsc_test_spawn(const char *path, char *const argv[], int *out_fd, int *err_fd)
{
	int po[2], pe[2];
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(path, argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	*out_fd = po[0];
	*err_fd = pe[0];
	return pid;
}

int fsc_test_wait_status(pid_t pid)
{
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs path with the given arguments (NULL-terminated) and captures stdout and stderr. */
void fsc_test_run_tool(struct fsc_test_run *r, const char *path, ...)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)path;
	va_list ap;
	va_start(ap, path);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	int fds[2];
	pid_t pid = fsc_test_spawn(path, argv, &fds[0], &fds[1]);
	size_t len[2] = {0, 0}, cap[2] = {1, 1};
	bool open[2] = {true, true};
	char *buf[2] = {calloc(1, 1), calloc(1, 1)};
	assert_true(buf[0] && buf[1]);
	while (open[0] || open[1]) {
		struct pollfd p[2] = {{.fd = open[0] ? fds[0] : -1, .events = POLLIN},
				      {.fd = open[1] ? fds[1] : -1, .events = POLLIN}};
		assert_true(poll(p, 2, 30000) > 0);
		for (int i = 0; i < 2; i++)
			if (open[i] && p[i].revents)
				drain(fds[i], &buf[i], &len[i], &cap[i], &open[i]);
	}
	r->status = fsc_test_wait_status(pid);
	r->out = buf[0];
	r->err = buf[1];
}

void fsc_test_run_free(struct fsc_test_run *r)
{
	free(r->out);
	free(r->err);
}
