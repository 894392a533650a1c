#define _GNU_SOURCE
#include "fsc_test_util.h"
#include "fsc_shm_journal.h"
#include "fsc_test_fscd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

void fsc_test_name(char *buf, size_t size, const char *tag)
{
	static unsigned n;
	snprintf(buf, size, "t%d_%s_%u", (int)getpid(), tag, n++);
}

struct fsc_writer *fsc_test_writer_with(const struct fsc_writer_opts *o)
{
	struct fsc_writer *w = NULL;
	const char *why = NULL;
	int rc = fsc_writer_open(&w, o, &why);
	if (rc)
		fail_msg("fsc_writer_open(%s): %s (%d)", o->name, why ? why : "?", rc);
	return w;
}

struct fsc_writer *fsc_test_writer(const char *name, uint64_t capacity)
{
	struct fsc_writer_opts o = {.name = name, .capacity = capacity, .group = (gid_t)-1};
	return fsc_test_writer_with(&o);
}

void fsc_test_evlog_add(void *evlog, const char *path, size_t len)
{
	struct fsc_test_evlog *e = evlog;
	if (e->n < FSC_TEST_EVLOG_MAX && len < sizeof(e->paths[0])) {
		memcpy(e->paths[e->n], path, len);
		e->paths[e->n][len] = '\0';
	}
	e->n++;
}

bool fsc_test_evlog_has(const struct fsc_test_evlog *ev, const char *path)
{
	for (int i = 0; i < ev->n && i < FSC_TEST_EVLOG_MAX; i++)
		if (strcmp(ev->paths[i], path) == 0)
			return true;
	return false;
}

struct fsc_writer *fsc_test_writer_evlog(const char *name, uint64_t capacity,
					 struct fsc_test_evlog *ev)
{
	struct fsc_writer_opts o = {.name = name,
				    .capacity = capacity,
				    .group = (gid_t)-1,
				    .on_evict = fsc_test_evlog_add,
				    .evict_ctx = ev};
	return fsc_test_writer_with(&o);
}

/* Each field is a different function of (id, version), so a record mixing two writes of the
 * same slot (a torn read) cannot pass fsc_test_fake_stat_consistent. */
void fsc_test_fake_stat(struct stat *st, uint64_t id, uint64_t v)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = (dev_t)(id * 3 + 1);
	st->st_ino = (ino_t)(id * 1000003 + v);
	st->st_mode = (mode_t)(S_IFREG | (v & 0777));
	st->st_nlink = (nlink_t)(1 + v % 7);
	st->st_uid = (uid_t)(v % 60000);
	st->st_gid = (gid_t)((v * 7) % 60000);
	st->st_rdev = (dev_t)(v ^ id);
	st->st_size = (off_t)(v * 4096 + id);
	st->st_blksize = (blksize_t)4096;
	st->st_blocks = (blkcnt_t)(v * 8);
	st->st_atim.tv_sec = (time_t)(v + 11);
	st->st_atim.tv_nsec = (long)(v % 1000000000);
	st->st_mtim.tv_sec = (time_t)(v + 22);
	st->st_mtim.tv_nsec = (long)((v * 3) % 1000000000);
	st->st_ctim.tv_sec = (time_t)(v + 33);
	st->st_ctim.tv_nsec = (long)((v * 5) % 1000000000);
}

bool fsc_test_fake_stat_consistent(const struct stat *st, uint64_t id)
{
	uint64_t v = (uint64_t)st->st_ino - id * 1000003;
	struct stat want;
	fsc_test_fake_stat(&want, id, v);
	const char *why;
	return fsc_test_stat_equal(st, &want, &why) && st->st_dev == want.st_dev;
}

bool fsc_test_stat_equal(const struct stat *a, const struct stat *b, const char **why)
{
#define CMP(f)                                                                                     \
	do {                                                                                       \
		if (a->f != b->f) {                                                                \
			*why = #f;                                                                 \
			return false;                                                              \
		}                                                                                  \
	} while (0)
	CMP(st_dev);
	CMP(st_ino);
	CMP(st_mode);
	CMP(st_nlink);
	CMP(st_uid);
	CMP(st_gid);
	CMP(st_rdev);
	CMP(st_size);
	CMP(st_blksize);
	CMP(st_blocks);
	CMP(st_atim.tv_sec);
	CMP(st_atim.tv_nsec);
	CMP(st_mtim.tv_sec);
	CMP(st_mtim.tv_nsec);
	CMP(st_ctim.tv_sec);
	CMP(st_ctim.tv_nsec);
#undef CMP
	*why = NULL;
	return true;
}

char *fsc_test_tmpdir(const char *tag)
{
	char *p = NULL;
	if (asprintf(&p, "/tmp/fsc_test_%s_XXXXXX", tag) < 0 || !mkdtemp(p))
		fail_msg("mkdtemp failed");
	return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fsc_test_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

uint64_t fsc_test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fsc_test_pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

const char *fsc_test_path(const char *root, const char *rel)
{
	static char bufs[16][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 16];
	int n = snprintf(b, sizeof(bufs[0]), "%s%s%s", root, *rel ? "/" : "", rel);
	if (n < 0 || (size_t)n >= sizeof(bufs[0]))
		fail_msg("path too long: %s/%s", root, rel);
	return b;
}

void fsc_test_tree_make(const char *root, const struct fsc_test_entry *e)
{
	for (; e->rel; e++) {
		const char *p = fsc_test_path(root, e->rel);
		if (!e->data && mkdir(p, 0755) != 0)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		if (e->data)
			fsc_test_write_file(p, e->data, O_EXCL);
	}
}

void fsc_test_settle(fsc_t *c, const char *root, int timeout_ms)
{
	static unsigned n;
	for (int i = 0; i < 2; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "marker.%u", n++);
		const char *p[] = {fsc_test_path(root, rel), NULL};
		fsc_test_write_file(p[0], "m", O_TRUNC);
		fsc_test_wait_agree(c, p, FSC_EXPECT_STAT, timeout_ms);
	}
}

void fsc_test_tree_serve(struct fsc_test_daemon *d, const struct fsc_test_entry *tree,
			 const char *probe, int timeout_ms)
{
	fsc_test_tree_make(d->root, tree);
	fsc_test_daemon_start(d, fsc_test_path(d->root, probe), timeout_ms);
}

void fsc_test_usage_error(const char *const *argv, const char *message)
{
	const char *out, *err;
	assert_int_equal(fsc_test_fscd_run(argv, &out, &err), 2);
	if (!strstr(err, message))
		fail_msg("stderr lacks \"%s\": %s", message, err);
	assert_string_equal(out, "");
}

void fsc_test_assert_stat_is_stat(fsc_t *c, const char *path)
{
	struct stat a, b;
	errno = 0;
	int ra = fsc_stat(c, path, &a);
	int ea = errno;
	errno = 0;
	int rb = stat(path, &b);
	int eb = errno;
	assert_int_equal(ra, rb);
	const char *field = NULL;
	if (rb == 0 && !fsc_test_stat_equal(&a, &b, &field))
		fail_msg("%s: fsc_stat's %s differs from stat()", path, field);
	if (rb != 0)
		assert_int_equal(ea, eb);
}

int fsc_test_shm_leftovers(const char *name, bool unlink_them)
{
	struct fsc_shm_addr a;
	assert_int_equal(fsc_shm_addr_parse(name, &a), 0);
	DIR *d = opendir(a.dir);
	int count = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!fsc_shm_entry_of(e->d_name, a.base))
			continue;
		count++;
		if (unlink_them)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	return count;
}
