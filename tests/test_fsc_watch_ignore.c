/* fsc-watch's ignore matcher (tools/fsc_watch_ignore.c): the gitignore-like semantics its
 * --help promises, one rule family per test, and the bad globs it refuses. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsc_watch_ignore.h"

/* A matcher holding the globs given (NULL-terminated); fails the test if one is refused. */
static struct fsc_watch_ignore ign(const char *const *globs)
{
	struct fsc_watch_ignore ig = {0};
	for (size_t i = 0; globs[i]; i++) {
		const char *why = NULL;
		if (fsc_watch_ignore_add(&ig, globs[i], &why) != 0)
			fail_msg("glob '%s' refused: %s", globs[i], why ? why : strerror(errno));
	}
	return ig;
}

#define FILE_ 0
#define DIR_  1

static void expect(const struct fsc_watch_ignore *ig, const char *rel, int is_dir, bool ignored)
{
	if (fsc_watch_ignore_match(ig, rel, is_dir == DIR_) != ignored)
		fail_msg("'%s' (%s) should %sbe ignored", rel, is_dir == DIR_ ? "dir" : "file",
			 ignored ? "" : "not ");
}

/* `build` and `build/` + `**` both ignore the tree below build (watchexec #284) */
static void test_dir_and_dir_starstar(void **state)
{
	(void)state;
	static const char *const g1[] = {"build", NULL};
	struct fsc_watch_ignore ig = ign(g1);
	expect(&ig, "build", DIR_, true);
	expect(&ig, "build/x.o", FILE_, true);
	expect(&ig, "build/a/b/c", FILE_, true);
	expect(&ig, "src/build/x", FILE_, true); /* no '/': any depth */
	expect(&ig, "builder/x", FILE_, false);
	expect(&ig, "src/x.c", FILE_, false);
	fsc_watch_ignore_free(&ig);

	static const char *const g2[] = {"build/**", NULL};
	ig = ign(g2);
	expect(&ig, "build", DIR_, true); /* the directory itself too (unlike gitignore) */
	expect(&ig, "build/x.o", FILE_, true);
	expect(&ig, "build/a/b/c", FILE_, true);
	expect(&ig, "src/build/x", FILE_, false); /* has a '/': anchored at the root */
	expect(&ig, "build", FILE_, false);	  /* a file called build is not a directory */
	fsc_watch_ignore_free(&ig);

	static const char *const g3[] = {"build/", NULL};
	ig = ign(g3);
	expect(&ig, "build", DIR_, true);
	expect(&ig, "build", FILE_, false); /* trailing '/': directories only */
	expect(&ig, "a/build/x", FILE_, true);
	fsc_watch_ignore_free(&ig);
}

static void test_basename_globs(void **state)
{
	(void)state;
	static const char *const g[] = {"*.o", "?.tmp", "[abc].log", NULL};
	struct fsc_watch_ignore ig = ign(g);
	expect(&ig, "x.o", FILE_, true);
	expect(&ig, "deep/down/x.o", FILE_, true);
	expect(&ig, ".hidden.o", FILE_, true); /* '*' matches a leading dot, as in gitignore */
	expect(&ig, "x.c", FILE_, false);
	expect(&ig, "x.o.c", FILE_, false);
	expect(&ig, "a.tmp", FILE_, true);
	expect(&ig, "ab.tmp", FILE_, false);
	expect(&ig, "b.log", FILE_, true);
	expect(&ig, "d.log", FILE_, false);
	expect(&ig, "", DIR_, false); /* the root itself is never ignored */
	fsc_watch_ignore_free(&ig);
}

static void test_anchored_and_starstar(void **state)
{
	(void)state;
	static const char *const g[] = {"/top", "src/gen", "**/cache", "doc/**/*.html", NULL};
	struct fsc_watch_ignore ig = ign(g);
	expect(&ig, "top", FILE_, true);
	expect(&ig, "a/top", FILE_, false);
	expect(&ig, "src/gen/x.c", FILE_, true);
	expect(&ig, "lib/src/gen/x.c", FILE_, false);
	expect(&ig, "cache", DIR_, true);
	expect(&ig, "a/b/cache/x", FILE_, true);
	expect(&ig, "doc/x.html", FILE_, true); /* ** matches zero components */
	expect(&ig, "doc/a/b/x.html", FILE_, true);
	expect(&ig, "doc/a/b/x.md", FILE_, false);
	expect(&ig, "other/doc/x.html", FILE_, false);
	fsc_watch_ignore_free(&ig);
}

static void test_negation(void **state)
{
	(void)state;
	static const char *const g[] = {"*.log", "!keep.log", "out/**", "!out/keep",
					"tmp",	 "!tmp/x",    NULL};
	struct fsc_watch_ignore ig = ign(g);
	expect(&ig, "a.log", FILE_, true);
	expect(&ig, "keep.log", FILE_, false);
	expect(&ig, "sub/keep.log", FILE_, false);
	expect(&ig, "out/a", FILE_, true);
	expect(&ig, "out/keep", FILE_, false); /* out itself is not ignored as a parent */
	/* as in gitignore, below an ignored directory nothing comes back */
	expect(&ig, "tmp/x", FILE_, true);
	fsc_watch_ignore_free(&ig);
}

static void test_defaults(void **state)
{
	(void)state;
	struct fsc_watch_ignore ig = {0};
	assert_int_equal(fsc_watch_ignore_add_defaults(&ig), 0);
	expect(&ig, ".git", DIR_, true);
	expect(&ig, ".git/objects/ab/cdef", FILE_, true);
	expect(&ig, "sub/.hg/store", FILE_, true);
	expect(&ig, ".x.c.swp", FILE_, true);
	expect(&ig, "src/.x.c.swo", FILE_, true);
	expect(&ig, "x.c~", FILE_, true);
	expect(&ig, "4913", FILE_, true);
	expect(&ig, "#x.c#", FILE_, true);
	expect(&ig, ".#x.c", FILE_, true);
	expect(&ig, "x.c", FILE_, false);
	expect(&ig, ".gitignore", FILE_, false);
	expect(&ig, "swp", FILE_, false);
	fsc_watch_ignore_free(&ig);
}

static void test_quoting(void **state)
{
	(void)state;
	static const char *const g[] = {"\\!bang", "\\*star", "a\\[1]", NULL};
	struct fsc_watch_ignore ig = ign(g);
	expect(&ig, "!bang", FILE_, true);
	expect(&ig, "*star", FILE_, true);
	expect(&ig, "xstar", FILE_, false);
	expect(&ig, "a[1]", FILE_, true);
	expect(&ig, "a1", FILE_, false);
	fsc_watch_ignore_free(&ig);
}

static void test_bad_globs(void **state)
{
	(void)state;
	static const char *const bad[] = {"", "!", "/", "a//b", "x[ab", "[", "tail\\", NULL};
	for (size_t i = 0; bad[i]; i++) {
		struct fsc_watch_ignore ig = {0};
		const char *why = NULL;
		errno = 0;
		if (fsc_watch_ignore_add(&ig, bad[i], &why) != -1)
			fail_msg("bad glob '%s' accepted", bad[i]);
		assert_int_equal(errno, EINVAL);
		assert_non_null(why);
		assert_int_equal(ig.n, 0);
		fsc_watch_ignore_free(&ig);
	}
	/* a class that holds ']' first is closed by the next one */
	static const char *const ok[] = {"[]]x", "[!]]", NULL};
	struct fsc_watch_ignore ig = ign(ok);
	expect(&ig, "]x", FILE_, true);
	expect(&ig, "a", FILE_, true);
	fsc_watch_ignore_free(&ig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dir_and_dir_starstar),
	    cmocka_unit_test(test_basename_globs),
	    cmocka_unit_test(test_anchored_and_starstar),
	    cmocka_unit_test(test_negation),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_bad_globs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
