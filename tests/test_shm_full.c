/* The object directory full. Each scenario runs in a private mount namespace with a small
 * tmpfs of its own over this test's object directory (tests/fsc_test_privshm.h).
 *
 * - A table that does not fit: fscd exits at once, non-zero, says the object directory is full and
 * what to do, and leaves nothing behind; following the advice (a smaller --capacity) works.
 * - the object directory filled while fscd serves: the table replacement a compaction needs cannot
 * be allocated. fscd must keep serving the table it has, with correct answers (lookups equal lstat,
 * deleted files negative), leave no half-made table behind, and compact once there is room again;
 * and still answer right when, full for long, its table has no empty slot left at all. Churn (files
 * cached, turned into symlinks, deleted) makes the tombstones that call for compactions; an inotify
 * watch on the object directory sees each replacement tried. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_format.h"
#include "fsc_shm_map.h"
#include "fsc_shm_table.h"
#include "fsc_test_fscd.h"
#include "fsc_test_privshm.h"
#include "fsc_test_util.h"

#define CONVERGE_MS  15000
#define SCENARIO_MS  100000 /* a whole scenario, namespace and all */
#define QUICK_MS     5000   /* "at once": a failed start is no scan, no wait */
#define CHURN_MS     20000
#define SATURATE_MS  20000
#define PATH_BYTES   512
#define SMALL_CAP    256 /* 512 slots: a 257 KiB table, compacted at 128 tombstones */
#define BALLAST	     150 /* files in the tree from the start: a well loaded table */
#define CHURN_PER_GO 64

/* The file that fills the small tmpfs. */
static const char *filler(void)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/filler", fsc_test_privshm_dir());
	return path;
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void wait_one(fsc_t *c, const char *path, enum fsc_test_expect e)
{
	const char *p[] = {path, NULL};
	fsc_test_wait_agree(c, p, e, CONVERGE_MS);
}

static void assert_running(pid_t pid)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);
	if (r != 0)
		fail_msg("fscd is gone (waitpid %d, status 0x%x)", (int)r, r > 0 ? status : 0);
}

/* Objects in the object directory (ours alone in this namespace); with bad != NULL, fails the test
 * if a name contains it. */
static int shm_objects(const char *bad)
{
	DIR *d = opendir(fsc_test_privshm_dir());
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (bad && strstr(e->d_name, bad))
			fail_msg("left behind in the object directory: %s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void stop_cleanly(pid_t pid, const char *name)
{
	int status = fsc_test_fscd_stop(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fsc_test_shm_leftovers(name, false), 0);
}

/* In the namespace: a table four thousand entries large cannot fit in 64 KiB. */
static void ns_table_too_big(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "shmbig");
	char *root = fsc_test_tmpdir("shmbig");
	const char *argv[] = {"fscd", "--name", name, "--watch", root, "--capacity", "4096", NULL};
	const char *out, *err;
	uint64_t t0 = fsc_test_now_ms();
	assert_int_equal(fsc_test_fscd_run(argv, &out, &err), 1);
	uint64_t took = fsc_test_now_ms() - t0;
	if (took > QUICK_MS)
		fail_msg("fscd took %llu ms to give up", (unsigned long long)took);
	const char *said[] = {name, "filesystem is full", "--capacity", NULL};
	for (size_t i = 0; said[i]; i++)
		if (!strstr(err, said[i]))
			fail_msg("fscd's message lacks \"%s\": %s", said[i], err);
	assert_int_equal(shm_objects(NULL), 0); /* not the table, its hints, nor a temporary */
	assert_null(fsc_open(name));
	assert_int_equal(errno, ENOENT);

	/* the advice works: a capacity that fits */
	const char *small[] = {"fscd", "--name", name, "--watch", root, "--capacity", "16", NULL};
	pid_t pid = fsc_test_fscd_start(small, NULL);
	fsc_t *c = fsc_test_open_new_generation(name, root, 0, CONVERGE_MS);
	char file[PATH_BYTES];
	snprintf(file, sizeof(file), "%s/after", root);
	fsc_test_write_file(file, "served", O_EXCL);
	const char *both[] = {root, file, NULL};
	fsc_test_wait_agree(c, both, FSC_EXPECT_STAT, CONVERGE_MS);
	fsc_close(c);
	stop_cleanly(pid, name);
	assert_int_equal(shm_objects(NULL), 0);
	fsc_test_rmtree(root);
	free(root);
}

/* Fills the object directory with a file of its own: what is left cannot hold another table of
 * size. */
static void fill_shm(uint64_t size)
{
	static char chunk[65536];
	memset(chunk, 'f', sizeof(chunk));
	int fd = open(filler(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 1024; i++) { /* 64 MiB at most: far past the tmpfs */
		if (write(fd, chunk, sizeof(chunk)) < 0) {
			assert_int_equal(errno, ENOSPC);
			break;
		}
	}
	close(fd);
	struct statvfs v;
	assert_int_equal(statvfs(fsc_test_privshm_dir(), &v), 0);
	assert_true((uint64_t)v.f_bavail * v.f_frsize < size);
}

struct churn {
	char name[64];
	char *root, *links;
	pid_t fscd;
	fsc_t *c;
	uint64_t slots, size; /* the table's */
	unsigned next;	      /* files churned so far: c0 .. c<next-1> */
	int ifd; /* inotify on the object directory, for replacement tables coming and going */
	char prefix[96]; /* "fsc.<name>.new.": a replacement table before it is published */
	bool created, deleted, published;
};

static const char *churn_path(const struct churn *ch, unsigned i)
{
	static char buf[PATH_BYTES];
	snprintf(buf, sizeof(buf), "%s/c%u", ch->root, i);
	return buf;
}

/* Waits up to ms for a counter to reach target: pacing only, never a failure. */
static void pace(const char *name, enum fsc_counter which, uint64_t target, int ms)
{
	uint64_t end = fsc_test_now_ms() + (uint64_t)ms;
	while (fsc_test_counter(name, which) < target && fsc_test_now_ms() < end)
		pause_ms(1);
}

/* New files, cached; each replaced by a symlink (fscd drops the record, leaving tombstones);
 * then deleted (negative entries, which evict others once the table is at capacity). */
static void churn_go(struct churn *ch)
{
	unsigned first = ch->next;
	uint64_t inserts = fsc_test_counter(ch->name, FSC_CTR_INSERTS);
	for (unsigned i = first; i < first + CHURN_PER_GO; i++)
		fsc_test_write_file(churn_path(ch, i), "c", O_EXCL);
	pace(ch->name, FSC_CTR_INSERTS, inserts + CHURN_PER_GO, 2000);
	uint64_t removes = fsc_test_counter(ch->name, FSC_CTR_REMOVES);
	for (unsigned i = first; i < first + CHURN_PER_GO; i++) {
		char link[PATH_BYTES];
		snprintf(link, sizeof(link), "%s/l%u", ch->links, i);
		assert_int_equal(symlink("nowhere", link), 0);
		assert_int_equal(rename(link, churn_path(ch, i)), 0);
	}
	pace(ch->name, FSC_CTR_REMOVES, removes + CHURN_PER_GO / 2, 2000);
	for (unsigned i = first; i < first + CHURN_PER_GO; i++)
		assert_int_equal(unlink(churn_path(ch, i)), 0);
	ch->next = first + CHURN_PER_GO;
}

/* Notes replacement tables of ours created, deleted and renamed (published) in the object
 * directory. */
static void watch_replacements(struct churn *ch)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t plen = strlen(ch->prefix);
	ssize_t n;
	while ((n = read(ch->ifd, buf, sizeof(buf))) > 0) {
		const struct inotify_event *ev;
		for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (!ev->len || strncmp(ev->name, ch->prefix, plen) != 0)
				continue;
			ch->created |= (ev->mask & IN_CREATE) != 0;
			ch->deleted |= (ev->mask & IN_DELETE) != 0;
			ch->published |= (ev->mask & IN_MOVED_FROM) != 0;
		}
	}
}

/* Churns until a replacement table has been tried, or published if want_published. */
static void churn_until_replacement(struct churn *ch, bool want_published)
{
	watch_replacements(ch); /* what happened before is not this round's */
	ch->created = ch->deleted = ch->published = false;
	uint64_t end = fsc_test_now_ms() + CHURN_MS;
	while (want_published ? !ch->published : !(ch->created && ch->deleted)) {
		if (fsc_test_now_ms() > end)
			fail_msg(
			    "no replacement table %s after %u files churned (%llu tombstones)",
			    want_published ? "published" : "tried", ch->next,
			    (unsigned long long)fsc_test_counter(ch->name, FSC_CTR_TOMBSTONES));
		churn_go(ch);
		assert_running(ch->fscd);
		watch_replacements(ch);
	}
}

/* The generation of the table published under the name now (any record may be evicted). */
static uint64_t generation(const struct churn *ch)
{
	struct fsc_shm_mapping m;
	struct fsc_shm_layout l;
	const char *why;
	assert_int_equal(fsc_shm_map_table(ch->name, NULL, &m, &l, &why), 0);
	fsc_shm_unmap(&m);
	return l.generation;
}

/* Evictions counted so far: CLOCK's and full probe windows'. */
static uint64_t evictions(const char *name)
{
	return fsc_test_counter(name, FSC_CTR_EVICTIONS) +
	       fsc_test_counter(name, FSC_CTR_PROBE_EVICTIONS);
}

/* The table runs at capacity here: every insert evicts, and a key just written starts
 * unreferenced, CLOCK's first victim, so a record may be gone before the reader looks (CI saw
 * a fresh file's negative entry evicted by the next insert). waits_for_record: true once path
 * agrees with e; false if it is a miss after an eviction counted since before (the change
 * was made then) and a miss for PATIENCE_MS; fails the test with what the table holds if
 * path still disagrees after CONVERGE_MS with no such eviction. */
#define PATIENCE_MS 500
static bool waits_for_record(const struct churn *ch, const char *path, enum fsc_test_expect e,
			     uint64_t before)
{
	char why[PATH_BYTES + 128];
	uint64_t start = fsc_test_now_ms(), missed = 0;
	while (!fsc_test_agrees(ch->c, path, e, why, sizeof(why))) {
		uint64_t now = fsc_test_now_ms();
		if (fsc_lookup(ch->c, path, NULL, NULL) != FSC_MISS ||
		    evictions(ch->name) <= before)
			missed = 0;
		else if (!missed)
			missed = now;
		else if (now - missed > PATIENCE_MS) {
			print_message("%s: evicted before it was seen; again\n", path);
			return false;
		}
		if (now - start > CONVERGE_MS) {
			fsc_t *fresh = fsc_open(ch->name);
			int r = fresh ? fsc_lookup(fresh, path, NULL, NULL) : -1;
			fsc_close(fresh);
			char counters[1024];
			fail_msg(
			    "%s after %d ms; a new handle gets %s; the table's generation %llx;%s",
			    why, CONVERGE_MS, r < 0 ? "no table" : fsc_result_name(r),
			    (unsigned long long)generation(ch),
			    fsc_test_counters_describe(ch->name, counters, sizeof(counters)));
		}
		pause_ms(2);
	}
	return true;
}

/* Once a marker created now is served, then a second, every event before is handled. A
 * marker evicted before it was seen proves nothing: another is made. */
static void settle(const struct churn *ch)
{
	static unsigned n;
	for (int served = 0, tries = 0; served < 2; tries++) {
		if (tries == 20)
			fail_msg("20 markers in %s, each evicted before it was seen", ch->root);
		char p[PATH_BYTES];
		snprintf(p, sizeof(p), "%s/marker.%u", ch->root, n++);
		uint64_t before = evictions(ch->name);
		fsc_test_write_file(p, "m", O_EXCL);
		served += waits_for_record(ch, p, FSC_EXPECT_STAT, before);
	}
}

/* Never a wrong answer: a hit equal to lstat, a negative for a path that is gone, a miss. */
static void assert_not_wrong(fsc_t *c, const char *path)
{
	char why[PATH_BYTES + 128];
	int r = fsc_lookup(c, path, NULL, NULL);
	if (r == FSC_HIT && !fsc_test_agrees(c, path, FSC_EXPECT_STAT, why, sizeof(why)))
		fail_msg("wrong answer: %s", why);
	if (r == FSC_NEGATIVE && !fsc_test_agrees(c, path, FSC_EXPECT_NEGATIVE, why, sizeof(why)))
		fail_msg("wrong answer: %s", why);
	if (r != FSC_HIT && r != FSC_NEGATIVE && r != FSC_MISS)
		fail_msg("%s: %s while fscd serves", path, fsc_result_name(r));
}

/* A file's life is followed: created, grown, deleted, each seen as lstat sees it. A record
 * evicted before the reader saw it proves nothing: the life starts again on a new path. */
static void follows_fresh_life(const struct churn *ch)
{
	for (unsigned i = 0; i < 20; i++) {
		char path[PATH_BYTES];
		snprintf(path, sizeof(path), "%s/fresh.%u.%u", ch->root, ch->next, i);
		uint64_t before = evictions(ch->name);
		fsc_test_write_file(path, "fresh", O_EXCL);
		if (!waits_for_record(ch, path, FSC_EXPECT_STAT, before))
			continue;
		before = evictions(ch->name);
		fsc_test_write_file(path, " and more", O_APPEND);
		if (!waits_for_record(ch, path, FSC_EXPECT_STAT, before))
			continue;
		before = evictions(ch->name);
		assert_int_equal(unlink(path), 0);
		if (waits_for_record(ch, path, FSC_EXPECT_NEGATIVE, before))
			return;
	}
	fail_msg("20 fresh files in %s, each evicted before it was seen", ch->root);
}

/* Every path of the tree right, and fresh changes followed. */
static void assert_serving(const struct churn *ch)
{
	fsc_t *c = ch->c;
	settle(ch);
	for (unsigned i = 0; i < ch->next; i++)
		assert_not_wrong(c, churn_path(ch, i));
	char path[PATH_BYTES];
	for (unsigned i = 0; i < BALLAST; i++) {
		snprintf(path, sizeof(path), "%s/b%u", ch->root, i);
		assert_not_wrong(c, path);
	}
	follows_fresh_life(ch);
}

/* fscd on a tree of BALLAST files, with a table of SMALL_CAP entries. */
static void start_small(struct churn *ch)
{
	fsc_test_name(ch->name, sizeof(ch->name), "shmfill");
	ch->root = fsc_test_tmpdir("shmfill");
	ch->links = fsc_test_tmpdir("shmlinks"); /* symlinks are made here, renamed in */
	snprintf(ch->prefix, sizeof(ch->prefix), "fsc.%s.new.", ch->name);
	char path[PATH_BYTES], cap[16];
	for (unsigned i = 0; i < BALLAST; i++) {
		snprintf(path, sizeof(path), "%s/b%u", ch->root, i);
		fsc_test_write_file(path, "ballast", O_EXCL);
	}
	snprintf(cap, sizeof(cap), "%d", SMALL_CAP);
	const char *argv[] = {"fscd",	"--name",     ch->name, "--watch",
			      ch->root, "--capacity", cap,	NULL};
	ch->fscd = fsc_test_fscd_start(argv, NULL);
	ch->c = fsc_test_open_new_generation(ch->name, path, 0, CONVERGE_MS);
	const char *why;
	assert_int_equal(
	    fsc_shm_geometry(SMALL_CAP, FSC_SLOT_SIZE_DEFAULT, &ch->slots, &ch->size, &why), 0);
	ch->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(ch->ifd >= 0);
	assert_true(inotify_add_watch(ch->ifd, fsc_test_privshm_dir(),
				      IN_CREATE | IN_DELETE | IN_MOVED_FROM) >= 0);
}

/* The compaction could not have its table: nothing published, nothing left behind. */
static void assert_not_replaced(const struct churn *ch, uint64_t gen, uint64_t rebuilds)
{
	assert_false(ch->published);
	assert_int_equal(fsc_test_counter(ch->name, FSC_CTR_REBUILDS), rebuilds);
	assert_int_equal(generation(ch), gen);
	assert_int_equal(shm_objects(".new."), 3); /* the table, its hints, the filler */
	assert_running(ch->fscd);
	/* and fscd counts the refusal (its log says why once upkeep notices) */
	assert_true(fsc_test_counter(ch->name, FSC_CTR_REBUILD_FAILURES) > 0);
}

/* Full until one compaction is refused, then room again: a later one gets its table (it is
 * retried after more tombstones), and readers follow it. */
static void full_briefly(struct churn *ch)
{
	uint64_t gen = generation(ch), rebuilds = fsc_test_counter(ch->name, FSC_CTR_REBUILDS);
	fill_shm(ch->size);
	churn_until_replacement(ch, false);
	unsigned refused_at = ch->next;
	assert_not_replaced(ch, gen, rebuilds);
	assert_serving(ch);
	assert_int_equal(unlink(filler()), 0);
	churn_until_replacement(ch, true);
	print_message("compaction refused after %u files churned, done after %u more once "
		      "there was room\n",
		      refused_at, ch->next - refused_at);
	assert_true(fsc_test_counter(ch->name, FSC_CTR_REBUILDS) > rebuilds);
	assert_true(generation(ch) != gen);
	assert_serving(ch);
}

/* Full for long: compactions keep being refused while tombstones pile up, until no slot is
 * empty any more (every probe runs its whole window). Answers must stay right. */
static void full_for_long(struct churn *ch)
{
	uint64_t gen = generation(ch), rebuilds = fsc_test_counter(ch->name, FSC_CTR_REBUILDS);
	fill_shm(ch->size);
	churn_until_replacement(ch, false);
	unsigned from = ch->next;
	uint64_t end = fsc_test_now_ms() + SATURATE_MS, used = 0;
	while ((used = fsc_test_counter(ch->name, FSC_CTR_ENTRIES) +
		       fsc_test_counter(ch->name, FSC_CTR_TOMBSTONES)) < ch->slots &&
	       fsc_test_now_ms() < end) {
		churn_go(ch);
		assert_running(ch->fscd);
		watch_replacements(ch);
	}
	print_message("%u more files churned while full: %llu of %llu slots live or tombstones\n",
		      ch->next - from, (unsigned long long)used, (unsigned long long)ch->slots);
	assert_not_replaced(ch, gen, rebuilds);
	assert_serving(ch);
	assert_int_equal(unlink(filler()), 0);
}

/* In the namespace: a 1 MiB the object directory holds the table fscd starts with and room for the
 * replacement a compaction builds, until a filler takes that room. */
static void ns_full_while_serving(void **state)
{
	(void)state;
	struct churn ch = {.ifd = -1};
	start_small(&ch);
	full_briefly(&ch);
	full_for_long(&ch);
	close(ch.ifd);
	fsc_close(ch.c);
	stop_cleanly(ch.fscd, ch.name);
	assert_int_equal(shm_objects(NULL), 0);
	fsc_test_rmtree(ch.root);
	fsc_test_rmtree(ch.links);
	free(ch.root);
	free(ch.links);
}

/* Waits for fscd's log to contain needle; fails at once if fscd exits meanwhile. */
static void wait_log_while_running(pid_t pid, const char *log, const char *needle)
{
	uint64_t end = fsc_test_now_ms() + CONVERGE_MS;
	while (!strstr(fsc_test_read_file(log), needle)) {
		int status = fsc_test_fscd_wait(pid, 0);
		if (status != -1)
			fail_msg("fscd exited (status 0x%x) instead of logging \"%s\": %s", status,
				 needle, fsc_test_read_file(log));
		if (fsc_test_now_ms() > end)
			fail_msg("log lacks \"%s\": %s", needle, fsc_test_read_file(log));
		pause_ms(5);
	}
}

/* In the namespace: SIGHUP asks for a new table (a restart in place), and a full the object
 * directory has no room for it next to the one serving. fscd must say so and keep serving the old
 * table, and reload once there is room. */
static void ns_reload_while_full(void **state)
{
	(void)state;
	char name[64], cap[16], log[PATH_BYTES], file[PATH_BYTES];
	fsc_test_name(name, sizeof(name), "shmreload");
	char *root = fsc_test_tmpdir("shmreload");
	char *logdir = fsc_test_tmpdir("shmreload-log");
	snprintf(log, sizeof(log), "%s/fscd.log", logdir);
	snprintf(cap, sizeof(cap), "%d", SMALL_CAP);
	const char *argv[] = {"fscd", "--name",	       name, "--watch", root, "--capacity",
			      cap,    "--journal-kib", "0",  NULL};
	pid_t pid = fsc_test_fscd_start(argv, log);
	fsc_t *c = fsc_test_open_new_generation(name, root, 0, CONVERGE_MS);
	uint64_t slots, size;
	const char *why;
	assert_int_equal(fsc_shm_geometry(SMALL_CAP, FSC_SLOT_SIZE_DEFAULT, &slots, &size, &why),
			 0);
	struct churn ch = {.fscd = pid};
	snprintf(ch.name, sizeof(ch.name), "%s", name);
	uint64_t gen = generation(&ch);
	fill_shm(size);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_log_while_running(pid, log, "reload refused");
	const char *said[] = {"has no room for the new table", "still serving table", NULL};
	for (size_t i = 0; said[i]; i++)
		if (!strstr(fsc_test_read_file(log), said[i]))
			fail_msg("fscd's log lacks \"%s\": %s", said[i], fsc_test_read_file(log));
	assert_running(pid);
	assert_int_equal(generation(&ch), gen);
	snprintf(file, sizeof(file), "%s/while-full", root);
	fsc_test_write_file(file, "served", O_EXCL);
	wait_one(c, file, FSC_EXPECT_STAT);
	assert_int_equal(shm_objects(".new."), 3); /* the table, its hints, the filler */

	/* room again: the same SIGHUP now restarts fscd in place with a new table */
	assert_int_equal(unlink(filler()), 0);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_log_while_running(pid, log, "restarting in place");
	fsc_close(c);
	c = fsc_test_open_new_generation(name, file, gen, CONVERGE_MS);
	assert_running(pid);
	fsc_close(c);
	stop_cleanly(pid, name);
	assert_int_equal(shm_objects(NULL), 0);
	fsc_test_rmtree(root);
	fsc_test_rmtree(logdir);
	free(root);
	free(logdir);
}

static const struct fsc_test_privshm scenarios[] = {
    {"table_too_big", "64k", ns_table_too_big},
    {"full_while_serving", "1m", ns_full_while_serving},
    {"reload_while_full", "1m", ns_reload_while_full},
};

static void run_in_private_shm(const char *name)
{
	fsc_test_privshm_run(scenarios, sizeof(scenarios) / sizeof(scenarios[0]), name,
			     SCENARIO_MS);
}

static void test_table_too_big(void **state)
{
	(void)state;
	run_in_private_shm("table_too_big");
}

static void test_full_while_serving(void **state)
{
	(void)state;
	run_in_private_shm("full_while_serving");
}

static void test_reload_while_full(void **state)
{
	(void)state;
	run_in_private_shm("reload_while_full");
}

int main(int argc, char **argv)
{
	int rc = fsc_test_privshm_dispatch(argc, argv, scenarios,
					   sizeof(scenarios) / sizeof(scenarios[0]));
	if (rc >= 0)
		return rc;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_too_big),
	    cmocka_unit_test(test_full_while_serving),
	    cmocka_unit_test(test_reload_while_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
