/* fscd's path filter: its rules in-process (fscd_filter_wants), then end to end: excludes,
 * includes and the depth limit decide what the table holds, on the first scan and for what
 * is created later. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
#include "fscd_filter.h"

#define WAIT_MS 15000

static void test_filter_wants(void **state)
{
	(void)state;
	const char *ex[] = {"*.tmp", "/srv/*/cache"};
	const char *in[] = {"*.log"};
	struct fscd_filter f = {.exclude = ex, .nexclude = 2};
	/* exclude by base name, at any depth, files and directories alike */
	assert_false(fscd_filter_wants(&f, "/srv/a/x.tmp", false, 2));
	assert_false(fscd_filter_wants(&f, "/srv/a/b/d.tmp", true, 3));
	assert_true(fscd_filter_wants(&f, "/srv/a/x.tmpl", false, 2));
	/* exclude by full path: '*' stays within one component */
	assert_false(fscd_filter_wants(&f, "/srv/app/cache", true, 2));
	assert_true(fscd_filter_wants(&f, "/srv/app/sub/cache", true, 3));
	assert_true(fscd_filter_wants(&f, "/srv/app/cache2", true, 2));
	/* a root is always wanted */
	assert_true(fscd_filter_wants(&f, "/srv/x/cache", true, 0));
	/* include: only *.log files, but every (non-excluded) directory is traversed */
	f = (struct fscd_filter){.exclude = ex, .nexclude = 2, .include = in, .ninclude = 1};
	assert_true(fscd_filter_wants(&f, "/var/log/app/x.log", false, 2));
	assert_false(fscd_filter_wants(&f, "/var/log/app/x.txt", false, 2));
	assert_true(fscd_filter_wants(&f, "/var/log/app", true, 1));
	assert_false(fscd_filter_wants(&f, "/var/log/old.tmp", true, 1)); /* exclusion wins */
	assert_false(fscd_filter_wants(&f, "/var/log/y.log.tmp", false, 1));
	/* depth: 2 levels below the root */
	f = (struct fscd_filter){.max_depth = 2};
	assert_true(fscd_filter_wants(&f, "/r/a", true, 1));
	assert_true(fscd_filter_wants(&f, "/r/a/b", false, 2));
	assert_false(fscd_filter_wants(&f, "/r/a/b/c", false, 3));
	/* no filter, or an empty one: everything */
	assert_true(fscd_filter_wants(NULL, "/x/y.tmp", false, 9));
	f = (struct fscd_filter){0};
	assert_true(fscd_filter_wants(&f, "/x/y/z/w", false, 40));
}

static const char *at(const struct fsc_test_daemon *d, const char *rel)
{
	return fsc_test_path(d->root, rel);
}

static void test_exclude_include_depth(void **state)
{
	(void)state;
	static const struct fsc_test_entry tree[] = {
	    {"sub", NULL},	 {"sub/deeper", NULL}, {"cache", NULL},	  {"a.log", ""},
	    {"a.tmp", ""},	 {"sub/b.log", ""},    {"sub/b.txt", ""}, {"sub/deeper/c.log", ""},
	    {"cache/d.log", ""}, {NULL, NULL},
	};
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "filter");
	const char *filter[] = {"--exclude", "*.tmp", "--exclude",   "cache",
				"--include", "*.log", "--max-depth", "2"};
	memcpy(d.extra, filter, sizeof(filter));
	fsc_test_tree_serve(&d, tree, "a.log", WAIT_MS);
	const char *cached[] = {d.root, at(&d, "a.log"), at(&d, "sub"), at(&d, "sub/b.log"), NULL};
	fsc_test_wait_agree(d.c, cached, FSC_EXPECT_STAT, WAIT_MS);
	/* excluded by glob, by directory name, not included, below the depth limit */
	const char *left_out[] = {at(&d, "a.tmp"), at(&d, "cache/d.log"), at(&d, "sub/b.txt"),
				  at(&d, "sub/deeper/c.log"), NULL};
	fsc_test_wait_agree(d.c, left_out, FSC_EXPECT_MISS, WAIT_MS);
	/* later arrivals follow the same rules; events are handled in order, so once the
	 * wanted file is there, the unwanted one created before it has been passed over */
	fsc_test_write_file(at(&d, "later.tmp"), "", O_EXCL);
	fsc_test_write_file(at(&d, "later.log"), "", O_EXCL);
	const char *later[] = {at(&d, "later.log"), NULL};
	fsc_test_wait_agree(d.c, later, FSC_EXPECT_STAT, WAIT_MS);
	assert_int_equal(fsc_lookup(d.c, at(&d, "later.tmp"), NULL, NULL), FSC_MISS);
	fsc_test_daemon_stop(&d); /* exits 0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_wants),
	    cmocka_unit_test(test_exclude_include_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
