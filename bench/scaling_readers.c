/* Reader scaling across processes: 1, 2, 4 reader PROCESSES doing fsc_lookup hits over one
 * table for a fixed window while the writer (this driver's parent process, through the writer
 * API) applies a steady stream of updates to random keys, each changing the record's size.
 *
 *   scaling_readers [--keys N] [--window-ms MS] [--readers 1,2,4] [--update-rate R]
 *                   [--rounds K] [--hot-keys H] [--table NAME]
 *
 * Prints one JSON object on stdout and a summary on stderr (scaling_readers_report.c); the
 * reader processes are in scaling_readers_child.c. Experiments, each run once per round (rounds
 * interleave, so a noisy spell on a shared VM hits all alike):
 *   libfsc            readers call fsc_lookup (the library as shipped); lookups/s.
 *   counted           readers run a copy of the library's read path (fsc_shm_read.h: key,
 *                     probe, per-slot seqlock read, hint stored only if clear) that counts
 *                     seqlock retries, which the library keeps no count of. It skips the
 *                     liveness check (header state, futex word, coarse clock).
 *   counted_store_always  as counted, but every hit stores its hint byte: what loading first
 *                     saves when several readers hit the same hint cache lines.
 *   libfsc_hints_cleared  as libfsc, but the writer zeroes every hit hint each millisecond,
 *                     so hits keep storing into the shared hint bytes (a stress: CLOCK really
 *                     clears one hint per eviction).
 *   libfsc_idle_writer    as libfsc with no updates, 1 reader (the reference).
 *   trap_hints_kept / trap_hints_cleared  2 readers that write-protect their own mapping of
 *                     the hint segment after a warm-up pass and count the faults a store into
 *                     it takes (unprotecting the page, re-protecting every 1024 lookups).
 *                     The table itself is mapped PROT_READ: the hint segment is the only shared
 *                     memory a reader can write. 0 faults = no repeat hit stored anything.
 *   counted_hot<H>    2 counting readers and the writer's updates all on the first H keys.
 * Each reader walks the keys round-robin from its own offset (slots in hash order). Every
 * answer is checked (a hit with the key's own inode number); FSC_UNAVAILABLE is counted, not
 * an error (a slot the writer held odd for FSC_SLOT_READ_TRIES reads: a preempted writer). The
 * writer times each put: a long one was preempted, its slot's seqlock odd meanwhile.
 */
#define _GNU_SOURCE
#include "scaling_readers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsc.h"
#include "fsc_writer.h"

#define BEAT_NS		 100000000ull
#define READY_TIMEOUT_NS 20000000000ull
#define SLOW_PUT_NS	 10000ull

static void record_of(size_t k, uint64_t version, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)(INO_BASE + k);
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = (off_t)version; /* every update changes the record */
	st->st_blksize = 4096;
	st->st_mtim.tv_sec = 1700000000 + (time_t)version;
}

/* ---- the writer (this process) ---- */

static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void clear_hints(struct setup *s)
{
	for (uint64_t i = 0; i < s->layout.slot_count; i++)
		atomic_store_explicit(&s->hints[i], 0, memory_order_relaxed);
}

/* One update of key k (its size changes), timed: a put that takes long was preempted, and
 * a slot's seqlock stays odd for as long as that lasts. */
static void update_key(struct setup *s, size_t k, struct run_result *out)
{
	struct stat st;
	record_of(k, ++s->version, &st);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	fsc_writer_put(s->writer, key_at(s, k), strlen(key_at(s, k)), &st, 0);
	uint64_t took = now_ns(CLOCK_MONOTONIC) - t0;
	out->puts_slow += took > SLOW_PUT_NS;
	if (took > out->put_max_ns)
		out->put_max_ns = took;
}

/* Paced updates for window_ns (a batch every TICK_NS), heartbeat every BEAT_NS. */
static void writer_window(struct setup *s, const struct experiment *e, uint64_t window_ns,
			  struct run_result *out)
{
	size_t range = e->hot_keys ? e->hot_keys : s->opt.keys;
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ s->version, done = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), next_beat = t0, tick = t0, t = t0;
	atomic_store_explicit(&s->ctl->phase, 1, memory_order_release);
	while ((t = now_ns(CLOCK_MONOTONIC)) - t0 < window_ns) {
		uint64_t due = (uint64_t)e->update_rate * (t - t0) / 1000000000ull;
		for (; done < due; done++)
			update_key(s, (size_t)(next_random(&rng) % range), out);
		if (e->clear_hints)
			clear_hints(s);
		if (t >= next_beat) {
			fsc_writer_heartbeat(s->writer);
			next_beat += BEAT_NS;
		}
		tick += TICK_NS;
		struct timespec ts = {(time_t)(tick / 1000000000ull), (long)(tick % 1000000000ull)};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	atomic_store_explicit(&s->ctl->phase, 2, memory_order_release);
	out->updates_per_s = (double)done * 1e9 / (double)(t - t0);
}

/* Heartbeats until every reader is ready; false if one failed or took too long. */
static bool wait_ready(struct setup *s, unsigned readers)
{
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	while (atomic_load(&s->ctl->ready) < readers) {
		fsc_writer_heartbeat(s->writer);
		if (now_ns(CLOCK_MONOTONIC) - t0 > READY_TIMEOUT_NS)
			return false;
		usleep(1000);
	}
	for (unsigned i = 0; i < readers; i++)
		if (s->ctl->result[i].failed)
			return false;
	return true;
}

static size_t count_hints_set(struct setup *s)
{
	size_t set = 0;
	for (size_t k = 0; k < s->opt.keys; k++) {
		int64_t idx = fsc_writer_slot_of(s->writer, key_at(s, k), strlen(key_at(s, k)));
		set += idx >= 0 && atomic_load_explicit(&s->hints[idx], memory_order_relaxed);
	}
	return set;
}

static int run_experiment(struct setup *s, const struct experiment *e, struct run_result *out)
{
	pid_t pids[READERS_MAX];
	memset(s->ctl, 0, sizeof(*s->ctl));
	fsc_writer_heartbeat(s->writer);
	unsigned forked = 0;
	for (; forked < e->readers; forked++) {
		pids[forked] = fork();
		if (pids[forked] == 0)
			scaling_reader_main(s, e, forked);
		if (pids[forked] < 0)
			break;
	}
	bool ok = forked == e->readers && wait_ready(s, e->readers);
	if (ok)
		writer_window(s, e, (uint64_t)s->opt.window_ms * 1000000ull, out);
	else
		atomic_store(&s->ctl->phase, 2);
	for (unsigned i = 0; i < forked; i++) {
		int status = 0;
		waitpid(pids[i], &status, 0);
		out->reader[i] = s->ctl->result[i];
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		ok = false;
		fprintf(stderr,
			"scaling_readers: %s reader %u: status 0x%x, %" PRIu64 " of %" PRIu64
			" answers wrong, %" PRIu64 " unavailable\n",
			e->name, i, (unsigned)status, out->reader[i].wrong, out->reader[i].lookups,
			out->reader[i].unavailable);
	}
	out->hints_set = count_hints_set(s);
	return ok ? 0 : -1;
}

/* ---- setup ---- */

static int setup_writer(struct setup *s)
{
	const char *why = NULL;
	struct fsc_writer_opts wo = {.name = s->opt.table, .capacity = s->opt.keys, .group = -1};
	if (fsc_writer_open(&s->writer, &wo, &why)) {
		fprintf(stderr, "scaling_readers: fsc_writer_open: %s\n", why);
		s->writer = NULL;
		return -1;
	}
	for (size_t k = 0; k < s->opt.keys; k++) {
		struct stat st;
		record_of(k, 0, &st);
		if (fsc_writer_put(s->writer, key_at(s, k), strlen(key_at(s, k)), &st, 0)) {
			fprintf(stderr, "scaling_readers: the writer refused %s\n", key_at(s, k));
			return -1;
		}
	}
	fsc_writer_heartbeat(s->writer);
	s->layout = *fsc_writer_layout(s->writer);
	return 0;
}

/* The writer's own read-write view of the hint segment (to clear and count hints). */
static int setup_hints(struct setup *s)
{
	char hname[FSC_SHM_OBJECT_NAME_MAX];
	if (fsc_shm_hints_name(hname, sizeof(hname), s->opt.table, s->layout.generation))
		return -1;
	snprintf(s->hints_path, sizeof(s->hints_path), "%s", hname);
	int fd = open(hname, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "scaling_readers: no hint segment %s: %s\n", hname,
			strerror(errno));
		return -1;
	}
	void *p = mmap(NULL, s->layout.slot_count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	s->hints = p;
	return 0;
}

static int setup(struct setup *s)
{
	s->keys = calloc(s->opt.keys, KEY_STRIDE);
	s->ctl =
	    mmap(NULL, sizeof(*s->ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!s->keys || s->ctl == MAP_FAILED)
		return -1;
	for (size_t k = 0; k < s->opt.keys; k++)
		snprintf(s->keys + k * KEY_STRIDE, KEY_STRIDE,
			 "/srv/fsc-scaling/data/dir-%02zu/access-%07zu.log", k % 100, k);
	if (setup_writer(s) || setup_hints(s))
		return -1;
	return 0;
}

static void teardown(struct setup *s)
{
	if (s->hints)
		munmap((void *)s->hints, s->layout.slot_count);
	if (s->writer)
		fsc_writer_close(s->writer); /* unlinks the table and its hint segment */
	if (s->ctl && s->ctl != MAP_FAILED)
		munmap(s->ctl, sizeof(*s->ctl));
	free(s->keys);
}

/* ---- plan, options ---- */

static void plan_add(struct experiment *ex, size_t *n, struct experiment e)
{
	if (*n < EXPERIMENTS_MAX && e.readers > 0 && e.readers <= READERS_MAX)
		ex[(*n)++] = e;
}

static size_t plan(const struct options *o, struct experiment *ex)
{
	size_t n = 0;
	unsigned rate = o->update_rate;
	const unsigned *counts = o->reader_counts;
	/* each at every reader count, in this order */
	static const struct experiment per_count[] = {
	    {.name = "libfsc", .loop = LOOP_LIBFSC},
	    {.name = "counted", .loop = LOOP_COUNTED, .hint = HINT_IF_CLEAR},
	    {.name = "counted_store_always", .loop = LOOP_COUNTED, .hint = HINT_ALWAYS},
	    {.name = "libfsc_hints_cleared", .loop = LOOP_LIBFSC, .clear_hints = true}};
	for (size_t t = 0; t < sizeof(per_count) / sizeof(per_count[0]); t++) {
		for (unsigned i = 0; i < o->nreader_counts; i++) {
			struct experiment e = per_count[t];
			e.readers = counts[i];
			e.update_rate = rate;
			plan_add(ex, &n, e);
		}
	}
	plan_add(
	    ex, &n,
	    (struct experiment){
		.name = "libfsc_idle_writer", .loop = LOOP_LIBFSC, .readers = 1, .update_rate = 0});
	plan_add(ex, &n,
		 (struct experiment){.name = "trap_hints_kept",
				     .loop = LOOP_LIBFSC,
				     .readers = 2,
				     .update_rate = rate,
				     .trap = true});
	plan_add(ex, &n,
		 (struct experiment){.name = "trap_hints_cleared",
				     .loop = LOOP_LIBFSC,
				     .readers = 2,
				     .update_rate = rate,
				     .clear_hints = true,
				     .trap = true});
	if (o->hot_keys && o->hot_keys < o->keys) {
		struct experiment hot = {.loop = LOOP_COUNTED,
					 .readers = 2,
					 .update_rate = rate,
					 .hint = HINT_IF_CLEAR,
					 .hot_keys = o->hot_keys};
		snprintf(hot.name, sizeof(hot.name), "counted_hot%zu", o->hot_keys);
		plan_add(ex, &n, hot);
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: scaling_readers [--keys N] [--window-ms MS] [--readers 1,2,4] "
			"[--update-rate R] [--rounds K] [--hot-keys H] [--table NAME]\n");
	exit(2);
}

static unsigned parse_readers(const char *arg, unsigned *counts, unsigned max)
{
	unsigned n = 0;
	for (char *end; *arg && n < max; arg = *end == ',' ? end + 1 : end) {
		unsigned long v = strtoul(arg, &end, 10);
		if (end == arg || v == 0 || v > READERS_MAX)
			usage();
		counts[n++] = (unsigned)v;
	}
	return n;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){.keys = 10000,
			      .window_ms = 2000,
			      .update_rate = 10000,
			      .rounds = 3,
			      .reader_counts = {1, 2, 4},
			      .nreader_counts = 3,
			      .hot_keys = 64};
	snprintf(o->table, sizeof(o->table), "fscscale.%d", (int)getpid());
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (strcmp(flag, "--keys") == 0)
			o->keys = strtoull(v, NULL, 10);
		else if (strcmp(flag, "--window-ms") == 0)
			o->window_ms = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(flag, "--update-rate") == 0)
			o->update_rate = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(flag, "--rounds") == 0)
			o->rounds = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(flag, "--hot-keys") == 0)
			o->hot_keys = strtoull(v, NULL, 10);
		else if (strcmp(flag, "--readers") == 0)
			o->nreader_counts = parse_readers(v, o->reader_counts, 8);
		else if (strcmp(flag, "--table") == 0)
			snprintf(o->table, sizeof(o->table), "%s", v);
		else
			usage();
	}
	if (o->keys == 0 || o->keys > 10000000 || o->window_ms == 0 || o->rounds == 0 ||
	    o->rounds > ROUNDS_MAX)
		usage();
}

static struct run_result results[ROUNDS_MAX][EXPERIMENTS_MAX];

int main(int argc, char **argv)
{
	static struct setup s;
	parse_options(argc, argv, &s.opt);
	struct experiment ex[EXPERIMENTS_MAX];
	size_t nex = plan(&s.opt, ex);
	if (setup(&s)) {
		fprintf(stderr, "scaling_readers: setup failed\n");
		teardown(&s);
		return 1;
	}
	double load[3], load_before;
	getloadavg(load, 3);
	load_before = load[0];
	for (unsigned r = 0; r < s.opt.rounds; r++) {
		for (size_t i = 0; i < nex; i++) {
			if (run_experiment(&s, &ex[i], &results[r][i]) == 0)
				continue;
			fprintf(stderr, "scaling_readers: %s with %u readers failed\n", ex[i].name,
				ex[i].readers);
			teardown(&s);
			return 1;
		}
	}
	getloadavg(load, 3);
	scaling_report_json(stdout, &s, ex, nex, results, (double[2]){load_before, load[0]});
	scaling_report_text(stderr, &s, ex, nex, results);
	teardown(&s);
	return 0;
}
