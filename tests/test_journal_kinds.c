/* Change kinds and the "being written" flag with the real fscd: each operation on the watched
 * tree comes out of the journal with its kinds (create, modify then close-write, attrib,
 * delete, moved-from and moved-to, a directory made), and FSC_FLAG_WRITING is set while a
 * writer holds a file it wrote to, cleared by its close or by a rename over the file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static char *serve(struct fsc_test_daemon *d, const char *tag)
{
	fsc_test_daemon_prepare(d, tag);
	char *probe = path_in(d, "probe");
	fsc_test_write_file(probe, "p", 0);
	fsc_test_daemon_start(d, probe, CONVERGE_MS);
	return probe;
}

/* Reads the journal until the entries for path together carry every kind in want (waiting
 * for them); returns the last such entry (its kinds merged with the earlier ones' in
 * *all, if not NULL). Fails after CONVERGE_MS, naming what was seen. */
static struct fsc_change *expect_kinds(fsc_t *c, fsc_cursor_t *cur, const char *path, uint32_t want,
				       uint32_t *all)
{
	static struct fsc_change ch;
	uint32_t seen = 0;
	uint64_t deadline = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_test_now_ms() < deadline) {
		int r = fsc_journal_next(c, cur, &ch);
		assert_int_not_equal(r, FSC_CURSOR_LOST);
		if (r == FSC_CHANGE && strcmp(ch.path, path) == 0) {
			seen |= ch.kinds;
			if ((seen & want) == want) {
				if (all)
					*all = seen;
				return &ch;
			}
		}
		if (r == FSC_CAUGHT_UP)
			fsc_journal_wait(c, cur, 1000);
	}
	char a[128], b[128];
	fail_msg("%s: journal said %s, expected %s", path, fsc_kinds_format(seen, a, sizeof(a)),
		 fsc_kinds_format(want, b, sizeof(b)));
	return NULL;
}

static uint32_t lookup_flags(fsc_t *c, const char *path)
{
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, path, NULL, &info), FSC_HIT);
	return info.flags;
}

static void test_each_operation_has_its_kind(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "kinds");
	char *fresh = path_in(&d, "fresh"), *moved = path_in(&d, "moved"),
	     *dir = path_in(&d, "sub");
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d.c, &cur), 0);
	uint32_t all;

	fsc_test_write_file(fresh, "new", O_EXCL);
	expect_kinds(d.c, &cur, fresh, FSC_KIND_CREATE | FSC_KIND_CLOSE_WRITE, &all);
	assert_int_equal(all & (FSC_KIND_DIR | FSC_KIND_DELETE), 0);

	assert_int_equal(chmod(probe, 0600), 0);
	expect_kinds(d.c, &cur, probe, FSC_KIND_ATTRIB, &all);
	assert_int_equal(all & (FSC_KIND_CREATE | FSC_KIND_MODIFY), 0);

	assert_int_equal(rename(fresh, moved), 0);
	expect_kinds(d.c, &cur, fresh, FSC_KIND_MOVED_FROM, &all);
	assert_int_equal(all & FSC_KIND_DELETE, 0); /* a move is not a delete */
	expect_kinds(d.c, &cur, moved, FSC_KIND_MOVED_TO, &all);

	assert_int_equal(unlink(moved), 0);
	struct fsc_change *ch = expect_kinds(d.c, &cur, moved, FSC_KIND_DELETE, NULL);
	assert_true(ch->flags & FSC_FLAG_NEGATIVE);

	assert_int_equal(mkdir(dir, 0755), 0);
	expect_kinds(d.c, &cur, dir, FSC_KIND_CREATE | FSC_KIND_DIR, NULL);
	assert_int_equal(rmdir(dir), 0);
	expect_kinds(d.c, &cur, dir, FSC_KIND_DELETE | FSC_KIND_DIR, NULL);

	char text[160];
	assert_string_equal(
	    fsc_kinds_format(FSC_KIND_MODIFY | FSC_KIND_CLOSE_WRITE | 0x4000u, text, sizeof(text)),
	    "modify,close-write,0x4000");
	free(probe);
	free(fresh);
	free(moved);
	free(dir);
	fsc_test_daemon_stop(&d);
}

/* Written and still open: MODIFY with WRITING; the close: CLOSE_WRITE, WRITING cleared. A
 * writer that pauses keeps the flag: nothing but a close clears it. */
static void test_writing_until_close(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "writing");
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d.c, &cur), 0);
	int fd = open(probe, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "more", 4), 4);
	struct fsc_change *ch = expect_kinds(d.c, &cur, probe, FSC_KIND_MODIFY, NULL);
	assert_true(ch->flags & FSC_FLAG_WRITING);
	assert_true(lookup_flags(d.c, probe) & FSC_FLAG_WRITING);
	assert_int_equal(write(fd, "again", 5), 5);
	expect_kinds(d.c, &cur, probe, FSC_KIND_MODIFY, NULL);
	assert_true(lookup_flags(d.c, probe) & FSC_FLAG_WRITING);
	assert_int_equal(close(fd), 0);
	ch = expect_kinds(d.c, &cur, probe, FSC_KIND_CLOSE_WRITE, NULL);
	assert_false(ch->flags & FSC_FLAG_WRITING);
	assert_false(lookup_flags(d.c, probe) & FSC_FLAG_WRITING);
	free(probe);
	fsc_test_daemon_stop(&d);
}

/* A file being written (held open) replaced by a rename onto it: the new file is complete. */
static void test_rename_over_clears_writing(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	char *probe = serve(&d, "renover");
	char *tmp = path_in(&d, ".probe.tmp");
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d.c, &cur), 0);
	int fd = open(probe, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "partial", 7), 7);
	expect_kinds(d.c, &cur, probe, FSC_KIND_MODIFY, NULL);
	assert_true(lookup_flags(d.c, probe) & FSC_FLAG_WRITING);
	fsc_test_write_file(tmp, "whole", O_EXCL);
	assert_int_equal(rename(tmp, probe), 0);
	struct fsc_change *ch = expect_kinds(d.c, &cur, probe, FSC_KIND_MOVED_TO, NULL);
	assert_false(ch->flags & FSC_FLAG_WRITING);
	assert_false(lookup_flags(d.c, probe) & FSC_FLAG_WRITING);
	assert_int_equal(close(fd), 0); /* the old inode, no longer at the path */
	free(probe);
	free(tmp);
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_operation_has_its_kind),
	    cmocka_unit_test(test_writing_until_close),
	    cmocka_unit_test(test_rename_over_clears_writing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
