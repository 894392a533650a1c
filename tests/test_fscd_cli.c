/* fscd's command line: help, clear errors for bad input, and that a failed start never takes
 * a table away from a healthy fscd. */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

static void test_help_and_version(void **state)
{
	(void)state;
	const char *out, *err;
	const char *help[] = {"fscd", "--help", NULL};
	assert_int_equal(fsc_test_fscd_run(help, &out, &err), 0);
	const char *documented[] = {"--watch", "--name",      "--capacity", "--slot-size", "--mode",
				    "--group", "--log-level", "--help",	    "--version"};
	for (size_t i = 0; i < sizeof(documented) / sizeof(*documented); i++)
		assert_non_null(strstr(out, documented[i]));
	assert_string_equal(err, "");
	const char *ver[] = {"fscd", "--version", NULL};
	assert_int_equal(fsc_test_fscd_run(ver, &out, &err), 0);
	assert_non_null(strstr(out, "fscd "));
}

static void test_usage_errors(void **state)
{
	(void)state;
	fsc_test_usage_error((const char *[]){"fscd", NULL}, "give at least one --watch");
	fsc_test_usage_error((const char *[]){"fscd", "--bogus", NULL}, "Try 'fscd --help'");
	fsc_test_usage_error((const char *[]){"fscd", "/tmp", NULL}, "--watch /tmp");
	fsc_test_usage_error((const char *[]){"fscd", "-w", "/tmp", "--name", "../x", NULL},
			     "invalid --name");
	fsc_test_usage_error((const char *[]){"fscd", "-w", "/tmp", "--capacity", "-5", NULL},
			     "invalid --capacity");
	fsc_test_usage_error((const char *[]){"fscd", "-w", "/tmp", "--mode", "abc", NULL},
			     "invalid --mode");
	/* readers refuse a table its group or others may write: so does fscd, up front */
	fsc_test_usage_error((const char *[]){"fscd", "-w", "/tmp", "--mode", "0666", NULL},
			     "group- or world-writable");
	fsc_test_usage_error((const char *[]){"fscd", "-w", "/tmp", "--mode", "0660", NULL},
			     "group- or world-writable");
	fsc_test_usage_error((const char *[]){"fscd", "-w", "/tmp", "--log-level", "loud", NULL},
			     "invalid --log-level");
}

static void expect_start_error(const char *const *argv, const char *message)
{
	const char *out, *err;
	assert_int_equal(fsc_test_fscd_run(argv, &out, &err), 1);
	if (!strstr(err, message))
		fail_msg("stderr lacks \"%s\": %s", message, err);
}

static void test_bad_input_is_reported(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "cli");
	expect_start_error((const char *[]){"fscd", "-n", name, "-w", "/nonexistent/dir", NULL},
			   "cannot watch /nonexistent/dir: No such file or directory");
	expect_start_error(
	    (const char *[]){"fscd", "-n", name, "-w", "/tmp", "--slot-size", "100", NULL},
	    "cannot watch /tmp");
	expect_start_error(
	    (const char *[]){"fscd", "-n", name, "-w", "/tmp", "--slot-size", "1000", NULL},
	    "slot size must be a multiple of 64");
	/* none of these left a table behind */
	assert_null(fsc_open(name));
	assert_int_equal(errno, ENOENT);
}

static void test_failed_start_keeps_running_table(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "keep");
	char *root = fsc_test_tmpdir("keep");
	const char *argv[] = {"fscd", "--name", name, "--watch", root, NULL};
	pid_t good = fsc_test_fscd_start(argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(name, root, 0, 15000);
	struct fsc_info before, after;
	assert_int_equal(fsc_lookup(c, root, NULL, &before), FSC_HIT);
	expect_start_error((const char *[]){"fscd", "-n", name, "-w", "/nonexistent", NULL},
			   "cannot watch");
	assert_int_equal(fsc_lookup(c, root, NULL, &after), FSC_HIT);
	assert_int_equal(after.generation, before.generation);
	assert_int_equal(fsc_test_fscd_wait(good, 0), -1); /* still running */
	fsc_close(c);
	int status = fsc_test_fscd_stop(good);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fsc_test_rmtree(root);
	free(root);
}

static void test_file_root_watches_only_that_file(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "fileroot");
	char *root = fsc_test_tmpdir("fileroot");
	char file[256], other[256];
	snprintf(file, sizeof(file), "%s/only.log", root);
	snprintf(other, sizeof(other), "%s/other.log", root);
	close(open(file, O_WRONLY | O_CREAT, 0644));
	close(open(other, O_WRONLY | O_CREAT, 0644));
	const char *argv[] = {"fscd", "--name", name, "--watch", file, NULL};
	pid_t pid = fsc_test_fscd_start(argv, "/dev/null");
	fsc_t *c = fsc_test_open_new_generation(name, file, 0, 15000);
	int fd = open(file, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "grow\n", 5), 5);
	close(fd);
	const char *p[] = {file, NULL};
	fsc_test_wait_agree(c, p, FSC_EXPECT_STAT, 15000);
	assert_int_equal(fsc_lookup(c, other, NULL, NULL), FSC_MISS);
	assert_int_equal(fsc_lookup(c, root, NULL, NULL), FSC_MISS);
	fsc_close(c);
	fsc_test_fscd_stop(pid);
	fsc_test_rmtree(root);
	free(root);
}

/* Every key of the config file is also a flag, and --help lists both spellings. */
static void test_help_lists_every_key(void **state)
{
	(void)state;
	const char *argv[] = {"fscd", "--help", NULL};
	const char *out, *err;
	assert_int_equal(fsc_test_fscd_run(argv, &out, &err), 0);
	const char *keys[] = {"watch",	   "exclude",	  "include",	   "max-depth", "name",
			      "capacity",  "slot-size",	  "poll-interval", "mode",	"group",
			      "log-level", "journal-kib", "batch-ms"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		char flag[64], key[64];
		snprintf(flag, sizeof(flag), "--%s ", keys[i]);
		snprintf(key, sizeof(key), " %s = ", keys[i]);
		if (!strstr(out, flag) || !strstr(out, key))
			fail_msg("--help lacks \"%s\" or \"%s\"", flag, key);
	}
	assert_non_null(strstr(out, "--config FILE"));
	assert_non_null(strstr(out, "SIGHUP"));
	assert_string_equal(err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_help_lists_every_key),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_bad_input_is_reported),
	    cmocka_unit_test(test_failed_start_keeps_running_table),
	    cmocka_unit_test(test_file_root_watches_only_that_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
