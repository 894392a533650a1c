/* A reader learns nothing it could not learn with stat(2) (shm/PROTOCOL.md "Audience"). fscd
 * serves a table its audience may read (--mode 0644: everyone; --mode 0640 --group adm: the
 * members of adm) over a tree holding a directory that audience cannot search. Neither the
 * table, nor the journal, nor the request socket may tell another user (uid 65534, run in a
 * child with setresuid) anything about what is below it; a chmod of the directory, of an
 * ancestor, or a move of a directory into it, shows or hides the subtree within the usual
 * latency. The test runs as root; waits are generous bounds, not speed claims. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_harness.h"
#include "fsc_test_fscd.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define CONVERGE_MS 15000
#define NOBODY	    65534
#define NHIDDEN	    4

/* priv (0700) is what the audience cannot search; anc/mid/m1 is for a chmod of an ancestor,
 * pub2 to be moved into priv. */
static const struct fsc_test_entry tree[] = {
    {"pub", NULL},     {"pub/p1", "p1"},     {"priv", NULL},	    {"priv/f1", "f1"},
    {"priv/f2", "f2"}, {"priv/sub", NULL},   {"priv/sub/s1", "s1"}, {"anc", NULL},
    {"anc/mid", NULL}, {"anc/mid/m1", "m1"}, {"pub2", NULL},	    {"pub2/q1", "q1"},
    {"g750", NULL},    {"g750/f", "g750f"},  {"g700", NULL},	    {"g700/f", "g700f"},
    {"acl", NULL},     {"acl/a1", "a1"},     {NULL, NULL},
};
static const char *const hidden_rel[NHIDDEN + 1] = {"priv/f1", "priv/f2", "priv/sub", "priv/sub/s1",
						    NULL};

static const char *at(const struct fsc_test_daemon *d, const char *rel)
{
	return fsc_test_path(d->root, rel);
}

/* The fscd a test started, for the teardown to stop if the test failed half-way. */
static struct fsc_test_daemon *running;

/* The one place this file starts an fscd: the tree made, its modes set (mkdtemp's 0700 root
 * would hide everything from other users), fscd serving it with mode (and group, or NULL);
 * watch_rel: the directory of the tree to watch (NULL: the whole tree). */
static struct fsc_test_daemon *serve(const char *mode, const char *group, const char *watch_rel,
				     const char *probe_rel)
{
	if (geteuid() != 0)
		skip(); /* only root can run readers as another user and chmod their way */
	struct fsc_test_daemon *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	fsc_test_daemon_prepare(d, "audience");
	fsc_test_tree_make(d->root, tree);
	assert_int_equal(chmod(d->root, 0755), 0);
	assert_int_equal(chmod(at(d, "priv"), 0700), 0);
	size_t n = 0;
	d->extra[n++] = "--mode";
	d->extra[n++] = mode;
	if (group) {
		struct group *g = getgrnam(group);
		assert_non_null(g);
		assert_int_equal(chown(at(d, "g750"), 0, g->gr_gid), 0);
		assert_int_equal(chown(at(d, "g700"), 0, g->gr_gid), 0);
		assert_int_equal(chmod(at(d, "g750"), 0750), 0);
		assert_int_equal(chmod(at(d, "g700"), 0700), 0);
		d->extra[n++] = "--group";
		d->extra[n++] = group;
	}
	char probe[600];
	snprintf(probe, sizeof(probe), "%s", at(d, probe_rel));
	/* as fsc_test_daemon_start, but watching watch_rel; d->root stays the top of the tree
	 * (stop removes it) */
	char *watch = watch_rel ? strdup(at(d, watch_rel)) : NULL;
	const char *argv[16] = {"fscd", "--name", d->name, "--watch", watch ? watch : d->root};
	for (size_t i = 0; i < n; i++)
		argv[5 + i] = d->extra[i];
	d->fscd = fsc_test_fscd_start(argv, d->errlog);
	free(watch);
	running = d;
	d->c = fsc_test_open_new_generation(d->name, probe, 0, CONVERGE_MS);
	return d;
}

static void stop(struct fsc_test_daemon *d)
{
	running = NULL;
	fsc_test_daemon_stop(d);
	free(d);
}

static int teardown(void **state)
{
	(void)state;
	if (running)
		stop(running);
	return 0;
}

/* What another user sees. */
struct seen {
	int lookup;		 /* fsc_lookup */
	int fsc_rc, fsc_errno;	 /* fsc_stat */
	int stat_rc, stat_errno; /* stat(2) */
};

enum nobody_does {
	NOBODY_LOOKS,
	NOBODY_REQUESTS_TWICE
};

/* Runs as uid and gid 65534 (with the supplementary group gid, or none if gid is -1), in a
 * child: looks path up in table name, or requests it twice. */
static struct seen as_nobody(const char *name, const char *path, enum nobody_does what, gid_t gid)
{
	struct seen *out =
	    mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(out != MAP_FAILED);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(gid == (gid_t)-1 ? 0 : 1, &gid) < 0 ||
		    setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(3);
		fsc_t *c = fsc_open(name);
		if (!c)
			_exit(4);
		struct stat st;
		if (what == NOBODY_REQUESTS_TWICE) {
			if (fsc_request(c, path) < 0 || fsc_request(c, path) < 0)
				_exit(5);
		} else {
			out->lookup = fsc_lookup(c, path, &st, NULL);
			errno = 0;
			out->fsc_rc = fsc_stat(c, path, &st);
			out->fsc_errno = errno;
			errno = 0;
			out->stat_rc = stat(path, &st);
			out->stat_errno = errno;
		}
		fsc_close(c);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child as uid %d failed (status 0x%x) for %s", NOBODY, status, path);
	struct seen s = *out;
	munmap(out, sizeof(*out));
	return s;
}

static void assert_nobody_sees_eacces(const struct fsc_test_daemon *d, const char *path, gid_t gid)
{
	struct seen s = as_nobody(d->name, path, NOBODY_LOOKS, gid);
	if (s.lookup != FSC_MISS)
		fail_msg("%s: another user's lookup says %s, not miss", path,
			 fsc_result_name(s.lookup));
	assert_int_equal(s.stat_rc, -1);
	assert_int_equal(s.stat_errno, EACCES);
	/* exactly what stat(2) says */
	assert_int_equal(s.fsc_rc, -1);
	assert_int_equal(s.fsc_errno, EACCES);
}

static void assert_nobody_hits(const struct fsc_test_daemon *d, const char *path, gid_t gid)
{
	struct seen s = as_nobody(d->name, path, NOBODY_LOOKS, gid);
	if (s.lookup != FSC_HIT)
		fail_msg("%s: another user's lookup says %s, not hit", path,
			 fsc_result_name(s.lookup));
	assert_int_equal(s.fsc_rc, 0);
}

static int lookup(const struct fsc_test_daemon *d, const char *path)
{
	struct stat st;
	return fsc_lookup(d->c, path, &st, NULL);
}

/* The absolute paths of hidden_rel, in static buffers. */
static const char *const *hidden_paths(const struct fsc_test_daemon *d)
{
	static char buf[NHIDDEN][512];
	static const char *v[NHIDDEN + 1];
	for (int i = 0; i < NHIDDEN; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s", at(d, hidden_rel[i]));
		v[i] = buf[i];
	}
	v[NHIDDEN] = NULL;
	return v;
}

/* What the journal said from *cur up to the entry for until (a path changed after the rest). */
struct journal_seen {
	int under;   /* entries for paths below prefix */
	int dropped; /* of which DROPPED */
	char dropped_paths[16384];
};

static struct journal_seen journal_read_to(fsc_t *c, fsc_cursor_t *cur, const char *until,
					   const char *prefix)
{
	struct journal_seen js = {0};
	size_t plen = strlen(prefix);
	static struct fsc_change ch;
	uint64_t deadline = fsc_test_now_ms() + CONVERGE_MS;
	while (fsc_test_now_ms() < deadline) {
		int r = fsc_journal_next(c, cur, &ch);
		if (r == FSC_CURSOR_LOST)
			fail_msg("journal cursor lost");
		if (r == FSC_CAUGHT_UP) {
			fsc_journal_wait(c, cur, 200);
			continue;
		}
		if (strncmp(ch.path, prefix, plen) == 0 && ch.path[plen] == '/') {
			js.under++;
			if (ch.flags & FSC_CHANGE_DROPPED) {
				js.dropped++;
				size_t used = strlen(js.dropped_paths), n = strlen(ch.path);
				assert_true(used + n + 2 <= sizeof(js.dropped_paths));
				memcpy(js.dropped_paths + used, ch.path, n);
				memcpy(js.dropped_paths + used + n, "\n", 2);
			}
		}
		if (strcmp(ch.path, until) == 0)
			return js;
	}
	fail_msg("no journal entry for %s", until);
	return js;
}

/* Another user gets from the table exactly what stat(2) gives: EACCES below priv; and the
 * entries below it are not in the table at all (root misses too, and the raw dump lists none),
 * while priv itself, in a searchable directory, is a hit. */
static void test_hidden_below_unsearchable(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	assert_nobody_sees_eacces(d, at(d, "priv/f1"), (gid_t)-1);
	assert_nobody_sees_eacces(d, at(d, "priv/sub/s1"), (gid_t)-1);
	assert_nobody_hits(d, at(d, "priv"), (gid_t)-1);
	assert_nobody_hits(d, at(d, "pub/p1"), (gid_t)-1);
	for (const char *const *p = hidden_paths(d); *p; p++)
		assert_int_equal(lookup(d, *p), FSC_MISS);
	assert_int_equal(lookup(d, at(d, "priv")), FSC_HIT);
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", d->name, "--entries", "--json",
			  (char *)NULL);
	assert_int_equal(r.status, 0);
	char needle[600];
	snprintf(needle, sizeof(needle), "%s/", at(d, "priv"));
	if (strstr(r.out, needle))
		fail_msg("fsc-shmdump lists a path below %s", needle);
	snprintf(needle, sizeof(needle), "\"%s\"", at(d, "pub/p1"));
	assert_non_null(strstr(r.out, needle));
	fsc_test_run_free(&r);
	stop(d);
}

/* A change below priv appends no journal entry: the cursor sees the visible change made after
 * it, and nothing for priv's files before it. */
static void test_journal_silent_below_unsearchable(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d->c, &cur), 0);
	fsc_test_write_file(at(d, "priv/f1"), "changed", O_APPEND);
	fsc_test_write_file(at(d, "priv/new"), "new", O_EXCL);
	fsc_test_write_file(at(d, "pub/p1"), "changed", O_APPEND);
	struct journal_seen js = journal_read_to(d->c, &cur, at(d, "pub/p1"), at(d, "priv"));
	assert_int_equal(js.under, 0);
	assert_int_equal(lookup(d, at(d, "priv/new")), FSC_MISS);
	stop(d);
}

static bool path_in(const char *list, const char *path)
{
	size_t n = strlen(path);
	for (const char *p = strstr(list, path); p; p = strstr(p + 1, path))
		if ((p == list || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* chmod 0755 of priv publishes what is below it; chmod 0700 hides it again, each entry leaving
 * with a DROPPED journal entry ("ask stat(2)"). */
static void test_chmod_shows_and_hides(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	const char *const *hidden = hidden_paths(d);
	assert_int_equal(chmod(at(d, "priv"), 0755), 0);
	fsc_test_wait_agree(d->c, hidden, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_nobody_hits(d, at(d, "priv/f1"), (gid_t)-1);

	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d->c, &cur), 0);
	assert_int_equal(chmod(at(d, "priv"), 0700), 0);
	fsc_test_wait_agree(d->c, hidden, FSC_EXPECT_MISS, CONVERGE_MS);
	fsc_test_write_file(at(d, "pub/p1"), "after", O_APPEND);
	struct journal_seen js = journal_read_to(d->c, &cur, at(d, "pub/p1"), at(d, "priv"));
	for (const char *const *p = hidden; *p; p++)
		if (!path_in(js.dropped_paths, *p))
			fail_msg("no DROPPED entry for %s; dropped:\n%s", *p, js.dropped_paths);
	assert_int_equal(js.under, js.dropped);
	assert_nobody_sees_eacces(d, at(d, "priv/f2"), (gid_t)-1);
	stop(d);
}

/* A chmod of an ancestor hides and shows everything below it; the ancestor itself stays. */
static void test_chmod_of_ancestor(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	const char *const below[] = {at(d, "anc/mid"), at(d, "anc/mid/m1"), NULL};
	fsc_test_wait_agree(d->c, below, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d->c, &cur), 0);
	assert_int_equal(chmod(at(d, "anc"), 0700), 0);
	fsc_test_wait_agree(d->c, below, FSC_EXPECT_MISS, CONVERGE_MS);
	assert_int_equal(lookup(d, at(d, "anc")), FSC_HIT);
	fsc_test_write_file(at(d, "pub/p1"), "after", O_APPEND);
	struct journal_seen js = journal_read_to(d->c, &cur, at(d, "pub/p1"), at(d, "anc"));
	for (const char *const *p = below; *p; p++)
		if (!path_in(js.dropped_paths, *p))
			fail_msg("no DROPPED entry for %s; dropped:\n%s", *p, js.dropped_paths);
	assert_nobody_sees_eacces(d, at(d, "anc/mid/m1"), (gid_t)-1);
	assert_int_equal(chmod(at(d, "anc"), 0711), 0); /* search without read is enough */
	fsc_test_wait_agree(d->c, below, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_nobody_hits(d, at(d, "anc/mid/m1"), (gid_t)-1);
	stop(d);
}

/* The root's own ancestors count: a root below a directory the audience cannot search is not
 * published at all, and is once that directory opens (checked at each upkeep, about 1 s). */
static void test_ancestor_above_root(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, "pub", "pub/p1");
	const char *const served[] = {at(d, "pub"), at(d, "pub/p1"), NULL};
	assert_int_equal(chmod(d->root, 0700), 0);
	fsc_test_wait_agree(d->c, served, FSC_EXPECT_MISS, CONVERGE_MS);
	assert_nobody_sees_eacces(d, at(d, "pub/p1"), (gid_t)-1);
	assert_int_equal(chmod(d->root, 0755), 0);
	fsc_test_wait_agree(d->c, served, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_nobody_hits(d, at(d, "pub/p1"), (gid_t)-1);
	stop(d);
}

/* A visible directory moved into priv: its old paths turn negative (they are gone, as stat(2)
 * says to anyone), its new ones are never published nor journalled. */
static void test_move_into_hidden(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	const char *const old[] = {at(d, "pub2/q1"), NULL};
	fsc_test_wait_agree(d->c, old, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d->c, &cur), 0);
	char to[600];
	snprintf(to, sizeof(to), "%s", at(d, "priv/pub2"));
	assert_int_equal(rename(at(d, "pub2"), to), 0);
	fsc_test_wait_agree(d->c, old, FSC_EXPECT_NEGATIVE, CONVERGE_MS);
	fsc_test_write_file(at(d, "pub/p1"), "after", O_APPEND);
	struct journal_seen js = journal_read_to(d->c, &cur, at(d, "pub/p1"), at(d, "priv"));
	assert_int_equal(js.under, 0);
	assert_int_equal(lookup(d, at(d, "priv/pub2/q1")), FSC_MISS);
	assert_int_equal(lookup(d, at(d, "priv/pub2")), FSC_MISS);
	stop(d);
}

/* Group audience: a 0750 directory of the table's group is searchable by its members, a 0700
 * one is not; a member who is not root sees exactly that. */
static void test_group_audience(void **state)
{
	(void)state;
	struct group *g = getgrnam("adm");
	if (!g)
		skip(); /* Debian and Ubuntu have it; the test names no other group */
	gid_t adm = g->gr_gid;
	struct fsc_test_daemon *d = serve("0640", "adm", NULL, "pub/p1");
	const char *const shown[] = {at(d, "g750/f"), at(d, "g700"), at(d, "g750"), NULL};
	fsc_test_wait_agree(d->c, shown, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_int_equal(lookup(d, at(d, "g700/f")), FSC_MISS);
	assert_int_equal(lookup(d, at(d, "priv/f1")), FSC_MISS);
	assert_nobody_hits(d, at(d, "g750/f"), adm);
	assert_nobody_sees_eacces(d, at(d, "g700/f"), adm);
	stop(d);
}

/* An access ACL, as the kernel stores it (acl(5); little-endian): the owner rwx, uid 65534
 * nothing, the group, the mask and others r-x. */
static void acl_deny_nobody(const char *dir)
{
	static const unsigned char acl[] = {
	    2,	  0, 0, 0,					   /* version 2 */
	    0x01, 0, 7, 0, 0xff,	  0xff,	       0xff, 0xff, /* user:: rwx */
	    0x02, 0, 0, 0, NOBODY & 0xff, NOBODY >> 8, 0,    0,	   /* user:65534: --- */
	    0x04, 0, 5, 0, 0xff,	  0xff,	       0xff, 0xff, /* group:: r-x */
	    0x10, 0, 5, 0, 0xff,	  0xff,	       0xff, 0xff, /* mask:: r-x */
	    0x20, 0, 5, 0, 0xff,	  0xff,	       0xff, 0xff, /* other:: r-x */
	};
	if (setxattr(dir, "system.posix_acl_access", acl, sizeof(acl), 0) < 0) {
		if (errno == ENOTSUP)
			skip(); /* a filesystem without ACLs */
		fail_msg("setxattr %s: %s", dir, strerror(errno));
	}
}

/* A 0755 directory whose ACL denies one user search is hidden from everyone's table (that user
 * gets EACCES from stat(2)); removing the ACL shows what is below it. */
static void test_acl(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	const char *const below[] = {at(d, "acl/a1"), NULL};
	fsc_test_wait_agree(d->c, below, FSC_EXPECT_STAT, CONVERGE_MS);
	acl_deny_nobody(at(d, "acl"));
	fsc_test_wait_agree(d->c, below, FSC_EXPECT_MISS, CONVERGE_MS);
	assert_nobody_sees_eacces(d, at(d, "acl/a1"), (gid_t)-1);
	assert_int_equal(removexattr(at(d, "acl"), "system.posix_acl_access"), 0);
	fsc_test_wait_agree(d->c, below, FSC_EXPECT_STAT, CONVERGE_MS);
	assert_nobody_hits(d, at(d, "acl/a1"), (gid_t)-1);
	stop(d);
}

/* Requests for a hidden path that exists and one that does not: both refused alike, neither
 * cached, and nothing observable tells them apart (counters, journal). */
static void test_request_oracle(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0644", NULL, NULL, "pub/p1");
	char exists[600], absent[600];
	snprintf(exists, sizeof(exists), "%s", at(d, "priv/f1"));
	snprintf(absent, sizeof(absent), "%s", at(d, "priv/nothing-here"));
	fsc_cursor_t cur;
	assert_int_equal(fsc_journal_start(d->c, &cur), 0);
	uint64_t c0[FSC_CTR_COUNT], c1[FSC_CTR_COUNT], c2[FSC_CTR_COUNT];
	assert_int_equal(fsc_harness_counters(d->name, c0), 0);
	as_nobody(d->name, exists, NOBODY_REQUESTS_TWICE, (gid_t)-1);
	assert_int_equal(fsc_harness_wait_counter(
			     d->name, FSC_CTR_REQUESTS, c0[FSC_CTR_REQUESTS] + 2,
			     CONVERGE_MS * FSC_HARNESS_NS_PER_MS, 5 * FSC_HARNESS_NS_PER_MS),
			 0);
	assert_int_equal(fsc_harness_counters(d->name, c1), 0);
	as_nobody(d->name, absent, NOBODY_REQUESTS_TWICE, (gid_t)-1);
	assert_int_equal(fsc_harness_wait_counter(
			     d->name, FSC_CTR_REQUESTS, c1[FSC_CTR_REQUESTS] + 2,
			     CONVERGE_MS * FSC_HARNESS_NS_PER_MS, 5 * FSC_HARNESS_NS_PER_MS),
			 0);
	assert_int_equal(fsc_harness_counters(d->name, c2), 0);
	assert_int_equal(lookup(d, exists), FSC_MISS);
	assert_int_equal(lookup(d, absent), FSC_MISS);
	assert_int_equal(c1[FSC_CTR_REQUESTS_REFUSED] - c0[FSC_CTR_REQUESTS_REFUSED], 2);
	for (int i = 0; i < FSC_CTR_COUNT; i++) {
		if (i == FSC_CTR_STATS)
			continue; /* the upkeep's backstop sweep re-stats the table in the
				     background */
		if (c1[i] - c0[i] != c2[i] - c1[i])
			fail_msg(
			    "counter %d moved by %llu for a path that exists, %llu for one that "
			    "does not",
			    i, (unsigned long long)(c1[i] - c0[i]),
			    (unsigned long long)(c2[i] - c1[i]));
	}
	assert_int_equal(c1[FSC_CTR_REQUESTS_ADMITTED], c0[FSC_CTR_REQUESTS_ADMITTED]);
	fsc_test_write_file(at(d, "pub/p1"), "after", O_APPEND);
	struct journal_seen js = journal_read_to(d->c, &cur, at(d, "pub/p1"), at(d, "priv"));
	assert_int_equal(js.under, 0);
	stop(d);
}

/* The default mode (0640, fscd's own group: root's here) changes nothing for root readers:
 * everything below priv is served. */
static void test_default_mode_root_only(void **state)
{
	(void)state;
	struct fsc_test_daemon *d = serve("0640", NULL, NULL, "pub/p1");
	fsc_test_wait_agree(d->c, hidden_paths(d), FSC_EXPECT_STAT, CONVERGE_MS);
	stop(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hidden_below_unsearchable, teardown),
	    cmocka_unit_test_teardown(test_journal_silent_below_unsearchable, teardown),
	    cmocka_unit_test_teardown(test_chmod_shows_and_hides, teardown),
	    cmocka_unit_test_teardown(test_chmod_of_ancestor, teardown),
	    cmocka_unit_test_teardown(test_ancestor_above_root, teardown),
	    cmocka_unit_test_teardown(test_move_into_hidden, teardown),
	    cmocka_unit_test_teardown(test_group_audience, teardown),
	    cmocka_unit_test_teardown(test_acl, teardown),
	    cmocka_unit_test_teardown(test_request_oracle, teardown),
	    cmocka_unit_test_teardown(test_default_mode_root_only, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
