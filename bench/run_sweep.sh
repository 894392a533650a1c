#!/bin/sh
# Runs the lookup sweep (bench_lookup_sweep: table sizes and path lengths, against stat(2) and a
# private hash table) and the reader-scaling driver (scaling_readers: 1, 2, 4 reader processes
# under a stream of updates), and writes into OUTDIR (default bench/results/):
#   sweep.json          google-benchmark JSON (aggregates of REPS interleaved repetitions)
#   sweep_summary.json  the medians and ratios below, per table
#   sweep.txt           the same as text
#   scaling.json        scaling_readers' JSON
#   scaling.txt         its summary
#
#   BUILD=build-rel bench/run_sweep.sh [OUTDIR]
#
# Environment: BUILD (build dir, default build-rel; relative to the current directory or to
# the repository), REPS (default 5), MIN_TIME (seconds per repetition, a plain number; default
# 0.1), WINDOW_MS (scaling window, default 2000), ROUNDS (scaling rounds, default 3),
# SWEEP_FLAGS and SCALING_FLAGS (more flags for either binary). About 3-4 minutes on 2 vCPUs.
#
# The real files for stat(2) go to a fresh /tmp/fsw.XXXXXX; tables are named
# fscsweep-run.<pid>-* and fscscale-run.<pid>; all are removed on exit, whatever happens.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
BUILD=${BUILD:-build-rel}
[ -d "$BUILD" ] || BUILD=$top/$BUILD
OUT=${1:-$here/results}
REPS=${REPS:-5}
MIN_TIME=${MIN_TIME:-0.1}
WINDOW_MS=${WINDOW_MS:-2000}
ROUNDS=${ROUNDS:-3}
SWEEP=$BUILD/bench/bench_lookup_sweep
SCALING=$BUILD/bench/scaling_readers

for bin in "$SWEEP" "$SCALING"; do
	if [ ! -x "$bin" ]; then
		echo "no $bin; build it first:" >&2
		echo "  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release &&" \
			"cmake --build build-rel -j2 --target bench_lookup_sweep scaling_readers" >&2
		exit 1
	fi
done
mkdir -p "$OUT"

work=$(mktemp -d /tmp/fsw.XXXXXX)
# one object directory (shm/fsc_shm_dir.h) for every driver of this run, on tmpfs; removed,
# with whatever a killed driver left in it, at exit
FSC_DIR=$(mktemp -d /dev/shm/fsc-bench.XXXXXX)
chmod 755 "$FSC_DIR"
export FSC_DIR
table=fscsweep-run.$$
scale_table=fscscale-run.$$
cleanup() {
	rm -rf "$work"
	rm -rf "$FSC_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
# shellcheck disable=SC2086 # SWEEP_FLAGS is a list of flags
set -- --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
	--benchmark_min_time="$MIN_TIME" --benchmark_enable_random_interleaving=true \
	--benchmark_out="$OUT/sweep.json" --benchmark_out_format=json ${SWEEP_FLAGS:-}
echo "command: FSC_BENCH_PARENT=$work FSC_BENCH_TABLE=$table $SWEEP $*"
if ! FSC_BENCH_PARENT=$work FSC_BENCH_TABLE=$table "$SWEEP" "$@" >"$work/sweep-console.txt" 2>&1
then
	cat "$work/sweep-console.txt" >&2
	echo "bench_lookup_sweep failed" >&2
	exit 1
fi
grep -i -e warning -e '^table' "$work/sweep-console.txt" || true

python3 - "$OUT/sweep.json" "$OUT/sweep_summary.json" <<'EOF' | tee "$OUT/sweep.txt"
import json, sys

with open(sys.argv[1]) as f:
    doc = json.load(f)
ctx = doc["context"]
med = {}
for b in doc["benchmarks"]:
    if b.get("run_type") == "aggregate" and b["aggregate_name"] == "median":
        med[b["run_name"]] = b

def ns(kind, n=None, length=None):
    name = kind + (f"/n:{n}" if n is not None else "") + f"/len:{length}"
    return med[name]["real_time"] if name in med else None

tables = sorted({(int(b["entries"]), int(b["path_len"])) for b in med.values() if "entries" in b})
stat_lens = sorted({int(b["path_len"]) for k, b in med.items() if k.startswith("stat/")})
reps = next(iter(med.values())).get("repetitions")
print(f"host: {ctx.get('host_name')}  cpus: {ctx.get('num_cpus')}  MHz: {ctx.get('mhz_per_cpu')}"
      f"  load: {ctx.get('load_avg')}")
print(f"medians of {reps} interleaved repetitions, real time, ns per call; key e.g. "
      f"{ctx.get('sweep_key_example')}")
print(f"stat/statx: {ctx.get('sweep_real_files')} real files per path length "
      f"{stat_lens}; none at {ctx.get('sweep_no_stat_at_len') or '-'} (root too long): "
      "those rows use the nearest length's stat (*)")
print("tables: made-up records, 7/8 positive, 1/8 negative; slot size "
      f"{next(b['slot_size'] for b in med.values() if 'slot_size' in b):.0f} bytes\n")

rows = []
for n, length in tables:
    base = min(stat_lens, key=lambda x: abs(x - length)) if stat_lens else None
    r = {"entries": n, "path_len": length, "stat_path_len": base}
    for kind in ("fsc_lookup_hit", "fsc_stat_hit", "fsc_lookup_negative", "fsc_lookup_miss",
                 "private_hit", "private_miss"):
        r[kind] = ns(kind, n, length)
    b = med.get(f"fsc_lookup_hit/n:{n}/len:{length}", {})
    r["slots"], r["load"] = b.get("slots"), b.get("load")
    for kind in ("stat", "statx", "stat_enoent"):
        r[kind] = ns(kind, length=base) if base else None
    def ratio(a, b):
        return round(r[a] / r[b], 2) if r[a] and r[b] else None
    r["stat_over_fsc_lookup_hit"] = ratio("stat", "fsc_lookup_hit")
    r["stat_over_fsc_stat_hit"] = ratio("stat", "fsc_stat_hit")
    r["fsc_lookup_hit_over_private_hit"] = ratio("fsc_lookup_hit", "private_hit")
    r["fsc_stat_hit_over_private_hit"] = ratio("fsc_stat_hit", "private_hit")
    r["stat_enoent_over_fsc_negative"] = ratio("stat_enoent", "fsc_lookup_negative")
    r["fsc_miss_over_private_miss"] = ratio("fsc_lookup_miss", "private_miss")
    rows.append(r)

def fmt(v, spec=".1f"):
    return format(v, spec) if v is not None else "-"

def table(title, keep):
    print(title)
    print(f"{'entries':>8} {'len':>4} {'load':>5} | {'lookup':>7} {'fsc_stat':>8} "
          f"{'private':>7} {'stat':>7} | {'stat/lkp':>8} {'stat/fst':>8} {'lkp/prv':>7} "
          f"{'fst/prv':>7} | {'negative':>8} {'miss':>6} {'prv miss':>8} {'ENOENT':>7}")
    for r in rows:
        if not keep(r):
            continue
        star = "*" if r["stat_path_len"] != r["path_len"] else " "
        print(f"{r['entries']:>8} {r['path_len']:>4} {fmt(r['load'], '.2f'):>5} | "
              f"{fmt(r['fsc_lookup_hit']):>7} {fmt(r['fsc_stat_hit']):>8} "
              f"{fmt(r['private_hit']):>7} {fmt(r['stat'], '.0f'):>6}{star} | "
              f"{fmt(r['stat_over_fsc_lookup_hit']):>7}x {fmt(r['stat_over_fsc_stat_hit']):>7}x "
              f"{fmt(r['fsc_lookup_hit_over_private_hit'], '.2f'):>6}x "
              f"{fmt(r['fsc_stat_hit_over_private_hit'], '.2f'):>6}x | "
              f"{fmt(r['fsc_lookup_negative']):>8} {fmt(r['fsc_lookup_miss']):>6} "
              f"{fmt(r['private_miss']):>8} {fmt(r['stat_enoent'], '.0f'):>7}")
    print()

lens = sorted({length for _, length in tables})
sizes = sorted({n for n, _ in tables})
size_len = max(lens, key=lambda l: sum(1 for _, x in tables if x == l))
length_size = max(sizes, key=lambda s: sum(1 for x, _ in tables if x == s))
table(f"table size (paths of {size_len} bytes)", lambda r: r["path_len"] == size_len)
table(f"path length ({length_size} entries)", lambda r: r["entries"] == length_size)
print("lookup = fsc_lookup hit, fsc_stat = fsc_stat hit, private = private table hit; "
      "stat/lkp = stat() / fsc_lookup hit; lkp/prv = fsc_lookup hit / private hit; "
      "ENOENT = stat() of an absent path")
with open(sys.argv[2], "w") as f:
    json.dump({"context": ctx, "rows": rows}, f, indent=1)
EOF

echo
echo "command: $SCALING --window-ms $WINDOW_MS --rounds $ROUNDS --table $scale_table" \
	"${SCALING_FLAGS:-}"
# shellcheck disable=SC2086 # SCALING_FLAGS is a list of flags
if ! "$SCALING" --window-ms "$WINDOW_MS" --rounds "$ROUNDS" --table "$scale_table" \
	${SCALING_FLAGS:-} >"$OUT/scaling.json" 2>"$OUT/scaling.txt"; then
	cat "$OUT/scaling.txt" >&2
	echo "scaling_readers failed" >&2
	exit 1
fi
cat "$OUT/scaling.txt"
echo
echo "JSON: $OUT/sweep.json $OUT/sweep_summary.json $OUT/scaling.json ($(($(date +%s) - start)) s)"
