#!/bin/sh
# fsc-watch and fsc-wait beside entr and an `inotifywait -m -r` loop (issue 11): change-to-
# command-start latency p50/p99 (every watcher running at once, interleaved), CPU of each over
# a minute idle, kernel inotify watches and setup time for 1 and 4 watchers of a 1,000 x 100
# file tree, and fsc-wait's close-to-return latency. bench/watch_bench.py does the measuring.
#
#   bench/run_watch.sh [OUTDIR]      (OUTDIR default bench/results; BUILD default build-rel)
#
# Environment: SAMPLES (latency samples per watcher, default 100), IDLE_S (default 60),
# WAIT_SAMPLES (default 100), TREE (default /tmp/fsc-watchbench-tree: made once, reused).
# Writes OUTDIR/watch.json and OUTDIR/watch.txt. About 4 minutes on a 2-vCPU VM (plus a minute
# the first time, to make the tree). entr and inotifywait are peers when installed
# (apt-get install entr inotify-tools; each is skipped with a note when missing). As root it
# raises fs.inotify.max_user_watches for the tree part (4 entr of 100,000 files need 400,000
# watches) and restores it; entr gets `ulimit -n 1048576` (it refuses more files than that
# limit).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/bench_lib.sh
. "$here/bench_lib.sh" # top, BUILD, bench_build, bench_header
OUTDIR=${1:-$here/results}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
SAMPLES=${SAMPLES:-100}
IDLE_S=${IDLE_S:-60}
WAIT_SAMPLES=${WAIT_SAMPLES:-100}
TREE=${TREE:-/tmp/fsc-watchbench-tree}

bench_build fsc-watch fsc-wait

# one object directory (shm/fsc_shm_dir.h) for every fscd of this run, on tmpfs; removed, with
# whatever a killed run left in it, at exit
FSC_DIR=$(mktemp -d /dev/shm/fsc-bench.XXXXXX)
chmod 755 "$FSC_DIR"
export FSC_DIR
trap 'rm -rf "$FSC_DIR"' EXIT
trap 'exit 130' INT TERM

for tool in entr inotifywait; do
	command -v "$tool" >/dev/null || echo "note: $tool not installed: its rows are skipped" \
		"(apt-get install entr inotify-tools)"
done
{
	bench_header
	echo "entr: $(dpkg-query -W -f '${Version}' entr 2>/dev/null || echo none)" \
		" inotify-tools: $(dpkg-query -W -f '${Version}' inotify-tools 2>/dev/null || echo none)"
	echo "command: $here/watch_bench.py --watch $BUILD/tools/fsc-watch --wait $BUILD/tools/fsc-wait" \
		"--fscd $BUILD/writer/fscd/fscd --samples $SAMPLES --idle $IDLE_S" \
		"--wait-samples $WAIT_SAMPLES --tree $TREE --out $OUTDIR/watch.json"
	/usr/bin/python3 "$here/watch_bench.py" --watch "$BUILD/tools/fsc-watch" \
		--wait "$BUILD/tools/fsc-wait" --fscd "$BUILD/writer/fscd/fscd" --samples "$SAMPLES" \
		--idle "$IDLE_S" --wait-samples "$WAIT_SAMPLES" --tree "$TREE" --out "$OUTDIR/watch.json"
} 2>&1 | tee "$OUTDIR/watch.txt"
python3 -m json.tool "$OUTDIR/watch.json" >/dev/null
