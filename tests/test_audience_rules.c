/* The audience's rules one by one (writer/fscd/fscd_audience.c, shm/PROTOCOL.md "Audience"):
 * who the audience is for each mode and group, which directory modes and ACLs it may search,
 * and which paths the set of unsearchable directories lets be shown. In-process: stat
 * records are made up, ACLs are set on a temporary directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "fscd_audience.h"
#include "fsc_test_util.h"

struct fixture {
	char *dir; /* a directory without an ACL (can_search reads it) */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = fsc_test_tmpdir("audrules");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static bool searchable(const struct fscd_audience *a, const char *dir, mode_t mode, uid_t uid,
		       gid_t gid)
{
	struct stat st = {.st_mode = S_IFDIR | mode, .st_uid = uid, .st_gid = gid};
	return fscd_audience_can_search(a, dir, &st);
}

/* A group that is neither 0 nor root's private one: adm on Debian, else any gid. */
static gid_t other_group(void)
{
	struct group *g = getgrnam("adm");
	return g ? g->gr_gid : 4321;
}

static void test_who(void **state)
{
	(void)state;
	struct fscd_audience a;
	assert_int_equal(fscd_audience_init(&a, 0644, (gid_t)-1, 0), 0);
	assert_int_equal(a.kind, FSCD_AUDIENCE_EVERYONE);
	fscd_audience_free(&a);
	assert_int_equal(fscd_audience_init(&a, 0640, other_group(), 0), 0);
	assert_int_equal(a.kind, FSCD_AUDIENCE_GROUP);
	assert_int_equal(a.gid, other_group());
	fscd_audience_free(&a);
	/* root's group is root's own; so is the default (0) for mode 0, and a 0600 table */
	assert_int_equal(fscd_audience_init(&a, 0640, 0, 0), 0);
	assert_int_equal(a.kind, FSCD_AUDIENCE_ROOT);
	assert_false(fscd_audience_filters(&a));
	fscd_audience_free(&a);
	assert_int_equal(fscd_audience_init(&a, 0, 0, 0), 0);
	assert_int_equal(a.kind, FSCD_AUDIENCE_ROOT);
	fscd_audience_free(&a);
	assert_int_equal(fscd_audience_init(&a, 0600, other_group(), 0), 0);
	assert_int_equal(a.kind, FSCD_AUDIENCE_ROOT);
	fscd_audience_free(&a);
	assert_int_equal(fscd_audience_init(&a, 0600, other_group(), 1000), 0);
	assert_int_equal(a.kind, FSCD_AUDIENCE_USER);
	assert_true(fscd_audience_filters(&a));
	fscd_audience_free(&a);
}

static void test_everyone_modes(void **state)
{
	struct fixture *f = *state;
	struct fscd_audience a;
	assert_int_equal(fscd_audience_init(&a, 0644, (gid_t)-1, 0), 0);
	assert_true(searchable(&a, f->dir, 0755, 0, 0));
	assert_true(searchable(&a, f->dir, 0711, 1000, 1000));
	assert_false(searchable(&a, f->dir, 0700, 0, 0));
	assert_false(searchable(&a, f->dir, 0701, 0, 0)); /* the group's members could not */
	assert_false(searchable(&a, f->dir, 0705, 1000, 1000));
	assert_false(searchable(&a, f->dir, 0750, 0, 0));
	/* the owner class counts unless root owns the directory */
	assert_false(searchable(&a, f->dir, 0055, 1000, 1000));
	assert_true(searchable(&a, f->dir, 0055, 0, 0));
	struct stat file = {.st_mode = S_IFREG | 0755};
	assert_false(fscd_audience_can_search(&a, f->dir, &file));
	fscd_audience_free(&a);
}

static void test_group_modes(void **state)
{
	struct fixture *f = *state;
	gid_t g = other_group();
	struct fscd_audience a;
	assert_int_equal(fscd_audience_init(&a, 0640, g, 0), 0);
	assert_true(searchable(&a, f->dir, 0750, 0, g));
	assert_true(searchable(&a, f->dir, 0710, 0, g));
	assert_false(searchable(&a, f->dir, 0700, 0, g));
	assert_false(searchable(&a, f->dir, 0705, 0, g));
	/* another group's directory: others' bits, and its group's too (a member of both) */
	assert_false(searchable(&a, f->dir, 0750, 0, g + 1));
	assert_true(searchable(&a, f->dir, 0751, 0, g + 1));
	assert_false(searchable(&a, f->dir, 0701, 0, g + 1));
	fscd_audience_free(&a);
}

/* The owner alone, not root: the kernel's own rule for it. */
static void test_user_modes(void **state)
{
	struct fixture *f = *state;
	struct fscd_audience a;
	assert_int_equal(fscd_audience_init(&a, 0600, (gid_t)-1, 1000), 0);
	gid_t mine = getegid();
	assert_true(searchable(&a, f->dir, 0700, 1000, 12345));
	assert_false(searchable(&a, f->dir, 0077, 1000, mine)); /* owner bits, even if others */
	assert_true(searchable(&a, f->dir, 0750, 0, mine));
	assert_false(searchable(&a, f->dir, 0750, 0, 12345));
	assert_true(searchable(&a, f->dir, 0701, 0, 12345));
	fscd_audience_free(&a);
}

/* acl(5)'s xattr form: version 2, then (tag, perm, id) little-endian. */
static void acl_set(const char *dir, uint32_t named_uid, unsigned named_perm)
{
	unsigned char b[4 + 5 * 8] = {2, 0, 0, 0};
	const struct {
		unsigned tag, perm;
		uint32_t id;
	} e[5] = {{0x01, 7, ~0u},
		  {0x02, named_perm, named_uid},
		  {0x04, 5, ~0u},
		  {0x10, 5, ~0u},
		  {0x20, 5, ~0u}};
	for (int i = 0; i < 5; i++) {
		unsigned char *p = b + 4 + 8 * i;
		p[0] = (unsigned char)e[i].tag;
		p[1] = 0;
		p[2] = (unsigned char)e[i].perm;
		p[3] = 0;
		for (int k = 0; k < 4; k++)
			p[4 + k] = (unsigned char)(e[i].id >> (8 * k));
	}
	if (setxattr(dir, "system.posix_acl_access", b, sizeof(b), 0) < 0) {
		if (errno == ENOTSUP || errno == EPERM)
			skip(); /* no ACLs here, or not allowed to set one */
		fail_msg("setxattr: %s", strerror(errno));
	}
}

static void test_acl(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	assert_int_equal(chmod(f->dir, 0755), 0);
	struct fscd_audience every, user;
	assert_int_equal(fscd_audience_init(&every, 0644, (gid_t)-1, 0), 0);
	assert_int_equal(fscd_audience_init(&user, 0600, (gid_t)-1, 65534), 0);
	acl_set(f->dir, 65534, 0); /* user:65534:--- */
	assert_int_equal(lstat(f->dir, &st), 0);
	assert_false(fscd_audience_can_search(&every, f->dir, &st));
	assert_false(fscd_audience_can_search(&user, f->dir, &st));
	acl_set(f->dir, 65534, 1); /* user:65534:--x */
	assert_true(fscd_audience_can_search(&every, f->dir, &st));
	assert_true(fscd_audience_can_search(&user, f->dir, &st));
	acl_set(f->dir, 0, 0); /* a named entry for root: root searches anyway */
	assert_true(fscd_audience_can_search(&every, f->dir, &st));
	assert_int_equal(removexattr(f->dir, "system.posix_acl_access"), 0);
	assert_true(fscd_audience_can_search(&every, f->dir, &st));
	/* a directory whose ACL cannot be read (gone) is not searchable */
	char gone[600];
	snprintf(gone, sizeof(gone), "%s/gone", f->dir);
	assert_false(fscd_audience_can_search(&every, gone, &st));
	fscd_audience_free(&every);
	fscd_audience_free(&user);
}

static void test_may_show(void **state)
{
	(void)state;
	struct fscd_audience a;
	assert_int_equal(fscd_audience_init(&a, 0644, (gid_t)-1, 0), 0);
	assert_true(fscd_audience_may_show(&a, "/a/b/c", 6));
	assert_true(fscd_audience_set(&a, "/a/b", 4, false)); /* was searchable */
	assert_false(fscd_audience_set(&a, "/a/b", 4, false));
	assert_true(fscd_audience_hidden_dir(&a, "/a/b", 4));
	assert_true(fscd_audience_may_show(&a, "/a/b", 4)); /* itself: yes */
	assert_false(fscd_audience_may_show(&a, "/a/b/c", 6));
	assert_false(fscd_audience_may_show(&a, "/a/b/c/d", 8));
	assert_true(fscd_audience_may_show(&a, "/a/bc/d", 7));
	assert_true(fscd_audience_may_show(&a, "/a/c", 4));
	/* many entries: the set grows and keeps them all */
	char p[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(p, sizeof(p), "/many/%d", i);
		fscd_audience_set(&a, p, strlen(p), false);
	}
	assert_false(fscd_audience_may_show(&a, "/many/999/x", 11));
	assert_false(fscd_audience_may_show(&a, "/a/b/c", 6));
	fscd_audience_forget_under(&a, "/many", 5);
	assert_true(fscd_audience_may_show(&a, "/many/999/x", 11));
	assert_false(fscd_audience_set(&a, "/a/b", 4, true)); /* was not searchable */
	assert_true(fscd_audience_may_show(&a, "/a/b/c", 6));
	fscd_audience_set(&a, "/", 1, false);
	assert_false(fscd_audience_may_show(&a, "/x", 2));
	assert_true(fscd_audience_may_show(&a, "/", 1));
	fscd_audience_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_who),
	    cmocka_unit_test_setup_teardown(test_everyone_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acl, setup, teardown),
	    cmocka_unit_test(test_may_show),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
