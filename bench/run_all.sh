#!/bin/sh
# The whole benchmark suite in one go: builds a Release tree, runs every benchmark side by
# side on this machine, writes one JSON file per benchmark and PNG plots into OUTDIR.
#
#   bench/run_all.sh [OUTDIR]          (OUTDIR default: bench/results; BUILD default build-rel)
#   tools/dev.sh bench                 (the same, after installing what it needs)
#
# Parts (each also runs alone; see its script):
#   run_sweep.sh      lookup cost: stat, statx, fsc hits/misses/negatives, sizes, path lengths,
#                     a private hash table as the floor; reader scaling over processes
#   run_scenario.sh   the headline: 10,000 logs, K monitors, stat() vs fsc_stat; inotify direct
#   run_watchman.sh   Watchman head to head (skipped, with a note, if watchman is missing)
#   run_eviction.sh   hit ratio of fsc's CLOCK vs LRU and SIEVE, with and without admission
#   run_fscd.sh       fscd change-to-visible latency, crawl, CPU per event rate
#   run_python.sh     the Python package: os.stat vs Cache.stat/lookup, a Python monitor loop
#   run_watch.sh      fsc-watch and fsc-wait beside entr and inotifywait: latency, idle CPU,
#                     watches and setup time on a 100,000-file tree (entr and inotify-tools
#                     rows skipped, with a note, if they are missing)
#   plot.py           PNG plots of all of it (gnuplot)
# Needs root for the overflow part of run_fscd.sh (skipped otherwise). Under 20 minutes on a
# 2-vCPU VM; the parts run one after the other, never two at once.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
BUILD=${BUILD:-$top/build-rel}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
export BUILD
OUTDIR=${1:-$here/results}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

cmake -S "$top" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 >/dev/null

start=$(date +%s)
step() {
	name=$1
	shift
	t0=$(date +%s)
	printf '\n== %s\n' "$name" >&2
	"$@"
	printf '== %s: %s s\n' "$name" $(($(date +%s) - t0)) >&2
}

for part in run_sweep run_scenario run_watchman run_eviction run_fscd run_python run_watch; do
	if [ -x "$here/$part.sh" ]; then
		step "$part" "$here/$part.sh" "$OUTDIR"
	else
		printf '\n== %s: not present, skipped\n' "$part" >&2
	fi
done
step plots python3 "$here/plot.py" "$OUTDIR"
printf '\nall benchmarks done in %s s; JSON and PNG in %s\n' $(($(date +%s) - start)) "$OUTDIR" >&2
