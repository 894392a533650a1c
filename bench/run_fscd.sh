#!/bin/sh
# Runs the whole-process fscd benchmarks and writes one JSON file per driver:
#   fscd_latency.json  change-to-visible latency at rest and under a 100k writes/s storm
#   fscd_crawl.json    time to serve a 100 x 1000 file tree from a cold start, and after an
#                      inotify queue overflow (that part needs root; skipped otherwise)
#   fscd_cpu.json      fscd CPU time per 1,000 events/s at 0, 1k, 10k, 50k, 100k writes/s
#
#   BUILD=build-rel bench/run_fscd.sh [OUTDIR]      (OUTDIR default: bench/results)
#
# Environment: BUILD (build dir, default build-rel; configured and built if needed),
# SAMPLES (latency samples per condition, default 2000), STORM_RATE (default 100000),
# CRAWL_ROUNDS (default 5), CPU_REPS (default 3), CPU_WINDOW_MS (default 5000).
# About 2.5 minutes on a 2-vCPU VM. Trees go to a fresh /tmp/fscd_bench.XXXXXX and tables are
# named fscb-<driver>-<pid>; both are removed on exit, whatever happens, and fscd processes
# die with the driver that started them (PR_SET_PDEATHSIG).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/bench_lib.sh
. "$here/bench_lib.sh" # top, BUILD, bench_build, bench_run, bench_header
OUTDIR=${1:-$here/results}
SAMPLES=${SAMPLES:-2000}
STORM_RATE=${STORM_RATE:-100000}
CRAWL_ROUNDS=${CRAWL_ROUNDS:-5}
CPU_REPS=${CPU_REPS:-3}
CPU_WINDOW_MS=${CPU_WINDOW_MS:-5000}
QUEUE_LIMIT=1024 # fscd_crawl lowers fs.inotify.max_queued_events to this for fscd's start
QUEUE_FILE=/proc/sys/fs/inotify/max_queued_events

bench_build fscd_latency fscd_crawl fscd_cpu

mkdir -p "$OUTDIR"
work=$(mktemp -d /tmp/fscd_bench.XXXXXX)
# one object directory (shm/fsc_shm_dir.h) for every driver of this run, on tmpfs; removed,
# with whatever a killed driver left in it, at exit
FSC_DIR=$(mktemp -d /dev/shm/fsc-bench.XXXXXX)
chmod 755 "$FSC_DIR"
export FSC_DIR
saved_queue=$(cat "$QUEUE_FILE" 2>/dev/null || echo "")
cleanup() {
	# fscd_crawl restores the limit itself; this covers a driver killed in between
	if [ -n "$saved_queue" ] && [ "$saved_queue" != "$QUEUE_LIMIT" ] &&
		[ "$(cat "$QUEUE_FILE" 2>/dev/null)" = "$QUEUE_LIMIT" ]; then
		echo "$saved_queue" >"$QUEUE_FILE" 2>/dev/null || true
	fi
	rm -rf "$work"
	rm -rf "$FSC_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_header
start=$(date +%s)
bench_run fscd_latency --name "fscb-lat-$$" --samples "$SAMPLES" --storm-rate "$STORM_RATE"
bench_run fscd_crawl --name "fscb-crawl-$$" --rounds "$CRAWL_ROUNDS" --queue-limit "$QUEUE_LIMIT" \
	--tree "$work/tree100k"
bench_run fscd_cpu --name "fscb-cpu-$$" --reps "$CPU_REPS" --window-ms "$CPU_WINDOW_MS"
echo "JSON in $OUTDIR (fscd_latency.json, fscd_crawl.json, fscd_cpu.json);" \
	"$(($(date +%s) - start)) s"
