/* The hit-hint segment is the one shared object readers write. Whoever may write it may also
 * truncate it, and touching a truncated mapping is a SIGBUS. These tests pin down that only
 * the table owner's own user can ever be in that position. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_util.h"

static void hints_name(char *buf, size_t size, const char *name, struct fsc_writer *w)
{
	assert_int_equal(fsc_shm_hints_name(buf, size, name, fsc_writer_header(w)->generation), 0);
}

static void test_hints_are_owner_only(void **state)
{
	(void)state;
	char name[64], hints[FSC_SHM_OBJECT_NAME_MAX];
	fsc_test_name(name, sizeof(name), "hmode");
	struct fsc_writer *w = fsc_test_writer(name, 16);
	hints_name(hints, sizeof(hints), name, w);
	struct stat st;
	assert_int_equal(stat(hints, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	fsc_writer_close(w);
}

/* A reader (here root, who could open anything) must not map a segment another user owns:
 * that user could truncate it under the reader. */
static void test_foreign_owned_hints_are_not_mapped(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to hand the segment to another user */
	char name[64], hints[128];
	fsc_test_name(name, sizeof(name), "hforeign");
	struct fsc_writer *w = fsc_test_writer(name, 16);
	struct stat st;
	fsc_test_fake_stat(&st, 1, 1);
	assert_int_equal(fsc_writer_put(w, "/h/a", 4, &st, 0), 0);
	hints_name(hints, sizeof(hints), name, w);
	int fd = open(hints, O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, 65534, 65534), 0);
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	/* the other user truncates the segment: a reader that mapped it would die on its hit */
	assert_int_equal(ftruncate(fd, 0), 0);
	close(fd);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stat got;
		_exit(fsc_lookup(c, "/h/a", &got, NULL) == FSC_HIT && got.st_ino == st.st_ino ? 0
											      : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fsc_close(c);
	fsc_writer_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hints_are_owner_only),
	    cmocka_unit_test(test_foreign_owned_hints_are_not_mapped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
