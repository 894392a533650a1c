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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define WAIT_MS 15000

static void touch(const char *root, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	close(open(p, O_WRONLY | O_CREAT, 0644));
}

static const char *at(const char *root, const char *rel, int n)
{
	static char bufs[8][512];
	snprintf(bufs[n], sizeof(bufs[n]), "%s/%s", root, rel);
	return bufs[n];
}

static void test_exclude_include_depth(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "filter");
	char *root = fsc_test_tmpdir("filter");
	mkdir(at(root, "sub", 0), 0755);
	mkdir(at(root, "sub/deeper", 0), 0755);
	mkdir(at(root, "cache", 0), 0755);
	touch(root, "a.log");
	touch(root, "a.tmp");
	touch(root, "sub/b.log");
	touch(root, "sub/b.txt");
	touch(root, "sub/deeper/c.log");
	touch(root, "cache/d.log");
	const char *argv[] = {"fscd",	   "--name",	  name,	       "--watch", root,
			      "--exclude", "*.tmp",	  "--exclude", "cache",	  "--include",
			      "*.log",	   "--max-depth", "2",	       NULL};
	pid_t pid = fsc_test_fscd_start(argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(name, at(root, "a.log", 0), 0, WAIT_MS);
	const char *cached[] = {root, at(root, "a.log", 1), at(root, "sub", 2),
				at(root, "sub/b.log", 3), NULL};
	fsc_test_wait_agree(c, cached, FSC_EXPECT_STAT, WAIT_MS);
	/* excluded by glob, by directory name, not included, below the depth limit */
	const char *left_out[] = {at(root, "a.tmp", 4), at(root, "cache/d.log", 5),
				  at(root, "sub/b.txt", 6), at(root, "sub/deeper/c.log", 7), NULL};
	fsc_test_wait_agree(c, left_out, FSC_EXPECT_MISS, WAIT_MS);
	/* later arrivals follow the same rules; events are handled in order, so once the
	 * wanted file is there, the unwanted one created before it has been passed over */
	touch(root, "later.tmp");
	touch(root, "later.log");
	const char *later[] = {at(root, "later.log", 0), NULL};
	fsc_test_wait_agree(c, later, FSC_EXPECT_STAT, WAIT_MS);
	assert_int_equal(fsc_lookup(c, at(root, "later.tmp", 1), NULL, NULL), FSC_MISS);
	fsc_close(c);
	int status = fsc_test_fscd_stop(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fsc_test_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exclude_include_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
