/* fsc-wait with the real fscd: a complete file returns at once; a writer writing in pieces
 * with pauses, or closing and reopening (with --quiet), is waited for until it is done (the
 * test, as the writer, checks fsc-wait is still waiting at every step); a temp file renamed
 * into place and a link-then-unlink upload complete on arrival; --gone; the --timeout status;
 * a path outside --name's roots, a missing --name table and bad usage have their own
 * statuses. With no fscd serving (each test process has an object directory of its own), a
 * private fscd serves the wait, and nothing of it is left after a return, a timeout or a
 * SIGTERM. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
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
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000

static char *path_in(const struct fsc_test_daemon *d, const char *name)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", d->root, name) > 0);
	return p;
}

static char *serve(struct fsc_test_daemon *d, const char *tag)
{
	fsc_test_daemon_prepare(d, tag);
	char *probe = path_in(d, "probe");
	fsc_test_write_file(probe, "p", 0);
	fsc_test_daemon_start(d, probe, CONVERGE_MS);
	return probe;
}

/* fsc-wait running in the background. */
struct waiter {
	pid_t pid;
	int out, err;
	int status; /* -1 while running */
};

static void waiter_start(struct waiter *w, const struct fsc_test_daemon *d, const char *a1,
			 const char *a2, const char *a3, const char *path)
{
	char *argv[9] = {"fsc-wait", "--name", (char *)d->name, "--json"};
	int n = 4;
	const char *extra[] = {a1, a2, a3};
	for (int i = 0; i < 3; i++)
		if (extra[i])
			argv[n++] = (char *)extra[i];
	argv[n] = (char *)path; /* and NULL after it */
	w->pid = fsc_test_spawn(FSC_WAIT_PATH, argv, &w->out, &w->err);
	w->status = -1;
}

/* Fails the test if fsc-wait has exited already: it returned before the writer was done. */
static void assert_waiting(struct waiter *w, const char *when)
{
	int st;
	pid_t r = waitpid(w->pid, &st, WNOHANG);
	assert_true(r >= 0);
	if (r == w->pid)
		fail_msg("fsc-wait returned early (exit %d) %s", WEXITSTATUS(st), when);
}

/* Waits for fsc-wait to exit; returns its exit status and what it printed on stdout. */
static int waiter_end(struct waiter *w, char *out, size_t size)
{
	int st = fsc_test_fscd_wait(w->pid, CONVERGE_MS);
	if (st == -1) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		fail_msg("fsc-wait did not return within %d ms", CONVERGE_MS);
	}
	ssize_t n = read(w->out, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(w->out);
	close(w->err);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_complete_file_returns_at_once(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wnow");
	struct fsc_test_run r;
	uint64_t t0 = fsc_test_now_ms();
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "--name", d.name, probe, (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_true(fsc_test_now_ms() - t0 < 2000);
	char line[4200];
	snprintf(line, sizeof(line), "%s\n", probe);
	assert_string_equal(r.out, line);
	fsc_test_run_free(&r);
	free(probe);
	fsc_test_daemon_stop(&d);
}

/* One open, writes in pieces with pauses: never complete before the close. */
static void test_writer_with_pauses(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wpause");
	char *f = path_in(&d, "upload.bin");
	for (int trial = 0; trial < 5; trial++) {
		unlink(f);
		int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		struct waiter w;
		waiter_start(&w, &d, NULL, NULL, NULL, f);
		for (int piece = 0; piece < 4; piece++) {
			assert_int_equal(write(fd, "chunk", 5), 5);
			fsc_test_pause_ms(100 + rand() % 200); /* the writer's own pace */
			assert_waiting(&w, "while the writer paused between pieces");
		}
		assert_int_equal(close(fd), 0); /* done */
		char out[512];
		assert_int_equal(waiter_end(&w, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "\"state\":\"complete\",\"size\":20"));
	}
	free(f);
	free(probe);
	fsc_test_daemon_stop(&d);
}

/* Closes and reopens between pieces: --quiet longer than its pauses waits for the end. */
static void test_writer_closing_and_reopening(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wreopen");
	char *f = path_in(&d, "export.csv");
	fsc_test_write_file(f, "header\n", O_EXCL);
	struct waiter w;
	waiter_start(&w, &d, "--quiet", "1500", NULL, f);
	for (int piece = 0; piece < 4; piece++) {
		fsc_test_pause_ms(300);
		assert_waiting(&w, "between a close and the next reopen");
		fsc_test_write_file(f, "row\n", O_APPEND);
	}
	uint64_t done = fsc_test_now_ms();
	char out[512];
	assert_int_equal(waiter_end(&w, out, sizeof(out)), 0);
	assert_true(fsc_test_now_ms() - done >= 1400); /* not before --quiet passed */
	assert_non_null(strstr(out, "\"state\":\"complete\",\"size\":23"));
	free(f);
	free(probe);
	fsc_test_daemon_stop(&d);
}

/* rsync: written under a temporary name, renamed into place; link then unlink likewise. */
static void test_temp_then_rename_and_link(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wrename");
	char *f = path_in(&d, "data.tar"), *tmp = path_in(&d, ".data.tar.Xy12"),
	     *g = path_in(&d, "linked.tar"), *up = path_in(&d, ".upload.part");
	struct waiter w, v;
	waiter_start(&w, &d, NULL, NULL, NULL, f);
	waiter_start(&v, &d, NULL, NULL, NULL, g);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	for (int piece = 0; piece < 3; piece++) {
		assert_int_equal(write(fd, "block", 5), 5);
		fsc_test_pause_ms(150);
		assert_waiting(&w, "while the temporary file was written");
	}
	assert_int_equal(close(fd), 0);
	fsc_test_pause_ms(200);
	assert_waiting(&w, "before the rename: the name does not exist yet");
	assert_int_equal(rename(tmp, f), 0);
	char out[512];
	assert_int_equal(waiter_end(&w, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"state\":\"complete\",\"size\":15"));

	fsc_test_write_file(up, "uploaded", O_EXCL);
	assert_waiting(&v, "before the link");
	assert_int_equal(link(up, g), 0);
	assert_int_equal(unlink(up), 0);
	assert_int_equal(waiter_end(&v, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"state\":\"complete\",\"size\":8"));
	free(f);
	free(tmp);
	free(g);
	free(up);
	free(probe);
	fsc_test_daemon_stop(&d);
}

static void test_gone(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wgone");
	char *f = path_in(&d, "lock");
	fsc_test_write_file(f, "1", O_EXCL);
	struct waiter w;
	waiter_start(&w, &d, "--gone", NULL, NULL, f);
	fsc_test_pause_ms(300);
	assert_waiting(&w, "while the file still existed");
	assert_int_equal(unlink(f), 0);
	char out[512];
	assert_int_equal(waiter_end(&w, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"state\":\"gone\""));
	free(f);
	free(probe);
	fsc_test_daemon_stop(&d);
}

/* Held open by a writer: 1 at the timeout, with the reason on stderr and in JSON. */
static void test_timeout_status(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wtime");
	char *f = path_in(&d, "held");
	int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	struct fsc_test_run r;
	uint64_t t0 = fsc_test_now_ms();
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "--name", d.name, "--timeout", "0.5", "--json", f,
			  (char *)NULL);
	assert_int_equal(r.status, 1);
	assert_true(fsc_test_now_ms() - t0 >= 450);
	assert_non_null(strstr(r.out, "\"state\":\"timeout\""));
	assert_non_null(strstr(r.err, "timed out waiting for"));
	fsc_test_run_free(&r);
	close(fd);
	free(f);
	free(probe);
	fsc_test_daemon_stop(&d);
}

static void test_not_served_and_usage(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "wout");
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "--name", d.name, "/etc/hostname", (char *)NULL);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "is not served by the fscd of table"));
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "--name", "fsc-no-such-table", probe, (char *)NULL);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "no fscd serves table fsc-no-such-table"));
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "--timeout", "soon", probe, (char *)NULL);
	assert_int_equal(r.status, 2);
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_WAIT_PATH, (char *)NULL);
	assert_int_equal(r.status, 2);
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "--help", (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Exit status:"));
	assert_non_null(strstr(r.out, "lease probe is not permitted"));
	fsc_test_run_free(&r);
	free(probe);
	fsc_test_daemon_stop(&d);
}

/* Reads fd (fsc-wait's stderr) into buf until it holds needle at or after from; fails the
 * test after CONVERGE_MS. Where the needle starts. */
static char *read_until(int fd, char *buf, size_t size, size_t from, const char *needle)
{
	size_t len = strlen(buf);
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	char *at;
	while (!(at = strstr(buf + from, needle))) {
		uint64_t now = fsc_test_now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			fail_msg("no \"%s\" from fsc-wait within %d ms: %s", needle, CONVERGE_MS,
				 buf);
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			fail_msg("fsc-wait closed stderr before saying \"%s\": %s", needle, buf);
		len += (size_t)n;
		buf[len] = '\0';
	}
	return at;
}

/* The private fscd fsc-wait -v announced in err: its pid (and table name, in name). */
static pid_t announced(const char *err, char *name, size_t size)
{
	const char *p = strstr(err, "started a private fscd (");
	if (!p)
		fail_msg("no private fscd announced: %s", err);
	char fmt[40];
	int pid;
	snprintf(fmt, sizeof(fmt), ", pid %%d, table %%%zu[^)])", size - 1);
	assert_int_equal(sscanf(strstr(p, ", pid "), fmt, &pid, name), 2);
	return pid;
}

/* fsc-wait -v [opt] path started with no fscd; returns once its private fscd serves, with
 * that fscd's pid. */
static pid_t private_waiter_start(struct waiter *w, const char *opt, const char *path)
{
	char *argv[] = {"fsc-wait", "-v", (char *)opt, (char *)path, NULL};
	w->pid = fsc_test_spawn(FSC_WAIT_PATH, argv, &w->out, &w->err);
	w->status = -1;
	char buf[4096] = "", name[128];
	const char *p = read_until(w->err, buf, sizeof(buf), 0, "started a private fscd (");
	read_until(w->err, buf, sizeof(buf), (size_t)(p - buf), "\n"); /* the rest of its line */
	pid_t fscd = announced(buf, name, sizeof(name));
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	fsc_t *c;
	while (!(c = fsc_open(name)) && fsc_test_now_ms() < end)
		fsc_test_pause_ms(10);
	if (!c)
		fail_msg("the private fscd did not publish table %s", name);
	fsc_close(c);
	return fscd;
}

/* Nothing at all in this process's object directory, and no process pid. */
static void assert_nothing_left(pid_t fscd)
{
	const char *dir = getenv("FSC_DIR");
	assert_non_null(dir);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("left in %s: %s", dir, e->d_name);
	closedir(d);
	assert_true(kill(fscd, 0) != 0 && errno == ESRCH);
}

/* A child writing path in pieces, one per 'w' on its command pipe, closing it on 'c';
 * it answers each command on the ack pipe once done. */
struct writer {
	pid_t pid;
	int cmd, ack;
};

static void writer_start(struct writer *wr, const char *path)
{
	int cmd[2], ack[2];
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	wr->pid = fork();
	assert_true(wr->pid >= 0);
	if (wr->pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		char c;
		while (fd >= 0 && read(cmd[0], &c, 1) == 1) {
			if (c == 'c' ? close(fd) != 0 : write(fd, "chunk", 5) != 5)
				_exit(1);
			if (write(ack[1], &c, 1) != 1 || c == 'c')
				_exit(0);
		}
		_exit(1);
	}
	close(cmd[0]);
	close(ack[1]);
	wr->cmd = cmd[1];
	wr->ack = ack[0];
}

static void writer_do(struct writer *wr, char c)
{
	char got;
	assert_int_equal(write(wr->cmd, &c, 1), 1);
	assert_int_equal(read(wr->ack, &got, 1), 1);
	assert_int_equal(got, c);
}

/* A new temporary directory (returned) and rel in it (in f). */
static char *tmp_path(const char *tag, const char *rel, char *f, size_t size)
{
	char *dir = fsc_test_tmpdir(tag);
	snprintf(f, size, "%s/%s", dir, rel);
	return dir;
}

/* fsc-wait --json, started by private_waiter_start, returns 0 with its PATH complete at
 * size bytes, leaving nothing of its private fscd; dir (tmp_path's) is removed. */
static void private_waiter_done(struct waiter *w, pid_t fscd, int size, char *dir)
{
	char out[512], want[64];
	assert_int_equal(waiter_end(w, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "\"state\":\"complete\",\"size\":%d}", size);
	if (!strstr(out, want))
		fail_msg("fsc-wait printed %s, not %s", out, want);
	assert_nothing_left(fscd);
	fsc_test_rmtree(dir);
	free(dir);
}

/* No fscd: fsc-wait starts its own, waits for a child writing in pieces, returns after its
 * close with exit 0, and the private fscd and its objects are gone with it. */
static void test_private_fscd_writer(void **state)
{
	(void)state;
	char f[512], *dir = tmp_path("wpriv", "upload.bin", f, sizeof(f));
	struct waiter w;
	pid_t fscd = private_waiter_start(&w, "--json", f);
	assert_waiting(&w, "before the file existed");
	struct writer wr;
	writer_start(&wr, f);
	for (int piece = 0; piece < 4; piece++) {
		writer_do(&wr, 'w');
		fsc_test_pause_ms(100 + rand() % 200); /* the writer's own pace */
		assert_waiting(&w, "while the writer paused between pieces");
	}
	writer_do(&wr, 'c');
	assert_int_equal(fsc_test_wait_status(wr.pid), 0);
	close(wr.cmd);
	close(wr.ack);
	private_waiter_done(&w, fscd, 20, dir);
}

/* No fscd, and the PATH's directories do not exist yet: the private fscd watches the nearest
 * one that does, deep enough to see the PATH when they are made. */
static void test_private_fscd_new_dirs(void **state)
{
	(void)state;
	char f[512], *dir = tmp_path("wprivd", "a/b/data.csv", f, sizeof(f));
	struct waiter w;
	pid_t fscd = private_waiter_start(&w, "--json", f);
	assert_waiting(&w, "before its directories existed");
	assert_int_equal(mkdir(fsc_test_path(dir, "a"), 0755), 0);
	assert_int_equal(mkdir(fsc_test_path(dir, "a/b"), 0755), 0);
	fsc_test_write_file(f, "x,y\n", O_EXCL);
	private_waiter_done(&w, fscd, 4, dir);
}

/* No fscd, and the file never comes: 1 at the timeout, nothing left behind; 4 when no fscd
 * can be run. */
static void test_private_fscd_timeout(void **state)
{
	(void)state;
	char f[512], *dir = tmp_path("wprivt", "never/comes", f, sizeof(f));
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_WAIT_PATH, "-v", "--timeout", "0.5", f, (char *)NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "timed out waiting for"));
	char name[128];
	assert_nothing_left(announced(r.err, name, sizeof(name)));
	fsc_test_run_free(&r);
	/* an fscd that cannot be run: 4, saying what to do */
	assert_int_equal(setenv("FSC_WAIT_FSCD", "/nonexistent/fscd", 1), 0);
	fsc_test_run_tool(&r, FSC_WAIT_PATH, f, (char *)NULL);
	unsetenv("FSC_WAIT_FSCD");
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, "cannot run /nonexistent/fscd"));
	assert_non_null(strstr(r.err, "set FSC_WAIT_FSCD"));
	fsc_test_run_free(&r);
	fsc_test_rmtree(dir);
	free(dir);
}

/* No fscd: SIGTERM to a waiting fsc-wait ends it by SIGTERM, its private fscd stopped and
 * its objects removed first. */
static void test_private_fscd_sigterm(void **state)
{
	(void)state;
	char f[512], *dir = tmp_path("wprivs", "lock", f, sizeof(f));
	fsc_test_write_file(f, "1", O_EXCL);
	struct waiter w;
	pid_t fscd = private_waiter_start(&w, "--gone", f);
	assert_waiting(&w, "while the file still existed");
	assert_int_equal(kill(w.pid, SIGTERM), 0);
	int st = fsc_test_fscd_wait(w.pid, CONVERGE_MS);
	assert_true(st != -1);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_nothing_left(fscd);
	close(w.out);
	close(w.err);
	fsc_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_complete_file_returns_at_once),
	    cmocka_unit_test(test_writer_with_pauses),
	    cmocka_unit_test(test_writer_closing_and_reopening),
	    cmocka_unit_test(test_temp_then_rename_and_link),
	    cmocka_unit_test(test_gone),
	    cmocka_unit_test(test_timeout_status),
	    cmocka_unit_test(test_not_served_and_usage),
	    cmocka_unit_test(test_private_fscd_writer),
	    cmocka_unit_test(test_private_fscd_new_dirs),
	    cmocka_unit_test(test_private_fscd_timeout),
	    cmocka_unit_test(test_private_fscd_sigterm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
