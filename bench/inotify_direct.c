/* What a monitor pays when it runs its own inotify instead of reading fsc, on the tree of the
 * headline scenario (ROOT/d-DDD/f-NNNN, 100 x 100 by default).
 *
 * A monitor here is a process that does what such a monitor must do before it can follow
 * sizes: inotify_init1, a recursive walk of the tree adding a watch per directory (variant
 * "dir") or per file (variant "file", no directory watches), then a stat(2) of every file it
 * found to learn the sizes. K monitors (one set of watches each) start at the same moment;
 * once all are set up the parent counts the watches they hold (/proc/PID/fdinfo) and the
 * kernel objects that appeared (/sys/kernel/slab: in-use objects of the caches holding
 * inotify_inode_mark and fsnotify_mark_connector), then lets them exit. Each configuration
 * runs --rounds times; the JSON holds medians over the rounds.
 *
 * For comparison, fscd on the same tree: from fork+exec until the table is published and
 * until every file is in it, its CPU for that, its watches (one set, whatever K), the size of
 * its table; and what a reader then pays to attach and learn every size (fsc_open and one
 * fsc_stat per file).
 *
 *   inotify_direct [--dirs D] [--files F] [--monitors 1,4,16] [--rounds N] [--capacity N]
 *                  [--fscd PATH] [--dir PARENT] [--name TABLE]
 *
 * stdout: one JSON object; stderr: a summary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsc_shm_map.h"
#include "inotify_direct.h"

struct idir_opts {
	struct fscd_bench_common common;
};

struct idir_config {
	bool file_watches;
	int k;
	struct idir_round rounds[IDIR_ROUNDS_MAX];
};

struct idir_fscd_round {
	uint64_t published_ns, all_entries_ns, cpu_ns, watches, watches_fdinfo, mark_bytes;
	uint64_t reader_ns, reader_cpu_ns, reader_hits;
};

struct idir_run {
	const struct idir_opts *o;
	char *root;
	struct idir_config configs[2 * IDIR_K_MAX];
	int nconfigs;
	struct idir_fscd_round fscd[IDIR_ROUNDS_MAX];
	uint64_t table_bytes;
	long long mark_object, connector_object, inode_object;
};

static void idir_parse(struct idir_opts *o, int argc, char **argv)
{
	*o = (struct idir_opts){.common = {.dirs = 100,
					   .files = 100,
					   .rounds = 3,
					   .monitors = {1, 4, 16},
					   .nmonitors = 3,
					   .capacity = 16384}};
	const struct fscd_bench_opt opts[] = {{.name = NULL}};
	fscd_bench_parse(&o->common, "inotify_direct", "inotify_direct", opts, argc, argv);
	bool k_ok = o->common.nmonitors >= 1;
	for (int i = 0; k_ok && i < o->common.nmonitors; i++)
		k_ok = o->common.monitors[i] <= IDIR_MONITORS_MAX;
	if (o->common.dirs < 1 || o->common.dirs > 1000 || o->common.files < 1 ||
	    o->common.files > 10000 || o->common.rounds < 1 || o->common.rounds > IDIR_ROUNDS_MAX ||
	    !k_ok)
		fscd_bench_usage();
}

/* What a monitor reading fsc pays to start: attach, find the files (the same walk, without
 * watches) and learn every size with fsc_stat. Then, untimed, how many were table hits. */
static void idir_fsc_reader(const struct idir_run *r, struct idir_fscd_round *x)
{
	struct idir_report rep = {0};
	struct idir_walk w = {.fd = -1, .rep = &rep};
	struct stat st;
	uint64_t cpu0 = idir_cpu_now_ns(CLOCK_THREAD_CPUTIME_ID), t0 = fsc_harness_now_ns();
	fsc_t *c = fsc_open(r->o->common.name);
	if (!c)
		fscd_bench_die("fsc_open %s: %s", r->o->common.name, strerror(errno));
	idir_walk_dir(&w, r->root);
	for (size_t i = 0; i < w.n; i++)
		fsc_stat(c, w.paths[i], &st);
	x->reader_ns = fsc_harness_now_ns() - t0;
	x->reader_cpu_ns = idir_cpu_now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	for (size_t i = 0; i < w.n; i++) {
		x->reader_hits += fsc_lookup(c, w.paths[i], &st, NULL) == FSC_HIT;
		free(w.paths[i]);
	}
	free(w.paths);
	fsc_close(c);
}

/* The size of the table published as name (0 if there is none). */
static uint64_t idir_table_bytes(const char *name)
{
	struct fsc_shm_mapping m;
	struct fsc_shm_layout layout;
	const char *why;
	if (fsc_shm_map_table(name, NULL, &m, &layout, &why) < 0)
		return 0;
	uint64_t size = m.size;
	fsc_shm_unmap(&m);
	return size;
}

/* fscd on the same tree: from fork+exec until it serves every file, then a reader's start. */
static void idir_fscd_round(struct idir_run *r, struct idir_fscd_round *x)
{
	const struct idir_opts *o = r->o;
	struct fsc_harness_fscd d;
	char log[4096];
	snprintf(log, sizeof(log), "%s.fscd.log", r->root);
	fsc_harness_sleep_ns(IDIR_SETTLE_NS);
	long long mark0 = idir_slab_bytes(IDIR_MARK_CACHE);
	uint64_t t0 = fsc_harness_now_ns();
	fsc_t *c =
	    fscd_bench_daemon_up(&d, &o->common, r->root, o->common.capacity, log, IDIR_TIMEOUT_NS);
	x->published_ns = fsc_harness_now_ns() - t0;
	uint64_t expected =
	    (uint64_t)o->common.dirs * (uint64_t)o->common.files + (uint64_t)o->common.dirs + 1;
	if (fscd_bench_wait_entries(d.name, expected, IDIR_TIMEOUT_NS) < 0)
		fscd_bench_die("fscd did not serve the tree in table %s; see %s", d.name, log);
	x->all_entries_ns = fsc_harness_now_ns() - t0;
	fsc_close(c);
	struct fscd_bench_cpu cpu;
	if (fscd_bench_cpu_read(d.pid, &cpu) == 0)
		x->cpu_ns = cpu.sched_ns ? cpu.sched_ns : cpu.stat_ns;
	x->mark_bytes = idir_growth(mark0, idir_slab_bytes(IDIR_MARK_CACHE));
	uint64_t ctr[FSC_CTR_COUNT];
	if (fsc_harness_counters(d.name, ctr) == 0)
		x->watches = ctr[FSC_CTR_WATCHES];
	x->watches_fdinfo = idir_count_watches(d.pid);
	r->table_bytes = idir_table_bytes(d.name);
	idir_fsc_reader(r, x);
	fscd_bench_daemon_down(&d, true);
}

/* Median over n records of stride bytes of the uint64_t field at offset. */
static uint64_t idir_median_of(const void *base, size_t stride, int n, size_t offset)
{
	uint64_t v[IDIR_ROUNDS_MAX];
	for (int i = 0; i < n; i++)
		v[i] = *(const uint64_t *)((const char *)base + stride * (size_t)i + offset);
	return idir_median(v, (size_t)n);
}

#define IDIR_CFG(r, c, field)                                                                      \
	idir_median_of((c)->rounds, sizeof(struct idir_round), (r)->o->common.rounds,              \
		       offsetof(struct idir_round, field))
#define IDIR_FSCD(r, field)                                                                        \
	idir_median_of((r)->fscd, sizeof(struct idir_fscd_round), (r)->o->common.rounds,           \
		       offsetof(struct idir_fscd_round, field))

static double idir_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* The kernel's own budget per watch: INOTIFY_WATCH_COST, sizeof(struct inotify_inode_mark)
 * + 2 * sizeof(struct inode), as read from the slab caches (0 if unknown). */
static long long idir_watch_cost(const struct idir_run *r)
{
	if (r->mark_object < 0 || r->inode_object < 0)
		return 0;
	return r->mark_object + 2 * r->inode_object;
}

static void idir_json_kernel(const struct idir_run *r)
{
	long long limit = idir_read_number("/proc/sys/fs/inotify/max_user_watches");
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	printf("\"kernel\":{\"max_user_watches\":%lld,\"max_user_instances\":%lld,"
	       "\"inotify_inode_mark_object_bytes\":%lld,\"inode_object_bytes\":%lld,"
	       "\"fsnotify_mark_connector_object_bytes\":%lld,\"watch_cost_bytes\":%lld,"
	       "\"watch_cost_source\":\"INOTIFY_WATCH_COST = sizeof(struct inotify_inode_mark) + "
	       "2 * sizeof(struct inode), fs/notify/inotify/inotify_user.c (commit 92890123749b, "
	       "Linux 5.11); the default max_user_watches is 1%% of RAM divided by it, clamped "
	       "to [8192, 1048576]; sizes read from /sys/kernel/slab\","
	       "\"ram_per_watch_implied_by_limit\":%.1f},",
	       limit, idir_read_number("/proc/sys/fs/inotify/max_user_instances"), r->mark_object,
	       r->inode_object, r->connector_object, idir_watch_cost(r),
	       limit > 0 ? (double)pages * (double)page / 100.0 / (double)limit : 0.0);
}

static void idir_json_config(const void *ctx, int i)
{
	const struct idir_run *r = ctx;
	const struct idir_config *c = &r->configs[i];
	long long limit = idir_read_number("/proc/sys/fs/inotify/max_user_watches");
	uint64_t watches = IDIR_CFG(r, c, watches), fdinfo = IDIR_CFG(r, c, watches_fdinfo);
	const struct idir_round *first = &c->rounds[0];
	printf("{\"variant\":\"%s\",\"k\":%d,\"watches_per_monitor\":%.0f,\"watches_total\":%llu,"
	       "\"watches_total_fdinfo\":%llu,\"pct_of_max_user_watches\":%.1f,"
	       "\"watch_failures\":%llu,\"first_failure\":\"%s\",",
	       c->file_watches ? "file" : "dir", c->k, (double)watches / c->k,
	       (unsigned long long)watches, (unsigned long long)fdinfo,
	       limit > 0 ? 100.0 * (double)watches / (double)limit : 0.0,
	       (unsigned long long)IDIR_CFG(r, c, failures),
	       first->watch_errno ? strerror(first->watch_errno) : "");
	printf("\"setup_ms_per_monitor\":%.2f,\"setup_ms_slowest_monitor\":%.2f,"
	       "\"walk_and_watch_ms\":%.2f,\"stat_all_ms\":%.2f,\"setup_cpu_ms_per_monitor\":%.2f,"
	       "\"setup_cpu_ms_all_monitors\":%.2f,\"all_ready_ms\":%.2f,",
	       idir_ms(IDIR_CFG(r, c, setup_ns)), idir_ms(IDIR_CFG(r, c, setup_max_ns)),
	       idir_ms(IDIR_CFG(r, c, walk_ns)), idir_ms(IDIR_CFG(r, c, stat_ns)),
	       idir_ms(IDIR_CFG(r, c, cpu_ns)), idir_ms(IDIR_CFG(r, c, cpu_sum_ns)),
	       idir_ms(IDIR_CFG(r, c, all_ready_ns)));
	printf("\"kernel_memory\":{\"mark_slab_bytes_measured\":%llu,"
	       "\"connector_slab_bytes_measured\":%llu,\"watch_cost_budget_bytes\":%llu}}",
	       (unsigned long long)IDIR_CFG(r, c, mark_bytes),
	       (unsigned long long)IDIR_CFG(r, c, connector_bytes),
	       (unsigned long long)(watches * (uint64_t)idir_watch_cost(r)));
}

static void idir_json_fscd(const struct idir_run *r)
{
	printf("\"fscd\":{\"published_ms\":%.2f,\"all_entries_ms\":%.2f,\"setup_cpu_ms\":%.2f,"
	       "\"watches\":%llu,\"watches_fdinfo\":%llu,\"mark_slab_bytes_measured\":%llu,"
	       "\"watch_cost_budget_bytes\":%llu,\"table_bytes\":%llu,\"capacity\":%llu,"
	       "\"reader_setup_ms\":%.2f,\"reader_setup_cpu_ms\":%.2f,\"reader_table_hits\":%llu,"
	       "\"reader_setup_what\":\"fsc_open, the same walk without watches, fsc_stat of "
	       "every file\"}",
	       idir_ms(IDIR_FSCD(r, published_ns)), idir_ms(IDIR_FSCD(r, all_entries_ns)),
	       idir_ms(IDIR_FSCD(r, cpu_ns)), (unsigned long long)IDIR_FSCD(r, watches),
	       (unsigned long long)IDIR_FSCD(r, watches_fdinfo),
	       (unsigned long long)IDIR_FSCD(r, mark_bytes),
	       (unsigned long long)(IDIR_FSCD(r, watches) * (uint64_t)idir_watch_cost(r)),
	       (unsigned long long)r->table_bytes, (unsigned long long)r->o->common.capacity,
	       idir_ms(IDIR_FSCD(r, reader_ns)), idir_ms(IDIR_FSCD(r, reader_cpu_ns)),
	       (unsigned long long)IDIR_FSCD(r, reader_hits));
}

static void idir_report_json(const struct idir_run *r)
{
	const struct idir_opts *o = r->o;
	fscd_bench_json_begin(
	    "inotify_direct",
	    "K monitor processes, started together, each run inotify_init1, walk "
	    "the tree adding a watch per directory (dir) or per file (file), and "
	    "stat every file; against one fscd serving the same tree; medians over "
	    "rounds; kernel caches warm");
	printf("\"dirs\":%d,\"files_per_dir\":%d,\"files\":%d,\"rounds\":%d,\"fscd\":\"%s\",",
	       o->common.dirs, o->common.files, o->common.dirs * o->common.files, o->common.rounds,
	       o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",");
	idir_json_kernel(r);
	idir_json_fscd(r);
	printf(",");
	fscd_bench_json_array("configs", r->nconfigs, idir_json_config, r);
	printf("}\n");
}

static void idir_report_text(const struct idir_run *r)
{
	fprintf(stderr,
		"fscd: table published %.1f ms, all %d files %.1f ms after exec, setup CPU "
		"%.1f ms, %llu watches, table %.1f MiB; a reader's start (fsc_open, walk, "
		"fsc_stat all) %.1f ms, CPU %.1f ms\n",
		idir_ms(IDIR_FSCD(r, published_ns)), r->o->common.dirs * r->o->common.files,
		idir_ms(IDIR_FSCD(r, all_entries_ns)), idir_ms(IDIR_FSCD(r, cpu_ns)),
		(unsigned long long)IDIR_FSCD(r, watches), (double)r->table_bytes / 1048576.0,
		idir_ms(IDIR_FSCD(r, reader_ns)), idir_ms(IDIR_FSCD(r, reader_cpu_ns)));
	for (int i = 0; i < r->nconfigs; i++) {
		const struct idir_config *c = &r->configs[i];
		uint64_t watches = IDIR_CFG(r, c, watches);
		fprintf(stderr,
			"%-4s K=%-2d %6llu watches (%llu failed) | per monitor: setup %.1f ms "
			"(walk+watch %.1f, stat %.1f), CPU %.1f ms | all: CPU %.1f ms, ready "
			"after %.1f ms | marks %.0f KiB measured, budget %.1f MiB\n",
			c->file_watches ? "file" : "dir", c->k, (unsigned long long)watches,
			(unsigned long long)IDIR_CFG(r, c, failures),
			idir_ms(IDIR_CFG(r, c, setup_ns)), idir_ms(IDIR_CFG(r, c, walk_ns)),
			idir_ms(IDIR_CFG(r, c, stat_ns)), idir_ms(IDIR_CFG(r, c, cpu_ns)),
			idir_ms(IDIR_CFG(r, c, cpu_sum_ns)), idir_ms(IDIR_CFG(r, c, all_ready_ns)),
			(double)IDIR_CFG(r, c, mark_bytes) / 1024.0,
			(double)(watches * (uint64_t)idir_watch_cost(r)) / 1048576.0);
	}
}

int main(int argc, char **argv)
{
	static struct idir_run r;
	struct idir_opts o;
	idir_parse(&o, argc, argv);
	r.o = &o;
	r.mark_object = idir_slab(IDIR_MARK_CACHE, "object_size");
	r.connector_object = idir_slab(IDIR_CONNECTOR_CACHE, "object_size");
	r.inode_object = idir_slab("inode_cache", "object_size");
	r.root = fscd_bench_mkdtemp(o.common.dir, "inotify_direct");
	if (fscd_bench_make_tree(r.root, o.common.dirs, o.common.files) < 0)
		fscd_bench_die("cannot make the tree under %s: %s", r.root, strerror(errno));
	for (int i = 0; i < o.common.rounds; i++)
		idir_fscd_round(&r, &r.fscd[i]);
	for (int v = 0; v < 2; v++) {
		for (int i = 0; i < o.common.nmonitors; i++) {
			struct idir_config *c = &r.configs[r.nconfigs++];
			c->file_watches = v == 1;
			c->k = o.common.monitors[i];
			for (int j = 0; j < o.common.rounds; j++)
				idir_round(r.root, c->file_watches, c->k, &c->rounds[j]);
		}
	}
	fscd_bench_rmtree(r.root);
	free(r.root);
	idir_report_json(&r);
	idir_report_text(&r);
	return 0;
}
