/* Two fscd on one name, crashes and restarts: readers follow the live table, fall back to
 * stat() while there is none, and never hang or crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define WAIT_MS 15000

struct fixture {
	char name[64];
	char *root;
	char file[256];
	const char *argv[6];
};

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_name(f.name, sizeof(f.name), "takeover");
	f.root = fsc_test_tmpdir("takeover");
	snprintf(f.file, sizeof(f.file), "%s/app.log", f.root);
	close(open(f.file, O_WRONLY | O_CREAT, 0644));
	const char *argv[] = {"fscd", "--name", f.name, "--watch", f.root, NULL};
	memcpy(f.argv, argv, sizeof(argv));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_rmtree(f->root);
	free(f->root);
	return 0;
}

static uint64_t generation_of(fsc_t *c, const char *path)
{
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, path, NULL, &info), FSC_HIT);
	return info.generation;
}

/* Polls a reader handle until it answers path from a table other than not_gen. */
static uint64_t wait_new_generation(fsc_t *c, const char *path, uint64_t not_gen)
{
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	struct fsc_info info;
	while (fsc_test_now_ms() < end) {
		if (fsc_lookup(c, path, NULL, &info) == FSC_HIT && info.generation != not_gen)
			return info.generation;
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
	fail_msg("reader never moved off generation %llx", (unsigned long long)not_gen);
	return 0;
}

static void test_second_fscd_takes_over(void **state)
{
	struct fixture *f = *state;
	pid_t first = fsc_test_fscd_start(f->argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(f->name, f->file, 0, WAIT_MS);
	uint64_t g1 = generation_of(c, f->file);
	pid_t second = fsc_test_fscd_start(f->argv, "/dev/null");
	/* the same handle re-attaches to the new table by itself */
	uint64_t g2 = wait_new_generation(c, f->file, g1);
	assert_true(g2 != g1);
	/* the first fscd notices it was superseded and exits cleanly, leaving the name alone */
	int status = fsc_test_fscd_wait(first, WAIT_MS);
	assert_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(generation_of(c, f->file), g2);
	/* and the new one keeps the table current */
	int fd = open(f->file, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	const char *p[] = {f->file, NULL};
	fsc_test_wait_agree(c, p, FSC_EXPECT_STAT, WAIT_MS);
	fsc_close(c);
	status = fsc_test_fscd_stop(second);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A takeover builds the new table before publishing it: the first answer a reader gets from
 * the new generation comes from a complete table, never a half-scanned one (which would
 * answer "miss" for what the old table still served). */
static void test_takeover_publishes_a_complete_table(void **state)
{
	struct fixture *f = *state;
	enum {
		NMANY = 3000
	};
	static char many[NMANY][300];
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/many", f->root);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < NMANY; i++) {
		snprintf(many[i], sizeof(many[i]), "%s/f%04d.log", dir, i);
		close(open(many[i], O_WRONLY | O_CREAT, 0644));
	}
	pid_t first = fsc_test_fscd_start(f->argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(f->name, many[NMANY - 1], 0, WAIT_MS);
	uint64_t g1 = generation_of(c, f->file);
	pid_t second = fsc_test_fscd_start(f->argv, "/dev/null");
	struct fsc_info info;
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	while (fsc_lookup(c, f->file, NULL, &info) != FSC_HIT || info.generation == g1)
		assert_true(fsc_test_now_ms() < end);
	int missed = 0;
	for (int i = 0; i < NMANY; i++)
		missed += fsc_lookup(c, many[i], NULL, NULL) == FSC_MISS;
	assert_int_equal(missed, 0);
	int status = fsc_test_fscd_wait(first, WAIT_MS);
	assert_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fsc_close(c);
	fsc_test_fscd_stop(second);
	fsc_test_rmtree(dir);
}

static void test_crash_then_restart(void **state)
{
	struct fixture *f = *state;
	pid_t first = fsc_test_fscd_start(f->argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(f->name, f->file, 0, WAIT_MS);
	uint64_t g1 = generation_of(c, f->file);
	kill(first, SIGKILL);
	waitpid(first, NULL, 0);
	/* a dead writer is seen at once (robust futex), without waiting for the heartbeat */
	assert_int_equal(fsc_lookup(c, f->file, NULL, NULL), FSC_UNAVAILABLE);
	/* fsc_stat falls back to the truth while nobody serves the table */
	int fd = open(f->file, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "while down\n", 11), 11);
	close(fd);
	struct stat real, st;
	assert_int_equal(stat(f->file, &real), 0);
	assert_int_equal(fsc_stat(c, f->file, &st), 0);
	assert_int_equal(st.st_size, real.st_size);
	/* a fresh fscd scans and publishes; the old handle finds it */
	pid_t second = fsc_test_fscd_start(f->argv, "/dev/null");
	uint64_t g2 = wait_new_generation(c, f->file, g1);
	assert_true(g2 != g1);
	const char *p[] = {f->file, NULL};
	fsc_test_wait_agree(c, p, FSC_EXPECT_STAT, WAIT_MS);
	fsc_close(c);
	fsc_test_fscd_stop(second);
	/* after a clean stop nothing is published */
	assert_null(fsc_open(f->name));
	assert_int_equal(errno, ENOENT);
}

static void test_stopped_writer_falls_back(void **state)
{
	struct fixture *f = *state;
	pid_t pid = fsc_test_fscd_start(f->argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(f->name, f->file, 0, WAIT_MS);
	assert_int_equal(fsc_lookup(c, f->file, NULL, NULL), FSC_HIT);
	fsc_test_fscd_stop(pid);
	assert_int_equal(fsc_lookup(c, f->file, NULL, NULL), FSC_UNAVAILABLE);
	struct stat st;
	assert_int_equal(fsc_stat(c, f->file, &st), 0);
	fsc_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_second_fscd_takes_over),
	    cmocka_unit_test(test_takeover_publishes_a_complete_table),
	    cmocka_unit_test(test_crash_then_restart),
	    cmocka_unit_test(test_stopped_writer_falls_back),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
