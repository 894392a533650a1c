/* The programs in examples/, built in the tree against libfsc.so and run against a real fscd,
 * so that they cannot rot: the journal log monitor reports growth, truncation and rotation
 * and carries on across an fscd takeover (cursor lost); the wait-until-complete program
 * returns only once its file is whole. */
#define _GNU_SOURCE
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_test_fscd.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define LINE_MS 15000 /* fscd passes a change on within its batch time; this is generous */

/* What a running example printed so far on one of its pipes. */
struct capture {
	int fd;
	size_t len;
	char buf[8192];
};

/* Reads c->fd until the text holds want (after from), or fails the test after timeout_ms.
 * Returns the offset just past the match, so that the next expectation reads on from there. */
static size_t capture_expect(struct capture *c, size_t from, const char *want, int timeout_ms)
{
	uint64_t end = fsc_test_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		const char *hit = strstr(c->buf + from, want);
		if (hit)
			return (size_t)(hit - c->buf) + strlen(want);
		uint64_t now = fsc_test_now_ms();
		if (now >= end || c->len + 1 >= sizeof(c->buf))
			fail_msg("waited %d ms for \"%s\"; the example printed:\n%s", timeout_ms,
				 want, c->buf);
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n <= 0)
			fail_msg("the example closed its output before \"%s\":\n%s", want, c->buf);
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
}

static void test_logmon_follows_a_log(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "exlog");
	char log[512], next[512];
	snprintf(log, sizeof(log), "%s/app.log", d.root);
	snprintf(next, sizeof(next), "%s/app.log.new", d.root);
	fsc_test_write_file(log, "a\n", O_EXCL);
	fsc_test_daemon_start(&d, log, 15000);

	char *argv[] = {FSC_LOGMON_PATH, "--name", d.name, "--count", "4", log, NULL};
	struct capture out = {0}, err = {0};
	pid_t pid = fsc_test_spawn(FSC_LOGMON_PATH, argv, &out.fd, &err.fd);
	size_t at = capture_expect(&out, 0, "app.log: 2 bytes\n", LINE_MS);

	/* each change is made after the previous one was reported: one line each */
	fsc_test_write_file(log, "more\n", O_APPEND);
	at = capture_expect(&out, at, "app.log grew 2 -> 7\n", LINE_MS);
	fsc_test_write_file(log, "", O_TRUNC);
	at = capture_expect(&out, at, "app.log truncated 7 -> 0\n", LINE_MS);
	fsc_test_write_file(next, "rotated\n", O_EXCL);
	assert_int_equal(rename(next, log), 0);
	at = capture_expect(&out, at, "app.log replaced (rotated?), now 8 bytes\n", LINE_MS);

	/* a second fscd takes the table over: the monitor's cursor is lost, it looks again and
	 * still reports the next change */
	const char *again[] = {"fscd", "--name", d.name, "--watch", d.root, NULL};
	pid_t second = fsc_test_fscd_start(again, NULL);
	int st = fsc_test_fscd_wait(d.fscd, 20000);
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	d.fscd = second;
	capture_expect(&err, 0, "cursor lost", LINE_MS);
	fsc_test_write_file(log, "after takeover\n", O_APPEND);
	capture_expect(&out, at, "app.log grew 8 -> 23\n", LINE_MS);

	assert_int_equal(fsc_test_wait_status(pid), 0); /* --count 4 reached */
	close(out.fd);
	close(err.fd);
	fsc_test_daemon_stop(&d);
}

static void test_logmon_without_fscd(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "exnone");
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_LOGMON_PATH, "--name", name, "/var/log/syslog", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, name));
	fsc_test_run_free(&r);
}

/* A slow writer: five chunks 50 ms apart, a pause of a second with the file still open, a
 * last chunk, then close. The waiter's --quiet-ms 300 is shorter than the pause: only the
 * record's FSC_FLAG_WRITING keeps it waiting, and it must report the whole file. */
static void test_wait_complete_waits_for_the_writer(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "exwait");
	char upload[512], probe[512];
	snprintf(upload, sizeof(upload), "%s/upload.bin", d.root);
	snprintf(probe, sizeof(probe), "%s/probe", d.root);
	fsc_test_write_file(probe, "p", O_EXCL);
	fsc_test_daemon_start(&d, probe, 15000);

	char *argv[] = {FSC_WAIT_COMPLETE_PATH,
			"--name",
			d.name,
			"--quiet-ms",
			"300",
			"--timeout",
			"30000",
			upload,
			NULL};
	struct capture out = {0}, err = {0};
	pid_t pid = fsc_test_spawn(FSC_WAIT_COMPLETE_PATH, argv, &out.fd, &err.fd);
	int fd = open(upload, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(write(fd, "0123456789", 10), 10);
		fsc_test_pause_ms(50); /* the workload: a writer that takes its time */
	}
	fsc_test_pause_ms(1000); /* the workload: a writer pausing longer than --quiet-ms */
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	capture_expect(&out, 0, "upload.bin complete: 60 bytes\n", LINE_MS);
	assert_int_equal(fsc_test_wait_status(pid), 0);
	close(out.fd);
	close(err.fd);

	/* a file that never comes: exit 1 at the timeout, saying so */
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_WAIT_COMPLETE_PATH, "--name", d.name, "--timeout", "300",
			  fsc_test_path(d.root, "never"), NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "absent"));
	fsc_test_run_free(&r);
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logmon_follows_a_log),
	    cmocka_unit_test(test_logmon_without_fscd),
	    cmocka_unit_test(test_wait_complete_waits_for_the_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
