/* Log rotation under fscd: rename+create generations, copytruncate, real logrotate runs, and a
 * file deleted and recreated with a new inode while a reader polls it. After every change
 * settles, each path's record equals lstat() (generous timeouts, never a speed claim). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
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

#define CONVERGE_MS	15000 /* generous: a bound on waiting, not a speed claim */
#define LOGROTATE	"/usr/sbin/logrotate"
#define PATH_BYTES	512
#define MAX_NAMES	32
#define RECREATE_MAX	40
#define ROT_KEEP	3 /* logrotate's `rotate 3` */
#define ROT_GENERATIONS 7

struct fixture {
	struct fsc_test_daemon d;
	char *lrdir; /* logrotate's configuration, state and output: not watched */
	char lrout[128];
};

static void path_of(char *buf, const struct fixture *f, const char *dir, const char *name)
{
	snprintf(buf, PATH_BYTES, "%s/%s/%s", f->d.root, dir, name);
}

static void make_dir(const struct fixture *f, const char *dir)
{
	char p[PATH_BYTES];
	snprintf(p, sizeof(p), "%s/%s", f->d.root, dir);
	assert_int_equal(mkdir(p, 0755), 0);
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

static void wait_one(const struct fixture *f, const char *path, enum fsc_test_expect e)
{
	const char *p[] = {path, NULL};
	fsc_test_wait_agree(f->d.c, p, e, CONVERGE_MS);
}

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_daemon_prepare(&f.d, "rot");
	f.lrdir = fsc_test_tmpdir("rotlr");
	snprintf(f.lrout, sizeof(f.lrout), "%s/output", f.lrdir);
	fsc_test_daemon_start(&f.d, f.d.root, CONVERGE_MS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_rmtree(f->lrdir);
	free(f->lrdir);
	fsc_test_daemon_stop(&f->d);
	return 0;
}

/* The cached record of path is a hit for inode ino (its other fields were already compared
 * with lstat by the wait). */
static void assert_cached_ino(const struct fixture *f, const char *path, ino_t ino)
{
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, path, &st, NULL), FSC_HIT);
	assert_int_equal(st.st_ino, ino);
}

/* logrotate's `rotate keep` without copytruncate: drop the oldest, shift the rest up one,
 * rename the live log to .1. The application still appends to its open descriptor (now .1)
 * before it reopens a freshly created app.log. */
static void rotate_by_rename(const struct fixture *f, const char *dir, int keep, int *app_fd)
{
	char from[PATH_BYTES], to[PATH_BYTES], name[32];
	snprintf(name, sizeof(name), "app.log.%d", keep);
	path_of(to, f, dir, name);
	assert_true(unlink(to) == 0 || errno == ENOENT);
	for (int n = keep - 1; n >= 0; n--) {
		snprintf(name, sizeof(name), n ? "app.log.%d" : "app.log", n);
		path_of(from, f, dir, name);
		snprintf(name, sizeof(name), "app.log.%d", n + 1);
		path_of(to, f, dir, name);
		assert_true(rename(from, to) == 0 || errno == ENOENT);
	}
	assert_int_equal(write(*app_fd, "late line\n", 10), 10); /* lands in app.log.1 */
	close(*app_fd);
	path_of(from, f, dir, "app.log");
	*app_fd = open(from, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644);
	assert_true(*app_fd >= 0);
}

static void test_rename_create_generations(void **state)
{
	struct fixture *f = *state;
	make_dir(f, "rot");
	char paths[ROT_KEEP + 1][PATH_BYTES];
	for (int k = 0; k <= ROT_KEEP; k++) {
		char name[32];
		snprintf(name, sizeof(name), k ? "app.log.%d" : "app.log", k);
		path_of(paths[k], f, "rot", name);
	}
	int app = open(paths[0], O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644);
	assert_true(app >= 0);
	ino_t ino[ROT_KEEP + 1] = {ino_of(paths[0])};
	for (int gen = 1; gen <= ROT_GENERATIONS; gen++) {
		char line[64];
		int len = snprintf(line, sizeof(line), "generation %d\n", gen);
		for (int i = 0; i < gen; i++)
			assert_int_equal(write(app, line, (size_t)len), len);
		rotate_by_rename(f, "rot", ROT_KEEP, &app);
		memmove(&ino[1], &ino[0], ROT_KEEP * sizeof(ino[0]));
		ino[0] = ino_of(paths[0]);
		assert_int_equal(write(app, "first\n", 6), 6);
		int live = gen < ROT_KEEP ? gen : ROT_KEEP;
		const char *p[ROT_KEEP + 2] = {NULL};
		for (int k = 0; k <= live; k++)
			p[k] = paths[k];
		fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
		for (int k = 0; k <= live; k++) /* each name followed its file */
			assert_cached_ino(f, paths[k], ino[k]);
	}
	close(app);
	char never[PATH_BYTES];
	path_of(never, f, "rot", "app.log.4");
	assert_int_equal(fsc_lookup(f->d.c, never, NULL, NULL), FSC_MISS);
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(in >= 0 && out >= 0);
	char buf[4096];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

static void test_copytruncate(void **state)
{
	struct fixture *f = *state;
	make_dir(f, "ct");
	char log[PATH_BYTES], one[PATH_BYTES], two[PATH_BYTES];
	path_of(log, f, "ct", "app.log");
	path_of(one, f, "ct", "app.log.1");
	path_of(two, f, "ct", "app.log.2");
	int app = open(log, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644);
	assert_true(app >= 0);
	const ino_t ino = ino_of(log);
	for (int gen = 1; gen <= 4; gen++) {
		char line[64];
		int len = snprintf(line, sizeof(line), "copytruncate generation %d\n", gen);
		for (int i = 0; i < gen + 2; i++)
			assert_int_equal(write(app, line, (size_t)len), len);
		struct stat before;
		assert_int_equal(lstat(log, &before), 0);
		assert_true(unlink(two) == 0 || errno == ENOENT); /* rotate 2 */
		assert_true(rename(one, two) == 0 || errno == ENOENT);
		copy_file(log, one);
		int t = open(log, O_WRONLY); /* truncate in place, as logrotate does */
		assert_true(t >= 0);
		assert_int_equal(ftruncate(t, 0), 0);
		close(t);
		const char *p[] = {log, one, gen > 1 ? two : NULL, NULL};
		fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
		struct stat st;
		assert_int_equal(fsc_lookup(f->d.c, log, &st, NULL), FSC_HIT);
		assert_int_equal(st.st_size, 0); /* dropped to zero, same inode */
		assert_int_equal(st.st_ino, ino);
		assert_int_equal(fsc_lookup(f->d.c, one, &st, NULL), FSC_HIT);
		assert_int_equal(st.st_size, before.st_size);
		/* the application keeps appending through its descriptor: the size grows again */
		assert_int_equal(write(app, line, (size_t)len), len);
		fsc_test_wait_agree(f->d.c, p, FSC_EXPECT_STAT, CONVERGE_MS);
		assert_int_equal(fsc_lookup(f->d.c, log, &st, NULL), FSC_HIT);
		assert_int_equal(st.st_size, len);
	}
	close(app);
}

/* Every name listed in dir agrees with lstat (as does dir); every name ever listed there that
 * is gone now is negative. seen accumulates the names across calls. */
static void assert_dir_agrees(const struct fixture *f, const char *dir, char seen[MAX_NAMES][64],
			      int *nseen)
{
	char dpath[PATH_BYTES];
	snprintf(dpath, sizeof(dpath), "%s/%s", f->d.root, dir);
	/* O_NOATIME: listing must not change the directory's atime (reads raise no event) */
	int fd = open(dpath, O_RDONLY | O_DIRECTORY | O_NOATIME);
	assert_true(fd >= 0);
	DIR *d = fdopendir(fd);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int i = 0;
		while (i < *nseen && strcmp(seen[i], e->d_name))
			i++;
		if (i == *nseen) {
			assert_true(*nseen < MAX_NAMES && strlen(e->d_name) < 64);
			strcpy(seen[(*nseen)++], e->d_name);
		}
	}
	closedir(d);
	wait_one(f, dpath, FSC_EXPECT_STAT);
	for (int i = 0; i < *nseen; i++) {
		char p[PATH_BYTES];
		struct stat st;
		path_of(p, f, dir, seen[i]);
		bool exists = lstat(p, &st) == 0;
		wait_one(f, p, exists ? FSC_EXPECT_STAT : FSC_EXPECT_NEGATIVE);
	}
}

static void run_logrotate(const struct fixture *f, const char *state, const char *conf)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(f->lrout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(LOGROTATE, "logrotate", "-s", state, "-f", conf, (char *)NULL);
		_exit(127);
	}
	int status = fsc_test_fscd_wait(pid, 60000); /* any child: waits with a deadline */
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("logrotate did not finish");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("logrotate failed (status 0x%x): %s", status,
			 fsc_test_read_file(f->lrout));
}

static void logrotate_variant(void **state, const char *dir, const char *mode)
{
	struct fixture *f = *state;
	if (access(LOGROTATE, X_OK) != 0) {
		print_message("%s is not installed (apt-get install logrotate)\n", LOGROTATE);
		skip();
	}
	make_dir(f, dir);
	char log[PATH_BYTES], conf[PATH_BYTES], st[PATH_BYTES], stale[PATH_BYTES];
	path_of(log, f, dir, "app.log");
	/* configuration and state outside the watched tree: logrotate reads them, and a read
	 * changes only their atime, which raises no event fscd watches (not what this tests) */
	snprintf(conf, sizeof(conf), "%s/%s.conf", f->lrdir, dir);
	snprintf(st, sizeof(st), "%s/%s.state", f->lrdir, dir);
	path_of(stale, f, dir, "app.log.3"); /* left by an older `rotate 3`: removed by the run */
	char text[2 * PATH_BYTES];
	snprintf(text, sizeof(text),
		 "%s {\n\trotate 2\n\t%s\n\tnocompress\n\tmissingok\n\tifempty\n}\n", log, mode);
	fsc_test_write_file(conf, text, O_TRUNC);
	fsc_test_write_file(stale, "very old\n", O_TRUNC);
	char seen[MAX_NAMES][64];
	int nseen = 0;
	for (int run = 1; run <= 4; run++) {
		char line[64];
		snprintf(line, sizeof(line), "%s run %d\n", mode, run);
		for (int i = 0; i < run; i++)
			fsc_test_write_file(log, line, O_APPEND);
		assert_dir_agrees(f, dir, seen, &nseen);
		run_logrotate(f, st, conf);
		assert_dir_agrees(f, dir, seen, &nseen);
	}
	/* the rotation really happened: two old generations, the stale one gone */
	char p[PATH_BYTES];
	path_of(p, f, dir, "app.log.2");
	wait_one(f, p, FSC_EXPECT_STAT);
	wait_one(f, stale, FSC_EXPECT_NEGATIVE);
}

static void test_logrotate_create(void **state)
{
	logrotate_variant(state, "lr_create", "create");
}

static void test_logrotate_copytruncate(void **state)
{
	logrotate_variant(state, "lr_copytruncate", "copytruncate");
}

/* A reader polling one path while it is deleted and recreated. What it may see: hits of
 * inodes the path really had, in order (never an older file after a newer one), with a
 * change_seq that never goes back; negatives in between; "unavailable" (documented for a
 * slot busy under the writer: the caller falls back to stat). */
struct poller {
	fsc_t *c;
	const char *path;
	atomic_bool stop;
	uint64_t lookups, hits, negatives, unavailable;
	ino_t order[RECREATE_MAX * 4]; /* distinct inodes in the order first seen */
	int norder;
	char error[256];
};

static bool poll_once(struct poller *p, uint64_t *last_seq)
{
	struct stat st;
	struct fsc_info info;
	int r = fsc_lookup(p->c, p->path, &st, &info);
	p->lookups++;
	if (r == FSC_MISS)
		return true; /* before the first record only; checked by the caller's waits */
	if (r == FSC_UNAVAILABLE) {
		p->unavailable++;
		return true;
	}
	if (r != FSC_HIT && r != FSC_NEGATIVE) {
		snprintf(p->error, sizeof(p->error), "lookup %llu: %s",
			 (unsigned long long)p->lookups, fsc_result_name(r));
		return false;
	}
	if (info.change_seq < *last_seq) {
		snprintf(p->error, sizeof(p->error), "change_seq went back: %llu after %llu",
			 (unsigned long long)info.change_seq, (unsigned long long)*last_seq);
		return false;
	}
	*last_seq = info.change_seq;
	if (r == FSC_NEGATIVE) {
		p->negatives++;
		return true;
	}
	p->hits++;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(p->error, sizeof(p->error), "implausible record: mode %o nlink %lu",
			 (unsigned)st.st_mode, (unsigned long)st.st_nlink);
		return false;
	}
	if (p->norder == 0 || p->order[p->norder - 1] != st.st_ino) {
		for (int i = 0; i < p->norder; i++)
			if (p->order[i] == st.st_ino) {
				snprintf(p->error, sizeof(p->error),
					 "inode %lu seen again after a newer one",
					 (unsigned long)st.st_ino);
				return false;
			}
		if (p->norder == (int)(sizeof(p->order) / sizeof(p->order[0])))
			return true;
		p->order[p->norder++] = st.st_ino;
	}
	return true;
}

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	uint64_t last_seq = 0;
	while (!atomic_load(&p->stop) && poll_once(p, &last_seq))
		;
	return NULL;
}

/* Deletes path and creates it again. The old file is kept open (*hold) until the test ends, so
 * no later file can reuse its inode number: each file the path had has its own. Returns the
 * new inode. */
static ino_t recreate(const struct fixture *f, const char *path, int round, int *hold)
{
	*hold = open(path, O_RDONLY);
	assert_true(*hold >= 0);
	struct stat old;
	assert_int_equal(fstat(*hold, &old), 0);
	assert_int_equal(unlink(path), 0);
	if (round % 2 == 0) /* half the rounds let the negative entry be published first */
		wait_one(f, path, FSC_EXPECT_NEGATIVE);
	char data[RECREATE_MAX + 2];
	memset(data, 'r', (size_t)round + 1);
	data[round + 1] = '\0';
	fsc_test_write_file(path, data, O_EXCL);
	ino_t ino = ino_of(path);
	assert_true(ino != old.st_ino);
	return ino;
}

static void test_delete_recreate_while_polled(void **state)
{
	struct fixture *f = *state;
	make_dir(f, "recreate");
	char path[PATH_BYTES];
	path_of(path, f, "recreate", "app.log");
	fsc_test_write_file(path, "initial\n", O_EXCL);
	wait_one(f, path, FSC_EXPECT_STAT);
	ino_t inos[RECREATE_MAX + 1] = {ino_of(path)};
	int holds[RECREATE_MAX];
	static struct poller p;
	memset(&p, 0, sizeof(p));
	p.c = f->d.c;
	p.path = path;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, poller_main, &p), 0);
	for (int round = 0; round < RECREATE_MAX; round++) {
		inos[round + 1] = recreate(f, path, round, &holds[round]);
		wait_one(f, path, FSC_EXPECT_STAT);
		assert_cached_ino(f, path, inos[round + 1]);
	}
	atomic_store(&p.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int round = 0; round < RECREATE_MAX; round++)
		close(holds[round]);
	if (p.error[0])
		fail_msg("reader: %s", p.error);
	print_message("reader: %llu lookups, %llu hits, %llu negatives, %llu unavailable, "
		      "%d inodes seen\n",
		      (unsigned long long)p.lookups, (unsigned long long)p.hits,
		      (unsigned long long)p.negatives, (unsigned long long)p.unavailable, p.norder);
	assert_true(p.hits > 0);
	/* every inode the reader saw is one the path really had, in the order it had them */
	int next = 0;
	for (int i = 0; i < p.norder; i++) {
		while (next <= RECREATE_MAX && inos[next] != p.order[i])
			next++;
		if (next > RECREATE_MAX)
			fail_msg("reader saw inode %lu, never (or not then) at the path",
				 (unsigned long)p.order[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rename_create_generations),
	    cmocka_unit_test(test_copytruncate),
	    cmocka_unit_test(test_logrotate_create),
	    cmocka_unit_test(test_logrotate_copytruncate),
	    cmocka_unit_test(test_delete_recreate_while_polled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
