/* fscd killed with SIGKILL over and over, at random moments (some within its first
 * millisecond, some mid-scan, some while serving), while two readers (root and uid 65534)
 * keep asking about files that never change: no reader crashes, no call takes 2 s or more,
 * no answer differs from what stat(2) said at the start. One more fscd, stopped cleanly at
 * the end, must leave nothing of the table in its object directory: each start removes what its
 * killed predecessors left (shm/PROTOCOL.md "Leftovers"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_format.h"
#include "fsc_writer.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define ROUNDS	     200
#define NFILES	     24
#define HANG_NS	     2000000000ull /* a call this long is a hang */
#define NOBODY	     65534
#define NREADERS     2
#define WAIT_LIVE_MS 15000

/* What one reader saw; in memory shared with the test. */
struct reader_stats {
	_Atomic uint64_t calls, hits, wrong, longest_ns;
	char first_wrong[256];
};

struct torture {
	_Atomic int stop;
	struct reader_stats r[NREADERS];
	char name[64];
	char *root;
	char files[NFILES][256];
	struct stat want[NFILES];
	char changing[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reader_note(struct reader_stats *s, uint64_t t0)
{
	uint64_t d = now_ns() - t0;
	if (d > atomic_load(&s->longest_ns))
		atomic_store(&s->longest_ns, d);
	atomic_fetch_add(&s->calls, 1);
}

static void reader_wrong(struct reader_stats *s, const char *path, const char *what)
{
	if (atomic_fetch_add(&s->wrong, 1) == 0)
		snprintf(s->first_wrong, sizeof(s->first_wrong), "%s: %s", path, what);
}

/* One pass: fsc_stat and fsc_lookup of every static file, each compared with the start. */
static void reader_pass(struct torture *t, struct reader_stats *s, fsc_t *c)
{
	for (int i = 0; i < NFILES; i++) {
		struct stat st;
		const char *why = "";
		uint64_t t0 = now_ns();
		int rc = fsc_stat(c, t->files[i], &st);
		reader_note(s, t0);
		if (rc != 0)
			reader_wrong(s, t->files[i], "fsc_stat failed");
		else if (!fsc_test_stat_equal(&st, &t->want[i], &why))
			reader_wrong(s, t->files[i], why);
		if (!c)
			continue;
		t0 = now_ns();
		rc = fsc_lookup(c, t->files[i], &st, NULL);
		reader_note(s, t0);
		if (rc == FSC_NEGATIVE)
			reader_wrong(s, t->files[i], "fsc_lookup: negative");
		else if (rc == FSC_HIT && !fsc_test_stat_equal(&st, &t->want[i], &why))
			reader_wrong(s, t->files[i], why);
		atomic_fetch_add(&s->hits, rc == FSC_HIT);
	}
	struct stat st;
	fsc_stat(c, t->changing, &st); /* its answer changes: only asked, not checked */
}

static void reader_run(struct torture *t, int i, uid_t uid)
{
	if (uid != geteuid() && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
		_exit(3);
	/* they spin: at a lower priority, so that tests run alongside keep their timing */
	if (setpriority(PRIO_PROCESS, 0, 10) < 0)
		_exit(4);
	struct reader_stats *s = &t->r[i];
	fsc_t *c = NULL;
	unsigned pass = 0;
	while (!atomic_load(&t->stop)) {
		if (!c && pass++ % 16 == 0) /* no live table yet: look again now and then */
			c = fsc_open(t->name);
		reader_pass(t, s, c);
	}
	fsc_close(c);
	_exit(0);
}

static pid_t reader_start(struct torture *t, int i, uid_t uid)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		reader_run(t, i, uid);
	return pid;
}

static void tree_make(struct torture *t)
{
	fsc_test_name(t->name, sizeof(t->name), "torture");
	t->root = fsc_test_tmpdir("torture");
	assert_int_equal(chmod(t->root, 0755), 0); /* uid 65534 reads it too */
	char dir[256];
	for (int d = 0; d < 3; d++) {
		snprintf(dir, sizeof(dir), "%s/d%d", t->root, d);
		assert_int_equal(mkdir(dir, 0755), 0);
	}
	for (int i = 0; i < NFILES; i++) {
		snprintf(t->files[i], sizeof(t->files[i]), "%s/d%d/f%d", t->root, i % 3, i);
		char data[64];
		snprintf(data, sizeof(data), "static %d\n", i);
		fsc_test_write_file(t->files[i], data, O_EXCL);
		assert_int_equal(chmod(t->files[i], 0644), 0);
		assert_int_equal(stat(t->files[i], &t->want[i]), 0);
	}
	snprintf(t->changing, sizeof(t->changing), "%s/changing", t->root);
	fsc_test_write_file(t->changing, "0\n", O_EXCL);
}

static pid_t torture_fscd(struct torture *t, const char *log)
{
	const char *argv[] = {"fscd",	"--name",      t->name,	     "--watch", t->root,
			      "--mode", "0644",	       "--capacity", "512",	"--journal-kib",
			      "64",	"--log-level", "warn",	     NULL};
	return fsc_test_fscd_start(argv, log);
}

/* How long round i lets fscd run: a quarter of the rounds within its first millisecond
 * (exec, config, roots), then up to 10 ms (scan, publish), 100 ms and 400 ms (serving). */
static unsigned round_us(unsigned i)
{
	static const unsigned span_us[] = {1000, 10000, 100000, 400000};
	return (unsigned)random() % span_us[i % 4];
}

/* Is a live table served at the name (by the fscd of this round: the others are dead)? */
static bool serving(struct torture *t)
{
	fsc_t *c = fsc_open(t->name);
	fsc_close(c);
	return c != NULL;
}

static void test_kill_torture(void **state)
{
	(void)state;
	struct torture *t =
	    mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(t != MAP_FAILED);
	memset(t, 0, sizeof(*t));
	tree_make(t);
	char log[300];
	snprintf(log, sizeof(log), "%s.log", t->root);
	srandom((unsigned)getpid());
	bool root = geteuid() == 0;
	if (!root)
		print_message("not root: both readers run as uid %d\n", (int)geteuid());
	pid_t readers[NREADERS] = {reader_start(t, 0, geteuid()),
				   reader_start(t, 1, root ? NOBODY : geteuid())};
	unsigned served = 0;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < ROUNDS; i++) {
		pid_t pid = torture_fscd(t, log);
		usleep(round_us(i)); /* the kill's moment: random on purpose */
		served += serving(t);
		char line[32];
		snprintf(line, sizeof(line), "%u\n", i);
		fsc_test_write_file(t->changing, line, O_APPEND);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status = fsc_test_fscd_wait(pid, 10000);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("round %u: fscd ended by itself (status %#x): %s", i, status,
				 fsc_test_read_file(log));
	}
	int left = fsc_test_shm_leftovers(t->name, false);
	print_message("%d kills in %.1f s (%u while serving); objects of '%s' then: %d\n", ROUNDS,
		      (double)(now_ns() - t0) / 1e9, served, t->name, left);
	/* One more start: it cleans up and serves; a clean stop then leaves nothing. */
	pid_t pid = torture_fscd(t, log);
	fsc_t *c = fsc_test_open_when_live(t->name, WAIT_LIVE_MS);
	fsc_test_wait_agree(c, (const char *const[]){t->files[0], t->files[NFILES - 1], NULL},
			    FSC_EXPECT_STAT, WAIT_LIVE_MS);
	fsc_close(c);
	int status = fsc_test_fscd_stop(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	atomic_store(&t->stop, 1);
	for (int i = 0; i < NREADERS; i++) {
		status = fsc_test_fscd_wait(readers[i], 10000);
		struct reader_stats *s = &t->r[i];
		print_message("reader %d: %llu calls, %llu hits, %llu wrong, longest %.1f ms, "
			      "status %#x\n",
			      i, (unsigned long long)s->calls, (unsigned long long)s->hits,
			      (unsigned long long)s->wrong, (double)s->longest_ns / 1e6, status);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* no crash */
		if (s->wrong)
			fail_msg("reader %d: %llu wrong answers, the first %s", i,
				 (unsigned long long)s->wrong, s->first_wrong);
		assert_true(s->longest_ns < HANG_NS);
		assert_true(s->hits > 0); /* the readers did read tables, not only stat(2) */
	}
	left = fsc_test_shm_leftovers(t->name, true);
	if (left)
		fail_msg("%d objects of table '%s' left in the object directory after a clean stop",
			 left, t->name);
	unlink(log);
	fsc_test_rmtree(t->root);
	free(t->root);
	munmap(t, sizeof(*t));
}

/* The test's object directory (FSC_DIR, tests/harness/fsc_harness_dir.c). */
static const char *obj_dir(void)
{
	const char *d = getenv("FSC_DIR");
	assert_non_null(d);
	return d;
}

/* Makes <object dir>/<entry>, size bytes starting with head (hlen bytes), owned by uid. */
static void shm_make(const char *entry, size_t size, const void *head, size_t hlen, uid_t uid)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%.200s", obj_dir(), entry);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, head, hlen, 0), (ssize_t)hlen);
	assert_int_equal(fchown(fd, uid, (gid_t)-1), 0);
	close(fd);
}

static bool shm_has(const char *entry)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%.200s", obj_dir(), entry);
	return access(path, F_OK) == 0;
}

/* The rule of shm/PROTOCOL.md "Leftovers", object by object: what a dead pid built and hint
 * segments no table uses go; a live build, the published table's segment, lookalikes of
 * other names, directories and other users' objects stay. */
static void test_leftovers_rule(void **state)
{
	(void)state;
	char name[64], e[16][160];
	fsc_test_name(name, sizeof(name), "leftovers");
	struct fsc_writer *w = fsc_test_writer(name, 64); /* published, with its hint segment */
	pid_t dead = fork();
	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	struct fsc_shm_header build = {.magic = FSC_SHM_MAGIC, .generation = 0x77};
	uint64_t magic = FSC_SHM_MAGIC;
	bool root = geteuid() == 0;
	/* removed: */
	snprintf(e[0], sizeof(e[0]), "fsc.%s.new.%d.0", name, (int)dead);
	snprintf(e[1], sizeof(e[1]), "fsc.%s.hints.abc123", name);
	snprintf(e[2], sizeof(e[2]), "fsc-journal.%s.new.%d", name, (int)dead);
	/* kept: */
	snprintf(e[3], sizeof(e[3]), "fsc.%s.new.1.0", name);  /* pid 1 lives */
	snprintf(e[4], sizeof(e[4]), "fsc.%s.hints.77", name); /* that build's segment */
	snprintf(e[5], sizeof(e[5]), "fsc.%s.hints.ff", name); /* a table, not a segment */
	snprintf(e[6], sizeof(e[6]), "fsc.%s.new.%d.x", name, (int)dead);
	snprintf(e[7], sizeof(e[7]), "fsc.%s.new.%d.1", name, (int)dead); /* uid 65534's */
	snprintf(e[8], sizeof(e[8]), "fsc.%s.hints.%llx", name,
		 (unsigned long long)fsc_writer_header(w)->generation);
	snprintf(e[9], sizeof(e[9]), "fsc.%s.hints.12", name); /* a directory */
	shm_make(e[0], 4096, "", 0, geteuid());
	shm_make(e[1], 128, "", 0, geteuid());
	shm_make(e[2], 8192, "", 0, geteuid());
	shm_make(e[3], sizeof(build), &build, sizeof(build), geteuid());
	shm_make(e[4], 128, "", 0, geteuid());
	shm_make(e[5], 4096, &magic, sizeof(magic), geteuid());
	shm_make(e[6], 4096, "", 0, geteuid());
	if (root)
		shm_make(e[7], 4096, "", 0, NOBODY);
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/%.160s", obj_dir(), e[9]);
	assert_int_equal(mkdir(dir, 0700), 0);
	uint64_t n, bytes;
	assert_int_equal(fsc_writer_remove_leftovers(name, &n, &bytes), 0);
	assert_int_equal(n, 3);
	assert_int_equal(bytes, 4096 + 128 + 8192);
	for (int i = 0; i < 3; i++)
		assert_false(shm_has(e[i]));
	for (int i = 3; i < 10; i++)
		if (i != 7 || root)
			assert_true(shm_has(e[i]));
	fsc_t *c = fsc_open(name);
	assert_non_null(c); /* the table itself is untouched */
	fsc_close(c);
	assert_int_equal(rmdir(dir), 0);
	fsc_writer_close(w);
	fsc_test_shm_leftovers(name, true);
}

static void write_text(const char *path, const char *text)
{
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%.300s.tmp", path);
	fsc_test_write_file(tmp, text, O_TRUNC);
	assert_int_equal(rename(tmp, path), 0);
}

/* Polls fscd's log until it holds needle; fails the test after WAIT_LIVE_MS. */
static void wait_for_log(const char *log, const char *needle)
{
	uint64_t end = fsc_test_now_ms() + WAIT_LIVE_MS;
	while (!strstr(fsc_test_read_file(log), needle)) {
		if (fsc_test_now_ms() > end)
			fail_msg("log lacks \"%s\": %s", needle, fsc_test_read_file(log));
		fsc_test_pause_ms(5);
	}
}

/* A reload whose new image cannot start (here: the new table name is taken by a directory,
 * so publishing there fails; preflight cannot know) does not leave the name unserved: the
 * new image restarts in place with the previous configuration, which serves on. */
static void test_failed_reload_falls_back(void **state)
{
	(void)state;
	char name[64], blocked[96], conf[300], log[300], file[300], dir[400], text[512];
	fsc_test_name(name, sizeof(name), "fallback");
	snprintf(blocked, sizeof(blocked), "%s_blocked", name);
	char *root = fsc_test_tmpdir("fallback");
	snprintf(conf, sizeof(conf), "%s.conf", root);
	snprintf(log, sizeof(log), "%s.log", root);
	snprintf(file, sizeof(file), "%s/file", root);
	fsc_test_write_file(file, "1\n", O_EXCL);
	snprintf(text, sizeof(text), "name = %s\nwatch = %s\n", name, root);
	write_text(conf, text);
	pid_t pid = fsc_test_fscd_start((const char *const[]){"fscd", "--config", conf, NULL}, log);
	fsc_t *c = fsc_test_open_new_generation(name, file, 0, WAIT_LIVE_MS);
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, file, NULL, &info), FSC_HIT);
	uint64_t gen = info.generation;

	snprintf(dir, sizeof(dir), "%s/fsc.%s", obj_dir(), blocked);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(text, sizeof(text), "name = %s\nwatch = %s\n", blocked, root);
	write_text(conf, text);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_for_log(log, "restarting in place");
	wait_for_log(log, "with the previous one");
	fsc_close(c); /* the first table was closed (another name): a new reader of the old name */
	c = fsc_test_open_new_generation(name, file, gen, WAIT_LIVE_MS);
	assert_int_equal(fsc_lookup(c, file, NULL, &info), FSC_HIT);
	assert_true(info.generation > gen);
	assert_int_equal(fsc_test_fscd_wait(pid, 0), -1); /* the same process, serving */
	assert_non_null(strstr(fsc_test_read_file(log), "cannot publish table"));
	/* and it still follows changes */
	fsc_test_write_file(file, "2\n", O_APPEND);
	fsc_test_wait_agree(c, (const char *const[]){file, NULL}, FSC_EXPECT_STAT, WAIT_LIVE_MS);
	fsc_close(c);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(fsc_test_shm_leftovers(blocked, false), 0);
	int status = fsc_test_fscd_stop(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fsc_test_shm_leftovers(name, false), 0);
	unlink(conf);
	unlink(log);
	fsc_test_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_leftovers_rule),
					   cmocka_unit_test(test_failed_reload_falls_back),
					   cmocka_unit_test(test_kill_torture)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
