/* fscd on a real temporary tree: every kind of change converges to what lstat() says. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_table.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000 /* generous: this is a bound on waiting, not a speed claim */

struct fixture {
	struct fsc_test_daemon d;
};

static const char *at(const struct fixture *f, const char *rel)
{
	return fsc_test_path(f->d.root, rel);
}

static int setup(void **state)
{
	static struct fixture f;
	static const struct fsc_test_entry tree[] = {
	    {"logs", NULL},
	    {"logs/app", NULL},
	    {"logs/syslog", "boot\n"},
	    {"logs/app/app.log", "start\n"},
	    {NULL, NULL},
	};
	fsc_test_daemon_prepare(&f.d, "integ");
	fsc_test_tree_serve(&f.d, tree, "logs/app/app.log", CONVERGE_MS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char name[sizeof(f->d.name)];
	snprintf(name, sizeof(name), "%s", f->d.name);
	fsc_test_daemon_stop(&f->d); /* a clean stop exits 0 and removes the table */
	assert_null(fsc_open(name));
	return 0;
}

static void test_initial_scan_publishes_tree(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = {f->d.root,
			       at(f, "logs"),
			       at(f, "logs/app"),
			       at(f, "logs/syslog"),
			       at(f, "logs/app/app.log"),
			       NULL};
	fsc_test_wait_agree(f->d.c, paths, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, at(f, "logs/syslog"), &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, 5);
}

static void test_create_append_truncate(void **state)
{
	struct fixture *f = *state;
	const char *p[] = {at(f, "logs/new.log"), NULL};
	fsc_test_write_file(p[0], "one\n", O_TRUNC);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_write_file(p[0], "two\n", O_APPEND);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, p[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, 8);
	assert_int_equal(truncate(p[0], 0), 0); /* copytruncate-style rotation */
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(fsc_lookup(f->d.c, p[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, 0);
}

static void test_attribute_changes(void **state)
{
	struct fixture *f = *state;
	const char *p[] = {at(f, "logs/syslog"), NULL};
	assert_int_equal(chmod(p[0], 0600), 0);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, p[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct timeval tv[2] = {{1000000, 0}, {2000000, 0}};
	assert_int_equal(utimes(p[0], tv), 0);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(fsc_lookup(f->d.c, p[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_mtime, 2000000);
	/* a hard link in the same directory changes the link count */
	assert_int_equal(link(p[0], at(f, "logs/syslog.link")), 0);
	const char *both[] = {p[0], at(f, "logs/syslog.link"), NULL};
	fsc_test_wait_agree(f->d.c, both, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(fsc_lookup(f->d.c, p[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(unlink(both[1]), 0);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
}

static void test_delete_becomes_negative_and_recreate(void **state)
{
	struct fixture *f = *state;
	const char *p[] = {at(f, "logs/short.log"), NULL};
	fsc_test_write_file(p[0], "x", O_TRUNC);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat before;
	assert_int_equal(lstat(p[0], &before), 0);
	assert_int_equal(unlink(p[0]), 0);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	/* fsc_stat answers ENOENT from the table */
	struct stat st;
	errno = 0;
	assert_int_equal(fsc_stat(f->d.c, p[0], &st), -1);
	assert_int_equal(errno, ENOENT);
	fsc_test_write_file(p[0], "again", O_TRUNC); /* new inode at the same path */
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
}

static void test_rename_within_tree(void **state)
{
	struct fixture *f = *state;
	const char *from[] = {at(f, "logs/app/app.log"), NULL};
	const char *to[] = {at(f, "logs/app/app.log.1"), NULL};
	assert_int_equal(rename(from[0], to[0]), 0);	  /* logrotate's rename step */
	fsc_test_write_file(from[0], "fresh\n", O_TRUNC); /* ... and create step */
	fsc_test_wait_agree(f->d.c, from, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_wait_agree(f->d.c, to, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat a, b;
	assert_int_equal(fsc_lookup(f->d.c, from[0], &a, NULL), FSC_HIT);
	assert_int_equal(fsc_lookup(f->d.c, to[0], &b, NULL), FSC_HIT);
	assert_true(a.st_ino != b.st_ino);
}

static void test_new_subdirectory_with_files(void **state)
{
	struct fixture *f = *state;
	/* files created right after mkdir, before fscd can have watched the directory: the scan
	 * that follows the watch must find them */
	assert_int_equal(mkdir(at(f, "logs/burst"), 0755), 0);
	assert_int_equal(mkdir(at(f, "logs/burst/deeper"), 0755), 0);
	fsc_test_write_file(at(f, "logs/burst/a"), "a", O_TRUNC);
	fsc_test_write_file(at(f, "logs/burst/deeper/b"), "bb", O_TRUNC);
	const char *p[] = {at(f, "logs/burst"), at(f, "logs/burst/deeper"), at(f, "logs/burst/a"),
			   at(f, "logs/burst/deeper/b"), NULL};
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	/* and later changes inside them are seen: the new directories are watched */
	fsc_test_write_file(at(f, "logs/burst/deeper/b"), "more", O_APPEND);
	fsc_test_write_file(at(f, "logs/burst/deeper/c"), "c", O_TRUNC);
	const char *q[] = {at(f, "logs/burst/deeper/b"), at(f, "logs/burst/deeper/c"), NULL};
	fsc_test_wait_agree(f->d.c, q, FSC_EXPECT_STAT, CONVERGE_MS);
}

static void test_directory_rename_and_removal(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(at(f, "d1"), 0755), 0);
	assert_int_equal(mkdir(at(f, "d1/sub"), 0755), 0);
	fsc_test_write_file(at(f, "d1/sub/x"), "x", O_TRUNC);
	const char *old[] = {at(f, "d1"), at(f, "d1/sub"), at(f, "d1/sub/x"), NULL};
	fsc_test_wait_agree(f->d.c, old, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(rename(at(f, "d1"), at(f, "d2")), 0);
	const char *moved[] = {at(f, "d2"), at(f, "d2/sub"), at(f, "d2/sub/x"), NULL};
	fsc_test_wait_agree(f->d.c, old, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	fsc_test_wait_agree(f->d.c, moved, FSC_EXPECT_STAT, CONVERGE_MS);
	/* the moved directory is watched under its new name, not the old one */
	fsc_test_write_file(at(f, "d2/sub/y"), "yy", O_TRUNC);
	const char *y[] = {at(f, "d2/sub/y"), NULL};
	fsc_test_wait_agree(f->d.c, y, FSC_EXPECT_STAT, CONVERGE_MS);
	const char *oldy[] = {at(f, "d1/sub/y"), NULL};
	fsc_test_wait_agree(f->d.c, oldy, FSC_EXPECT_MISS, CONVERGE_MS);
	assert_int_equal(unlink(at(f, "d2/sub/x")), 0);
	assert_int_equal(unlink(at(f, "d2/sub/y")), 0);
	assert_int_equal(rmdir(at(f, "d2/sub")), 0);
	const char *gone[] = {at(f, "d2/sub"), at(f, "d2/sub/x"), at(f, "d2/sub/y"), NULL};
	fsc_test_wait_agree(f->d.c, gone, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
}

static void test_symlinks_are_left_to_stat(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(symlink("/etc/hostname", at(f, "logs/link")), 0);
	fsc_test_write_file(at(f, "logs/after-link"), "z", O_TRUNC);
	const char *after[] = {at(f, "logs/after-link"), NULL};
	fsc_test_wait_agree(f->d.c, after, FSC_EXPECT_STAT, CONVERGE_MS);
	/* events are processed in order, so the link's (earlier) event has been handled */
	assert_int_equal(fsc_lookup(f->d.c, at(f, "logs/link"), NULL, NULL), FSC_MISS);
	struct stat a, b;
	assert_int_equal(fsc_stat(f->d.c, at(f, "logs/link"), &a), stat(at(f, "logs/link"), &b));
}

static void test_table_permissions(void **state)
{
	struct fixture *f = *state;
	char path[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(path, sizeof(path), f->d.name), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640); /* default: never world-writable */
	/* the log says what is served */
	assert_non_null(strstr(fsc_test_read_file(f->d.errlog), "serving table"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_initial_scan_publishes_tree),
	    cmocka_unit_test(test_create_append_truncate),
	    cmocka_unit_test(test_attribute_changes),
	    cmocka_unit_test(test_delete_becomes_negative_and_recreate),
	    cmocka_unit_test(test_rename_within_tree),
	    cmocka_unit_test(test_new_subdirectory_with_files),
	    cmocka_unit_test(test_directory_rename_and_removal),
	    cmocka_unit_test(test_symlinks_are_left_to_stat),
	    cmocka_unit_test(test_table_permissions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
