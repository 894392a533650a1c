/* Running the real fsc-watch in tests (see fsc_test_watch.h). */
#define _GNU_SOURCE
#include "fsc_test_watch.h"

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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define POLL_MS 5

void fsc_test_watch_prepare(struct fsc_test_watch *w, const char *tag)
{
	memset(w, 0, sizeof(*w));
	w->base = fsc_test_tmpdir(tag);
	snprintf(w->root, sizeof(w->root), "%s/tree", w->base);
	snprintf(w->runs, sizeof(w->runs), "%s/runs", w->base);
	snprintf(w->changed, sizeof(w->changed), "%s/changed", w->base);
	snprintf(w->out, sizeof(w->out), "%s/out", w->base);
	snprintf(w->err, sizeof(w->err), "%s/err", w->base);
	snprintf(w->logger, sizeof(w->logger),
		 "printf '%%s\\n--\\n' \"${FSC_CHANGED-<unset>}\" >> %s; echo run >> %s",
		 w->changed, w->runs);
	assert_int_equal(mkdir(w->root, 0755), 0);
}

void fsc_test_watch_start(struct fsc_test_watch *w, const char *const *args)
{
	const char *argv[64] = {FSC_WATCH_PATH};
	size_t n = 1;
	for (; args[n - 1]; n++) {
		assert_true(n < 63);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* a test that fails leaves no fsc-watch (and private fscd) behind */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int out = open(w->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int err = open(w->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (out < 0 || err < 0 || in < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
		    dup2(in, 0) < 0)
			_exit(126);
		execv(FSC_WATCH_PATH, (char *const *)argv);
		_exit(127);
	}
	w->pid = pid;
}

void fsc_test_watch_start_logging(struct fsc_test_watch *w, const char *const *extra)
{
	char debounce[16];
	snprintf(debounce, sizeof(debounce), "%d", FSC_TEST_WATCH_DEBOUNCE_MS);
	const char *args[48] = {"-w", w->root, "--debounce", debounce, "--private"};
	size_t n = 5;
	for (size_t i = 0; extra && extra[i]; i++) {
		assert_true(n < 40);
		args[n++] = extra[i];
	}
	args[n++] = "--";
	args[n++] = "sh";
	args[n++] = "-c";
	args[n++] = w->logger;
	args[n] = NULL;
	fsc_test_watch_start(w, args);
	fsc_test_watch_wait_lines(w, w->runs, 1);
}

int fsc_test_watch_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int n = 0, c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void fsc_test_watch_fail(const struct fsc_test_watch *w, const char *what)
{
	fail_msg("%s\nfsc-watch's stderr:\n%s", what, fsc_test_read_file(w->err));
}

/* Fails the test at once if fsc-watch has exited while the test waits for it to act (the
 * exit is looked at, not reaped: WNOWAIT). */
static void fsc_test_watch_check_running(const struct fsc_test_watch *w)
{
	siginfo_t si = {0};
	if (w->pid <= 0 || waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
	    si.si_pid != w->pid)
		return;
	char what[128];
	snprintf(what, sizeof(what), "fsc-watch exited (%s %d) while the test waited",
		 si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
	fsc_test_watch_fail(w, what);
}

void fsc_test_watch_wait_lines(const struct fsc_test_watch *w, const char *path, int n)
{
	uint64_t end = fsc_test_now_ms() + FSC_TEST_WATCH_TIMEOUT_MS;
	while (fsc_test_watch_lines(path) < n) {
		fsc_test_watch_check_running(w);
		if (fsc_test_now_ms() > end) {
			char what[512];
			snprintf(what, sizeof(what), "%s has %d lines, not %d, after %d ms", path,
				 fsc_test_watch_lines(path), n, FSC_TEST_WATCH_TIMEOUT_MS);
			fsc_test_watch_fail(w, what);
		}
		fsc_test_pause_ms(POLL_MS);
	}
}

void fsc_test_watch_settle(const struct fsc_test_watch *w, const char *path, int n)
{
	uint64_t end = fsc_test_now_ms() + FSC_TEST_WATCH_SETTLE_MS;
	do {
		int got = fsc_test_watch_lines(path);
		if (got > n) {
			char what[512];
			snprintf(what, sizeof(what), "%s grew to %d lines (expected %d): %s", path,
				 got, n, fsc_test_read_file(path));
			fsc_test_watch_fail(w, what);
		}
		fsc_test_pause_ms(POLL_MS);
	} while (fsc_test_now_ms() < end);
}

void fsc_test_watch_wait_text(const struct fsc_test_watch *w, const char *path, const char *needle)
{
	uint64_t end = fsc_test_now_ms() + FSC_TEST_WATCH_TIMEOUT_MS;
	while (!strstr(fsc_test_read_file(path), needle)) {
		fsc_test_watch_check_running(w);
		if (fsc_test_now_ms() > end) {
			char what[512];
			snprintf(what, sizeof(what), "no '%s' in %s, which holds: %.300s", needle,
				 path, fsc_test_read_file(path));
			fsc_test_watch_fail(w, what);
		}
		fsc_test_pause_ms(POLL_MS);
	}
}

const char *fsc_test_watch_last_changed(const struct fsc_test_watch *w)
{
	static char buf[65536];
	snprintf(buf, sizeof(buf), "%s", fsc_test_read_file(w->changed));
	size_t len = strlen(buf);
	if (len >= 4 && strcmp(buf + len - 4, "\n--\n") == 0)
		buf[len -= 4] = '\0';
	char *start = buf;
	for (char *p = buf; (p = strstr(p, "\n--\n")) != NULL; p += 4)
		start = p + 4;
	return start;
}

static int fsc_test_watch_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int fsc_test_watch_wait_exit(struct fsc_test_watch *w)
{
	uint64_t end = fsc_test_now_ms() + FSC_TEST_WATCH_TIMEOUT_MS;
	int st;
	pid_t r;
	while ((r = waitpid(w->pid, &st, WNOHANG)) == 0) {
		if (fsc_test_now_ms() > end) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, &st, 0);
			w->pid = 0;
			fsc_test_watch_fail(w, "fsc-watch did not exit");
		}
		fsc_test_pause_ms(POLL_MS);
	}
	assert_int_equal(r, w->pid);
	w->pid = 0;
	return fsc_test_watch_status(st);
}

int fsc_test_watch_stop(struct fsc_test_watch *w, int sig)
{
	assert_true(w->pid > 0);
	kill(w->pid, sig);
	return fsc_test_watch_wait_exit(w);
}

void fsc_test_watch_cleanup(struct fsc_test_watch *w)
{
	if (w->pid > 0)
		fsc_test_watch_stop(w, SIGTERM);
	if (w->base) {
		fsc_test_rmtree(w->base);
		free(w->base);
		w->base = NULL;
	}
}

const char *fsc_test_watch_path(const struct fsc_test_watch *w, const char *rel)
{
	static char bufs[8][512];
	static unsigned next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", w->root, rel);
	return b;
}

bool fsc_test_watch_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}
