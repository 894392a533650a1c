#!/bin/sh
# Watchman head to head (bench/watchman_h2h.c): fscd and a private watchman server watch the
# same 100 x 100 file tree; writes to OUTDIR
#   watchman_h2h.json         cost per answer (fsc_lookup, fsc_stat, stat, watchman queries
#                             with and without sync) and change-to-visible latency, watchman
#                             with its default 20 ms subscription settle
#   watchman_h2h_settle0.json the latency part again with the settle set to 0 ms
#                             (.watchmanconfig), watchman's fastest subscription
#
#   BUILD=build-rel bench/run_watchman.sh [OUTDIR]      (OUTDIR default: bench/results)
#
# Environment: BUILD (build dir, default build-rel; configured and built if needed),
# WATCHMAN (default: watchman from PATH), DIRS and FILES (tree, default 100 x 100), QUERIES
# (watchman queries per kind, default 2000), SAMPLES (latency samples per method, default
# 300). About 30 s on a 2-vCPU VM. If watchman is not installed, says so, writes a JSON that
# says skipped and exits 0. The driver runs watchman on its own socket, state and config
# files (never a user's watchman); trees and state go to a fresh /tmp/fscd_wm.XXXXXX, the
# table is named fscb-wmh2h*-<pid>, and all are removed on exit.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/bench_lib.sh
. "$here/bench_lib.sh" # top, BUILD, bench_build, bench_run, bench_header
OUTDIR=${1:-$here/results}
WATCHMAN=${WATCHMAN:-watchman}
DIRS=${DIRS:-100}
FILES=${FILES:-100}
QUERIES=${QUERIES:-2000}
SAMPLES=${SAMPLES:-300}

mkdir -p "$OUTDIR"
if ! command -v "$WATCHMAN" >/dev/null 2>&1; then
	echo "watchman_h2h: skipped: '$WATCHMAN' is not installed" \
		"(Debian/Ubuntu: apt-get install watchman; or set WATCHMAN=/path/to/watchman)" >&2
	printf '{"benchmark":"watchman_h2h","skipped":"watchman is not installed"}\n' \
		>"$OUTDIR/watchman_h2h.json"
	exit 0
fi

bench_build watchman_h2h

work=$(mktemp -d /tmp/fscd_wm.XXXXXX)
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

run() { # output name, then the driver's arguments
	name=$1
	shift
	bench_run_as watchman_h2h "$name" --watchman "$WATCHMAN" --dirs "$DIRS" --files "$FILES" "$@"
}

bench_header
echo "watchman: $(command -v "$WATCHMAN") $("$WATCHMAN" --version 2>/dev/null || echo '?')"
start=$(date +%s)
run watchman_h2h --name "fscb-wmh2h-$$" --queries "$QUERIES" --samples "$SAMPLES"
run watchman_h2h_settle0 --name "fscb-wmh2h0-$$" --only latency --settle-ms 0 \
	--samples "$SAMPLES"
echo "JSON in $OUTDIR (watchman_h2h.json, watchman_h2h_settle0.json);" \
	"$(($(date +%s) - start)) s"
