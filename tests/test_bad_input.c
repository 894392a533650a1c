/* fscd fed awkward input: odd file names, unreadable directories, paths longer than the table
 * holds, symlink loops and links out of the tree, a very deep tree, and a watched root that is
 * deleted and comes back. fscd must keep running, and every path must end up agreeing with
 * lstat() (or be left to stat(2) when the table cannot hold it). Waits are generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_format.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000 /* generous: a bound on waiting, not a speed claim */
#define PATH_BYTES  1024
#define DEEP_LEVELS 40
#define LONG_LEVELS 9 /* 60-byte names: far past the default path_max */

struct fixture {
	struct fsc_test_daemon d;
};

static const char *at(const struct fixture *f, const char *rel)
{
	return fsc_test_path(f->d.root, rel);
}

static void wait_one(fsc_t *c, const char *path, enum fsc_test_expect e)
{
	const char *p[] = {path, NULL};
	fsc_test_wait_agree(c, p, e, CONVERGE_MS);
}

static void wait_counter_above(const char *name, enum fsc_counter which, uint64_t floor)
{
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_test_counter(name, which) <= floor) {
		if (fsc_test_now_ms() > end)
			fail_msg("counter %d stayed at %llu within %d ms", (int)which,
				 (unsigned long long)floor, CONVERGE_MS);
		fsc_test_pause_ms(2);
	}
}

static void assert_fscd_running(pid_t pid)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);
	if (r != 0)
		fail_msg("fscd is gone (waitpid %d, status 0x%x)", (int)r, r > 0 ? status : 0);
}

/* Every event queued before the call has been handled in full (see fsc_test_settle). */
static void settle(const struct fixture *f)
{
	fsc_test_settle(f->d.c, f->d.root, CONVERGE_MS);
}

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_daemon_prepare(&f.d, "bad");
	fsc_test_daemon_start(&f.d, f.d.root, CONVERGE_MS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_daemon_stop(&f->d);
	return 0;
}

/* Names with a newline, bytes that are not UTF-8, control characters, quotes, spaces. */
static const char *const awkward[] = {
    "new\nline",       "bad\xff\xfeutf8", "with space", " leading",
    "trailing ",       "quote\"d",	  "it's",	"tab\there",
    "back\\slash",     "$(true)",	  "*glob?[x]",	"-dash",
    "\xe2\x80\x8eltr", "\001\037ctl",
};
#define N_AWKWARD (sizeof(awkward) / sizeof(awkward[0]))

static void test_awkward_names(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(at(f, "names"), 0755), 0);
	assert_int_equal(mkdir(at(f, "names/dir \n\xff"), 0755), 0);
	static char paths[N_AWKWARD + 1][PATH_BYTES];
	const char *p[N_AWKWARD + 2] = {NULL};
	for (size_t i = 0; i < N_AWKWARD; i++) {
		snprintf(paths[i], PATH_BYTES, "%s/names/%s", f->d.root, awkward[i]);
		p[i] = paths[i];
		fsc_test_write_file(p[i], awkward[i], O_EXCL);
	}
	/* and a directory with such a name, a file in it */
	snprintf(paths[N_AWKWARD], PATH_BYTES, "%s/names/dir \n\xff/in\xfe", f->d.root);
	p[N_AWKWARD] = paths[N_AWKWARD];
	fsc_test_write_file(p[N_AWKWARD], "inside", O_EXCL);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	for (size_t i = 0; i <= N_AWKWARD; i++)
		fsc_test_write_file(p[i], " and more", O_APPEND);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, p[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, (off_t)(strlen(awkward[0]) + 9));
	for (size_t i = 0; i <= N_AWKWARD; i++)
		assert_int_equal(unlink(p[i]), 0);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	assert_fscd_running(f->d.fscd);
}

static void test_unreadable_directory(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(at(f, "locked"), 0755), 0);
	fsc_test_write_file(at(f, "locked/inside"), "secret", O_EXCL);
	const char *before[] = {at(f, "locked"), at(f, "locked/inside"), NULL};
	fsc_test_wait_agree(f->d.c, before, FSC_EXPECT_STAT, CONVERGE_MS);
	uint64_t failures0 = fsc_test_counter(f->d.name, FSC_CTR_WATCH_FAILURES);
	assert_int_equal(chmod(at(f, "locked"), 0), 0);
	assert_int_equal(mkdir(at(f, "locked0"), 0), 0); /* unreadable from birth */
	fsc_test_write_file(at(f, "readable-after"), "ok", O_EXCL);
	const char *after[] = {at(f, "locked"), at(f, "locked0"), at(f, "readable-after"), NULL};
	fsc_test_wait_agree(f->d.c, after, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, at(f, "locked"), &st, NULL), FSC_HIT);
	assert_int_equal(st.st_mode & 07777, 0);
	settle(f);
	if (geteuid() != 0) {
		/* fscd runs as this user: it can neither watch nor read locked0 */
		assert_true(fsc_test_counter(f->d.name, FSC_CTR_WATCH_FAILURES) > failures0);
		assert_int_equal(fsc_lookup(f->d.c, at(f, "locked0/x"), NULL, NULL), FSC_MISS);
		fsc_test_assert_stat_is_stat(f->d.c, at(f, "locked0/x"));
	} else {
		/* Root (CI): permissions do not stop fscd, so the permission-specific outcome
		 * cannot be observed here; fscd running as root can still read both, and files
		 * added there are seen like anywhere else. */
		(void)failures0;
		fsc_test_write_file(at(f, "locked0/x"), "x", O_EXCL);
		fsc_test_write_file(at(f, "locked/later"), "later", O_EXCL);
		const char *inside[] = {at(f, "locked/inside"), at(f, "locked/later"),
					at(f, "locked0/x"), NULL};
		fsc_test_wait_agree(f->d.c, inside, FSC_EXPECT_STAT, CONVERGE_MS);
	}
	/* either way fscd keeps serving the rest of the tree */
	assert_fscd_running(f->d.fscd);
	fsc_test_write_file(at(f, "readable-after"), " still", O_APPEND);
	wait_one(f->d.c, at(f, "readable-after"), FSC_EXPECT_STAT);
	assert_int_equal(chmod(at(f, "locked"), 0755), 0);
	assert_int_equal(chmod(at(f, "locked0"), 0755), 0);
}

/* Removes the chain of directories named name below dfd, deepest first, by descriptor: no
 * path can name its bottom. */
static void remove_chain(int dfd, const char *name)
{
	int sub = openat(dfd, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW);
	if (sub < 0)
		return;
	remove_chain(sub, name);
	unlinkat(sub, "bottom.log", 0);
	close(sub);
	assert_int_equal(unlinkat(dfd, name, AT_REMOVEDIR), 0);
}

/* Paths longer than PATH_MAX (4096 bytes), made one level at a time with mkdirat: fscd can
 * neither watch nor stat what lies past the limit. It must say so and serve the rest. */
static void test_path_longer_than_PATH_MAX(void **state)
{
	struct fixture *f = *state;
	char name[201];
	memset(name, 'n', 200);
	name[200] = '\0';
	int dfd = open(f->d.root, O_DIRECTORY | O_RDONLY);
	assert_true(dfd >= 0);
	int root = dup(dfd);
	for (size_t len = strlen(f->d.root); len < PATH_MAX + 400; len += 201) {
		assert_int_equal(mkdirat(dfd, name, 0755), 0);
		int next = openat(dfd, name, O_DIRECTORY | O_RDONLY);
		assert_true(next >= 0);
		close(dfd);
		dfd = next;
	}
	int fd = openat(dfd, "bottom.log", O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "deep", 4), 4);
	close(fd);
	close(dfd);
	settle(f);
	assert_fscd_running(f->d.fscd);
	assert_non_null(strstr(fsc_test_read_file(f->d.errlog), "File name too long"));
	fsc_test_write_file(at(f, "after-PATH_MAX"), "ok", O_EXCL);
	wait_one(f->d.c, at(f, "after-PATH_MAX"), FSC_EXPECT_STAT);
	remove_chain(root, name);
	close(root);
	settle(f);
	assert_fscd_running(f->d.fscd);
}

/* Directories of 60-byte names nested until the path is far past path_max. */
static void test_path_longer_than_path_max(void **state)
{
	struct fixture *f = *state;
	const size_t path_max = fsc_shm_slot_path_max(FSC_SLOT_SIZE_DEFAULT);
	static char dirs[LONG_LEVELS][PATH_BYTES];
	char file[PATH_BYTES + 16];
	uint64_t uncacheable0 = fsc_test_counter(f->d.name, FSC_CTR_UNCACHEABLE);
	snprintf(dirs[0], PATH_BYTES, "%s/long", f->d.root);
	assert_int_equal(mkdir(dirs[0], 0755), 0);
	for (int i = 1; i < LONG_LEVELS; i++) {
		size_t n = strlen(dirs[i - 1]);
		assert_true(n + 62 < PATH_BYTES);
		memcpy(dirs[i], dirs[i - 1], n);
		snprintf(dirs[i] + n, PATH_BYTES - n, "/%02d%058d", i, 0);
		assert_int_equal(mkdir(dirs[i], 0755), 0);
	}
	snprintf(file, sizeof(file), "%s/the-file", dirs[LONG_LEVELS - 1]);
	assert_true(strlen(dirs[LONG_LEVELS - 1]) > path_max + 60);
	fsc_test_write_file(file, "far down", O_EXCL);
	wait_counter_above(f->d.name, FSC_CTR_UNCACHEABLE, uncacheable0);
	settle(f);
	assert_fscd_running(f->d.fscd);
	for (int i = 0; i < LONG_LEVELS; i++) {
		if (strlen(dirs[i]) <= path_max) {
			wait_one(f->d.c, dirs[i], FSC_EXPECT_STAT);
		} else {
			assert_int_equal(fsc_lookup(f->d.c, dirs[i], NULL, NULL), FSC_MISS);
			fsc_test_assert_stat_is_stat(f->d.c, dirs[i]);
		}
	}
	assert_int_equal(fsc_lookup(f->d.c, file, NULL, NULL), FSC_MISS);
	fsc_test_assert_stat_is_stat(f->d.c, file);
	/* the long directory is still watched: a change there is refused again, and stat(2)
	 * (through fsc_stat) sees it */
	uint64_t uncacheable1 = fsc_test_counter(f->d.name, FSC_CTR_UNCACHEABLE);
	fsc_test_write_file(file, " and more", O_APPEND);
	wait_counter_above(f->d.name, FSC_CTR_UNCACHEABLE, uncacheable1);
	struct stat st;
	assert_int_equal(fsc_stat(f->d.c, file, &st), 0);
	assert_int_equal(st.st_size, 17);
	assert_int_equal(fsc_lookup(f->d.c, file, NULL, NULL), FSC_MISS);
	fsc_test_write_file(at(f, "short-after-long"), "s", O_EXCL);
	wait_one(f->d.c, at(f, "short-after-long"), FSC_EXPECT_STAT);
	assert_fscd_running(f->d.fscd);
}

static void test_symlink_loop_and_link_out_of_tree(void **state)
{
	struct fixture *f = *state;
	char *outside = fsc_test_tmpdir("badout");
	char out_file[PATH_BYTES], via_link[PATH_BYTES];
	snprintf(out_file, sizeof(out_file), "%s/file", outside);
	fsc_test_write_file(out_file, "outside", O_EXCL);
	assert_int_equal(mkdir(at(f, "links"), 0755), 0);
	assert_int_equal(symlink("b", at(f, "links/a")), 0);
	assert_int_equal(symlink("a", at(f, "links/b")), 0);
	assert_int_equal(symlink(outside, at(f, "links/out")), 0);
	assert_int_equal(symlink("nowhere", at(f, "links/dangling")), 0);
	snprintf(via_link, sizeof(via_link), "%s/file", at(f, "links/out"));
	wait_one(f->d.c, at(f, "links"), FSC_EXPECT_STAT);
	settle(f);
	assert_fscd_running(f->d.fscd);
	static const char *const links[] = {"links/a", "links/b", "links/out", "links/dangling"};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		assert_int_equal(fsc_lookup(f->d.c, at(f, links[i]), NULL, NULL), FSC_MISS);
		fsc_test_assert_stat_is_stat(f->d.c,
					     at(f, links[i])); /* ELOOP, ENOENT, the target */
	}
	/* fscd does not follow the link out of the tree */
	fsc_test_write_file(out_file, " changed", O_APPEND);
	settle(f);
	assert_int_equal(fsc_lookup(f->d.c, via_link, NULL, NULL), FSC_MISS);
	fsc_test_assert_stat_is_stat(f->d.c, via_link);
	/* a link replaced by a file is cached; the loop's other half still is not */
	assert_int_equal(unlink(at(f, "links/a")), 0);
	fsc_test_write_file(at(f, "links/a"), "a file now", O_EXCL);
	wait_one(f->d.c, at(f, "links/a"), FSC_EXPECT_STAT);
	assert_int_equal(fsc_lookup(f->d.c, at(f, "links/b"), NULL, NULL), FSC_MISS);
	assert_fscd_running(f->d.fscd);
	fsc_test_rmtree(outside);
	free(outside);
}

/* paths[2 * level] is the directory at that depth, paths[2 * level + 1] the file in it. */
static void deep_paths(const char *top, char (*paths)[PATH_BYTES], const char **p)
{
	for (int i = 0; i < DEEP_LEVELS; i++) {
		int n =
		    snprintf(paths[2 * i], PATH_BYTES, "%s/d%02d", i ? paths[2 * (i - 1)] : top, i);
		assert_true(n > 0 && n + 2 < PATH_BYTES); /* room for "/f" below */
		memcpy(paths[2 * i + 1], paths[2 * i], (size_t)n);
		memcpy(paths[2 * i + 1] + n, "/f", 3);
		p[2 * i] = paths[2 * i];
		p[2 * i + 1] = paths[2 * i + 1];
	}
	p[2 * DEEP_LEVELS] = NULL;
}

static void test_deep_tree(void **state)
{
	struct fixture *f = *state;
	static char paths[2 * DEEP_LEVELS][PATH_BYTES], moved[2 * DEEP_LEVELS][PATH_BYTES];
	const char *p[2 * DEEP_LEVELS + 1], *m[2 * DEEP_LEVELS + 1];
	char top[PATH_BYTES], top2[PATH_BYTES];
	snprintf(top, sizeof(top), "%s", at(f, "deep"));
	snprintf(top2, sizeof(top2), "%s", at(f, "deep-moved"));
	assert_int_equal(mkdir(top, 0755), 0);
	deep_paths(top, paths, p);
	deep_paths(top2, moved, m);
	for (int i = 0; i < DEEP_LEVELS; i++) { /* as fast as it goes: fscd races the mkdirs */
		assert_int_equal(mkdir(p[2 * i], 0755), 0);
		fsc_test_write_file(p[2 * i + 1], p[2 * i + 1], O_EXCL);
	}
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	/* the deepest directory is watched */
	fsc_test_write_file(p[2 * DEEP_LEVELS - 1], "+", O_APPEND);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
	/* the whole tree moved: every old path negative, every new one current */
	assert_int_equal(rename(top, top2), 0);
	fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	fsc_test_wait_agree(f->d.c, m, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_write_file(m[2 * DEEP_LEVELS - 1], "+", O_APPEND);
	fsc_test_wait_agree(f->d.c, m, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_fscd_running(f->d.fscd);
}

static void test_root_deleted_and_recreated(void **state)
{
	(void)state;
	char name[64], errlog[160], x[PATH_BYTES], sub[PATH_BYTES], y[PATH_BYTES];
	fsc_test_name(name, sizeof(name), "badroot");
	char *root = fsc_test_tmpdir("badroot");
	snprintf(errlog, sizeof(errlog), "%s.err", root);
	snprintf(x, sizeof(x), "%s/x", root);
	snprintf(sub, sizeof(sub), "%s/sub", root);
	snprintf(y, sizeof(y), "%s/sub/y", root);
	fsc_test_write_file(x, "x", O_EXCL);
	assert_int_equal(mkdir(sub, 0755), 0);
	fsc_test_write_file(y, "y", O_EXCL);
	const char *argv[] = {"fscd", "--name", name, "--watch", root, NULL};
	pid_t pid = fsc_test_fscd_start(argv, errlog);
	fsc_t *c = fsc_test_open_new_generation(name, y, 0, CONVERGE_MS);
	const char *all[] = {root, x, sub, y, NULL};
	fsc_test_wait_agree(c, all, FSC_EXPECT_STAT, CONVERGE_MS);

	fsc_test_rmtree(root); /* the root itself too */
	fsc_test_wait_agree(c, all, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	assert_fscd_running(pid);

	/* back again (fscd looks for it about once a second), with new contents */
	char fresh[PATH_BYTES], sub2[PATH_BYTES], z[PATH_BYTES];
	snprintf(fresh, sizeof(fresh), "%s/fresh", root);
	snprintf(sub2, sizeof(sub2), "%s/sub2", root);
	snprintf(z, sizeof(z), "%s/sub2/z", root);
	assert_int_equal(mkdir(root, 0700), 0);
	fsc_test_write_file(fresh, "fresh", O_EXCL);
	const char *back[] = {root, fresh, NULL};
	fsc_test_wait_agree(c, back, FSC_EXPECT_STAT, CONVERGE_MS);
	/* and watched again: later changes in it are seen */
	assert_int_equal(mkdir(sub2, 0755), 0);
	fsc_test_write_file(z, "z", O_EXCL);
	fsc_test_write_file(fresh, " again", O_APPEND);
	const char *later[] = {root, fresh, sub2, z, NULL};
	fsc_test_wait_agree(c, later, FSC_EXPECT_STAT, CONVERGE_MS);
	const char *still_gone[] = {x, sub, y, NULL};
	fsc_test_wait_agree(c, still_gone, FSC_EXPECT_NEGATIVE, CONVERGE_MS);

	fsc_close(c);
	int status = fsc_test_fscd_stop(pid);
	fsc_test_rmtree(root);
	unlink(errlog);
	free(root);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fsc_test_shm_leftovers(name, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_awkward_names),
	    cmocka_unit_test(test_unreadable_directory),
	    cmocka_unit_test(test_path_longer_than_path_max),
	    cmocka_unit_test(test_path_longer_than_PATH_MAX),
	    cmocka_unit_test(test_symlink_loop_and_link_out_of_tree),
	    cmocka_unit_test(test_deep_tree),
	    cmocka_unit_test(test_root_deleted_and_recreated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
