/* Hit-ratio study: how well does fsc's eviction keep what readers use?
 *
 * Replays synthetic key traces against
 *   - fsc's real table: a reader looks each path up with fsc_lookup on a table opened with
 *     fsc_open (so hit hints are set exactly as in production) and, on a miss, the writer
 *     inserts it with fsc_writer_put into a table of capacity C (CLOCK evicts beyond C);
 *     optionally with the on-demand admission filter (writer/fscd/fscd_admit.h) deciding whether a
 *     miss is inserted; and, as a diagnostic, with hits that never set a hint (lookups made on
 *     the writer side), which shows what the hints buy;
 *   - exact LRU, SIEVE and textbook CLOCK of the same capacity (sim_policies.c), LRU also
 *     behind the same admission filter;
 *   - the static top-C bound: the hit ratio of a cache that always holds the C most popular
 *     keys (no policy does better on these independent-reference traces, up to noise).
 * Traces: Zipf(alpha) over `keys` paths, and Zipf 1.0 interleaved with a one-off sequential
 * scan (each scanned path is requested exactly once). The first `warmup` requests fill the
 * caches and are not counted. Every random choice here is seeded, so the same flags give the
 * same traces and the same numbers, except that each fsc table draws its own random hash
 * seed (by design), which moves fsc's figures by about 0.1 point from run to run.
 *
 * JSON on stdout, a table on stderr. bench/run_eviction.sh runs it and keeps the JSON. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fscd_admit.h"
#include "fscd_bench_opts.h"
#include "sim_fsc.h"
#include "sim_policies.h"

#define NS_PER_REQUEST	 1000u /* virtual time for the admission window: 1 M requests/s */
#define HEARTBEAT_EVERY	 8192u /* requests between writer heartbeats (readers need < 2 s) */
#define ID_DIGITS	 7u    /* path ids are 7 decimal digits */
#define FSC_SLOT_SIZE	 256u  /* the smallest slot: these paths are 25-26 bytes */
#define PATH_BUF	 64u
#define MAX_RESULTS	 256u
#define PROBE_SAMPLES	 32u	/* fsc table scans for the miss probe length, per run */
#define FSCD_DEFAULT_CAP 16384u /* fscd's default --capacity, also studied */

struct study {
	uint32_t keys;		  /* Zipf key space */
	uint64_t requests;	  /* per trace, warmup included */
	uint64_t warmup;	  /* requests not counted */
	uint64_t seed;		  /* of every random choice */
	uint64_t window_requests; /* admission window, in requests */
	double doorkeeper_factor; /* admission filter entries per cache entry */
	double scan_share;	  /* share of the scan trace's requests that are scan keys */
};

struct trace {
	char name[32];
	double alpha;
	double scan_share;
	uint32_t *ids;	   /* request -> key id; ids >= keys are scan keys */
	uint32_t universe; /* every id is below this */
	double *cdf;	   /* Zipf popularity by rank, cumulative (for the top-C bound) */
};

enum policy {
	P_FSC,
	P_FSC_ADMIT,
	P_FSC_NO_HINTS,
	P_LRU,
	P_LRU_ADMIT,
	P_SIEVE,
	P_CLOCK,
	P_TOP_C,
	P_COUNT
};

static const char *const policy_name[P_COUNT] = {
    "fsc_clock", "fsc_clock_admit", "fsc_no_hints", "lru", "lru_admit", "sieve", "clock", "top_c",
};
static const char *const policy_label[P_COUNT] = {
    "fsc", "fsc+adm", "fsc-nohint", "LRU", "LRU+adm", "SIEVE", "CLOCK", "top-C",
};

struct result {
	char trace[32];
	enum policy policy;
	double cache_share;
	uint32_t capacity;
	uint64_t hits, measured, inserts;
	uint64_t evictions, probe_evictions, rebuilds; /* fsc counters */
	double miss_probe_mean, miss_probe_max;	       /* fsc: slots an absent key's lookup reads */
	unsigned probe_samples;			       /* scans of the table behind those two */
	double seconds;
};

static struct result results[MAX_RESULTS];
static unsigned nresults;

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		sim_die("out of memory");
	return p;
}

/* splitmix64 (Steele, Lea, Flood 2014): a generator, and its finalizer as a hash. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return mix64(*state);
}

static double rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) * 0x1.0p-53; /* [0, 1) */
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "/var/log/app/f0001234.log" for Zipf keys, "/var/log/scan/s0001234.log" for scan keys. */
static size_t key_path(char *buf, uint32_t id, uint32_t keys)
{
	const char *dir = id < keys ? "/var/log/app/f" : "/var/log/scan/s";
	size_t n = strlen(dir);
	memcpy(buf, dir, n);
	for (unsigned i = ID_DIGITS; i-- > 0; id /= 10)
		buf[n + i] = (char)('0' + id % 10);
	memcpy(buf + n + ID_DIGITS, ".log", 5);
	return n + ID_DIGITS + 4;
}

static uint32_t zipf_rank(const double *cdf, uint32_t keys, double u)
{
	uint32_t lo = 0, hi = keys - 1; /* the first rank whose cdf exceeds u */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* A trace of s->requests ids: Zipf(alpha) ranks mapped to ids by a random permutation (so
 * popularity has nothing to do with id order), a scan_share of them replaced by the next id
 * of a sequential scan that never repeats. */
static void trace_make(struct trace *t, const struct study *s, double alpha, double scan_share,
		       uint64_t salt)
{
	uint64_t rng = s->seed ^ mix64(salt);
	t->alpha = alpha;
	t->scan_share = scan_share;
	snprintf(t->name, sizeof(t->name), scan_share > 0 ? "zipf%.1f+scan%.0f%%" : "zipf%.1f",
		 alpha, scan_share * 100);
	t->cdf = xcalloc(s->keys, sizeof(double));
	double sum = 0;
	for (uint32_t r = 0; r < s->keys; r++)
		t->cdf[r] = (sum += pow((double)(r + 1), -alpha));
	for (uint32_t r = 0; r < s->keys; r++)
		t->cdf[r] /= sum;
	uint32_t *id_of_rank = xcalloc(s->keys, sizeof(uint32_t));
	for (uint32_t r = 0; r < s->keys; r++)
		id_of_rank[r] = r;
	for (uint32_t r = s->keys - 1; r > 0; r--) { /* Fisher-Yates */
		uint32_t j = (uint32_t)(rng_next(&rng) % (r + 1));
		uint32_t tmp = id_of_rank[r];
		id_of_rank[r] = id_of_rank[j];
		id_of_rank[j] = tmp;
	}
	t->ids = xcalloc(s->requests, sizeof(uint32_t));
	uint32_t next_scan = s->keys;
	for (uint64_t i = 0; i < s->requests; i++) {
		if (scan_share > 0 && rng_unit(&rng) < scan_share)
			t->ids[i] = next_scan++;
		else
			t->ids[i] = id_of_rank[zipf_rank(t->cdf, s->keys, rng_unit(&rng))];
	}
	t->universe = next_scan;
	free(id_of_rank);
}

static void trace_free(struct trace *t)
{
	free(t->ids);
	free(t->cdf);
}

static uint64_t admit_key_hash(uint32_t id, const struct study *s)
{
	return mix64(id ^ s->seed ^ 0x5bd1e995u);
}

static void admit_open(struct fscd_admit *a, uint32_t capacity, const struct study *s)
{
	size_t entries = FSCD_ADMIT_WAYS;
	while (entries < capacity * s->doorkeeper_factor)
		entries <<= 1;
	if (fscd_admit_init(a, entries, s->window_requests * NS_PER_REQUEST) != 0)
		sim_die("fscd_admit_init(%zu) failed", entries);
}

static struct result *result_new(const struct trace *t, enum policy p, uint32_t capacity,
				 double share)
{
	if (nresults == MAX_RESULTS)
		sim_die("too many results");
	struct result *r = &results[nresults++];
	*r = (struct result){.policy = p, .capacity = capacity, .cache_share = share};
	snprintf(r->trace, sizeof(r->trace), "%s", t->name);
	return r;
}

/* Request i of key id was a hit or not: counted after the warm-up. True if the key is to be
 * inserted: a miss that the admission filter a (NULL: none) lets in. */
static bool sim_request(const struct study *s, struct result *r, uint64_t i, bool hit,
			struct fscd_admit *a, uint32_t id)
{
	if (i >= s->warmup) {
		r->measured++;
		r->hits += hit;
	}
	return !hit && (!a || fscd_admit_request(a, admit_key_hash(id, s), i * NS_PER_REQUEST));
}

static void run_sim(const struct trace *t, const struct study *s, enum policy p, uint32_t capacity,
		    struct result *r)
{
	static const enum sim_policy sim_of[P_COUNT] = {[P_LRU] = SIM_LRU,
							[P_LRU_ADMIT] = SIM_LRU,
							[P_SIEVE] = SIM_SIEVE,
							[P_CLOCK] = SIM_CLOCK};
	bool admit = p == P_LRU_ADMIT;
	struct sim_cache *c = sim_cache_new(sim_of[p], capacity, t->universe);
	if (!c)
		sim_die("out of memory");
	struct fscd_admit a;
	if (admit)
		admit_open(&a, capacity, s);
	for (uint64_t i = 0; i < s->requests; i++) {
		uint32_t id = t->ids[i];
		if (!sim_request(s, r, i, sim_cache_lookup(c, id), admit ? &a : NULL, id))
			continue;
		sim_cache_insert(c, id);
		r->inserts++;
	}
	if (admit)
		fscd_admit_free(&a);
	sim_cache_free(c);
}

static void sample_miss_probe(const struct fsc_sim *f, struct result *r)
{
	double len = fsc_sim_miss_probe_length(f);
	r->miss_probe_mean += len; /* a sum until run_fsc divides it */
	r->probe_samples++;
	if (len > r->miss_probe_max)
		r->miss_probe_max = len;
}

static void run_fsc(const struct trace *t, const struct study *s, enum policy p, uint32_t capacity,
		    struct result *r)
{
	bool admit = p == P_FSC_ADMIT, hints = p != P_FSC_NO_HINTS;
	struct fsc_sim f;
	struct fscd_admit a;
	char path[PATH_BUF];
	uint64_t sample_every = (s->requests - s->warmup) / PROBE_SAMPLES;
	if (sample_every == 0)
		sample_every = 1;
	fsc_sim_open(&f, capacity, FSC_SLOT_SIZE);
	if (admit)
		admit_open(&a, capacity, s);
	for (uint64_t i = 0; i < s->requests; i++) {
		if (i % HEARTBEAT_EVERY == 0)
			fsc_writer_heartbeat(f.w);
		if (i >= s->warmup && (i - s->warmup) % sample_every == sample_every - 1)
			sample_miss_probe(&f, r);
		uint32_t id = t->ids[i];
		size_t len = key_path(path, id, s->keys);
		if (!sim_request(s, r, i, fsc_sim_lookup(&f, path, len, hints), admit ? &a : NULL,
				 id))
			continue;
		fsc_sim_put(&f, path, len, id);
		r->inserts++;
	}
	if (fsc_sim_counter(&f, FSC_CTR_ENTRIES) > capacity)
		sim_die("fsc table holds %" PRIu64 " entries, capacity %u",
			fsc_sim_counter(&f, FSC_CTR_ENTRIES), capacity);
	r->evictions = fsc_sim_counter(&f, FSC_CTR_EVICTIONS);
	r->probe_evictions = fsc_sim_counter(&f, FSC_CTR_PROBE_EVICTIONS);
	r->rebuilds = fsc_sim_counter(&f, FSC_CTR_REBUILDS);
	if (r->probe_samples)
		r->miss_probe_mean /= r->probe_samples;
	if (admit)
		fscd_admit_free(&a);
	fsc_sim_close(&f);
}

/* The static top-C bound: the popularity of the C most popular Zipf keys. */
static void top_c_bound(const struct trace *t, const struct study *s, uint32_t capacity,
			struct result *r)
{
	uint32_t c = capacity < s->keys ? capacity : s->keys;
	double share = (1.0 - t->scan_share) * t->cdf[c - 1];
	r->measured = s->requests - s->warmup;
	r->hits = (uint64_t)llround(share * (double)r->measured);
}

static void run_trace(const struct trace *t, const struct study *s)
{
	/* 1%, 10% and 50% of the keys, and fscd's default capacity (a table at load 0.5) */
	const uint32_t capacities[] = {s->keys / 100, s->keys / 10, FSCD_DEFAULT_CAP, s->keys / 2};
	for (size_t k = 0; k < sizeof(capacities) / sizeof(capacities[0]); k++) {
		uint32_t capacity = capacities[k];
		for (enum policy p = 0; p < P_COUNT; p++) {
			struct result *r =
			    result_new(t, p, capacity, (double)capacity / (double)s->keys);
			double t0 = now_seconds();
			if (p == P_FSC || p == P_FSC_ADMIT || p == P_FSC_NO_HINTS)
				run_fsc(t, s, p, capacity, r);
			else if (p == P_TOP_C)
				top_c_bound(t, s, capacity, r);
			else
				run_sim(t, s, p, capacity, r);
			r->seconds = now_seconds() - t0;
		}
	}
}

static double hit_ratio(const struct result *r)
{
	return r->measured ? (double)r->hits / (double)r->measured : 0;
}

static void print_json(const struct study *s)
{
	printf("{\n  \"study\": \"eviction hit ratio\",\n  \"seed\": %" PRIu64 ",\n", s->seed);
	printf("  \"keys\": %u,\n  \"requests\": %" PRIu64 ",\n  \"warmup\": %" PRIu64 ",\n",
	       s->keys, s->requests, s->warmup);
	printf("  \"scan_share\": %.2f,\n  \"fsc_slot_size\": %u,\n", s->scan_share, FSC_SLOT_SIZE);
	printf("  \"admission\": {\"entries_per_cache_entry\": %.2f, \"window_requests\": %" PRIu64
	       "},\n",
	       s->doorkeeper_factor, s->window_requests);
	printf("  \"results\": [\n");
	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		printf("    {\"trace\": \"%s\", \"cache_share\": %.2f, \"capacity\": %u, "
		       "\"policy\": \"%s\", \"hit_ratio\": %.5f, \"hits\": %" PRIu64
		       ", \"measured\": %" PRIu64 ", \"inserts\": %" PRIu64
		       ", \"evictions\": %" PRIu64 ", \"probe_evictions\": %" PRIu64
		       ", \"rebuilds\": %" PRIu64 ", \"miss_probe_mean\": %.2f"
		       ", \"miss_probe_max\": %.2f, \"seconds\": %.3f}%s\n",
		       r->trace, r->cache_share, r->capacity, policy_name[r->policy], hit_ratio(r),
		       r->hits, r->measured, r->inserts, r->evictions, r->probe_evictions,
		       r->rebuilds, r->miss_probe_mean, r->miss_probe_max, r->seconds,
		       i + 1 < nresults ? "," : "");
	}
	printf("  ]\n}\n");
}

static void print_table(void)
{
	const char *trace = NULL;
	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		if (!trace || strcmp(trace, r->trace) != 0) {
			trace = r->trace;
			fprintf(stderr, "\n%-16s %13s", trace, "capacity");
			for (int p = 0; p < P_COUNT; p++)
				fprintf(stderr, " %10s", policy_label[p]);
			fprintf(stderr, "\n");
		}
		if (r->policy == 0)
			fprintf(stderr, "%-16s %6u (%3.0f%%)", "", r->capacity,
				r->cache_share * 100);
		fprintf(stderr, " %9.2f%%", hit_ratio(r) * 100);
		if (r->policy == P_COUNT - 1)
			fprintf(stderr, "\n");
	}
	fprintf(stderr, "\nhit ratio = hits / requests after warmup; top-C is the static bound\n");
}

/* fsc's own counters: evictions CLOCK made, victims a full probe window chose, table
 * rebuilds (tombstone compaction), and the slots a lookup of an absent key reads. */
static void print_fsc_table(void)
{
	fprintf(stderr, "\n%-16s %8s %-16s %10s %8s %8s %9s %9s\n", "fsc", "capacity", "policy",
		"evictions", "probe_ev", "rebuilds", "miss_prb", "max_prb");
	for (unsigned i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		if (r->policy != P_FSC && r->policy != P_FSC_ADMIT && r->policy != P_FSC_NO_HINTS)
			continue;
		fprintf(stderr,
			"%-16s %8u %-16s %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9.2f %9.2f\n",
			r->trace, r->capacity, policy_name[r->policy], r->evictions,
			r->probe_evictions, r->rebuilds, r->miss_probe_mean, r->miss_probe_max);
	}
}

/* --keys: the uint32_t key count. */
static bool parse_keys(void *dst, const char *arg)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);
	*(uint32_t *)dst = (uint32_t)v;
	return end != arg && !*end && v <= UINT32_MAX;
}

static void parse_args(int argc, char **argv, struct study *s)
{
	const struct fscd_bench_opt opts[] = {
	    {.name = "keys", .arg = "N", .kind = FSCD_BENCH_FN, .dst = &s->keys, .fn = parse_keys},
	    {.name = "requests", .arg = "N", .kind = FSCD_BENCH_U64, .dst = &s->requests},
	    {.name = "warmup", .arg = "N", .kind = FSCD_BENCH_U64, .dst = &s->warmup},
	    {.name = "seed", .arg = "N", .kind = FSCD_BENCH_U64, .dst = &s->seed},
	    {.name = "window",
	     .arg = "REQUESTS",
	     .kind = FSCD_BENCH_U64,
	     .dst = &s->window_requests},
	    {.name = "doorkeeper",
	     .arg = "ENTRIES_PER_CACHE_ENTRY",
	     .kind = FSCD_BENCH_DOUBLE,
	     .dst = &s->doorkeeper_factor},
	    {.name = "scan-share",
	     .arg = "FRACTION",
	     .kind = FSCD_BENCH_DOUBLE,
	     .dst = &s->scan_share},
	    {.name = NULL}};
	const struct fscd_bench_opt *const tables[] = {opts, NULL};
	fscd_bench_opts_parse("sim_eviction", tables, argc, argv);
	if (s->keys < 100 || s->warmup >= s->requests || !(s->doorkeeper_factor >= 0) ||
	    !(s->scan_share >= 0) || s->scan_share >= 1 ||
	    s->keys + s->requests >= 10000000ull /* ID_DIGITS */)
		fscd_bench_usage();
}

int main(int argc, char **argv)
{
	struct study s = {.keys = 100000,
			  .requests = 3000000,
			  .warmup = 1000000,
			  .seed = 20261121,
			  .window_requests = 1000000,
			  .doorkeeper_factor = 1.0,
			  .scan_share = 0.30};
	parse_args(argc, argv, &s);
	fsc_sim_check_hints_work();
	const struct {
		double alpha, scan_share;
	} traces[] = {{0.8, 0}, {1.0, 0}, {1.0, s.scan_share}};
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		struct trace t;
		trace_make(&t, &s, traces[i].alpha, traces[i].scan_share, i + 1);
		double t0 = now_seconds();
		run_trace(&t, &s);
		fprintf(stderr, "%s: %.1f s\n", t.name, now_seconds() - t0);
		trace_free(&t);
	}
	print_json(&s);
	print_table();
	print_fsc_table();
	return 0;
}
