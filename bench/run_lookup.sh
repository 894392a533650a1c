#!/bin/sh
# Runs the lookup benchmark (bench_lookup) with repetitions and prints the medians and the
# ratios stat()/fsc_lookup hit and stat()/fsc_stat hit, measured side by side in one run.
#
#   bench/run_lookup.sh [extra google-benchmark flags]
#
# Environment: BUILD (build dir, default build-rel), OUT (JSON results, default
# $BUILD/bench/lookup.json), REPS (repetitions, default 7), MIN_TIME (seconds per repetition,
# a plain number: google-benchmark 1.7.1 rejects "0.2s"; default 0.2). About 20 s in all.
#
# Repetitions are interleaved in random order (--benchmark_enable_random_interleaving) so that
# a noisy spell on a shared machine hits every benchmark alike instead of one of them.
# The tree goes to a fresh /tmp/fscb.XXXXXX (paths of 56 bytes on /tmp's filesystem) and the
# table is named fscbench-run.<pid>; both are removed on exit, whatever happens.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
BUILD=${BUILD:-$top/build-rel}
BIN=$BUILD/bench/bench_lookup
OUT=${OUT:-$BUILD/bench/lookup.json}
REPS=${REPS:-7}
MIN_TIME=${MIN_TIME:-0.2}

if [ ! -x "$BIN" ]; then
	echo "no $BIN; build it first:" >&2
	echo "  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release &&" \
		"cmake --build build-rel -j2 --target bench_lookup" >&2
	exit 1
fi

work=$(mktemp -d /tmp/fscb.XXXXXX)
# one object directory (shm/fsc_shm_dir.h) for every driver of this run, on tmpfs; removed,
# with whatever a killed driver left in it, at exit
FSC_DIR=$(mktemp -d /dev/shm/fsc-bench.XXXXXX)
chmod 755 "$FSC_DIR"
export FSC_DIR
table=fscbench-run.$$
cleanup() {
	rm -rf "$work"
	rm -rf "$FSC_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

set -- --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
	--benchmark_min_time="$MIN_TIME" --benchmark_enable_random_interleaving=true \
	--benchmark_out="$OUT" --benchmark_out_format=json "$@"
echo "command: FSC_BENCH_PARENT=$work FSC_BENCH_TABLE=$table $BIN $*"
if ! FSC_BENCH_PARENT=$work FSC_BENCH_TABLE=$table "$BIN" "$@" >"$work/console.txt" 2>&1; then
	cat "$work/console.txt" >&2
	echo "bench_lookup failed" >&2
	exit 1
fi
grep -i warning "$work/console.txt" || true

python3 - "$OUT" <<'EOF'
import json, sys

with open(sys.argv[1]) as f:
    doc = json.load(f)
ctx = doc["context"]
rows = {}
for b in doc["benchmarks"]:
    if b.get("run_type") != "aggregate":
        continue
    name = b["run_name"]
    rows.setdefault(name, {})[b["aggregate_name"]] = b

def med(name, field="real_time"):
    return rows[name]["median"][field]

print(f"host: {ctx.get('host_name')}  cpus: {ctx.get('num_cpus')}  "
      f"MHz: {ctx.get('mhz_per_cpu')}  load: {ctx.get('load_avg')}")
print(f"paths: {ctx.get('fsc_paths')} x {ctx.get('fsc_path_bytes')} bytes, e.g. "
      f"{ctx.get('fsc_path_example')}; table: {ctx.get('fsc_slots')} slots of "
      f"{ctx.get('fsc_slot_size')} bytes")
reps = next(iter(rows.values()))["median"].get("repetitions")
print(f"repetitions: {reps}, medians in ns per call\n")
print(f"{'benchmark':26} {'real':>9} {'cpu':>9} {'cv(real)':>9}")
order = ["BM_stat", "BM_statx", "BM_fsc_lookup_hit", "BM_fsc_stat_hit", "BM_stat_miss",
         "BM_fsc_lookup_miss", "BM_stat_hot64", "BM_fsc_lookup_hit_hot64"]
names = [n for n in order if n in rows] + sorted(n for n in rows if n not in order)
for name in names:
    r = rows[name]
    cv = r.get("cv", {}).get("real_time")
    cvs = f"{100 * cv:8.1f}%" if cv is not None else ""
    print(f"{name:26} {med(name):9.1f} {med(name, 'cpu_time'):9.1f} {cvs:>9}")

ratios = [
    ("stat / fsc_lookup hit", "BM_stat", "BM_fsc_lookup_hit", 30),
    ("stat / fsc_stat hit", "BM_stat", "BM_fsc_stat_hit", 30),
    ("stat ENOENT / fsc_lookup miss", "BM_stat_miss", "BM_fsc_lookup_miss", None),
    ("hot64: stat / fsc_lookup hit", "BM_stat_hot64", "BM_fsc_lookup_hit_hot64", None),
]
print(f"\n{'ratio (medians)':32} {'real':>7} {'cpu':>7}  target")
ok = True
for label, a, b, target in ratios:
    if a not in rows or b not in rows:
        continue
    real = med(a) / med(b)
    cpu = med(a, "cpu_time") / med(b, "cpu_time")
    verdict = ""
    if target:
        met = real >= target
        ok = ok and met
        verdict = f">= {target}x: {'met' if met else 'NOT met'}"
    print(f"{label:32} {real:6.1f}x {cpu:6.1f}x  {verdict}")
print("\ntarget (hit at least 30x cheaper than stat, median): " + ("met" if ok else "NOT met"))
EOF
echo "JSON: $OUT"
