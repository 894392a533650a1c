/* fscd run as an unprivileged user (65534, "nobody") on a tree with directories it may not
 * enter, as a real unprivileged fscd meets them: one it can neither watch nor read (0700 and
 * 0 of root's), one it can list but not search into (0744: every lstat below fails), and
 * directories locked and unlocked while it runs. fscd must keep serving the rest of the tree,
 * report each failure (counter, log with path and reason), and never serve a record that
 * differs from stat(): what it cannot see is a miss, and fsc_stat answers it with stat(2).
 * The test itself reads as root. Waits are generous bounds, not speed claims. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "fsc_shm_format.h"
#include "fsc_shm_table.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define FSC_TRUST_ENV_NAME "FSC_TRUSTED_UIDS" /* fsc.h, fsc_open */

#define CONVERGE_MS 15000
#define PATH_BYTES  512
#define NOBODY	    65534
#define MAX_PATHS   24

/* The fixture is a struct fsc_test_daemon whose root is owned by nobody and whose fscd this
 * file starts itself (as nobody). */

/* The tree: owner 0 is root; root's directories below are what nobody cannot enter. */
static const struct node {
	const char *rel;
	bool dir;
	uid_t owner;
	mode_t mode;
} tree[] = {
    {"ok.txt", false, NOBODY, 0644},
    {"a", true, NOBODY, 0755},
    {"a/before.txt", false, NOBODY, 0644},
    {"a/locked", true, 0, 0700}, /* neither watched nor read */
    {"a/locked/inside.txt", false, 0, 0644},
    {"a/locked/deeper", true, 0, 0755},
    {"a/locked/deeper/deep.txt", false, 0, 0644},
    {"a/zero", true, 0, 0},
    {"a/zero/z.txt", false, 0, 0644},
    {"a/peek", true, 0, 0744}, /* watched and listed; every lstat below fails */
    {"a/peek/hidden.txt", false, 0, 0644},
    {"a/peek/sub", true, 0, 0755},
    {"a/peek/sub/s.txt", false, 0, 0644},
    {"a/revoked", true, NOBODY, 0755}, /* open at start, locked while fscd runs */
    {"a/revoked/r.txt", false, NOBODY, 0644},
    {"a/after", true, NOBODY, 0755},
    {"a/after/after.txt", false, NOBODY, 0644},
    {"z-after.txt", false, NOBODY, 0644},
};

/* What nobody can lstat: served, equal to stat(). "" is the root. */
static const char *const visible[] = {
    "",
    "ok.txt",
    "a",
    "a/before.txt",
    "a/locked",
    "a/zero",
    "a/peek",
    "a/revoked",
    "a/revoked/r.txt",
    "a/after",
    "a/after/after.txt",
    "z-after.txt",
    NULL,
};
/* What nobody cannot lstat (or never lists): misses. */
static const char *const hidden[] = {
    "a/locked/inside.txt", "a/locked/deeper", "a/locked/deeper/deep.txt", "a/zero/z.txt",
    "a/peek/hidden.txt",   "a/peek/sub",      "a/peek/sub/s.txt",	  NULL,
};
/* Directories nobody cannot watch: each is logged with its reason. */
static const char *const unwatchable[] = {"a/locked", "a/zero", "a/peek/sub", NULL};

struct paths {
	char buf[MAX_PATHS][PATH_BYTES];
	const char *v[MAX_PATHS + 1];
};

static const char *at(const struct fsc_test_daemon *f, const char *rel)
{
	return fsc_test_path(f->root, rel);
}

/* The absolute paths of a NULL-terminated list of relative ones. */
static const char *const *paths_of(const struct fsc_test_daemon *f, const char *const *rels,
				   struct paths *out)
{
	size_t i = 0;
	for (; rels[i]; i++) {
		assert_true(i < MAX_PATHS);
		snprintf(out->buf[i], PATH_BYTES, "%s", at(f, rels[i]));
		out->v[i] = out->buf[i];
	}
	out->v[i] = NULL;
	return out->v;
}

static void set_owner(const char *path, uid_t owner, mode_t mode)
{
	assert_int_equal(chown(path, owner, owner), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void assert_fscd_running(const struct fsc_test_daemon *f)
{
	int status;
	pid_t r = waitpid(f->fscd, &status, WNOHANG);
	if (r != 0)
		fail_msg("fscd is gone (waitpid %d, status 0x%x); its log:\n%s", (int)r,
			 r > 0 ? status : 0, fsc_test_read_file(f->errlog));
}

/* nobody's $XDG_RUNTIME_DIR (0700, its own), where its fscd keeps a per-user setup */
static char xdg[64];

/* fscd as nobody: no supplementary groups, no capabilities, and the per-user setup: a plain
 * table name, no FSC_DIR, so its objects go to $XDG_RUNTIME_DIR/fsc, which it makes. f->name
 * then becomes the address root's readers are given: "<xdg>/fsc/NAME". */
static void start_fscd_as_nobody(struct fsc_test_daemon *f)
{
	char base[FSC_NAME_MAX + 1];
	snprintf(base, sizeof(base), "%.*s", FSC_NAME_MAX, f->name);
	snprintf(f->name, sizeof(f->name), "%s/fsc/%s", xdg, base);
	const char *argv[] = {"fscd", "--name", base, "--watch", f->root, NULL};
	/* run from a descriptor opened as root: the build tree need not be open to nobody */
	int exe = open(FSCD_PATH, O_RDONLY | O_CLOEXEC);
	assert_true(exe >= 0);
	f->fscd = fork();
	assert_true(f->fscd >= 0);
	if (f->fscd == 0) {
		int fd = open(f->errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		if (unsetenv("FSC_DIR") < 0 || setenv("XDG_RUNTIME_DIR", xdg, 1) < 0 ||
		    setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0 ||
		    getuid() != NOBODY || geteuid() != NOBODY)
			dprintf(STDERR_FILENO, "cannot become uid %d: %s\n", NOBODY,
				strerror(errno));
		else
			fexecve(exe, (char *const *)argv, environ);
		dprintf(STDERR_FILENO, "cannot run %s as uid %d: %s\n", FSCD_PATH, NOBODY,
			strerror(errno));
		_exit(127);
	}
	close(exe);
}

/* The table fscd publishes as nobody (mode 0640), opened by root once it is live: root
 * believes another uid's table only when told to trust that uid (PROTOCOL.md "Trust"). */
static void open_table(struct fsc_test_daemon *f)
{
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	const uid_t nobody = NOBODY;
	const struct fsc_open_options trusting = {
	    .name = f->name, .trusted_uids = &nobody, .n_trusted_uids = 1};
	/* the option alone is enough; FSC_TRUSTED_UIDS (set in setup, for the other opens) is
	 * cleared around these opens so that each way of trusting is tested on its own */
	assert_int_equal(unsetenv(FSC_TRUST_ENV_NAME), 0);
	while (!(f->c = fsc_open_with(&trusting))) {
		assert_fscd_running(f);
		if (fsc_test_now_ms() > end)
			fail_msg("no live table '%s' within %d ms (%s); fscd's log:\n%s", f->name,
				 CONVERGE_MS, strerror(errno), fsc_test_read_file(f->errlog));
		fsc_test_pause_ms(10);
	}
	/* and without that trust, the same live table is refused */
	errno = 0;
	assert_null(fsc_open(f->name));
	assert_int_equal(errno, EPERM);
	/* by the variable alone (uids or user names) */
	assert_int_equal(setenv(FSC_TRUST_ENV_NAME, "nobody", 1), 0);
	fsc_t *by_env = fsc_open(f->name);
	assert_non_null(by_env);
	fsc_close(by_env);
	/* root never looks in a user's runtime directory for a plain name, even with that
	 * user's XDG_RUNTIME_DIR and no FSC_DIR: /run/fsc, where no such table is */
	char saved[FSC_DIR_MAX + 1];
	snprintf(saved, sizeof(saved), "%s", getenv("FSC_DIR"));
	assert_int_equal(unsetenv("FSC_DIR"), 0);
	assert_int_equal(setenv("XDG_RUNTIME_DIR", xdg, 1), 0);
	errno = 0;
	assert_null(fsc_open(strrchr(f->name, '/') + 1));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(setenv("FSC_DIR", saved, 1), 0);
	assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
}

static void wait_one(const struct fsc_test_daemon *f, const char *path, enum fsc_test_expect e)
{
	const char *p[] = {path, NULL};
	fsc_test_wait_agree(f->c, p, e, CONVERGE_MS);
}

/* Every event queued before the call has been handled in full (see fsc_test_settle). */
static void settle(const struct fsc_test_daemon *f)
{
	fsc_test_settle(f->c, f->root, CONVERGE_MS);
}

static void assert_miss(const struct fsc_test_daemon *f, const char *path)
{
	int r = fsc_lookup(f->c, path, NULL, NULL);
	if (r != FSC_MISS)
		fail_msg("%s: fscd cannot see it, yet the table says %s", path, fsc_result_name(r));
	fsc_test_assert_stat_is_stat(f->c, path);
}

/* Never a wrong answer: a miss, or a hit equal to lstat(). Returns true for the hit. */
static bool served_or_miss(const struct fsc_test_daemon *f, const char *path)
{
	char why[PATH_BYTES + 128];
	if (fsc_lookup(f->c, path, NULL, NULL) == FSC_MISS)
		return false;
	if (!fsc_test_agrees(f->c, path, FSC_EXPECT_STAT, why, sizeof(why)))
		fail_msg("wrong answer: %s", why);
	return true;
}

static int setup(void **state)
{
	static struct fsc_test_daemon f;
	memset(&f, 0, sizeof(f));
	*state = &f;
	if (geteuid() != 0)
		return 0; /* every test skips: only root can hand the tree to another user */
	fsc_test_daemon_prepare(&f, "perm");
	set_owner(f.root, NOBODY, 0755);
	snprintf(xdg, sizeof(xdg), "/dev/shm/fsc-xdg.%d", (int)getpid());
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(chown(xdg, NOBODY, NOBODY), 0);
	/* fscd runs as nobody: its table is believed only by readers that trust that uid */
	char nobody[16];
	snprintf(nobody, sizeof(nobody), "%d", NOBODY);
	setenv(FSC_TRUST_ENV_NAME, nobody, 1);
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		const char *p = at(&f, tree[i].rel);
		if (tree[i].dir)
			assert_int_equal(mkdir(p, 0755), 0);
		else
			fsc_test_write_file(p, tree[i].rel, O_EXCL);
		set_owner(p, tree[i].owner, tree[i].mode); /* root still creates below it */
	}
	start_fscd_as_nobody(&f);
	open_table(&f);
	return 0;
}

static int teardown(void **state)
{
	struct fsc_test_daemon *f = *state;
	if (!f->root)
		return 0;
	/* a clean stop exits 0 and removes the objects nobody created; the per-user directory
	 * it made is all that is left */
	fsc_test_daemon_stop(f);
	char dir[sizeof(xdg) + 8];
	snprintf(dir, sizeof(dir), "%s/fsc", xdg);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(xdg), 0);
	return 0;
}

static void test_inaccessible_subtrees_are_misses(void **state)
{
	struct fsc_test_daemon *f = *state;
	if (!f->root)
		skip();
	/* the per-user object directory fscd made: nobody's own, 0755 inside its 0700 runtime
	 * directory. The table is nobody's, 0640: root reads it all the same */
	char obj[FSC_SHM_OBJECT_NAME_MAX];
	struct stat st;
	struct fsc_shm_addr a;
	assert_int_equal(fsc_shm_addr_parse(f->name, &a), 0);
	assert_int_equal(lstat(a.dir, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(fsc_shm_object_name(obj, sizeof(obj), f->name), 0);
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_mode & 07777, 0640);
	struct paths vis;
	fsc_test_wait_agree(f->c, paths_of(f, visible, &vis), FSC_EXPECT_STAT, CONVERGE_MS);
	settle(f);
	assert_fscd_running(f);
	for (size_t i = 0; hidden[i]; i++)
		assert_miss(f, at(f, hidden[i]));
	/* counted: locked, zero and peek/sub unwatchable; peek/hidden.txt and peek/sub
	 * unstat-able */
	assert_true(fsc_test_counter(f->name, FSC_CTR_WATCH_FAILURES) >= 3);
	assert_true(fsc_test_counter(f->name, FSC_CTR_STAT_ERRORS) >= 2);
	/* logged with the path and the reason */
	const char *log = fsc_test_read_file(f->errlog);
	for (size_t i = 0; unwatchable[i]; i++) {
		char line[PATH_BYTES + 64];
		snprintf(line, sizeof(line), "cannot watch %s: Permission denied",
			 at(f, unwatchable[i]));
		if (!strstr(log, line))
			fail_msg("fscd's log lacks \"%s\":\n%s", line, log);
	}
	/* the rest of the tree is served and kept current */
	fsc_test_write_file(at(f, "a/after/after.txt"), " more", O_APPEND);
	fsc_test_write_file(at(f, "a/after/new.txt"), "new", O_EXCL);
	assert_int_equal(unlink(at(f, "a/before.txt")), 0);
	const char *changed[] = {at(f, "a/after/after.txt"), at(f, "a/after/new.txt"), NULL};
	fsc_test_wait_agree(f->c, changed, FSC_EXPECT_STAT, CONVERGE_MS);
	wait_one(f, at(f, "a/before.txt"), FSC_EXPECT_NEGATIVE);
	assert_fscd_running(f);
}

/* Access taken away while fscd runs: its watch stays, but what changes below can no longer
 * be stat'ed; the record it had must go rather than stay as a stale hit. */
static void test_access_revoked_mid_run(void **state)
{
	struct fsc_test_daemon *f = *state;
	if (!f->root)
		skip();
	char dir[PATH_BYTES], file[PATH_BYTES], late[PATH_BYTES];
	snprintf(dir, sizeof(dir), "%s", at(f, "a/revoked"));
	snprintf(file, sizeof(file), "%s", at(f, "a/revoked/r.txt"));
	snprintf(late, sizeof(late), "%s", at(f, "a/revoked/late.txt"));
	const char *both[] = {dir, file, NULL};
	fsc_test_wait_agree(f->c, both, FSC_EXPECT_STAT, CONVERGE_MS);
	uint64_t errors0 = fsc_test_counter(f->name, FSC_CTR_STAT_ERRORS);
	set_owner(dir, 0, 0700);
	wait_one(f, dir, FSC_EXPECT_STAT); /* the directory's new owner and mode */
	served_or_miss(f, file);	   /* unchanged: its record is still the truth */
	fsc_test_write_file(file, " changed by root", O_APPEND);
	/* the old record may linger until fscd reads the event, not longer */
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_lookup(f->c, file, NULL, NULL) != FSC_MISS) {
		if (fsc_test_now_ms() > end)
			fail_msg("%s: record kept though fscd cannot stat it", file);
		fsc_test_pause_ms(2);
	}
	assert_true(fsc_test_counter(f->name, FSC_CTR_STAT_ERRORS) > errors0);
	fsc_test_assert_stat_is_stat(f->c, file);
	fsc_test_write_file(late, "late", O_EXCL);
	settle(f);
	assert_miss(f, late);
	assert_miss(f, file);
	assert_fscd_running(f);
	fsc_test_write_file(at(f, "ok.txt"), " still served", O_APPEND);
	wait_one(f, at(f, "ok.txt"), FSC_EXPECT_STAT);
}

/* Access granted while fscd runs: a directory whose mode changes is rescanned, so what fscd
 * could not watch or stat below it (locked, zero, peek/sub) is served from then on; a reload
 * (SIGHUP) afterwards scans the same tree again with no watch failure left. */
static void test_access_granted_mid_run(void **state)
{
	struct fsc_test_daemon *f = *state;
	if (!f->root)
		skip();
	const char *dirs[] = {at(f, "a/locked"), at(f, "a/zero"), at(f, "a/peek"),
			      at(f, "a/revoked"), NULL};
	for (size_t i = 0; dirs[i]; i++)
		assert_int_equal(chmod(dirs[i], 0755), 0);
	fsc_test_wait_agree(f->c, dirs, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_test_write_file(at(f, "a/locked/new.txt"), "new", O_EXCL);
	fsc_test_write_file(at(f, "a/peek/hidden.txt"), " changed", O_APPEND);
	wait_one(f, at(f, "a/peek/hidden.txt"), FSC_EXPECT_STAT); /* peek is watched */
	/* fscd sees the directories' mode change and rescans them: everything below is
	 * served now, without a restart */
	struct paths hid;
	const char *const *inside = paths_of(f, hidden, &hid);
	fsc_test_wait_agree(f->c, inside, FSC_EXPECT_STAT, CONVERGE_MS);
	wait_one(f, at(f, "a/locked/new.txt"), FSC_EXPECT_STAT);
	assert_fscd_running(f);

	/* SIGHUP restarts fscd in place; its scan sees everything too */
	struct fsc_info info;
	assert_int_equal(fsc_lookup(f->c, at(f, "ok.txt"), NULL, &info), FSC_HIT);
	assert_int_equal(kill(f->fscd, SIGHUP), 0);
	fsc_close(f->c);
	f->c = fsc_test_open_new_generation(f->name, at(f, "a/locked/inside.txt"), info.generation,
					    CONVERGE_MS);
	fsc_test_wait_agree(f->c, inside, FSC_EXPECT_STAT, CONVERGE_MS);
	wait_one(f, at(f, "a/locked/new.txt"), FSC_EXPECT_STAT);
	assert_int_equal(fsc_test_counter(f->name, FSC_CTR_WATCH_FAILURES), 0);
	/* and watched now */
	fsc_test_write_file(at(f, "a/locked/deeper/deep.txt"), " grown", O_APPEND);
	fsc_test_write_file(at(f, "a/zero/z2.txt"), "z2", O_EXCL);
	const char *later[] = {at(f, "a/locked/deeper/deep.txt"), at(f, "a/zero/z2.txt"), NULL};
	fsc_test_wait_agree(f->c, later, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_fscd_running(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inaccessible_subtrees_are_misses),
	    cmocka_unit_test(test_access_revoked_mid_run),
	    cmocka_unit_test(test_access_granted_mid_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
