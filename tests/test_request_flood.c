/* Requests under abuse: a real fscd with a small table (256 entries) serves a tree of 100 hot
 * files that a monitor keeps looking up, while two reader processes (one as uid 65534 when the
 * test runs as root, one as the test's own uid) flood the request socket with 100,000 distinct
 * names each, every name twice so that the doorkeeper would admit it. The names lie in the
 * watched root and do not exist: each admitted one would become a negative entry.
 *
 * fscd must keep the hot files cached (at least 90% of the monitor's lookups hit, during the
 * flood and after it), keep its heartbeat fresh, drop what each sender's uid sends over its
 * rate (counter requests_limited), and let requests fill no more than their share of the
 * table. Before the rate limit and the share, the flood took the hot files' hit rate to a few
 * percent.
 *
 * No sleep is a synchronisation: the flooders retry a full socket buffer (EAGAIN) until every
 * datagram is delivered, and the test waits for fscd's request counter to account for all. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_format.h"
#include "fsc_shm_map.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"
#include "fsc_writer.h"
#include "fscd_ratelimit.h"
#include "fscd_reqshare.h"
#include "fscd_requests.h"

#define CONVERGE_MS	 15000
#define DRAIN_MS	 60000
#define NHOT		 100
#define CAPACITY	 256
#define FLOOD_NAMES	 100000
#define NOBODY		 65534
#define RATE		 FSCD_REQUEST_RATE
#define RATE_ROOT	 (FSCD_REQUEST_RATE * FSCD_REQUEST_RATE_ROOT)
#define MIN_HIT_RATE	 0.90
#define MAX_BEAT_AGE	 1000000000ull /* ns; the heartbeat interval is far shorter */
#define FSC_TEST_STR_(x) #x
#define FSC_TEST_STR(x)	 FSC_TEST_STR_(x)
#define PATH_BYTES	 512
#define MONITOR_US	 20000 /* the monitor looks at every hot file 50 times a second */

struct fixture {
	struct fsc_test_daemon d;
	char hot[NHOT][PATH_BYTES];
	struct fsc_shm_mapping map; /* our own read-only mapping: the heartbeat */
	pid_t flooder[2];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct fixture *start(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	fsc_test_daemon_prepare(&f->d, "flood");
	/* everyone reads the table (--mode 0644) and is shown only what it could stat(2):
	 * mkdtemp's 0700 would hide the whole tree (PROTOCOL.md "Audience") */
	assert_int_equal(chmod(f->d.root, 0755), 0);
	for (int i = 0; i < NHOT; i++) {
		snprintf(f->hot[i], sizeof(f->hot[i]), "%s/hot%03d", f->d.root, i);
		fsc_test_write_file(f->hot[i], "hot", O_TRUNC);
	}
	f->d.extra[0] = "--capacity";
	f->d.extra[1] = FSC_TEST_STR(CAPACITY);
	f->d.extra[2] = "--mode"; /* the flooder running as 65534 maps the table too */
	f->d.extra[3] = "0644";
	f->d.extra[4] = "--request-window";
	f->d.extra[5] = "60000";
	fsc_test_daemon_start(&f->d, f->hot[0], CONVERGE_MS);
	const char *hot[NHOT + 1] = {NULL};
	for (int i = 0; i < NHOT; i++)
		hot[i] = f->hot[i];
	fsc_test_wait_agree(f->d.c, hot, FSC_EXPECT_STAT, CONVERGE_MS);
	return f;
}

/* Maps the table published now (again after a compaction retired the one mapped). */
static const struct fsc_shm_header *current_header(struct fixture *f)
{
	const struct fsc_shm_header *h = f->map.base;
	if (h && atomic_load_explicit(&h->state, memory_order_acquire) == FSC_TABLE_LIVE)
		return h;
	fsc_shm_unmap(&f->map);
	struct fsc_shm_layout l;
	const char *why = NULL;
	if (fsc_shm_map_table(f->d.name, NULL, &f->map, &l, &why) != 0)
		fail_msg("cannot map the table: %s", why ? why : "?");
	return f->map.base;
}

static int setup(void **state)
{
	*state = start();
	return 0;
}

/* Also after a failure: no flooder or fscd is left behind. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 2; i++) {
		if (f->flooder[i] > 0) {
			kill(f->flooder[i], SIGKILL);
			waitpid(f->flooder[i], NULL, 0);
		}
	}
	fsc_shm_unmap(&f->map);
	fsc_test_daemon_stop(&f->d);
	free(f);
	return 0;
}

static void pause_us(long us)
{
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

/* Sends path until it is delivered: fscd behind (EAGAIN) is waited out, not dropped. The
 * pause only keeps the flooders from hogging the CPUs fscd and other tests need. */
static int send_delivered(fsc_t *c, const char *path)
{
	while (fsc_request(c, path) != 0) {
		if (errno != EAGAIN && errno != ENOBUFS)
			return -1;
		pause_us(20);
	}
	return 0;
}

/* A flooding reader: as uid (if the test may switch), every name "<tag>-<i>" in the root,
 * twice. Exits 0 once all were delivered. */
static pid_t flood_start(const struct fixture *f, const char *tag, uid_t uid)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	if (uid != getuid() &&
	    (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid(uid) < 0))
		_exit(10);
	fsc_t *c = fsc_open(f->d.name);
	if (!c)
		_exit(11);
	char path[PATH_BYTES];
	for (int i = 0; i < FLOOD_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/%s-%06d", f->d.root, tag, i);
		if (send_delivered(c, path) < 0 || send_delivered(c, path) < 0)
			_exit(12);
	}
	fsc_close(c);
	_exit(0);
}

struct watch {
	uint64_t lookups, hits;
	uint64_t max_beat_age_ns;
};

/* One pass of the monitor over the hot files, as a reader that checks them every
 * MONITOR_US (fsc_stat on a miss, which asks fscd to cache the file again), and a look at
 * fscd's heartbeat. */
static void monitor_pass(struct fixture *f, struct watch *w)
{
	pause_us(MONITOR_US);
	for (int i = 0; i < NHOT; i++) {
		struct stat st;
		w->lookups++;
		if (fsc_lookup(f->d.c, f->hot[i], NULL, NULL) == FSC_HIT)
			w->hits++;
		else
			fsc_stat(f->d.c, f->hot[i], &st);
	}
	const struct fsc_shm_header *h = current_header(f);
	uint64_t beat = atomic_load_explicit(&h->heartbeat_ns, memory_order_acquire);
	uint64_t now = mono_ns();
	uint64_t age = now > beat ? now - beat : 0;
	if (age > w->max_beat_age_ns)
		w->max_beat_age_ns = age;
}

static bool flooders_running(pid_t *pid, int n)
{
	bool any = false;
	for (int i = 0; i < n; i++) {
		if (pid[i] <= 0)
			continue;
		int status;
		pid_t r = waitpid(pid[i], &status, WNOHANG);
		if (r == 0) {
			any = true;
			continue;
		}
		assert_int_equal(r, pid[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("flooder %d failed (status 0x%x)", i, status);
		pid[i] = 0;
	}
	return any;
}

/* Waits until fscd has taken every request sent (each is counted, whatever its fate). */
static void wait_requests(struct fixture *f, uint64_t want, struct watch *w)
{
	uint64_t end = fsc_test_now_ms() + DRAIN_MS;
	while (fsc_test_counter(f->d.name, FSC_CTR_REQUESTS) < want) {
		if (fsc_test_now_ms() > end)
			fail_msg("fscd took %llu requests, %llu were sent",
				 (unsigned long long)fsc_test_counter(f->d.name, FSC_CTR_REQUESTS),
				 (unsigned long long)want);
		monitor_pass(f, w);
	}
}

static double rate_of(const struct watch *w)
{
	return w->lookups ? (double)w->hits / (double)w->lookups : 0.0;
}

static void test_a_flood_of_names_keeps_the_hot_files_cached(void **state)
{
	struct fixture *f = *state;
	uint64_t requests0 = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS);
	uint64_t limited0 = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS_LIMITED);
	bool root = getuid() == 0;
	uint64_t t0 = mono_ns();
	f->flooder[0] = flood_start(f, "nobody", root ? NOBODY : getuid());
	f->flooder[1] = flood_start(f, "self", getuid());
	struct watch during = {0};
	while (flooders_running(f->flooder, 2))
		monitor_pass(f, &during);
	uint64_t sent = 2ull * 2 * FLOOD_NAMES;
	wait_requests(f, requests0 + sent, &during);
	double secs = (double)(mono_ns() - t0) / 1e9;
	struct watch after = {0};
	monitor_pass(f, &after);

	uint64_t limited = fsc_test_counter(f->d.name, FSC_CTR_REQUESTS_LIMITED) - limited0;
	uint64_t entries = fsc_test_counter(f->d.name, FSC_CTR_ENTRIES);
	print_message("flood: %llu requests in %.1f s, %llu dropped over the senders' rates; "
		      "hot hit rate %.1f%% during (%llu lookups), %.1f%% after; "
		      "heartbeat age at most %.1f ms; %llu entries\n",
		      (unsigned long long)sent, secs, (unsigned long long)limited,
		      100.0 * rate_of(&during), (unsigned long long)during.lookups,
		      100.0 * rate_of(&after), (double)during.max_beat_age_ns / 1e6,
		      (unsigned long long)entries);
	assert_true(rate_of(&during) >= MIN_HIT_RATE);
	assert_true(rate_of(&after) >= MIN_HIT_RATE);
	assert_true(during.max_beat_age_ns < MAX_BEAT_AGE);
	/* each uid gets at most its burst (1 s) and its rate over the flood; root's budget is
	 * larger, but finite */
	uint64_t root_rate = root ? RATE_ROOT : RATE;
	double allowed = (double)(RATE + root_rate) * (1.0 + secs);
	assert_true(limited > 0);
	assert_true((double)limited >= (double)sent - allowed);
	/* the hot files, the root, and at most the share for what requests added */
	assert_true(entries <= NHOT + 1 + fscd_reqshare_limit(CAPACITY));
}

/* The parts on their own: the per-uid buckets... */
static void test_each_uid_has_its_own_rate(void **state)
{
	(void)state;
	struct fscd_ratelimit l;
	fscd_ratelimit_init(&l, RATE, RATE_ROOT / RATE);
	uint64_t t = 5000000000ull;
	int got[3] = {0};
	uid_t uid[3] = {1000, 1001, 0};
	for (int u = 0; u < 3; u++)
		for (unsigned i = 0; i < 2 * RATE_ROOT; i++)
			got[u] += fscd_ratelimit_take(&l, uid[u], t);
	assert_int_equal(got[0], RATE);	     /* a burst of one second's worth, then nothing */
	assert_int_equal(got[1], RATE);	     /* another uid: a bucket of its own */
	assert_int_equal(got[2], RATE_ROOT); /* root: more, but finite */
	assert_false(fscd_ratelimit_take(&l, 1000, t - 1000000000ull)); /* clock step back */
	int later = 0;
	for (unsigned i = 0; i < RATE; i++)
		later += fscd_ratelimit_take(&l, 1000, t + 500000000ull);
	assert_int_equal(later, RATE / 2); /* half a second earns half the rate */
	later = 0;
	for (unsigned i = 0; i < 2 * RATE; i++)
		later += fscd_ratelimit_take(&l, 1000, t + 60000000000ull);
	assert_int_equal(later, RATE); /* a long pause earns no more than the burst */
}

/* ... whose table is bounded: a new uid takes the least recently used bucket. */
static void test_many_uids_share_a_fixed_table(void **state)
{
	(void)state;
	struct fscd_ratelimit l;
	fscd_ratelimit_init(&l, 1, 1);
	uint64_t t = 1000;
	for (uid_t u = 1; u <= FSCD_RATELIMIT_UIDS; u++)
		assert_true(fscd_ratelimit_take(&l, u, t + u)); /* spends its one request */
	assert_false(fscd_ratelimit_take(&l, FSCD_RATELIMIT_UIDS, t + 100)); /* remembered */
	assert_true(fscd_ratelimit_take(&l, 100000, t + 101)); /* takes uid 1's bucket */
	assert_true(fscd_ratelimit_take(&l, 1, t + 102));      /* forgotten: a fresh bucket */
	assert_false(fscd_ratelimit_take(&l, FSCD_RATELIMIT_UIDS, t + 103));
}

static void admit(struct fscd_reqshare *s, struct fsc_writer *w, const char *path)
{
	assert_int_equal(fscd_reqshare_make_room(s, w), 0);
	assert_int_equal(fsc_writer_put_negative(w, path, strlen(path)), 0);
	assert_int_equal(fscd_reqshare_add(s, w, path, strlen(path)), 0);
}

static bool holds(struct fsc_writer *w, const char *path)
{
	return fsc_writer_contains(w, path, strlen(path), NULL);
}

/* ... and the share: FIFO over request-admitted entries only, by the rule in PROTOCOL.md. */
static void test_requests_fill_only_their_share(void **state)
{
	(void)state;
	char name[64], path[64];
	fsc_test_name(name, sizeof(name), "share");
	struct fsc_writer *w = fsc_test_writer(name, 128);
	uint64_t limit = fscd_reqshare_limit(128);
	assert_int_equal(limit, 16);
	assert_int_equal(fscd_reqshare_limit(8), 8);
	assert_int_equal(fscd_reqshare_limit(1 << 20), 1 << 17);
	struct stat st;
	assert_int_equal(lstat("/", &st), 0);
	for (int i = 0; i < 50; i++) { /* what a scan put there */
		snprintf(path, sizeof(path), "/scan/%d", i);
		assert_int_equal(fsc_writer_put(w, path, strlen(path), &st, 0), 0);
	}
	struct fscd_reqshare s;
	fscd_reqshare_init(&s, 42);
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/req/%d", i);
		admit(&s, w, path);
	}
	assert_int_equal(fscd_reqshare_count(&s), limit);
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/req/%d", i);
		assert_int_equal(holds(w, path), i >= 40 - (int)limit);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/scan/%d", i);
		assert_true(holds(w, path));
	}
	/* /req/24 (the oldest) changes: an event published over it; no longer the request's */
	assert_int_equal(fsc_writer_put(w, "/req/24", 7, &st, 0), 0);
	admit(&s, w, "/req/100");
	assert_true(holds(w, "/req/24"));
	/* /req/30 leaves (CLOCK) and is requested again: its older admission removes nothing */
	assert_int_equal(fsc_writer_remove(w, "/req/30", 7), 0);
	admit(&s, w, "/req/30"); /* /req/25 makes room */
	assert_false(holds(w, "/req/25"));
	for (int i = 101; i < 106; i++) { /* 26..29 and the old 30 go */
		snprintf(path, sizeof(path), "/req/%d", i);
		admit(&s, w, path);
	}
	assert_false(holds(w, "/req/29"));
	assert_true(holds(w, "/req/30"));
	assert_int_equal(fscd_reqshare_count(&s), limit);
	fscd_reqshare_free(&s);
	fsc_writer_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_uid_has_its_own_rate),
	    cmocka_unit_test(test_many_uids_share_a_fixed_table),
	    cmocka_unit_test(test_requests_fill_only_their_share),
	    cmocka_unit_test_setup_teardown(test_a_flood_of_names_keeps_the_hot_files_cached, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
