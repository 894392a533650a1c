/* Changes that produce no inotify event in the watched directory (here: an append through a
 * hard link in an unwatched directory) are found by the backstop sweep. */
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

static void test_backstop_finds_eventless_change(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "backstop");
	char *other = fsc_test_tmpdir("backstop_other");
	char watched[512], outside[512];
	snprintf(watched, sizeof(watched), "%s", fsc_test_path(d.root, "data.log"));
	snprintf(outside, sizeof(outside), "%s", fsc_test_path(other, "link.log"));
	fsc_test_write_file(watched, "", O_EXCL);
	assert_int_equal(link(watched, outside), 0);
	/* a small table: the sweep covers it every tick */
	d.extra[0] = "--capacity";
	d.extra[1] = "64";
	fsc_test_daemon_start(&d, watched, 15000);
	const char *p[] = {watched, NULL};
	fsc_test_wait_agree(d.c, p, FSC_EXPECT_STAT, 15000);
	fsc_test_write_file(outside, "written elsewhere\n", O_APPEND);
	/* no event reaches root's watch; the sweep re-verifies the entry within a few ticks */
	fsc_test_wait_agree(d.c, p, FSC_EXPECT_STAT, 20000);
	struct stat st;
	assert_int_equal(fsc_lookup(d.c, watched, &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, 18);
	fsc_test_daemon_stop(&d); /* exits 0 */
	fsc_test_rmtree(other);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backstop_finds_eventless_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
