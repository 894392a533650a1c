/* fscd under a write storm: one file appended to in a tight loop while other files in the same
 * tree change now and then. The storm's file ends equal to lstat(), fscd stats it far fewer
 * times than it was written (coalescing), and the other files converge while the storm is
 * still going (no starvation). Every wait is a generous bound, never a speed claim. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

#define CONVERGE_MS	   15000     /* generous: a bound on waiting, not a speed claim */
#define STORM_MIN_WRITES   200000u   /* the storm is at least this many appends ... */
#define STORM_MAX_WRITES   20000000u /* ... and stops here at the latest ... */
#define STORM_MAX_MS	   8000u     /* ... or after this long, whichever comes first */
#define STORM_CHANGE_EVERY 20000u    /* the other files change once per this many appends */

struct fixture {
	struct fsc_test_daemon d;
};

/* Shared with the storm child (MAP_SHARED | MAP_ANONYMOUS). */
struct storm {
	atomic_bool stop;
	atomic_bool done;
	atomic_uint_fast64_t writes;
};

static const char *at(const struct fixture *f, const char *rel)
{
	return fsc_test_path(f->d.root, rel);
}

static void assert_fscd_running(pid_t pid)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);
	if (r != 0)
		fail_msg("fscd is gone (waitpid %d, status 0x%x)", (int)r, r > 0 ? status : 0);
}

static int setup(void **state)
{
	static struct fixture f;
	static const struct fsc_test_entry tree[] = {
	    {"storm", NULL},	{"other", NULL},    {"storm/big.log", ""},
	    {"other/a", "a\n"}, {"other/b", "b\n"}, {"storm/neighbour", "n\n"},
	    {NULL, NULL},
	};
	fsc_test_daemon_prepare(&f.d, "coal");
	fsc_test_tree_serve(&f.d, tree, "storm/big.log", CONVERGE_MS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_test_daemon_stop(&f->d); /* fscd must survive the storm and exit cleanly */
	return 0;
}

static void storm_child(const char *path, struct storm *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	uint64_t end = fsc_test_now_ms() + STORM_MAX_MS;
	uint_fast64_t n = 0;
	while (fd >= 0 && n < STORM_MAX_WRITES && !atomic_load(&s->stop)) {
		if (write(fd, "x", 1) != 1)
			break;
		atomic_store_explicit(&s->writes, ++n, memory_order_relaxed);
		if ((n & 1023) == 0 && fsc_test_now_ms() > end)
			break;
	}
	atomic_store(&s->done, true);
	_exit(fd >= 0 ? 0 : 1);
}

static bool all_agree(fsc_t *c, const char *const *paths, char *why, size_t n)
{
	for (size_t i = 0; paths[i]; i++)
		if (!fsc_test_agrees(c, paths[i], FSC_EXPECT_STAT, why, n))
			return false;
	return true;
}

/* Changes the other files, then waits for them to agree while the storm still runs: if they
 * only catch up once it is over, fscd starved them. */
static void change_others_during_storm(struct fixture *f, struct storm *s, unsigned k)
{
	char line[64];
	snprintf(line, sizeof(line), "change %u\n", k);
	fsc_test_write_file(at(f, "other/a"), line, O_APPEND);
	fsc_test_write_file(at(f, "storm/neighbour"), line, O_APPEND);
	char created[64];
	snprintf(created, sizeof(created), "other/during.%u", k);
	fsc_test_write_file(at(f, created), line, O_TRUNC);
	if (atomic_load(&s->done)) /* the changes must be made during the storm */
		fail_msg("the storm ended (%llu writes) before the other files changed",
			 (unsigned long long)atomic_load(&s->writes));
	const char *paths[] = {at(f, "other/a"), at(f, "storm/neighbour"), at(f, created),
			       at(f, "other"), NULL};
	char why[512];
	while (!all_agree(f->d.c, paths, why, sizeof(why))) {
		if (atomic_load(&s->done))
			fail_msg("starvation: not converged while the storm ran (%llu writes): %s",
				 (unsigned long long)atomic_load(&s->writes), why);
		fsc_test_pause_ms(2);
	}
}

/* Runs the storm and the occasional other changes; returns the number of appends made. */
static uint64_t run_storm(struct fixture *f, struct storm *s)
{
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		storm_child(at(f, "storm/big.log"), s);
	unsigned k = 0;
	while (!atomic_load(&s->done) && (k < 4 || atomic_load(&s->writes) < STORM_MIN_WRITES)) {
		if (atomic_load(&s->writes) >= (uint_fast64_t)(k + 1) * STORM_CHANGE_EVERY) {
			change_others_during_storm(f, s, k);
			k++;
		}
		fsc_test_pause_ms(1);
	}
	atomic_store(&s->stop, true);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(k >= 4); /* the other files did change during the storm */
	return atomic_load(&s->writes);
}

static void test_write_storm_is_coalesced(void **state)
{
	struct fixture *f = *state;
	char big_path[512];
	snprintf(big_path, sizeof(big_path), "%s", at(f, "storm/big.log"));
	const char *big[] = {big_path, NULL};
	fsc_test_wait_agree(f->d.c, big, FSC_EXPECT_STAT, CONVERGE_MS);
	uint64_t stats0 = fsc_test_counter(f->d.name, FSC_CTR_STATS);
	uint64_t events0 = fsc_test_counter(f->d.name, FSC_CTR_EVENTS);

	struct storm *s =
	    mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(s != MAP_FAILED);
	atomic_init(&s->stop, false);
	atomic_init(&s->done, false);
	atomic_init(&s->writes, 0);
	uint64_t writes = run_storm(f, s);
	munmap(s, sizeof(*s));

	/* (i) after the storm the file's record is what lstat says */
	fsc_test_wait_agree(f->d.c, big, FSC_EXPECT_STAT, CONVERGE_MS);
	struct stat st;
	assert_int_equal(fsc_lookup(f->d.c, big[0], &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, (off_t)writes);
	assert_fscd_running(f->d.fscd);

	/* (ii) coalescing: many events, far fewer stats than writes */
	uint64_t stats = fsc_test_counter(f->d.name, FSC_CTR_STATS) - stats0;
	uint64_t events = fsc_test_counter(f->d.name, FSC_CTR_EVENTS) - events0;
	print_message("storm: %llu writes, %llu inotify events, %llu writer stats\n",
		      (unsigned long long)writes, (unsigned long long)events,
		      (unsigned long long)stats);
	assert_true(writes >= STORM_MIN_WRITES);
	if (stats >= writes / 10)
		fail_msg("not coalesced: %llu stats for %llu writes (%llu events)",
			 (unsigned long long)stats, (unsigned long long)writes,
			 (unsigned long long)events);
	/* the storm reached fscd as events (the stats count is no bound on them: the backstop
	 * sweep re-verifies every entry each second, events or not, so a storm slowed down by
	 * a busy machine can see more sweep stats than merged events) */
	assert_true(events > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_storm_is_coalesced),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
