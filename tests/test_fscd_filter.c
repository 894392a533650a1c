/* fscd's path filter end to end: excludes, includes and the depth limit decide what the
 * table holds, on the first scan and for what is created later. */
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

#define WAIT_MS 15000

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
	    cmocka_unit_test(test_exclude_include_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
