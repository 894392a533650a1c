/* Stress: a writer rewrites self-checking records as fast as it can while readers verify
 * every answer: a hit is never torn (fsc_test_fake_stat_consistent) nor older than one the
 * same reader saw, and a stable key present throughout a lookup never misses, while churn keys
 * are inserted, removed and evicted around it (and in its probe chain: see fill_table).
 *
 * CLOCK may evict a stable key itself; that is excused exactly. The writer makes a test-owned
 * counter odd before each table operation and even after, and sets a sticky per-key flag from
 * on_evict. A reader that misses stable key k reads the counter, waits until the operation then
 * in flight has finished, and checks the flag: only a key the writer really evicted may miss.
 *
 * N_HOT stable keys are looked up on every reader pass, and the writer waits for a pass every
 * PACE operations, so CLOCK spares them; the other stable keys are looked up rarely, so CLOCK
 * takes them and the excuse path runs too. Readers look up only N_CHURN_READ churn keys, or the
 * churn set would be as hot as the stable keys. Capacity 192 of 512 slots: at 256, runs of
 * max_probe live slots form, and probe evictions (which clear the hints of the window they
 * scan) take hot keys too.
 *
 * Two modes: processes (1 writer + 3 readers, fork: the real deployment) and threads (so that
 * ThreadSanitizer sees libfsc's own memory raced on). Under TSan both run fewer operations. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_table.h"
#include "fsc_test_util.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#define N_STABLE     64
#define N_HOT	     56 /* stable keys 0..N_HOT-1 are hit on every pass; the rest now and then */
#define N_CHURN	     2048
#define N_CHURN_READ 64
#define CHURN_ID0    1000
#define N_READERS    3
#define CAPACITY     192 /* 512 slots, kept full by churn (see the note on probe evictions) */
#define PROC_OPS     (UNDER_TSAN ? 500000ull : 3000000ull)
#define THREAD_OPS   (UNDER_TSAN ? 200000ull : 1000000ull)
#define WAIT_NS	     30000000000ull /* bound on every wait between the parties */
#define RING	     64		    /* recently inserted churn keys, the ones removed */
#define REMOVE_LAG   16
#define PREFIX	     2	 /* churn keys ahead of each stable key in its probe chain */
#define PACE	     256 /* writer ops between checks that the readers keep up */

/* Counts a party keeps privately and copies out when it ends (read after join/waitpid). */
struct reader_stats {
	uint64_t lookups, hits, churn_hits, negatives, unavailable, excused;
	uint64_t genuine_misses, torn, regressions, wrong, wait_timeouts;
	int failed;
};

struct writer_stats {
	uint64_t ops, updates, inserts, removes, evictions, probe_evictions, stable_evictions;
	int failed;
};

/* Lives in a MAP_SHARED anonymous mapping made before fork (or is shared by the threads). */
struct shared {
	char name[64];
	uint64_t ops_target;
	_Atomic uint64_t op;	 /* odd while the writer is inside a table operation */
	_Atomic uint32_t ready;	 /* 1: published with every stable key; 2: the writer failed */
	_Atomic uint32_t primed; /* readers attached and hit every stable key once */
	_Atomic uint32_t stop;	 /* the writer is done: readers report and detach */
	_Atomic uint32_t done;	 /* readers detached: the writer may close */
	_Atomic uint8_t evicted[N_STABLE];  /* sticky, set from on_evict */
	_Atomic uint32_t pacing;	    /* the writer waits for a reader pass */
	_Atomic uint64_t rounds[N_READERS]; /* full passes of a reader over the hot keys */
	char stable_path[N_STABLE][32];	    /* chosen by the writer before ready */
	struct writer_stats w;
	struct reader_stats r[N_READERS];
};

struct fixture {
	struct shared *sh;
	pid_t pid[1 + N_READERS];
};

static char churn_path[N_CHURN][24];

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: deterministic per seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A full barrier. GCC refuses atomic_thread_fence under TSan (which does not model fences);
 * there a seq_cst read-modify-write, a full barrier on every target TSan supports, stands in. */
static void full_fence(void)
{
#if UNDER_TSAN
	static _Atomic uint64_t dummy;
	atomic_fetch_add_explicit(&dummy, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* Spins (yielding) until *word >= want; false after WAIT_NS. */
static bool wait_for(const _Atomic uint32_t *word, uint32_t want)
{
	uint64_t deadline = fsc_writer_now_ns() + WAIT_NS;
	while (atomic_load_explicit(word, memory_order_acquire) < want) {
		if (fsc_writer_now_ns() > deadline)
			return false;
		sched_yield();
	}
	return true;
}

/* ---- writer ---- */

static void on_evict(void *ctx, const char *path, size_t len)
{
	struct shared *sh = ctx;
	if (len < 11 || strncmp(path, "/stable/", 8) != 0)
		return;
	int i = (path[8] - '0') * 10 + (path[9] - '0');
	/* relaxed: published by the release store that ends the operation */
	atomic_store_explicit(&sh->evicted[i], 1, memory_order_relaxed);
	sh->w.stable_evictions++; /* the writer's own count */
}

static void op_begin(struct shared *sh)
{
	uint64_t o = atomic_load_explicit(&sh->op, memory_order_relaxed);
	atomic_store_explicit(&sh->op, o + 1, memory_order_release);
	/* The odd value is ordered before the table stores that follow: a reader that saw any
	 * of them (and then fenced) reads at least this value. */
	full_fence();
}

static void op_end(struct shared *sh)
{
	/* release: on_evict's flag store is visible to whoever reads this even value */
	atomic_store_explicit(&sh->op, atomic_load_explicit(&sh->op, memory_order_relaxed) + 1,
			      memory_order_release);
}

struct wstate {
	struct fsc_writer *w;
	uint64_t rng, version;
	int ring[RING];
	unsigned ring_pos;
};

static void put_fake(struct wstate *ws, const char *path, uint64_t id)
{
	struct stat st;
	fsc_test_fake_stat(&st, id, ++ws->version);
	if (fsc_writer_put(ws->w, path, strlen(path), &st, 0))
		abort();
}

/* One table operation: update a stable key, insert/update a churn key, or remove one. */
static void writer_op(struct shared *sh, struct wstate *ws)
{
	uint64_t x = rng_next(&ws->rng);
	unsigned kind = (unsigned)(x % 100);
	int i = (int)((x >> 8) % N_STABLE);
	if (kind < 40 && !atomic_load_explicit(&sh->evicted[i], memory_order_relaxed)) {
		put_fake(ws, sh->stable_path[i], (uint64_t)i);
		sh->w.updates++;
	} else if (kind < 80) {
		int j = (int)((x >> 16) % N_CHURN);
		if ((x >> 40) % 8 == 0) {
			if (fsc_writer_put_negative(ws->w, churn_path[j], strlen(churn_path[j])))
				abort();
		} else {
			put_fake(ws, churn_path[j], CHURN_ID0 + (uint64_t)j);
		}
		ws->ring[ws->ring_pos++ % RING] = j;
		sh->w.inserts++;
	} else if (ws->ring_pos >= REMOVE_LAG) {
		int j = ws->ring[(ws->ring_pos - REMOVE_LAG) % RING];
		if (fsc_writer_remove(ws->w, churn_path[j], strlen(churn_path[j])) == 0)
			sh->w.removes++;
	}
}

/* Waits until some reader has made a whole pass over the hot keys since the last call.
 * Only for coverage: on 2 busy cores a writer running while readers are descheduled would
 * let CLOCK evict every stable key, leaving nothing for the no-miss check. (PACE ops evict
 * far fewer keys than a CLOCK revolution over CAPACITY entries.) */
static bool writer_pace(struct shared *sh, uint64_t last[N_READERS])
{
	uint64_t start = fsc_writer_now_ns();
	for (bool waiting = false;; waiting = true) {
		bool passed = false;
		for (int k = 0; k < N_READERS; k++) {
			uint64_t r = atomic_load_explicit(&sh->rounds[k], memory_order_relaxed);
			/* two more rounds: one began after the previous check */
			passed = passed || r >= last[k] + 2;
		}
		if (passed)
			break;
		if (!waiting) /* readers yield to us after a pass while this is set */
			atomic_store_explicit(&sh->pacing, 1, memory_order_relaxed);
		uint64_t t = fsc_writer_now_ns();
		if (t > start + WAIT_NS)
			return false;
		/* a reader running on another CPU needs microseconds: spin before giving
		 * this CPU away for a whole time slice */
		if (t > start + 20000)
			sched_yield();
	}
	atomic_store_explicit(&sh->pacing, 0, memory_order_relaxed);
	for (int k = 0; k < N_READERS; k++)
		last[k] = atomic_load_explicit(&sh->rounds[k], memory_order_relaxed);
	return true;
}

static int writer_loop(struct shared *sh, struct wstate *ws)
{
	uint64_t last[N_READERS] = {0};
	for (uint64_t n = 0; n < sh->ops_target; n++) {
		if (n % PACE == 0 && !writer_pace(sh, last))
			return 4;
		op_begin(sh);
		writer_op(sh, ws);
		op_end(sh);
		if ((n & 1023) == 0)
			fsc_writer_heartbeat(ws->w);
	}
	const struct fsc_shm_header *h = fsc_writer_header(ws->w);
	sh->w.ops = sh->ops_target;
	sh->w.probe_evictions = atomic_load(&h->counters[FSC_CTR_PROBE_EVICTIONS]);
	sh->w.evictions = atomic_load(&h->counters[FSC_CTR_EVICTIONS]) + sh->w.probe_evictions;
	return 0;
}

/* Fills the table with churn keys up to CAPACITY - N_STABLE, then adds the stable keys, each
 * under a name whose home slot and the PREFIX - 1 after it are taken: so every stable key
 * sits behind PREFIX churn keys in its probe chain, and readers must get past slots that are
 * removed, evicted and reused while the stable key stays put (PROTOCOL.md invariants 2-4). */
static bool fill_table(struct shared *sh, struct wstate *ws)
{
	const struct fsc_shm_layout *l = fsc_writer_layout(ws->w);
	static bool used[FSC_SLOT_COUNT_MIN * 16];
	if (l->slot_count > sizeof(used))
		return false;
	memset(used, 0, sizeof(used));
	for (int j = 0; j < CAPACITY - N_STABLE; j++) {
		put_fake(ws, churn_path[j], CHURN_ID0 + (uint64_t)j);
		int64_t slot = fsc_writer_slot_of(ws->w, churn_path[j], strlen(churn_path[j]));
		if (slot < 0)
			return false;
		used[slot] = true;
	}
	for (int i = 0; i < N_STABLE; i++) {
		char *p = sh->stable_path[i];
		int taken = 0;
		for (unsigned u = 0; taken < PREFIX; u++) {
			if (u > 10000000)
				return false;
			snprintf(p, sizeof(sh->stable_path[i]), "/stable/%02d/%u", i, u);
			uint64_t home = fsc_shm_hash(l->hash_seed, p, strlen(p)) & l->mask;
			for (taken = 0; taken < PREFIX && used[(home + (uint64_t)taken) & l->mask];)
				taken++;
		}
		put_fake(ws, p, (uint64_t)i);
		int64_t slot = fsc_writer_slot_of(ws->w, p, strlen(p));
		if (slot < 0)
			return false;
		used[slot] = true;
	}
	return true;
}

/* The writer party. Returns 0, or what went wrong. Opens and closes the table in the
 * calling thread (the liveness mutex belongs to it). */
static int writer_run(struct shared *sh)
{
	struct wstate ws = {.rng = 0x9e3779b97f4a7c15ull};
	struct fsc_writer_opts o = {.name = sh->name,
				    .capacity = CAPACITY,
				    .group = (gid_t)-1,
				    .on_evict = on_evict,
				    .evict_ctx = sh};
	const char *why = NULL;
	if (fsc_writer_open(&ws.w, &o, &why)) {
		atomic_store(&sh->ready, 2);
		return 1;
	}
	if (!fill_table(sh, &ws)) {
		fsc_writer_close(ws.w);
		atomic_store(&sh->ready, 2);
		return 5;
	}
	atomic_store_explicit(&sh->ready, 1, memory_order_release);
	int rc = 0;
	/* start churning only once readers hold the stable keys hot */
	if (!wait_for(&sh->primed, N_READERS))
		rc = 2;
	else
		rc = writer_loop(sh, &ws);
	atomic_store_explicit(&sh->stop, 1, memory_order_release);
	if (!wait_for(&sh->done, N_READERS) && !rc)
		rc = 3;
	fsc_writer_close(ws.w);
	sh->w.failed = rc;
	return rc;
}

/* ---- readers ---- */

struct rstate {
	struct shared *sh;
	fsc_t *c;
	uint64_t rng;
	unsigned next_stable; /* stable keys are looked up in turn, so a round covers all */
	uint64_t last_version[N_STABLE];
	struct reader_stats n;
};

/* Stable key i missed. True if the writer evicted it (the miss is excused). */
static bool miss_excused(struct rstate *rs, int i)
{
	struct shared *sh = rs->sh;
	/* Pairs with op_begin's fence: the miss saw a table store made inside some operation,
	 * so o1 is at least that operation's odd value. */
	full_fence();
	uint64_t o1 = atomic_load_explicit(&sh->op, memory_order_acquire);
	uint64_t target = (o1 + 1) & ~1ull; /* the next even value >= o1 */
	uint64_t deadline = fsc_writer_now_ns() + WAIT_NS;
	while (atomic_load_explicit(&sh->op, memory_order_acquire) < target) {
		if (fsc_writer_now_ns() > deadline) {
			rs->n.wait_timeouts++;
			return false;
		}
		sched_yield();
	}
	return atomic_load_explicit(&sh->evicted[i], memory_order_relaxed) != 0;
}

static void check_stable(struct rstate *rs, int i)
{
	struct stat st;
	int r = fsc_lookup(rs->c, rs->sh->stable_path[i], &st, NULL);
	if (r == FSC_HIT) {
		rs->n.hits++;
		if (!fsc_test_fake_stat_consistent(&st, (uint64_t)i)) {
			rs->n.torn++;
			return;
		}
		uint64_t v = (uint64_t)st.st_ino - (uint64_t)i * 1000003;
		if (v < rs->last_version[i])
			rs->n.regressions++; /* an older record than one already seen */
		rs->last_version[i] = v;
	} else if (r == FSC_UNAVAILABLE) {
		rs->n.unavailable++;
	} else if (r == FSC_MISS) {
		if (miss_excused(rs, i))
			rs->n.excused++;
		else
			rs->n.genuine_misses++;
	} else {
		rs->n.wrong++; /* a stable key is never negative */
	}
}

static void check_churn(struct rstate *rs, int j)
{
	struct stat st;
	struct fsc_info info;
	int r = fsc_lookup(rs->c, churn_path[j], &st, &info);
	if (r == FSC_HIT) {
		rs->n.churn_hits++;
		if (!fsc_test_fake_stat_consistent(&st, CHURN_ID0 + (uint64_t)j))
			rs->n.torn++;
	} else if (r == FSC_NEGATIVE) {
		rs->n.negatives++;
		if (!(info.flags & FSC_FLAG_NEGATIVE))
			rs->n.wrong++;
	} else if (r == FSC_UNAVAILABLE) {
		rs->n.unavailable++;
	} else if (r != FSC_MISS) {
		rs->n.wrong++;
	}
}

/* One lookup: the next hot key of the pass (mostly), a random cold stable key or a churn key. */
static void reader_step(struct rstate *rs, int k)
{
	uint64_t x = rng_next(&rs->rng);
	unsigned pick = (unsigned)(x % 64);
	if (pick < 16) {
		check_churn(rs, (int)((x >> 8) % N_CHURN_READ));
	} else if (pick < 18) {
		check_stable(rs, N_HOT + (int)((x >> 8) % (N_STABLE - N_HOT)));
	} else {
		check_stable(rs, (int)(rs->next_stable++ % N_HOT));
		if (rs->next_stable % N_HOT == 0) {
			atomic_fetch_add_explicit(&rs->sh->rounds[k], 1, memory_order_relaxed);
			/* on a crowded CPU, hand it back to the writer instead of a whole slice */
			if (atomic_load_explicit(&rs->sh->pacing, memory_order_relaxed))
				sched_yield();
		}
	}
	rs->n.lookups++;
}

/* A reader party. Returns 0, or what went wrong. */
static int reader_run(struct shared *sh, int k)
{
	struct rstate rs = {.sh = sh, .rng = 0x1234567ull * (uint64_t)(k + 1)};
	int rc = 0;
	if (!wait_for(&sh->ready, 1) || atomic_load(&sh->ready) != 1 ||
	    !(rs.c = fsc_open(sh->name)))
		rc = 1;
	for (int i = 0; !rc && i < N_STABLE; i++)
		check_stable(&rs, i); /* sets every stable key's hit hint */
	atomic_fetch_add_explicit(&sh->primed, 1, memory_order_release);
	for (uint64_t n = 0; !rc; n++) {
		if ((n & 63) == 0 && atomic_load_explicit(&sh->stop, memory_order_acquire))
			break;
		reader_step(&rs, k);
	}
	fsc_close(rs.c);
	rs.n.failed = rc;
	sh->r[k] = rs.n;
	atomic_fetch_add_explicit(&sh->done, 1, memory_order_release);
	return rc;
}

/* ---- the two modes ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->sh =
	    mmap(NULL, sizeof(*f->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->sh == MAP_FAILED)
		return -1;
	fsc_test_name(f->sh->name, sizeof(f->sh->name), "stress");
	for (int j = 0; j < N_CHURN; j++)
		snprintf(churn_path[j], sizeof(churn_path[j]), "/churn/%04d", j);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int status;
	for (int i = 0; i < 1 + N_READERS; i++) {
		if (f->pid[i] > 0) {
			kill(f->pid[i], SIGKILL);
			waitpid(f->pid[i], &status, 0);
		}
	}
	int left = fsc_test_shm_leftovers(f->sh->name, true);
	munmap(f->sh, sizeof(*f->sh));
	free(f);
	return left ? -1 : 0; /* the writer closes its table when it is done */
}

static uint64_t sum(const struct shared *sh, size_t offset)
{
	uint64_t s = 0;
	for (int k = 0; k < N_READERS; k++)
		s += *(const uint64_t *)(const void *)((const char *)&sh->r[k] + offset);
	return s;
}
#define SUM(sh, field) sum(sh, offsetof(struct reader_stats, field))

static void check_results(const struct shared *sh, const char *mode, uint64_t ms)
{
	int never_evicted = 0;
	for (int i = 0; i < N_STABLE; i++)
		never_evicted += !atomic_load(&sh->evicted[i]);
	print_message(
	    "%s: %llu ops in %llu ms (updates %llu, inserts %llu, removes %llu, "
	    "evictions %llu (probe %llu, stable keys %llu)); readers: lookups %llu, stable hits "
	    "%llu, churn hits %llu, negatives %llu, unavailable %llu, excused misses "
	    "%llu; stable keys never evicted %d/%d\n",
	    mode, (unsigned long long)sh->w.ops, (unsigned long long)ms,
	    (unsigned long long)sh->w.updates, (unsigned long long)sh->w.inserts,
	    (unsigned long long)sh->w.removes, (unsigned long long)sh->w.evictions,
	    (unsigned long long)sh->w.probe_evictions, (unsigned long long)sh->w.stable_evictions,
	    (unsigned long long)SUM(sh, lookups), (unsigned long long)SUM(sh, hits),
	    (unsigned long long)SUM(sh, churn_hits), (unsigned long long)SUM(sh, negatives),
	    (unsigned long long)SUM(sh, unavailable), (unsigned long long)SUM(sh, excused),
	    never_evicted, N_STABLE);
	assert_int_equal(sh->w.failed, 0);
	for (int k = 0; k < N_READERS; k++)
		assert_int_equal(sh->r[k].failed, 0);
	assert_int_equal(sh->w.ops, sh->ops_target);
	assert_int_equal(SUM(sh, torn), 0);
	assert_int_equal(SUM(sh, genuine_misses), 0);
	assert_int_equal(SUM(sh, regressions), 0);
	assert_int_equal(SUM(sh, wrong), 0);
	assert_int_equal(SUM(sh, wait_timeouts), 0);
	assert_true(SUM(sh, hits) > 0);
	assert_true(SUM(sh, churn_hits) > 0);
	assert_true(sh->w.evictions > 0);
	assert_true(sh->w.removes > 0);
	assert_true(sh->w.updates > 0);
	/* most stable keys were present throughout: the no-miss check really ran on them */
	assert_true(never_evicted > N_STABLE / 2);
}

static void test_stress_processes(void **state)
{
	struct fixture *f = *state;
	struct shared *sh = f->sh;
	sh->ops_target = PROC_OPS;
	pid_t parent = getpid();
	uint64_t t0 = fsc_test_now_ms();
	for (int i = 0; i < 1 + N_READERS; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(9);
			_exit(i == 0 ? writer_run(sh) : reader_run(sh, i - 1));
		}
		f->pid[i] = pid;
	}
	for (int i = 0; i < 1 + N_READERS; i++) {
		int status;
		assert_int_equal(waitpid(f->pid[i], &status, 0), f->pid[i]);
		f->pid[i] = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s %d ended with status 0x%x", i ? "reader" : "writer", i,
				 status);
	}
	check_results(sh, "processes", fsc_test_now_ms() - t0);
}

static void *writer_thread(void *arg)
{
	return (void *)(intptr_t)writer_run(arg);
}

static struct shared *reader_arg_sh;
static void *reader_thread(void *arg)
{
	return (void *)(intptr_t)reader_run(reader_arg_sh, (int)(intptr_t)arg);
}

static void test_stress_threads(void **state)
{
	struct fixture *f = *state;
	struct shared *sh = f->sh;
	sh->ops_target = THREAD_OPS;
	reader_arg_sh = sh;
	pthread_t t[1 + N_READERS];
	uint64_t t0 = fsc_test_now_ms();
	assert_int_equal(pthread_create(&t[0], NULL, writer_thread, sh), 0);
	for (int k = 0; k < N_READERS; k++)
		assert_int_equal(
		    pthread_create(&t[1 + k], NULL, reader_thread, (void *)(intptr_t)k), 0);
	for (int i = 0; i < 1 + N_READERS; i++) {
		void *rc;
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	check_results(sh, "threads", fsc_test_now_ms() - t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stress_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stress_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
