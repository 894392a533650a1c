// The lookup benchmark: stat(2) against libfsc on the same 10,000 paths in one run.
//
// A C++ shim only because google-benchmark is C++: everything it measures is the C API
// (fsc.h) and the fixture (bench_fixture.c) that builds the tree and the table. Each
// benchmark iteration is exactly one lookup; every benchmark walks the same path array
// round-robin, so the per-iteration time is the per-lookup time and the loop overhead is the
// same for all of them.
//
//   bench_lookup [google-benchmark flags]
//   bench_lookup --fsc_driver=lookup_hit|stat_hit|lookup_miss [--fsc_driver_passes=N]
//       no benchmark: N passes over the paths with one call, for valgrind --tool=callgrind
//       --toggle-collect=fsc_bench_drive_<mode> to count instructions per call.
//
// Environment: FSC_BENCH_TABLE (table name), FSC_BENCH_PARENT (where the tree goes; default
// $TMPDIR or /tmp), FSC_BENCH_SLOT_SIZE (table slot size; default the writer's, 512).
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>

extern "C" {
#include "bench_fixture.h"
#include "fsc.h"
}

namespace
{

struct fsc_bench_fixture *g_fix;
size_t g_n;
const char *const *g_hit;
const char *const *g_miss;
fsc_t *g_reader;

// Refuses to report a number for a benchmark whose premise does not hold: a "hit" benchmark
// that measured misses or UNAVAILABLE answers (e.g. the writer looked dead) would be a lie.
void require_all(bool hits, const char *bench, const char *when)
{
	size_t first = 0;
	int answer = 0;
	size_t bad = fsc_bench_check(g_fix, hits ? 1 : 0, &first, &answer);
	if (bad == 0)
		return;
	const char *p = hits ? g_hit[first] : g_miss[first];
	std::fprintf(stderr,
		     "%s: %s the run %zu of %zu paths are not %s (first: %s -> %s); aborting "
		     "rather than report a wrong number\n",
		     bench, when, bad, g_n, hits ? "FSC_HIT" : "FSC_MISS", p,
		     fsc_result_name(answer));
	std::abort();
}

void require_zero(long count, const char *bench, const char *what)
{
	if (count == 0)
		return;
	std::fprintf(stderr, "%s: %ld lookups %s; aborting\n", bench, count, what);
	std::abort();
}

// Diagnostic working set: the first 64 paths only, so the table slots, kernel dentries and
// inodes they touch stay in the L1/L2 caches. Not the project's figure (that is all 10,000
// paths); it separates the instructions of a lookup from its cache and TLB misses.
constexpr size_t kHot = 64;

enum class Want {
	Zero,
	Nonzero,
	Hit,
	Miss
};

// The loop every benchmark runs: one call per iteration, paths[0 .. count) round-robin. op is
// inlined, so the loop overhead (index, wrap, counting wrong answers) is the same for all.
template <class Op>
void run(benchmark::State &state, const char *name, const char *const *paths, size_t count,
	 Want want, Op op)
{
	size_t i = 0;
	long bad = 0;
	for (auto _ : state) {
		int r = op(paths[i]);
		benchmark::DoNotOptimize(r);
		switch (want) {
		case Want::Zero:
			bad += r != 0;
			break;
		case Want::Nonzero:
			bad += r == 0;
			break;
		case Want::Hit:
			bad += r != FSC_HIT;
			break;
		case Want::Miss:
			bad += r != FSC_MISS;
			break;
		}
		if (++i == count)
			i = 0;
	}
	require_zero(bad, name, "gave an unexpected answer");
	state.SetItemsProcessed(state.iterations());
}

// run() over the table: every path a hit (or, with before_hits false, a miss) when it starts,
// and the table still serving every hit path when it ends.
template <class Op>
void run_checked(benchmark::State &state, const char *name, const char *const *paths, size_t count,
		 Want want, Op op, bool before_hits)
{
	require_all(before_hits, name, "before");
	run(state, name, paths, count, want, op);
	require_all(true, name, "after");
}

int do_stat(const char *p)
{
	struct stat st;
	return stat(p, &st);
}

int do_statx(const char *p)
{
	struct statx stx;
	return statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &stx);
}

int do_lookup(const char *p)
{
	struct stat st;
	return fsc_lookup(g_reader, p, &st, nullptr);
}

int do_fsc_stat(const char *p)
{
	struct stat st;
	return fsc_stat(g_reader, p, &st);
}

void BM_stat(benchmark::State &state)
{
	run(state, "BM_stat", g_hit, g_n, Want::Zero, do_stat);
}
BENCHMARK(BM_stat);

void BM_statx(benchmark::State &state)
{
	run(state, "BM_statx", g_hit, g_n, Want::Zero, do_statx);
}
BENCHMARK(BM_statx);

void BM_stat_miss(benchmark::State &state)
{
	// ENOENT from the kernel: what a miss costs a caller without fsc
	run(state, "BM_stat_miss", g_miss, g_n, Want::Nonzero, do_stat);
}
BENCHMARK(BM_stat_miss);

void BM_fsc_lookup_hit(benchmark::State &state)
{
	run_checked(state, "BM_fsc_lookup_hit", g_hit, g_n, Want::Hit, do_lookup, true);
}
BENCHMARK(BM_fsc_lookup_hit);

void BM_fsc_stat_hit(benchmark::State &state)
{
	// fsc_stat falls back to stat(2) silently: what proves it answered from the table is that
	// fsc_lookup says HIT with no STALE flag for every path before and after the loop.
	run_checked(state, "BM_fsc_stat_hit", g_hit, g_n, Want::Zero, do_fsc_stat, true);
}
BENCHMARK(BM_fsc_stat_hit);

void BM_fsc_lookup_miss(benchmark::State &state)
{
	// a miss benchmark over a table gone UNAVAILABLE would measure only the liveness check
	run_checked(state, "BM_fsc_lookup_miss", g_miss, g_n, Want::Miss, do_lookup, false);
}
BENCHMARK(BM_fsc_lookup_miss);

void BM_fsc_stat_miss(benchmark::State &state)
{
	// what a miss costs through fsc_stat: the lookup, the caching request it sends (one
	// non-blocking sendto; no fscd listens to this fixture's table, so the kernel refuses
	// it, which costs about what a queued datagram does) and the stat(2) it falls back to
	run_checked(state, "BM_fsc_stat_miss", g_miss, g_n, Want::Nonzero, do_fsc_stat, false);
}
BENCHMARK(BM_fsc_stat_miss);

void BM_fsc_journal_next(benchmark::State &state)
{
	// One change read from the journal per iteration: the fixture's setup put every path
	// once after publication, so the journal holds n entries from position 0; at the end the
	// cursor goes back to 0 (no lap has reclaimed it). What a monitor pays per changed file
	// to learn that it changed, instead of looking at every file.
	fsc_cursor_t cur;
	if (fsc_journal_start(g_reader, &cur) != 0) {
		state.SkipWithError("the fixture's table has no journal");
		return;
	}
	cur.pos = 0;
	struct fsc_change ch;
	long bad = 0, changes = 0;
	for (auto _ : state) {
		int r = fsc_journal_next(g_reader, &cur, &ch);
		benchmark::DoNotOptimize(ch.path[0]);
		if (r == FSC_CHANGE) {
			changes++;
		} else {
			bad += r != FSC_CAUGHT_UP;
			cur.pos = 0;
		}
	}
	require_zero(bad, "BM_fsc_journal_next", "lost the cursor");
	require_zero(changes == 0, "BM_fsc_journal_next", "read no change");
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_fsc_journal_next);

void BM_stat_hot64(benchmark::State &state)
{
	run(state, "BM_stat_hot64", g_hit, kHot, Want::Zero, do_stat);
}
BENCHMARK(BM_stat_hot64);

void BM_fsc_lookup_hit_hot64(benchmark::State &state)
{
	run_checked(state, "BM_fsc_lookup_hit_hot64", g_hit, kHot, Want::Hit, do_lookup, true);
}
BENCHMARK(BM_fsc_lookup_hit_hot64);

} // namespace

// Callgrind driver: passes * count calls of one kind. Each loop is its own non-inlined function
// so that valgrind --tool=callgrind --toggle-collect=fsc_bench_drive_<mode> counts exactly the
// calls (plus about 5 instructions of loop per call) and nothing of setup or checks.
extern "C" {
__attribute__((noinline)) long fsc_bench_drive_lookup_hit(long passes)
{
	struct stat st;
	long bad = 0;
	for (long p = 0; p < passes; p++)
		for (size_t i = 0; i < g_n; i++)
			bad += fsc_lookup(g_reader, g_hit[i], &st, nullptr) != FSC_HIT;
	return bad;
}

__attribute__((noinline)) long fsc_bench_drive_stat_hit(long passes)
{
	struct stat st;
	long bad = 0;
	for (long p = 0; p < passes; p++)
		for (size_t i = 0; i < g_n; i++)
			bad += fsc_stat(g_reader, g_hit[i], &st) != 0;
	return bad;
}

__attribute__((noinline)) long fsc_bench_drive_lookup_miss(long passes)
{
	struct stat st;
	long bad = 0;
	for (long p = 0; p < passes; p++)
		for (size_t i = 0; i < g_n; i++)
			bad += fsc_lookup(g_reader, g_miss[i], &st, nullptr) != FSC_MISS;
	return bad;
}
}

namespace
{

int run_driver(const char *mode, long passes)
{
	long bad;
	if (std::strcmp(mode, "lookup_hit") == 0) {
		bad = fsc_bench_drive_lookup_hit(passes);
	} else if (std::strcmp(mode, "stat_hit") == 0) {
		bad = fsc_bench_drive_stat_hit(passes);
	} else if (std::strcmp(mode, "lookup_miss") == 0) {
		bad = fsc_bench_drive_lookup_miss(passes);
	} else {
		std::fprintf(stderr, "unknown --fsc_driver mode %s\n", mode);
		return 2;
	}
	require_all(true, "driver", "after");
	std::printf("driver %s: %ld calls, %ld unexpected answers\n", mode,
		    passes * static_cast<long>(g_n), bad);
	return bad ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
	const char *driver = nullptr;
	long passes = 10;
	int kept = 1;
	for (int i = 1; i < argc; i++) {
		if (std::strncmp(argv[i], "--fsc_driver=", 13) == 0)
			driver = argv[i] + 13;
		else if (std::strncmp(argv[i], "--fsc_driver_passes=", 20) == 0)
			passes = std::atol(argv[i] + 20);
		else
			argv[kept++] = argv[i];
	}
	argc = kept;
	argv[argc] = nullptr;
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;

	struct fsc_bench_opts opts = {};
	opts.parent = std::getenv("FSC_BENCH_PARENT");
	opts.table = std::getenv("FSC_BENCH_TABLE");
	if (const char *ss = std::getenv("FSC_BENCH_SLOT_SIZE"))
		opts.slot_size = static_cast<unsigned>(std::strtoul(ss, nullptr, 10));
	const char *why = nullptr;
	if (fsc_bench_fixture_setup(&g_fix, &opts, &why) != 0) {
		std::fprintf(stderr, "bench_lookup: fixture: %s: %s\n", why ? why : "failed",
			     std::strerror(errno));
		return 1;
	}
	g_n = fsc_bench_count(g_fix);
	g_hit = fsc_bench_hit_paths(g_fix);
	g_miss = fsc_bench_miss_paths(g_fix);
	g_reader = fsc_bench_reader(g_fix);

	int rc = 0;
	if (driver) {
		rc = run_driver(driver, passes > 0 ? passes : 1);
	} else {
		benchmark::AddCustomContext("fsc_paths", std::to_string(g_n));
		benchmark::AddCustomContext("fsc_path_example", g_hit[0]);
		benchmark::AddCustomContext("fsc_path_bytes",
					    std::to_string(std::strlen(g_hit[0])));
		benchmark::AddCustomContext("fsc_table", fsc_bench_table(g_fix));
		benchmark::AddCustomContext("fsc_slots",
					    std::to_string(fsc_bench_slot_count(g_fix)));
		benchmark::AddCustomContext("fsc_slot_size",
					    std::to_string(fsc_bench_slot_size(g_fix)));
		benchmark::RunSpecifiedBenchmarks();
		benchmark::Shutdown();
	}
	fsc_bench_fixture_teardown(g_fix);
	return rc;
}
