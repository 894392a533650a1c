// The lookup sweep: what a lookup costs as the table grows and as paths get longer, against
// stat(2), statx(2) and a private in-process hash table over the same keys (the floor).
//
// A C++ shim only because google-benchmark is C++: what it measures is the C API (fsc.h), the
// private table (bench_private_table.c) and the kernel; the tables, keys and real files come
// from bench_sweep.c. As in bench_lookup.cc, one iteration is one call and every benchmark
// walks its key array round-robin (so the slots it reads are in hash order: random).
//
//   bench_lookup_sweep [google-benchmark flags] [--sweep_sizes=1000,10000,100000,1000000]
//       [--sweep_size_len=50] [--sweep_lengths=20,50,100,200] [--sweep_length_size=10000]
//       [--sweep_real_files=10000]
//
// Tables: one per (entries, path length): the sizes at --sweep_size_len bytes, and the
// lengths at --sweep_length_size entries (not the full cross product). stat(2) runs on
// --sweep_real_files real files per path length whose root fits (not on millions of files).
// Benchmark names: <kind>/n:<entries>/len:<bytes> (kinds fsc_lookup_hit, fsc_stat_hit,
// fsc_lookup_negative, fsc_lookup_miss, private_hit, private_miss) and stat/len:<bytes>,
// statx/len:<bytes>, stat_enoent/len:<bytes>. Every answer timed is checked (a hit must
// carry its own record), and a wrong one aborts the run rather than report a number.
//
// Environment: FSC_BENCH_PARENT (where the real files go; default $TMPDIR or /tmp),
// FSC_BENCH_TABLE (table name base; default fscsweep.<pid>).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "bench_private_table.h"
#include "bench_sweep.h"
#include "fsc.h"
}

namespace
{

struct Options {
	std::vector<size_t> sizes{1000, 10000, 100000, 1000000};
	unsigned size_len = 50;
	std::vector<size_t> lengths{20, 50, 100, 200};
	size_t length_size = 10000;
	size_t real_files = 10000;
};

std::vector<size_t> parse_list(const char *s)
{
	std::vector<size_t> out;
	while (*s) {
		char *end = nullptr;
		unsigned long long v = std::strtoull(s, &end, 10);
		if (end == s)
			break; // not a number: stop
		out.push_back(v);
		s = *end == ',' ? end + 1 : end;
	}
	return out;
}

// Takes our own --sweep_* flags out of argv; the rest goes to google-benchmark.
Options parse_options(int &argc, char **argv)
{
	Options o;
	int kept = 1;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&](const char *flag) -> const char * {
			size_t n = std::strlen(flag);
			return a.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
		};
		if (const char *v = value("--sweep_sizes="))
			o.sizes = parse_list(v);
		else if (const char *v = value("--sweep_size_len="))
			o.size_len = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
		else if (const char *v = value("--sweep_lengths="))
			o.lengths = parse_list(v);
		else if (const char *v = value("--sweep_length_size="))
			o.length_size = std::strtoull(v, nullptr, 10);
		else if (const char *v = value("--sweep_real_files="))
			o.real_files = std::strtoull(v, nullptr, 10);
		else
			argv[kept++] = argv[i];
	}
	argc = kept;
	argv[argc] = nullptr;
	return o;
}

// The loop every benchmark runs: one call per iteration over keys round-robin; check(path, i)
// makes the call and says whether the answer was the expected one. It is inlined, so the loop
// overhead is the same for all.
template <class Check>
void walk(benchmark::State &state, const std::string &name, const bench_keyset &keys, Check check)
{
	const char *const *paths = keys.path;
	size_t count = keys.count, i = 0;
	long bad = 0;
	for (auto _ : state) {
		bad += !check(paths[i], i);
		if (++i == count)
			i = 0;
	}
	if (bad) {
		std::fprintf(stderr,
			     "%s: %ld of %lld answers were not the expected one; aborting rather "
			     "than report a wrong number\n",
			     name.c_str(), bad, static_cast<long long>(state.iterations()));
		std::abort();
	}
	state.SetItemsProcessed(state.iterations());
	state.counters["keys"] = static_cast<double>(count);
}

bool own_record(const struct stat &st, size_t i)
{
	return st.st_ino == static_cast<ino_t>(BENCH_SWEEP_INO_BASE + i);
}

void table_counters(benchmark::State &state, const bench_sweep_table *t)
{
	state.counters["entries"] = static_cast<double>(t->entries);
	state.counters["path_len"] = t->path_len;
	state.counters["slots"] = static_cast<double>(t->slot_count);
	state.counters["slot_size"] = t->slot_size;
	state.counters["load"] = static_cast<double>(t->entries) / t->slot_count;
}

using TableBench = void (*)(benchmark::State &, const std::string &, const bench_sweep_table *);

void fsc_lookup_hit(benchmark::State &state, const std::string &name, const bench_sweep_table *t)
{
	walk(state, name, t->hit, [t](const char *p, size_t i) {
		struct stat st;
		return fsc_lookup(t->reader, p, &st, nullptr) == FSC_HIT && own_record(st, i);
	});
}

void fsc_stat_hit(benchmark::State &state, const std::string &name, const bench_sweep_table *t)
{
	// a fall back to stat(2) would not return this record (the keys' files, if any, have
	// other inode numbers; most keys name no file at all)
	walk(state, name, t->hit, [t](const char *p, size_t i) {
		struct stat st;
		return fsc_stat(t->reader, p, &st) == 0 && own_record(st, i);
	});
}

void fsc_lookup_negative(benchmark::State &state, const std::string &name,
			 const bench_sweep_table *t)
{
	walk(state, name, t->negative, [t](const char *p, size_t) {
		struct stat st;
		return fsc_lookup(t->reader, p, &st, nullptr) == FSC_NEGATIVE;
	});
}

void fsc_lookup_miss(benchmark::State &state, const std::string &name, const bench_sweep_table *t)
{
	walk(state, name, t->miss, [t](const char *p, size_t) {
		struct stat st;
		return fsc_lookup(t->reader, p, &st, nullptr) == FSC_MISS;
	});
}

void private_hit(benchmark::State &state, const std::string &name, const bench_sweep_table *t)
{
	walk(state, name, t->hit, [t](const char *p, size_t i) {
		struct stat st;
		return bench_private_lookup(t->private_table, p, &st) == FSC_HIT &&
		       own_record(st, i);
	});
}

void private_miss(benchmark::State &state, const std::string &name, const bench_sweep_table *t)
{
	walk(state, name, t->miss, [t](const char *p, size_t) {
		struct stat st;
		return bench_private_lookup(t->private_table, p, &st) == FSC_MISS;
	});
}

void register_table(const bench_sweep_table *t)
{
	static const std::pair<const char *, TableBench> kinds[] = {
	    {"fsc_lookup_hit", fsc_lookup_hit},
	    {"fsc_stat_hit", fsc_stat_hit},
	    {"fsc_lookup_negative", fsc_lookup_negative},
	    {"fsc_lookup_miss", fsc_lookup_miss},
	    {"private_hit", private_hit},
	    {"private_miss", private_miss},
	};
	for (const auto &kind : kinds) {
		std::string name = std::string(kind.first) + "/n:" + std::to_string(t->entries) +
				   "/len:" + std::to_string(t->path_len);
		TableBench fn = kind.second;
		benchmark::RegisterBenchmark(name.c_str(), [t, fn, name](benchmark::State &state) {
			fn(state, name, t);
			table_counters(state, t);
		});
	}
}

void register_tree(const bench_stat_tree *t)
{
	std::string len = "/len:" + std::to_string(t->path_len);
	auto counters = [t](benchmark::State &state) {
		state.counters["path_len"] = t->path_len;
		state.counters["files"] = static_cast<double>(t->exists.count);
	};
	benchmark::RegisterBenchmark(
	    ("stat" + len).c_str(), [t, counters, len](benchmark::State &s) {
		    walk(s, "stat" + len, t->exists, [](const char *p, size_t) {
			    struct stat st;
			    return stat(p, &st) == 0;
		    });
		    counters(s);
	    });
	benchmark::RegisterBenchmark(
	    ("statx" + len).c_str(), [t, counters, len](benchmark::State &s) {
		    walk(s, "statx" + len, t->exists, [](const char *p, size_t) {
			    struct statx stx;
			    return statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &stx) == 0;
		    });
		    counters(s);
	    });
	benchmark::RegisterBenchmark(
	    ("stat_enoent" + len).c_str(), [t, counters, len](benchmark::State &s) {
		    walk(s, "stat_enoent" + len, t->absent, [](const char *p, size_t) {
			    struct stat st;
			    return stat(p, &st) != 0 && errno == ENOENT;
		    });
		    counters(s);
	    });
}

struct Fixture {
	char root[256] = "";
	std::vector<bench_sweep_table *> tables;
	std::vector<bench_stat_tree *> trees;
	std::string no_tree; // path lengths stat(2) is not measured at, and why

	~Fixture()
	{
		bench_sweep_beat_stop();
		for (auto *t : tables)
			bench_sweep_table_free(t);
		for (auto *t : trees)
			bench_stat_tree_free(t);
		bench_sweep_root_remove(root);
	}
};

std::vector<std::pair<size_t, unsigned>> table_configs(const Options &o)
{
	std::vector<std::pair<size_t, unsigned>> configs;
	for (size_t n : o.sizes)
		configs.emplace_back(n, o.size_len);
	for (size_t len : o.lengths)
		configs.emplace_back(o.length_size, static_cast<unsigned>(len));
	std::sort(configs.begin(), configs.end());
	configs.erase(std::unique(configs.begin(), configs.end()), configs.end());
	return configs;
}

bool build(Fixture &fx, const Options &o, const std::string &table_base)
{
	const char *why = nullptr;
	std::vector<unsigned> lengths;
	for (const auto &c : table_configs(o)) {
		if (bench_sweep_table_build(&fx.tables.emplace_back(), fx.root, table_base.c_str(),
					    c.first, c.second, &why) != 0) {
			fx.tables.pop_back();
			std::fprintf(stderr, "table of %zu entries, %u-byte paths: %s: %s\n",
				     c.first, c.second, why, std::strerror(errno));
			return false;
		}
		std::fprintf(stderr, "table %s: %llu slots of %u bytes\n", fx.tables.back()->name,
			     fx.tables.back()->slot_count, fx.tables.back()->slot_size);
		lengths.push_back(c.second);
	}
	std::sort(lengths.begin(), lengths.end());
	lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
	for (unsigned len : lengths) {
		if (bench_stat_tree_build(&fx.trees.emplace_back(), fx.root, o.real_files, len,
					  &why) == 0)
			continue;
		fx.trees.pop_back();
		if (errno != ENAMETOOLONG) {
			std::fprintf(stderr, "real files, %u-byte paths: %s: %s\n", len, why,
				     std::strerror(errno));
			return false;
		}
		fx.no_tree += (fx.no_tree.empty() ? "" : ",") + std::to_string(len);
	}
	return true;
}

void add_context(const Fixture &fx, const Options &o)
{
	benchmark::AddCustomContext("sweep_root", fx.root);
	benchmark::AddCustomContext("sweep_real_files", std::to_string(o.real_files));
	benchmark::AddCustomContext("sweep_no_stat_at_len", fx.no_tree);
	benchmark::AddCustomContext(
	    "sweep_note", "stat/statx run on sweep_real_files real files per path length whose "
			  "root fits; tables hold made-up records (7/8 records, 1/8 negative)");
	if (!fx.tables.empty())
		benchmark::AddCustomContext("sweep_key_example", fx.tables.front()->hit.path[0]);
}

} // namespace

int main(int argc, char **argv)
{
	Options opts = parse_options(argc, argv);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	const char *base_env = std::getenv("FSC_BENCH_TABLE");
	std::string table_base = base_env && *base_env
				     ? std::string(base_env)
				     : "fscsweep." + std::to_string(static_cast<int>(getpid()));

	Fixture fx;
	if (bench_sweep_root_make(fx.root, sizeof(fx.root), std::getenv("FSC_BENCH_PARENT"))) {
		std::fprintf(stderr, "cannot make the sweep's root: %s\n", std::strerror(errno));
		fx.root[0] = '\0';
		return 1;
	}
	if (!build(fx, opts, table_base))
		return 1;
	if (int rc = bench_sweep_beat_start()) {
		std::fprintf(stderr, "cannot start the heartbeat: %s\n", std::strerror(-rc));
		return 1;
	}
	for (const auto *t : fx.trees)
		register_tree(t);
	for (const auto *t : fx.tables)
		register_table(t);
	add_context(fx, opts);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
