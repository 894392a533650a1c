/* The change journal with the real fscd: appends, creations and deletions in the watched tree
 * come out of fsc_journal_next as the paths that changed, after the table holds the change; a
 * waiting reader is woken; a reader too far behind, a takeover by another fscd, fscd killed,
 * and fscd without a journal all say so instead of going quiet. */
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
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000

static char *path_in(const struct fsc_test_daemon *d, const char *name)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", d->root, name) > 0);
	return p;
}

/* Makes a fresh tree holding f.log (and also, unless NULL, whose path goes to *also_path),
 * starts fscd on it (with --journal-kib kib unless NULL) and waits until f.log is served.
 * Returns f.log's path (free it). */
static char *serve(struct fsc_test_daemon *d, const char *tag, const char *kib, const char *also,
		   char **also_path)
{
	fsc_test_daemon_prepare(d, tag);
	char *file = path_in(d, "f.log");
	fsc_test_write_file(file, "a", 0);
	if (also) {
		*also_path = path_in(d, also);
		fsc_test_write_file(*also_path, "b", 0);
	}
	if (kib) {
		d->extra[0] = "--journal-kib";
		d->extra[1] = kib;
	}
	fsc_test_daemon_start(d, file, CONVERGE_MS);
	return file;
}

/* Reads the journal until path shows up (waiting on it), failing after CONVERGE_MS. */
static struct fsc_change *expect_change(fsc_t *c, fsc_cursor_t *cur, const char *path)
{
	static struct fsc_change ch;
	uint64_t deadline = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_test_now_ms() < deadline) {
		int r = fsc_journal_next(c, cur, &ch);
		assert_int_not_equal(r, FSC_CURSOR_LOST);
		if (r == FSC_CHANGE && strcmp(ch.path, path) == 0)
			return &ch;
		if (r == FSC_CAUGHT_UP)
			fsc_journal_wait(c, cur, 1000);
	}
	fail_msg("no journal entry for %s within %d ms", path, CONVERGE_MS);
	return NULL;
}

static void test_journal_reports_changes_in_the_tree(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *gone, *grow = serve(&d, "jfscd", NULL, "gone.log", &gone);
	char *fresh = path_in(&d, "new.log");
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d.c, &cur), 0);
	struct fsc_change ch;
	assert_int_equal(fsc_journal_wait(d.c, &cur, 50), FSC_CAUGHT_UP); /* quiet tree */
	assert_int_equal(fsc_journal_next(d.c, &cur, &ch), FSC_CAUGHT_UP);

	fsc_test_write_file(grow, "more", O_APPEND);
	expect_change(d.c, &cur, grow);
	/* the table held the change before the entry was written */
	struct stat st, real;
	assert_int_equal(stat(grow, &real), 0);
	assert_int_equal(fsc_lookup(d.c, grow, &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, real.st_size);

	fsc_test_write_file(fresh, "c", O_EXCL);
	assert_int_equal(expect_change(d.c, &cur, fresh)->flags & FSC_FLAG_NEGATIVE, 0);
	assert_int_equal(unlink(gone), 0);
	assert_int_equal(expect_change(d.c, &cur, gone)->flags & FSC_FLAG_NEGATIVE,
			 FSC_FLAG_NEGATIVE);
	assert_int_equal(fsc_lookup(d.c, gone, NULL, NULL), FSC_NEGATIVE);
	free(grow);
	free(fresh);
	free(gone);
	fsc_test_daemon_stop(&d);
}

/* A reader blocked in fsc_journal_wait (another process) returns FSC_CHANGE on an append. */
static void test_journal_wait_is_woken(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *f = serve(&d, "jwait", NULL, NULL, NULL);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		fsc_t *c = fsc_open(d.name);
		fsc_cursor_t cur;
		if (!c || fsc_journal_start(c, &cur))
			_exit(10);
		(void)!write(ready[1], "r", 1);
		int r = fsc_journal_wait(c, &cur, 60000);
		_exit(r == FSC_CHANGE ? 0 : 20 + r);
	}
	char b;
	assert_int_equal(read(ready[0], &b, 1), 1);
	fsc_test_write_file(f, "wake", O_APPEND);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(ready[0]);
	close(ready[1]);
	free(f);
	fsc_test_daemon_stop(&d);
}

/* With the smallest journal, a reader that does not read while 3000 files change is told its
 * cursor is lost; a new cursor follows the next change. */
static void test_journal_small_ring_overrun(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "jsmall", "64", NULL, NULL);
	fsc_cursor_t cur, fresh;
	assert_int_equal(fsc_journal_start(d.c, &cur), 0);
	char *last = NULL;
	for (int i = 0; i < 3000; i++) {
		char name[64];
		snprintf(name, sizeof(name), "a-long-enough-name-for-a-journal-entry-%04d", i);
		free(last);
		last = path_in(&d, name);
		fsc_test_write_file(last, "x", O_EXCL);
	}
	const char *paths[] = {last, NULL};
	fsc_test_wait_agree(d.c, paths, FSC_EXPECT_STAT, CONVERGE_MS);
	struct fsc_change ch;
	assert_int_equal(fsc_journal_next(d.c, &cur, &ch), FSC_CURSOR_LOST);
	assert_int_equal(fsc_journal_start(d.c, &fresh), 0);
	fsc_test_write_file(probe, "q", O_APPEND);
	expect_change(d.c, &fresh, probe);
	free(probe);
	free(last);
	fsc_test_daemon_stop(&d);
}

/* A cursor does not outlive its fscd: replaced by a second fscd, or killed, it is lost. */
static void test_journal_cursor_dies_with_its_fscd(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *f = serve(&d, "jtake", NULL, NULL, NULL);
	fsc_cursor_t old, cur;
	struct fsc_change ch;
	assert_int_equal(fsc_journal_start(d.c, &old), 0);
	const char *argv[] = {"fscd", "--name", d.name, "--watch", d.root, NULL};
	pid_t second = fsc_test_fscd_start(argv, NULL);
	assert_int_equal(WEXITSTATUS(fsc_test_fscd_wait(d.fscd, CONVERGE_MS)), 0); /* superseded */
	uint64_t deadline = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_journal_start(d.c, &cur) != 0 || cur.journal_id == old.journal_id)
		assert_true(fsc_test_now_ms() < deadline);
	assert_int_equal(fsc_journal_next(d.c, &old, &ch), FSC_CURSOR_LOST);
	fsc_test_write_file(f, "b", O_APPEND);
	expect_change(d.c, &cur, f);

	kill(second, SIGKILL); /* no clean stop: the robust liveness lock says it died */
	assert_true(WIFSIGNALED(fsc_test_fscd_wait(second, CONVERGE_MS)));
	assert_int_equal(fsc_journal_wait(d.c, &cur, 60000), FSC_CURSOR_LOST);
	assert_int_equal(fsc_journal_start(d.c, &cur), -1);
	assert_int_equal(errno, ESRCH);
	/* restart so that the fixture's clean stop has an fscd to stop */
	fsc_test_shm_leftovers(d.name, true);
	d.fscd = fsc_test_fscd_start(argv, NULL);
	fsc_close(d.c);
	d.c = fsc_test_open_when_live(d.name, CONVERGE_MS);
	free(f);
	fsc_test_daemon_stop(&d);
}

static void test_journal_off(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *f = serve(&d, "joff", "0", NULL, NULL);
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d.c, &cur), -1);
	assert_int_equal(errno, ENOENT);
	free(f);
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal_reports_changes_in_the_tree),
	    cmocka_unit_test(test_journal_wait_is_woken),
	    cmocka_unit_test(test_journal_small_ring_overrun),
	    cmocka_unit_test(test_journal_cursor_dies_with_its_fscd),
	    cmocka_unit_test(test_journal_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
