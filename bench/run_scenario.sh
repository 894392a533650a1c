#!/bin/sh
# Runs the headline scenario and the inotify-direct comparison; one JSON file per driver:
#   scenario_monitors.json  K = 1, 4, 16 monitor processes know the size of 10,000 files at
#                           10 Hz while 100 of them grow (100 appends/s each): total CPU with
#                           stat(2) of every file, against fsc_stat of every file + fscd, and
#                           against fsc_stat of what fsc's change journal names + fscd; and
#                           the notice delay
#   inotify_direct.json     what K monitors with their own inotify pay to start (a watch per
#                           directory, or per file) against one fscd
#
#   BUILD=build-rel bench/run_scenario.sh [OUTDIR]      (OUTDIR default: bench/results)
#
# Environment: BUILD (build dir, default build-rel; configured and built if needed),
# MONITORS (default 1,4,16), MODES (scenario monitor modes, default stat,fsc,journal), RATE
# (appends/s per hot file, default 100), WINDOW_MS (default 8000), WARMUP_MS (default 2000),
# JOURNAL_DEDUP (1, the default: a journal monitor reads the tick's entries, then looks at
# each file they named once, as a monitor that wants each file's size once per tick would;
# 0: one lookup per entry), ROUNDS (inotify_direct rounds, default 3).
# About 2 minutes on a 2-vCPU VM. Trees go to a fresh /tmp/fscd_scenario.XXXXXX and tables
# are named fscb-<driver>-<pid>; both are removed on exit, whatever happens, and fscd, the
# appender and the monitors die with the driver that started them (PR_SET_PDEATHSIG).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/bench_lib.sh
. "$here/bench_lib.sh" # top, BUILD, bench_build, bench_run, bench_header
OUTDIR=${1:-$here/results}
MONITORS=${MONITORS:-1,4,16}
MODES=${MODES:-stat,fsc,journal}
JOURNAL_DEDUP=${JOURNAL_DEDUP:-1}
RATE=${RATE:-100}
WINDOW_MS=${WINDOW_MS:-8000}
WARMUP_MS=${WARMUP_MS:-2000}
ROUNDS=${ROUNDS:-3}

bench_build scenario_monitors inotify_direct

mkdir -p "$OUTDIR"
work=$(mktemp -d /tmp/fscd_scenario.XXXXXX)
# one object directory (shm/fsc_shm_dir.h) for every driver of this run, on tmpfs; removed,
# with whatever a killed driver left in it, at exit
FSC_DIR=$(mktemp -d /dev/shm/fsc-bench.XXXXXX)
chmod 755 "$FSC_DIR"
export FSC_DIR
cleanup() {
	rm -rf "$work"
	rm -rf "$FSC_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_header
start=$(date +%s)
dedup=
[ "$JOURNAL_DEDUP" = 1 ] && dedup=--journal-dedup
# shellcheck disable=SC2086 # $dedup: no option, or one word
bench_run scenario_monitors --name "fscb-scenario-$$" --monitors "$MONITORS" --modes "$MODES" \
	--rate "$RATE" --window-ms "$WINDOW_MS" --warmup-ms "$WARMUP_MS" $dedup
bench_run inotify_direct --name "fscb-idir-$$" --monitors "$MONITORS" --rounds "$ROUNDS"
echo "JSON in $OUTDIR (scenario_monitors.json, inotify_direct.json); $(($(date +%s) - start)) s"
