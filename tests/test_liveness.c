/* Liveness: a reader trusts a table only while its writer is alive (robust futex word, seen at
 * once after SIGKILL) and beating (heartbeat, seen after writer_timeout_ns when the writer is
 * stopped); otherwise lookups are FSC_UNAVAILABLE and fsc_stat calls the real stat(2). Readers
 * move to a successor table on their own. The writers run in forked child processes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_map.h"
#include "fsc_shm_table.h"
#include "fsc_test_util.h"

#define FAKE_DELTA   777777 /* the writer lies about the real file's size by this much */
#define KEY	     "/live/key"
#define MAX_CHILDREN 2

struct fixture {
	char name[64];
	char *dir;
	char file[256];
	off_t real_size;
	pid_t child[MAX_CHILDREN];
	fsc_t *c;
	const struct fsc_shm_header *hdr; /* our own read-only mapping of a table */
	size_t hdr_size;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fsc_test_name(f->name, sizeof(f->name), "live");
	f->dir = fsc_test_tmpdir("live");
	snprintf(f->file, sizeof(f->file), "%s/file", f->dir);
	FILE *fp = fopen(f->file, "w");
	if (!fp)
		return -1;
	for (int i = 0; i < 1234; i++)
		fputc('x', fp);
	fclose(fp);
	f->real_size = 1234;
	*state = f;
	return 0;
}

static void kill_child(struct fixture *f, int i, int sig)
{
	if (f->child[i] <= 0)
		return;
	int status;
	kill(f->child[i], sig);
	waitpid(f->child[i], &status, 0);
	f->child[i] = 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < MAX_CHILDREN; i++)
		kill_child(f, i, SIGKILL);
	fsc_close(f->c);
	if (f->hdr)
		munmap((void *)f->hdr, f->hdr_size);
	fsc_test_shm_leftovers(f->name, true); /* a killed writer leaves its objects behind */
	fsc_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* The child: publish the table with KEY and the real file (with a wrong size), report the
 * generation, then beat every 10 ms until killed. Never returns. */
static void writer_child(const struct fixture *f, int wfd, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	struct fsc_writer_opts o = {.name = f->name, .capacity = 64, .group = (gid_t)-1};
	struct fsc_writer *w = NULL;
	const char *why = NULL;
	if (fsc_writer_open(&w, &o, &why))
		_exit(2);
	struct stat st;
	if (stat(f->file, &st))
		_exit(4);
	st.st_size += FAKE_DELTA;
	if (fsc_writer_put(w, f->file, strlen(f->file), &st, 0))
		_exit(5);
	fsc_test_fake_stat(&st, 1, 1);
	if (fsc_writer_put(w, KEY, strlen(KEY), &st, 0))
		_exit(6);
	uint64_t gen = fsc_writer_header(w)->generation;
	if (write(wfd, &gen, sizeof(gen)) != sizeof(gen))
		_exit(7);
	close(wfd);
	for (;;) {
		fsc_writer_heartbeat(w);
		sleep_ms(10);
	}
}

/* Forks a writer child into slot i; returns the generation of the table it published. */
static uint64_t spawn_writer(struct fixture *f, int i)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		writer_child(f, fds[1], parent);
	}
	f->child[i] = pid;
	close(fds[1]);
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	uint64_t gen = 0;
	bool ok = poll(&p, 1, 10000) == 1 && read(fds[0], &gen, sizeof(gen)) == sizeof(gen);
	close(fds[0]);
	if (!ok)
		fail_msg("writer child %d did not publish its table", (int)pid);
	return gen;
}

static void map_current(struct fixture *f)
{
	struct fsc_shm_mapping m;
	struct fsc_shm_layout l;
	const char *why;
	assert_int_equal(fsc_shm_map_table(f->name, NULL, &m, &l, &why), 0);
	f->hdr_size = m.size;
	f->hdr = m.base;
}

static off_t stat_size(fsc_t *c, const char *path)
{
	struct stat st;
	assert_int_equal(fsc_stat(c, path, &st), 0);
	return st.st_size;
}

static int lookup_gen(fsc_t *c, uint64_t *gen)
{
	struct stat st;
	struct fsc_info info = {0};
	int r = fsc_lookup(c, KEY, &st, &info);
	if (r == FSC_HIT && !fsc_test_fake_stat_consistent(&st, 1))
		fail_msg("hit with a wrong record");
	if (gen)
		*gen = info.generation;
	return r;
}

/* A reader on the table published now (f->c), and our own read-only mapping of it (f->hdr). */
static void attach_mapped(struct fixture *f)
{
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	map_current(f);
}

static void test_sigkill_noticed_at_once(void **state)
{
	struct fixture *f = *state;
	uint64_t gen = spawn_writer(f, 0), got = 0;
	attach_mapped(f);
	assert_int_equal(lookup_gen(f->c, &got), FSC_HIT);
	assert_int_equal(got, gen);
	assert_int_equal(stat_size(f->c, f->file), f->real_size + FAKE_DELTA); /* from the table */
	assert_true(fsc_shm_writer_alive(f->hdr));

	int status;
	assert_int_equal(kill(f->child[0], SIGKILL), 0);
	assert_int_equal(waitpid(f->child[0], &status, 0), f->child[0]);
	f->child[0] = 0;
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* the heartbeat is still fresh: only the robust futex word can tell the writer is dead */
	uint64_t beat = atomic_load(&f->hdr->heartbeat_ns);
	assert_true(fsc_writer_now_ns() - beat < FSC_WRITER_TIMEOUT_NS / 2);
	assert_false(fsc_shm_writer_alive(f->hdr));
	assert_int_equal(atomic_load(&f->hdr->state), FSC_TABLE_LIVE);
	assert_int_equal(lookup_gen(f->c, NULL), FSC_UNAVAILABLE);
	assert_int_equal(stat_size(f->c, f->file), f->real_size); /* real stat(2) */
	assert_int_equal(lookup_gen(f->c, NULL), FSC_UNAVAILABLE);
	/* nobody can attach to a table whose writer is dead */
	errno = 0;
	assert_null(fsc_open(f->name));
	assert_int_equal(errno, ESRCH);
}

/* Polls KEY every 5 ms until the answer is want; fails after limit_ms. */
static void poll_until(fsc_t *c, int want, uint64_t limit_ms)
{
	uint64_t t0 = fsc_test_now_ms();
	for (;;) {
		int r = lookup_gen(c, NULL);
		if (r == want)
			return;
		if (fsc_test_now_ms() - t0 > limit_ms)
			fail_msg("lookup still %s after %llu ms", fsc_result_name(r),
				 (unsigned long long)limit_ms);
		sleep_ms(5);
	}
}

static void test_stopped_writer_times_out(void **state)
{
	struct fixture *f = *state;
	uint64_t gen = spawn_writer(f, 0), got = 0;
	attach_mapped(f);
	assert_int_equal(lookup_gen(f->c, NULL), FSC_HIT);

	int status;
	assert_int_equal(kill(f->child[0], SIGSTOP), 0);
	assert_int_equal(waitpid(f->child[0], &status, WUNTRACED), f->child[0]);
	assert_true(WIFSTOPPED(status));
	uint64_t beat = atomic_load(&f->hdr->heartbeat_ns); /* the last beat before the stop */
	poll_until(f->c, FSC_UNAVAILABLE, 10000);
	/* not before the writer was silent for writer_timeout_ns (allowing a coarse tick) */
	assert_true(fsc_writer_now_ns() >= beat + FSC_WRITER_TIMEOUT_NS - 50000000ull);
	assert_true(fsc_shm_writer_alive(f->hdr)); /* stopped, not dead */
	assert_int_equal(atomic_load(&f->hdr->heartbeat_ns), beat);
	assert_int_equal(stat_size(f->c, f->file), f->real_size);

	/* beating again makes the same table trusted again */
	assert_int_equal(kill(f->child[0], SIGCONT), 0);
	poll_until(f->c, FSC_HIT, 10000);
	assert_int_equal(lookup_gen(f->c, &got), FSC_HIT);
	assert_int_equal(got, gen);
	assert_int_equal(stat_size(f->c, f->file), f->real_size + FAKE_DELTA);
}

static void test_clean_close_is_unavailable(void **state)
{
	struct fixture *f = *state;
	struct fsc_writer *w = fsc_test_writer(f->name, 64);
	struct stat st;
	assert_int_equal(stat(f->file, &st), 0);
	st.st_size += FAKE_DELTA;
	assert_int_equal(fsc_writer_put(w, f->file, strlen(f->file), &st, 0), 0);
	attach_mapped(f);
	assert_int_equal(stat_size(f->c, f->file), f->real_size + FAKE_DELTA);
	fsc_writer_close(w);
	assert_int_equal(atomic_load(&f->hdr->state), FSC_TABLE_STOPPED);
	assert_int_equal(fsc_lookup(f->c, f->file, NULL, NULL), FSC_UNAVAILABLE);
	assert_int_equal(stat_size(f->c, f->file), f->real_size);
	errno = 0;
	assert_null(fsc_open(f->name));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 0);
}

/* The writer dies; a new writer publishes the same name; the old reader handle moves to it.
 * unlink_dead: the dead table is removed first, so nothing marks it retired, and the reader
 * has already looked for a successor in vain: it must look again (at most every 100 ms).
 * Otherwise the successor marks the dead table retired and the reader's first look (not
 * delayed: none failed before) finds it at once. */
static void reader_finds_successor(struct fixture *f, bool unlink_dead)
{
	uint64_t gen_a = spawn_writer(f, 0), got = 0;
	f->c = fsc_open(f->name);
	assert_non_null(f->c);
	assert_int_equal(lookup_gen(f->c, &got), FSC_HIT);
	assert_int_equal(got, gen_a);
	kill_child(f, 0, SIGKILL);
	if (unlink_dead) {
		assert_int_equal(lookup_gen(f->c, NULL), FSC_UNAVAILABLE);
		char oname[FSC_SHM_OBJECT_NAME_MAX];
		assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), f->name), 0);
		assert_int_equal(unlink(oname), 0);
	}
	uint64_t gen_b = spawn_writer(f, 1);
	assert_true(gen_b != gen_a);
	uint64_t t0 = fsc_test_now_ms();
	int polls = 0, r;
	do {
		if (polls++)
			sleep_ms(5);
		r = lookup_gen(f->c, &got);
	} while (r != FSC_HIT && fsc_test_now_ms() - t0 < 5000);
	uint64_t waited = fsc_test_now_ms() - t0;
	print_message("successor found after %d polls, %llu ms\n", polls,
		      (unsigned long long)waited);
	assert_int_equal(r, FSC_HIT);
	assert_int_equal(got, gen_b);
	if (unlink_dead)
		assert_true(waited <= 1000); /* re-attach is tried every 100 ms */
	else
		assert_int_equal(polls, 1); /* the dead table was retired: re-attach at once */
	assert_int_equal(stat_size(f->c, f->file), f->real_size + FAKE_DELTA);
}

static void test_successor_retires_dead_table(void **state)
{
	reader_finds_successor(*state, false);
}

static void test_successor_found_by_polling(void **state)
{
	reader_finds_successor(*state, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sigkill_noticed_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stopped_writer_times_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clean_close_is_unavailable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_successor_retires_dead_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_successor_found_by_polling, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
