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
	char name[64], watched[512], outside[512];
	fsc_test_name(name, sizeof(name), "backstop");
	char *root = fsc_test_tmpdir("backstop");
	char *other = fsc_test_tmpdir("backstop_other");
	snprintf(watched, sizeof(watched), "%s/data.log", root);
	snprintf(outside, sizeof(outside), "%s/link.log", other);
	close(open(watched, O_WRONLY | O_CREAT, 0644));
	assert_int_equal(link(watched, outside), 0);
	/* a small table: the sweep covers it every tick */
	const char *argv[] = {"fscd", "--name", name, "--watch", root, "--capacity", "64", NULL};
	pid_t pid = fsc_test_fscd_start(argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(name, watched, 0, 15000);
	const char *p[] = {watched, NULL};
	fsc_test_wait_agree(c, p, FSC_EXPECT_STAT, 15000);
	int fd = open(outside, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "written elsewhere\n", 18), 18);
	close(fd);
	/* no event reaches root's watch; the sweep re-verifies the entry within a few ticks */
	fsc_test_wait_agree(c, p, FSC_EXPECT_STAT, 20000);
	struct stat st;
	assert_int_equal(fsc_lookup(c, watched, &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, 18);
	fsc_close(c);
	int status = fsc_test_fscd_stop(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fsc_test_rmtree(root);
	fsc_test_rmtree(other);
	free(root);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backstop_finds_eventless_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
