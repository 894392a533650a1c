/* fscd crawl: how long fscd takes to serve a big tree, from a cold start and after an
 * inotify queue overflow.
 *
 * Cold: CLOCK_MONOTONIC from just before fork+exec of fscd until (a) fsc_open finds the
 * table published, (b) the header's entries counter reaches files + dirs + 1 (the root), and
 * (c) a sample of the files (every 97th, and each directory's last) is a hit whose size
 * equals lstat()'s. The tree is made once and reused by every round, so the kernel's dentry,
 * inode and page caches are warm: "cold" is a cold fscd, not a cold kernel.
 *
 * After an overflow (root only): fscd is started with fs.inotify.max_queued_events lowered
 * (the limit is captured when its inotify instance is made; it is restored as soon as the
 * table is published), then, once it serves the tree, SIGSTOPped; one byte is appended to
 * each of --overflow-files files; SIGCONT. Measured from SIGCONT until every touched file's
 * new size and mtime is visible; the overflows and rescans counters must have moved.
 *
 *   fscd_crawl [--dirs D] [--files F] [--rounds N] [--capacity N] [--overflow-files N]
 *              [--queue-limit N] [--tree PATH] [--fscd PATH] [--dir PARENT] [--name TABLE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fscd_bench_util.h"

#define FSCD_CRAWL_TIMEOUT_NS (120 * FSCD_BENCH_NS_PER_S)
#define FSCD_CRAWL_POLL_NS    200000ull
#define FSCD_CRAWL_ROUNDS_MAX 50

struct fscd_crawl_opts {
	struct fscd_bench_common common;
	int overflow_files;
	int queue_limit;
	const char *tree; /* NULL: a temporary tree, removed at the end */
};

/* A set of paths with the size and mtime the table must show for each. */
struct fscd_crawl_expect {
	char (*path)[256];
	struct stat *st;
	int n;
};

struct fscd_crawl_round {
	uint64_t publish_ns, entries_ns, served_ns, probe_hit_ns; /* since fscd start */
	uint64_t cpu_ns, entries, unavailable;
	bool overflow_done;
	uint64_t of_seen_ns, of_visible_ns, of_cpu_ns; /* since SIGCONT */
	uint64_t overflows, rescans, of_unavailable;
};

struct fscd_crawl_run {
	const struct fscd_crawl_opts *o;
	const char *root;
	char probe[256];
	uint64_t expected_entries;
	const char *overflow_skipped; /* why there is no overflow part, or NULL */
	struct fscd_crawl_round rounds[FSCD_CRAWL_ROUNDS_MAX];
	double make_tree_s;
};

static void fscd_crawl_parse(struct fscd_crawl_opts *o, int argc, char **argv)
{
	*o = (struct fscd_crawl_opts){
	    .common = {.dirs = 100, .files = 1000, .rounds = 5, .capacity = 250000},
	    .overflow_files = 10000,
	    .queue_limit = 1024};
	const struct fscd_bench_opt opts[] = {
	    {.name = "overflow-files",
	     .arg = "N",
	     .kind = FSCD_BENCH_INT,
	     .dst = &o->overflow_files},
	    {.name = "queue-limit", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->queue_limit},
	    {.name = "tree", .arg = "PATH", .kind = FSCD_BENCH_STR, .dst = &o->tree},
	    {.name = NULL}};
	fscd_bench_parse(&o->common, "fscd_crawl", "crawl", opts, argc, argv);
	if (o->common.dirs < 1 || o->common.files < 1 || o->common.rounds < 1 ||
	    o->common.rounds > FSCD_CRAWL_ROUNDS_MAX || o->overflow_files < 0 ||
	    o->queue_limit < 16)
		fscd_bench_usage();
	if (o->overflow_files > o->common.dirs * o->common.files)
		o->overflow_files = o->common.dirs * o->common.files;
}

/* The limit to restore: what is set, unless someone else (tests/test_overflow lowers it to
 * 64 for a moment) has it lowered right now; then wait a little for it to come back. */
static long fscd_crawl_queue_saved(long low)
{
	uint64_t end = fsc_harness_now_ns() + 5 * FSCD_BENCH_NS_PER_S;
	long v;
	while ((v = fsc_harness_inotify_queue_read()) > 0 && v <= low && fsc_harness_now_ns() < end)
		fsc_harness_sleep_ns(50 * FSCD_BENCH_NS_PER_MS);
	return v > low ? v : -1;
}

static void fscd_crawl_expect_add(struct fscd_crawl_expect *e, const char *path)
{
	snprintf(e->path[e->n], sizeof(e->path[e->n]), "%s", path);
	if (lstat(path, &e->st[e->n]) < 0)
		fscd_bench_die("lstat %s: %s", path, strerror(errno));
	e->n++;
}

static void fscd_crawl_expect_alloc(struct fscd_crawl_expect *e, int n)
{
	e->n = 0;
	e->path = calloc((size_t)n, sizeof(*e->path));
	e->st = calloc((size_t)n, sizeof(*e->st));
	if (!e->path || !e->st)
		fscd_bench_die("out of memory");
}

static void fscd_crawl_expect_free(struct fscd_crawl_expect *e)
{
	free(e->path);
	free(e->st);
}

/* Every 97th file and each directory's last file, with what lstat says now. */
static void fscd_crawl_sample(const struct fscd_crawl_run *r, struct fscd_crawl_expect *e)
{
	const struct fscd_crawl_opts *o = r->o;
	int total = o->common.dirs * o->common.files;
	fscd_crawl_expect_alloc(e, total / 97 + 1 + o->common.dirs);
	char path[256];
	for (int i = 0; i < total; i++) {
		if (i % 97 && (i + 1) % o->common.files)
			continue;
		fscd_bench_file_path(path, sizeof(path), r->root, i / o->common.files,
				     i % o->common.files);
		fscd_crawl_expect_add(e, path);
	}
}

static bool fscd_crawl_agrees(fsc_t *c, const char *path, const struct stat *want,
			      uint64_t *unavail)
{
	struct stat st;
	int got = fsc_lookup(c, path, &st, NULL);
	if (got == FSC_UNAVAILABLE)
		(*unavail)++;
	return got == FSC_HIT && st.st_size == want->st_size &&
	       st.st_mtim.tv_sec == want->st_mtim.tv_sec &&
	       st.st_mtim.tv_nsec == want->st_mtim.tv_nsec;
}

/* Polls until every expected path agrees, in order (fscd publishes a batch in path order);
 * returns when the last did. */
static uint64_t fscd_crawl_wait_expect(fsc_t *c, const struct fscd_crawl_expect *e,
				       uint64_t *unavail)
{
	uint64_t end = fsc_harness_now_ns() + FSCD_CRAWL_TIMEOUT_NS;
	int next = 0;
	while (next < e->n) {
		if (fscd_crawl_agrees(c, e->path[next], &e->st[next], unavail)) {
			next++;
			continue;
		}
		if (fsc_harness_now_ns() > end)
			fscd_bench_die("%s: the table does not show its size and mtime after 120 s",
				       e->path[next]);
		fsc_harness_sleep_ns(FSCD_CRAWL_POLL_NS);
	}
	return fsc_harness_now_ns();
}

/* Starts fscd (with the inotify queue limit lowered to low, if low > 0) and returns the
 * reader once the table is published; round->publish_ns is set. */
static fsc_t *fscd_crawl_start(struct fscd_crawl_run *r, struct fsc_harness_fscd *d, long low,
			       long saved, uint64_t *t0, struct fscd_crawl_round *round)
{
	char log[4096];
	snprintf(log, sizeof(log), "%s.fscd.log", r->root);
	if (low > 0 && !fsc_harness_inotify_queue_write(low))
		fscd_bench_die("cannot lower fs.inotify.max_queued_events: %s", strerror(errno));
	*t0 = fsc_harness_now_ns();
	int rc = fscd_bench_daemon_start(d, r->o->common.fscd, r->o->common.name, r->root,
					 r->o->common.capacity, log);
	fsc_t *c = rc == 0 ? fscd_bench_wait_live(d, FSCD_CRAWL_TIMEOUT_NS) : NULL;
	round->publish_ns = fsc_harness_now_ns() - *t0;
	if (low > 0)
		fsc_harness_inotify_queue_write(saved); /* fscd's instance keeps the low limit */
	if (!c)
		fscd_bench_die("fscd did not publish table %s; see %s", d->name, log);
	return c;
}

/* Polls the entries counter (and a probe lookup) until the whole tree is in the table. */
static void fscd_crawl_wait_entries(struct fscd_crawl_run *r, fsc_t *c, uint64_t t0,
				    struct fscd_crawl_round *round)
{
	uint64_t ctr[FSC_CTR_COUNT] = {0};
	struct stat st;
	for (;;) {
		uint64_t now = fsc_harness_now_ns();
		if (fsc_harness_counters(r->o->common.name, ctr) < 0)
			fscd_bench_die("table %s vanished during the crawl", r->o->common.name);
		int got = fsc_lookup(c, r->probe, &st, NULL);
		if (got == FSC_UNAVAILABLE)
			round->unavailable++;
		if (got == FSC_HIT && !round->probe_hit_ns)
			round->probe_hit_ns = now - t0;
		if (ctr[FSC_CTR_ENTRIES] >= r->expected_entries)
			break;
		if (now - t0 > FSCD_CRAWL_TIMEOUT_NS)
			fscd_bench_die("entries %llu of %llu after 120 s",
				       (unsigned long long)ctr[FSC_CTR_ENTRIES],
				       (unsigned long long)r->expected_entries);
		fsc_harness_sleep_ns(FSCD_CRAWL_POLL_NS);
	}
	round->entries_ns = fsc_harness_now_ns() - t0;
	round->entries = ctr[FSC_CTR_ENTRIES];
}

/* Appends a byte to n files spread over the tree (while fscd is stopped) and records what
 * the table must show for each afterwards. */
static void fscd_crawl_touch(const struct fscd_crawl_run *r, int n, struct fscd_crawl_expect *e)
{
	const struct fscd_crawl_opts *o = r->o;
	int total = o->common.dirs * o->common.files;
	fscd_crawl_expect_alloc(e, n);
	char path[256];
	for (int k = 0; k < n; k++) {
		int i = (int)((long long)k * total / n); /* increasing: path order */
		fscd_bench_file_path(path, sizeof(path), r->root, i / o->common.files,
				     i % o->common.files);
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0 || write(fd, "x", 1) != 1)
			fscd_bench_die("append to %s: %s", path, strerror(errno));
		close(fd);
		fscd_crawl_expect_add(e, path);
	}
}

static void fscd_crawl_overflow(struct fscd_crawl_run *r, struct fsc_harness_fscd *d, fsc_t *c,
				struct fscd_crawl_round *round)
{
	uint64_t c0[FSC_CTR_COUNT], c1[FSC_CTR_COUNT];
	struct fscd_bench_cpu cpu0, cpu1;
	struct fscd_crawl_expect touched;
	fsc_harness_sleep_ns(200 * FSCD_BENCH_NS_PER_MS); /* let fscd settle into its loop */
	if (fsc_harness_counters(d->name, c0) < 0)
		fscd_bench_die("table %s vanished", d->name);
	kill(d->pid, SIGSTOP);
	fscd_crawl_touch(r, r->o->overflow_files, &touched);
	fscd_bench_cpu_read(d->pid, &cpu0);
	uint64_t t0 = fsc_harness_now_ns();
	kill(d->pid, SIGCONT);
	while (fsc_harness_counters(d->name, c1) == 0 &&
	       c1[FSC_CTR_OVERFLOWS] == c0[FSC_CTR_OVERFLOWS]) {
		if (fsc_harness_now_ns() - t0 > FSCD_CRAWL_TIMEOUT_NS)
			fscd_bench_die("no overflow reported: is the queue limit low enough?");
		fsc_harness_sleep_ns(FSCD_CRAWL_POLL_NS);
	}
	round->of_seen_ns = fsc_harness_now_ns() - t0;
	round->of_visible_ns = fscd_crawl_wait_expect(c, &touched, &round->of_unavailable) - t0;
	fscd_bench_cpu_read(d->pid, &cpu1);
	round->of_cpu_ns =
	    cpu1.sched_ns ? cpu1.sched_ns - cpu0.sched_ns : cpu1.stat_ns - cpu0.stat_ns;
	if (fsc_harness_counters(d->name, c1) < 0)
		fscd_bench_die("table %s vanished", d->name);
	round->overflows = c1[FSC_CTR_OVERFLOWS] - c0[FSC_CTR_OVERFLOWS];
	round->rescans = c1[FSC_CTR_RESCANS] - c0[FSC_CTR_RESCANS];
	round->overflow_done = true;
	fscd_crawl_expect_free(&touched);
}

static void fscd_crawl_round(struct fscd_crawl_run *r, struct fscd_crawl_round *round)
{
	bool overflow = !r->overflow_skipped && r->o->overflow_files > 0;
	long saved = overflow ? fscd_crawl_queue_saved(r->o->queue_limit) : -1;
	if (overflow && saved < 0) {
		r->overflow_skipped = "max_queued_events stayed lowered by someone else";
		overflow = false;
	}
	struct fscd_crawl_expect sample;
	fscd_crawl_sample(r, &sample);
	struct fsc_harness_fscd d;
	uint64_t t0;
	memset(round, 0, sizeof(*round));
	fsc_t *c = fscd_crawl_start(r, &d, overflow ? r->o->queue_limit : 0, saved, &t0, round);
	fscd_crawl_wait_entries(r, c, t0, round);
	round->served_ns = fscd_crawl_wait_expect(c, &sample, &round->unavailable) - t0;
	struct fscd_bench_cpu cpu;
	if (fscd_bench_cpu_read(d.pid, &cpu) == 0)
		round->cpu_ns = cpu.sched_ns ? cpu.sched_ns : cpu.stat_ns;
	fscd_crawl_expect_free(&sample);
	if (overflow)
		fscd_crawl_overflow(r, &d, c, round);
	fsc_close(c);
	fscd_bench_daemon_down(&d, true);
}

/* Median, min and max over the rounds of one field (ns), and each round in order, as JSON in
 * ms. */
static void fscd_crawl_json_field(const struct fscd_crawl_run *r, const char *key, size_t offset,
				  bool overflow)
{
	uint64_t v[FSCD_CRAWL_ROUNDS_MAX], sorted[FSCD_CRAWL_ROUNDS_MAX];
	size_t n = 0;
	for (int i = 0; i < r->o->common.rounds; i++) {
		const struct fscd_crawl_round *x = &r->rounds[i];
		if (!overflow || x->overflow_done)
			v[n++] = *(const uint64_t *)((const char *)x + offset);
	}
	memcpy(sorted, v, n * sizeof(*v));
	struct fscd_bench_pct p;
	fscd_bench_percentiles(sorted, n, &p);
	printf("\"%s\":{\"median\":%.1f,\"min\":%.1f,\"max\":%.1f,\"rounds\":[", key,
	       (double)p.p50 / 1e6, (double)p.min / 1e6, (double)p.max / 1e6);
	for (size_t i = 0; i < n; i++)
		printf("%s%.1f", i ? "," : "", (double)v[i] / 1e6);
	printf("]}");
}

/* The fields of a round reported as {"median":..,"min":..,"max":..,"rounds":[..]}. */
struct fscd_crawl_field {
	const char *key;
	size_t offset;
};
#define FSCD_CRAWL_FIELD(key, field)                                                               \
	{                                                                                          \
		key, offsetof(struct fscd_crawl_round, field)                                      \
	}

static const struct fscd_crawl_field fscd_crawl_cold_fields[] = {
    FSCD_CRAWL_FIELD("published_ms", publish_ns),
    FSCD_CRAWL_FIELD("all_entries_ms", entries_ns),
    FSCD_CRAWL_FIELD("sample_served_ms", served_ns),
    FSCD_CRAWL_FIELD("probe_first_hit_ms", probe_hit_ns),
    FSCD_CRAWL_FIELD("fscd_cpu_ms", cpu_ns),
    {NULL, 0}};
static const struct fscd_crawl_field fscd_crawl_overflow_fields[] = {
    FSCD_CRAWL_FIELD("overflow_seen_ms", of_seen_ns),
    FSCD_CRAWL_FIELD("all_visible_ms", of_visible_ns),
    FSCD_CRAWL_FIELD("fscd_cpu_ms", of_cpu_ns),
    {NULL, 0}};

/* Each field of the list, separated by commas. */
static void fscd_crawl_json_fields(const struct fscd_crawl_run *r, const struct fscd_crawl_field *f,
				   bool overflow)
{
	for (int i = 0; f[i].key; i++) {
		printf(i ? "," : "");
		fscd_crawl_json_field(r, f[i].key, f[i].offset, overflow);
	}
}

static void fscd_crawl_json_overflow(const struct fscd_crawl_run *r)
{
	const struct fscd_crawl_round *x = &r->rounds[0];
	if (r->overflow_skipped || !x->overflow_done) {
		printf("\"overflow\":{\"skipped\":\"%s\"}",
		       r->overflow_skipped ? r->overflow_skipped : "--overflow-files 0");
		return;
	}
	printf("\"overflow\":{\"what\":\"ms from SIGCONT of a SIGSTOPped fscd (after %d files "
	       "were appended to) until every one shows its new size and mtime\","
	       "\"touched_files\":%d,\"queue_limit\":%d,\"overflows_counted\":%llu,"
	       "\"rescans_counted\":%llu,\"unavailable_answers\":%llu,",
	       r->o->overflow_files, r->o->overflow_files, r->o->queue_limit,
	       (unsigned long long)x->overflows, (unsigned long long)x->rescans,
	       (unsigned long long)x->of_unavailable);
	fscd_crawl_json_fields(r, fscd_crawl_overflow_fields, true);
	printf("}");
}

static void fscd_crawl_report_json(const struct fscd_crawl_run *r)
{
	const struct fscd_crawl_opts *o = r->o;
	fscd_bench_json_begin(
	    "fscd_crawl", "ms from fork+exec of fscd on a tree until: the table is published "
			  "(fsc_open works), the entries counter reaches files+dirs+1, a sample "
			  "of every 97th file is a hit with lstat's size and mtime; tree reused "
			  "across rounds, kernel caches warm");
	printf("\"dirs\":%d,\"files_per_dir\":%d,\"files\":%d,\"expected_entries\":%llu,"
	       "\"capacity\":%llu,\"rounds\":%d,\"make_tree_s\":%.2f,\"fscd\":\"%s\",",
	       o->common.dirs, o->common.files, o->common.dirs * o->common.files,
	       (unsigned long long)r->expected_entries, (unsigned long long)o->common.capacity,
	       o->common.rounds, r->make_tree_s, o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",\"cold\":{");
	fscd_crawl_json_fields(r, fscd_crawl_cold_fields, false);
	printf(",\"unavailable_answers_round1\":%llu},",
	       (unsigned long long)r->rounds[0].unavailable);
	fscd_crawl_json_overflow(r);
	printf("}\n");
}

static void fscd_crawl_report_text(const struct fscd_crawl_run *r)
{
	for (int i = 0; i < r->o->common.rounds; i++) {
		const struct fscd_crawl_round *x = &r->rounds[i];
		fprintf(stderr,
			"round %d: published %.0f ms, %llu entries at %.0f ms, sample served at "
			"%.0f ms, fscd CPU %.0f ms, %llu unavailable answers",
			i + 1, x->publish_ns / 1e6, (unsigned long long)x->entries,
			x->entries_ns / 1e6, x->served_ns / 1e6, x->cpu_ns / 1e6,
			(unsigned long long)x->unavailable);
		if (x->overflow_done)
			fprintf(stderr,
				" | overflow: seen %.0f ms, %d files visible %.0f ms after "
				"SIGCONT (%llu overflows, %llu rescans, CPU %.0f ms)",
				x->of_seen_ns / 1e6, r->o->overflow_files, x->of_visible_ns / 1e6,
				(unsigned long long)x->overflows, (unsigned long long)x->rescans,
				x->of_cpu_ns / 1e6);
		fprintf(stderr, "\n");
	}
	if (r->overflow_skipped)
		fprintf(stderr, "overflow part skipped: %s\n", r->overflow_skipped);
}

static char *fscd_crawl_tree(struct fscd_crawl_run *r)
{
	const struct fscd_crawl_opts *o = r->o;
	char *root;
	if (o->tree) {
		if (mkdir(o->tree, 0755) < 0 && errno != EEXIST)
			fscd_bench_die("mkdir %s: %s", o->tree, strerror(errno));
		root = realpath(o->tree, NULL);
		if (!root)
			fscd_bench_die("realpath %s: %s", o->tree, strerror(errno));
	} else {
		root = fscd_bench_mkdtemp(o->common.dir, "crawl");
	}
	uint64_t t0 = fsc_harness_now_ns();
	if (fscd_bench_make_tree(root, o->common.dirs, o->common.files) <
	    0) /* keeps what is there */
		fscd_bench_die("cannot make the tree under %s: %s", root, strerror(errno));
	r->make_tree_s = (double)(fsc_harness_now_ns() - t0) / 1e9;
	return root;
}

int main(int argc, char **argv)
{
	static struct fscd_crawl_run r;
	struct fscd_crawl_opts o;
	fscd_crawl_parse(&o, argc, argv);
	r.o = &o;
	if (geteuid() != 0)
		r.overflow_skipped = "not root: cannot lower fs.inotify.max_queued_events";
	else if (fsc_harness_inotify_queue_read() < 0)
		r.overflow_skipped = "no /proc/sys/fs/inotify/max_queued_events";
	char *root = fscd_crawl_tree(&r);
	r.root = root;
	r.expected_entries =
	    (uint64_t)o.common.dirs * (uint64_t)o.common.files + (uint64_t)o.common.dirs + 1;
	fscd_bench_file_path(r.probe, sizeof(r.probe), root, o.common.dirs - 1, o.common.files - 1);
	fprintf(stderr, "tree %s: %d dirs x %d files (made/checked in %.1f s)\n", root,
		o.common.dirs, o.common.files, r.make_tree_s);
	for (int i = 0; i < o.common.rounds; i++)
		fscd_crawl_round(&r, &r.rounds[i]);
	fscd_crawl_report_json(&r);
	fscd_crawl_report_text(&r);
	if (!o.tree)
		fscd_bench_rmtree(root);
	free(root);
	return 0;
}
