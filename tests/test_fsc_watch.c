/* fsc-watch, the real binary on a real tree with its private fscd: a change runs COMMAND
 * once; editors' and tools' saves (vim, write-temp-then-rename, sed -i, cp) run it exactly
 * once each; a burst within the debounce is one run; files in a new subdirectory run it;
 * ignore globs and --exts; FSC_CHANGED; --json and the plain output; --once's status; and
 * bad input's messages and exit statuses. Each waits for the run it expects, then watches a
 * settle window of a few debounce periods for a run that must not come. */
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
#include <unistd.h>

#include <cmocka.h>

#include "fsc_test_run.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"
#include "fsc_test_watch.h"

/* Runs a shell command line in the test (sed, cp, vim) and fails the test if it fails. */
static void shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void shell(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("'%s' failed (status %d)", cmd, st);
}

/* One more run must come, and then no other within the settle window. */
static void expect_one_run(struct fsc_test_watch *w, int *runs)
{
	fsc_test_watch_wait_lines(w, w->runs, ++*runs);
	fsc_test_watch_settle(w, w->runs, *runs);
}

static void test_change_runs_once(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_once");
	fsc_test_watch_start_logging(&w, NULL);
	int runs = 1;
	assert_string_equal(fsc_test_watch_last_changed(&w), "<unset>"); /* the first run */
	fsc_test_write_file(fsc_test_watch_path(&w, "a.txt"), "hello\n", O_EXCL);
	expect_one_run(&w, &runs);
	assert_string_equal(fsc_test_watch_last_changed(&w), fsc_test_watch_path(&w, "a.txt"));
	fsc_test_write_file(fsc_test_watch_path(&w, "a.txt"), "more\n", O_APPEND);
	expect_one_run(&w, &runs);
	assert_string_equal(fsc_test_watch_last_changed(&w), fsc_test_watch_path(&w, "a.txt"));
	assert_int_equal(unlink(fsc_test_watch_path(&w, "a.txt")), 0);
	expect_one_run(&w, &runs);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* What editors and tools do on save, each exactly one run. */
static void test_atomic_saves(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_saves");
	const char *f = fsc_test_watch_path(&w, "main.c");
	fsc_test_write_file(f, "int a;\n", O_EXCL);
	fsc_test_watch_start_logging(&w, NULL);
	int runs = 1;

	/* an editor's swap file, then write-temp-then-rename over the file */
	const char *swp = fsc_test_watch_path(&w, ".main.c.swp");
	const char *tmp = fsc_test_watch_path(&w, "main.c.new1234");
	fsc_test_write_file(swp, "swap", O_EXCL);
	fsc_test_write_file(tmp, "int b;\n", O_EXCL);
	assert_int_equal(rename(tmp, f), 0);
	assert_int_equal(unlink(swp), 0);
	expect_one_run(&w, &runs);
	/* the temporary file came and went: not in the list */
	assert_string_equal(fsc_test_watch_last_changed(&w), f);

	/* sed -i: a temporary file in the directory renamed over the file */
	shell("sed -i 's/b/c/' %s", f);
	expect_one_run(&w, &runs);
	assert_string_equal(fsc_test_watch_last_changed(&w), f);

	/* cp over the file, and cp of a new one */
	char src[600];
	snprintf(src, sizeof(src), "%s/src.c", w.base);
	fsc_test_write_file(src, "int d;\n", O_EXCL);
	shell("cp %s %s", src, f);
	expect_one_run(&w, &runs);
	shell("cp %s %s", src, fsc_test_watch_path(&w, "copy.c"));
	expect_one_run(&w, &runs);

	/* vim itself (swap file, its 4913 probe, backup rename, write), when installed */
	if (access("/usr/bin/vim", X_OK) == 0) {
		shell("cd %s && HOME=%s /usr/bin/vim -u NONE -i NONE -N -es "
		      "-c 'set backup writebackup backupcopy=no' -c 'call setline(1, \"int e;\")' "
		      "-c wq main.c < /dev/null",
		      w.root, w.base);
		expect_one_run(&w, &runs);
		assert_string_equal(fsc_test_watch_last_changed(&w), f);
		assert_string_equal(fsc_test_read_file(f), "int e;\n");
	}
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* Changes closer together than the debounce are one run. */
static void test_debounce_burst(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_burst");
	static const char *const extra[] = {"--debounce", "300", NULL}; /* the last one counts */
	fsc_test_watch_start_logging(&w, extra);
	int runs = 1;
	for (int i = 0; i < 10; i++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "f%d", i);
		fsc_test_write_file(fsc_test_watch_path(&w, rel), "x", O_EXCL);
		fsc_test_pause_ms(20); /* the burst itself: 10 changes over 200 ms */
	}
	expect_one_run(&w, &runs);
	assert_int_equal(fsc_test_watch_lines(w.changed), 2 + 10 + 1); /* <unset>, --, ... */
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* A stream of changes that never pauses still runs COMMAND: at most 20 debounce periods
 * after its first change, not after its end. */
static void test_debounce_cap(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_cap");
	static const char *const extra[] = {"--debounce", "50", NULL}; /* the cap: 1 s */
	fsc_test_watch_start_logging(&w, extra);
	const char *f = fsc_test_watch_path(&w, "log");
	uint64_t start = fsc_test_now_ms();
	while (fsc_test_watch_lines(w.runs) < 2) { /* a change every 20 ms, for up to 10 s */
		if (fsc_test_now_ms() - start > 10000)
			fail_msg("no run during 10 s of changes 20 ms apart: %s",
				 fsc_test_read_file(w.err));
		fsc_test_write_file(f, "x", O_APPEND);
		fsc_test_pause_ms(20);
	}
	assert_string_equal(fsc_test_watch_last_changed(&w), f);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* More changed paths than FSC_CHANGED holds (1024): the list ends in the marker "...". */
static void test_changed_truncated(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_trunc");
	static const char *const extra[] = {"--debounce", "1000", NULL};
	fsc_test_watch_start_logging(&w, extra);
	int runs = 1;
	for (int i = 0; i < 1100; i++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "many%04d", i);
		fsc_test_write_file(fsc_test_watch_path(&w, rel), "x", O_EXCL);
	}
	fsc_test_watch_wait_lines(&w, w.runs, ++runs);
	const char *changed = fsc_test_watch_last_changed(&w);
	size_t lines = 1;
	for (const char *p = changed; *p; p++)
		lines += *p == '\n';
	const char *tail = strrchr(changed, '\n');
	assert_non_null(tail);
	assert_string_equal(tail, "\n..."); /* the marker, last */
	assert_non_null(strstr(changed, fsc_test_watch_path(&w, "many0000\n"))); /* in order */
	assert_int_equal(lines, 1024 + 2); /* the paths kept, the root, the marker */
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* New directories below the root are watched with no restart. */
static void test_new_subdirectory(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_subdir");
	fsc_test_watch_start_logging(&w, NULL);
	int runs = 1;
	assert_int_equal(mkdir(fsc_test_watch_path(&w, "new"), 0755), 0);
	expect_one_run(&w, &runs); /* the directory's creation is a change */
	assert_int_equal(mkdir(fsc_test_watch_path(&w, "new/deeper"), 0755), 0);
	expect_one_run(&w, &runs);
	fsc_test_write_file(fsc_test_watch_path(&w, "new/deeper/f.c"), "x", O_EXCL);
	expect_one_run(&w, &runs);
	assert_string_equal(fsc_test_watch_last_changed(&w),
			    fsc_test_watch_path(&w, "new/deeper/f.c"));
	fsc_test_write_file(fsc_test_watch_path(&w, "new/deeper/f.c"), "y", O_APPEND);
	expect_one_run(&w, &runs);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* Ignored changes first, then one that counts: one run, listing only what counts. The
 * journal is in order, so by that run the ignored changes have been judged. */
static void ignores_then_marker(struct fsc_test_watch *w, const char *const *extra,
				const char *const *ignored, const char *marker)
{
	fsc_test_watch_start_logging(w, extra);
	int runs = 1;
	for (size_t i = 0; ignored[i]; i++) {
		const char *p = fsc_test_watch_path(w, ignored[i]);
		size_t len = strlen(p);
		if (p[len - 1] == '/') {
			char dir[512];
			snprintf(dir, sizeof(dir), "%.*s", (int)(len - 1), p);
			assert_int_equal(mkdir(dir, 0755), 0);
		} else {
			fsc_test_write_file(p, "ignored", O_EXCL);
		}
	}
	fsc_test_write_file(fsc_test_watch_path(w, marker), "counts", O_EXCL);
	expect_one_run(w, &runs);
	assert_string_equal(fsc_test_watch_last_changed(w), fsc_test_watch_path(w, marker));
	assert_int_equal(fsc_test_watch_stop(w, SIGTERM), 0);
}

static void test_ignore_globs(void **state)
{
	(void)state;
	static const char *const ignored[] = {"build/",	  "build/sub/", "build/sub/x.o", "build/y",
					      "z.o",	  ".git/",	".git/HEAD",	 "m.c~",
					      ".m.c.swp", "4913",	"src/q.o",	 NULL};
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_ign1");
	assert_int_equal(mkdir(fsc_test_watch_path(&w, "src"), 0755), 0);
	static const char *const plain[] = {"-i", "build", "-i", "*.o", NULL};
	ignores_then_marker(&w, plain, ignored, "src/m.c");
	fsc_test_watch_cleanup(&w);

	fsc_test_watch_prepare(&w, "watch_ign2");
	assert_int_equal(mkdir(fsc_test_watch_path(&w, "src"), 0755), 0);
	static const char *const starstar[] = {"-i", "build/**", "-i", "*.o", NULL};
	ignores_then_marker(&w, starstar, ignored, "src/m.c");
	fsc_test_watch_cleanup(&w);

	/* --exts: only .c and .h count */
	fsc_test_watch_prepare(&w, "watch_exts");
	static const char *const exts[] = {"-e", "c,.h", NULL};
	static const char *const other[] = {"notes.txt", "Makefile", "dir/", "dir/x.cc", NULL};
	ignores_then_marker(&w, exts, other, "dir/y.h");
	fsc_test_watch_cleanup(&w);
}

/* --on: only the kinds asked for count. */
static void test_on_kinds(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_on");
	fsc_test_write_file(fsc_test_watch_path(&w, "old"), "x", O_EXCL);
	static const char *const extra[] = {"--on", "delete", NULL};
	fsc_test_watch_start_logging(&w, extra);
	int runs = 1;
	fsc_test_write_file(fsc_test_watch_path(&w, "new"), "x", O_EXCL);
	fsc_test_write_file(fsc_test_watch_path(&w, "old"), "y", O_APPEND);
	assert_int_equal(chmod(fsc_test_watch_path(&w, "old"), 0600), 0);
	assert_int_equal(unlink(fsc_test_watch_path(&w, "old")), 0);
	expect_one_run(&w, &runs);
	/* the list holds what counted: the deletion */
	assert_string_equal(fsc_test_watch_last_changed(&w), fsc_test_watch_path(&w, "old"));
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* No COMMAND: a line per change on stdout; --json: a JSON object per line. */
static void test_output_lines(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_json");
	const char *args[] = {"-w", w.root, "--private", "--json", "-v", NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_text(&w, w.err, "watching 1 path");
	fsc_test_write_file(fsc_test_watch_path(&w, "j.txt"), "x", O_EXCL);
	char want[700];
	snprintf(want, sizeof(want), "{\"path\":\"%s\",\"kinds\":[\"create\"",
		 fsc_test_watch_path(&w, "j.txt"));
	fsc_test_watch_wait_text(&w, w.out, want);
	assert_int_equal(fsc_test_watch_stop(&w, SIGINT), 0);
	fsc_test_watch_cleanup(&w);

	fsc_test_watch_prepare(&w, "watch_plain");
	const char *plain[] = {"-w", w.root, "--private", "-v", NULL};
	fsc_test_watch_start(&w, plain);
	fsc_test_watch_wait_text(&w, w.err, "watching 1 path");
	fsc_test_write_file(fsc_test_watch_path(&w, "p.txt"), "x", O_EXCL);
	snprintf(want, sizeof(want), " %s\n", fsc_test_watch_path(&w, "p.txt"));
	fsc_test_watch_wait_text(&w, w.out, want);
	assert_non_null(strstr(fsc_test_read_file(w.out), "create"));
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* --once: no run at start; one after the first change (the screen cleared first, --clear);
 * fsc-watch exits with its status. */
static void test_once_status(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_1");
	char script[1200];
	snprintf(script, sizeof(script), "%s; exit 7", w.logger);
	const char *args[] = {"-w", w.root, "--private", "--once", "-v", "--clear",
			      "--", "sh",   "-c",	 script,   NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_text(&w, w.err, "watching 1 path");
	assert_int_equal(fsc_test_watch_lines(w.runs), 0);
	fsc_test_write_file(fsc_test_watch_path(&w, "go"), "x", O_EXCL);
	assert_int_equal(fsc_test_watch_wait_exit(&w), 7);
	assert_int_equal(fsc_test_watch_lines(w.runs), 1);
	assert_memory_equal(fsc_test_read_file(w.out), "\033[H\033[2J", 7); /* --clear */
	fsc_test_watch_cleanup(&w);
}

/* Bad input: a clear message on stderr and the documented status. */
static void test_bad_input(void **state)
{
	(void)state;
	char *dir = fsc_test_tmpdir("watch_bad");
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_WATCH_PATH, "-w", dir, "--private", "--",
			  "/nonexistent/fsc-watch-cmd", NULL);
	assert_int_equal(r.status, 127);
	assert_non_null(strstr(r.err, "cannot run /nonexistent/fsc-watch-cmd"));
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_WATCH_PATH, "-w", dir, "--private", "--",
			  "fsc-watch-no-such-command", NULL);
	assert_int_equal(r.status, 127);
	assert_non_null(strstr(r.err, "not found in PATH"));
	fsc_test_run_free(&r);

	char missing[600];
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	fsc_test_run_tool(&r, FSC_WATCH_PATH, "-w", missing, "true", NULL);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "cannot watch"));
	assert_non_null(strstr(r.err, "No such file or directory"));
	fsc_test_run_free(&r);

	static const char *const bad[][3] = {
	    {"-i", "src/[ab", "unclosed '['"},
	    {"-i", "a//b", "empty component"},
	    {"--on", "create,explode", "unknown kind 'explode'"},
	    {"--on-busy", "panic", "unknown --on-busy mode"},
	    {"--stop-signal", "SIGNOPE", "unknown signal"},
	    {"--debounce", "-5", "--debounce needs"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		fsc_test_run_tool(&r, FSC_WATCH_PATH, "-w", dir, bad[i][0], bad[i][1], "true",
				  NULL);
		if (r.status != 2 || !strstr(r.err, bad[i][2]))
			fail_msg("%s %s: status %d, stderr: %s", bad[i][0], bad[i][1], r.status,
				 r.err);
		assert_string_equal(r.out, "");
		fsc_test_run_free(&r);
	}
	fsc_test_run_tool(&r, FSC_WATCH_PATH, "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Exit status"));
	fsc_test_run_free(&r);
	fsc_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_change_runs_once), cmocka_unit_test(test_atomic_saves),
	    cmocka_unit_test(test_debounce_burst),   cmocka_unit_test(test_changed_truncated),
	    cmocka_unit_test(test_debounce_cap),     cmocka_unit_test(test_new_subdirectory),
	    cmocka_unit_test(test_ignore_globs),     cmocka_unit_test(test_on_kinds),
	    cmocka_unit_test(test_output_lines),     cmocka_unit_test(test_once_status),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
