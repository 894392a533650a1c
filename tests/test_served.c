/* What a table serves: fscd publishes its roots and filters in the table, and fsc_covers
 * answers from them (inside a root, outside, excluded, deeper than --max-depth, not matching
 * an include unless a directory, a file root); a damaged served region makes the table
 * invalid (EPROTO at attach), never a crash or a wrong answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_served.h"
#include "fsc_test_fscd.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"
#include "fsc_writer.h"

#define CONVERGE_MS 15000

static char *under(const char *root, const char *rel)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", root, rel) > 0);
	return p;
}

static void expect_covers(fsc_t *c, const char *root, const char *rel, int want)
{
	char *p = under(root, rel);
	int got = fsc_covers(c, p);
	if (got != want)
		fail_msg("fsc_covers(%s) = %d, expected %d", p, got, want);
	free(p);
}

static void test_covers_roots_and_filters(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "covers");
	char real[PATH_MAX];
	assert_non_null(realpath(d.root, real)); /* fscd keys canonical paths */
	char *probe = under(real, "a.log"), *sub = under(real, "sub"), *other = under(real, "f");
	fsc_test_write_file(probe, "a", 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	char *extra_root = fsc_test_tmpdir("covers-file");
	char file_root[PATH_MAX];
	assert_non_null(realpath(extra_root, file_root));
	strcat(file_root, "/one.txt");
	fsc_test_write_file(file_root, "1", 0);
	const char *extra[] = {"--exclude", "*.tmp", "--exclude", "skip",
			       "--include", "*.log", "--watch",	  file_root};
	for (size_t i = 0; i < 8; i++) /* exactly the 8 it holds */
		d.extra[i] = extra[i];
	fsc_test_daemon_start(&d, probe, CONVERGE_MS);

	assert_int_equal(fsc_covers(d.c, real), 1); /* the root itself */
	expect_covers(d.c, real, "a.log", 1);
	expect_covers(d.c, real, "later/deeper/b.log", 1); /* need not exist yet */
	expect_covers(d.c, real, "x.tmp", 0);		   /* excluded */
	expect_covers(d.c, real, "skip/b.log", 0);	   /* below an excluded directory */
	expect_covers(d.c, real, "skip", 0);
	expect_covers(d.c, real, "b.txt", 0);	     /* a file no include matches */
	expect_covers(d.c, real, "sub", 1);	     /* but a directory is traversed */
	expect_covers(d.c, real, "sub/../a.log", 0); /* not a key the table holds */
	assert_int_equal(fsc_covers(d.c, file_root), 1);
	expect_covers(d.c, extra_root, "two.txt", 0); /* beside a file root */
	char sibling[PATH_MAX + 16];
	snprintf(sibling, sizeof(sibling), "%sx/a.log", real); /* shares a prefix, not a '/' */
	assert_int_equal(fsc_covers(d.c, sibling), 0);
	assert_int_equal(fsc_covers(d.c, "/"), 0);
	assert_int_equal(fsc_covers(d.c, "/etc/passwd"), 0);
	errno = 0;
	assert_int_equal(fsc_covers(d.c, "relative/a.log"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fsc_covers(d.c, NULL), -1);
	assert_int_equal(fsc_covers(NULL, probe), -1);

	/* fsc-shmdump shows them, as text and as JSON */
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", d.name, (char *)NULL);
	assert_int_equal(r.status, 0);
	char line[3 * PATH_MAX];
	snprintf(line, sizeof(line), "%-18s %s (directory)\n", "root", real);
	assert_non_null(strstr(r.out, line));
	snprintf(line, sizeof(line), "%-18s %s (file)\n", "root", file_root);
	assert_non_null(strstr(r.out, line));
	assert_non_null(strstr(r.out, "exclude            skip\n"));
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--json", "--name", d.name, (char *)NULL);
	assert_int_equal(r.status, 0);
	snprintf(line, sizeof(line),
		 "\"served\":{\"published\":true,\"roots\":[{\"path\":\"%s\",\"type\":"
		 "\"directory\"},{\"path\":\"%s\",\"type\":\"file\"}],\"exclude\":[\"*.tmp\","
		 "\"skip\"],\"include\":[\"*.log\"],\"max_depth\":0}",
		 real, file_root);
	if (!strstr(r.out, line))
		fail_msg("fsc-shmdump --json lacks %s: %s", line, r.out);
	fsc_test_run_free(&r);
	(void)other;
	free(probe);
	free(sub);
	free(other);
	fsc_test_rmtree(extra_root);
	free(extra_root);
	fsc_test_daemon_stop(&d);
}

/* --max-depth 2: the root's entries are level 1. */
static void test_covers_depth(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "coversd");
	char real[PATH_MAX];
	assert_non_null(realpath(d.root, real));
	char *probe = under(real, "p");
	fsc_test_write_file(probe, "p", 0);
	d.extra[0] = "--max-depth";
	d.extra[1] = "2";
	fsc_test_daemon_start(&d, probe, CONVERGE_MS);
	expect_covers(d.c, real, "p", 1);
	expect_covers(d.c, real, "a/b", 1);
	expect_covers(d.c, real, "a/b/c", 0);
	free(probe);
	fsc_test_daemon_stop(&d);
}

static unsigned char *region_of(struct fsc_writer *w)
{
	const struct fsc_shm_header *h = fsc_writer_header(w);
	assert_true(h->served_size > 0);
	return (unsigned char *)h + h->slots_offset + h->slot_count * h->slot_size;
}

/* Damages byte at (offset) of the region to value, expects fsc_open to refuse the table with
 * EPROTO, and restores it. */
static void expect_refused(const char *name, unsigned char *region, size_t offset,
			   unsigned char value)
{
	unsigned char was = region[offset];
	region[offset] = value;
	errno = 0;
	fsc_t *c = fsc_open(name);
	if (c)
		fail_msg("table with region byte %zu = 0x%x was accepted", offset, value);
	assert_int_equal(errno, EPROTO);
	region[offset] = was;
}

static void test_damaged_region_refused(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "served");
	const char *roots[] = {"/srv/data", "/var/log/app.log"};
	const bool is_file[] = {false, true};
	const char *excl[] = {"*.tmp"};
	struct fsc_served_spec spec = {
	    .roots = roots, .root_is_file = is_file, .nroots = 2, .exclude = excl, .nexclude = 1};
	struct fsc_writer_opts o = {
	    .name = name, .capacity = 64, .group = (gid_t)-1, .served = &spec};
	struct fsc_writer *w = fsc_test_writer_with(&o);
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	assert_int_equal(fsc_covers(c, "/srv/data/x"), 1);
	assert_int_equal(fsc_covers(c, "/srv/data/x.tmp"), 0);
	assert_int_equal(fsc_covers(c, "/var/log/app.log"), 1);
	assert_int_equal(fsc_covers(c, "/var/log/other.log"), 0);

	unsigned char *r = region_of(w);
	const size_t head = sizeof(struct fsc_served_head);
	expect_refused(name, r, 0, 'X');	     /* magic */
	expect_refused(name, r, 4, 9);		     /* version */
	expect_refused(name, r, 8, 0xff);	     /* size past the region */
	expect_refused(name, r, 12, 7);		     /* more items than there are */
	expect_refused(name, r, head, 9);	     /* unknown item type */
	expect_refused(name, r, head + 2, 0xf0);     /* item length past the end */
	expect_refused(name, r, head + 4, 's');	     /* a root not absolute */
	expect_refused(name, r, head + 4 + 4, '\0'); /* a NUL inside a root */
	/* the header's size of the region past the object */
	struct fsc_shm_header *h = (struct fsc_shm_header *)fsc_writer_header(w);
	uint32_t size = h->served_size;
	h->served_size = 1u << 20;
	errno = 0;
	assert_null(fsc_open(name));
	assert_int_equal(errno, EPROTO);
	h->served_size = size;

	/* the handle opened before kept its checked copy: a scribble changes nothing for it */
	r[head + 4 + 1] = 'X';
	assert_int_equal(fsc_covers(c, "/srv/data/x"), 1);
	assert_int_equal(fsc_covers(c, "/Xrv/data/x"), 0);
	fsc_close(c);
	fsc_writer_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_covers_roots_and_filters),
	    cmocka_unit_test(test_covers_depth),
	    cmocka_unit_test(test_damaged_region_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
