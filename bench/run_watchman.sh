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
top=$(dirname "$here")
BUILD=${BUILD:-$top/build-rel}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
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

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$top" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j2 --target fscd watchman_h2h >/dev/null

work=$(mktemp -d /tmp/fscd_wm.XXXXXX)
cleanup() {
	rm -rf "$work"
	rm -f /dev/shm/fsc.fscb-wmh2h*-$$ /dev/shm/fsc.fscb-wmh2h*-$$.*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run() { # output name, then the driver's arguments
	name=$1
	shift
	echo "== $name: $BUILD/bench/watchman_h2h $*"
	"$BUILD/bench/watchman_h2h" --dir "$work" --watchman "$WATCHMAN" --dirs "$DIRS" \
		--files "$FILES" "$@" >"$OUTDIR/$name.json" 2>"$work/$name.txt" ||
		{
			cat "$work/$name.txt" >&2
			echo "$name failed" >&2
			exit 1
		}
	if command -v python3 >/dev/null; then
		python3 -m json.tool "$OUTDIR/$name.json" >/dev/null ||
			{
				echo "$name: $OUTDIR/$name.json is not valid JSON" >&2
				exit 1
			}
	fi
	cat "$work/$name.txt"
	cp "$work/$name.txt" "$OUTDIR/$name.txt"
}

echo "host: $(uname -n)  cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)" \
	" kernel: $(uname -r)"
echo "watchman: $(command -v "$WATCHMAN") $("$WATCHMAN" --version 2>/dev/null || echo '?')"
echo "source: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" \
	"(fscd built from the working tree as it is now)"
start=$(date +%s)
run watchman_h2h --name "fscb-wmh2h-$$" --queries "$QUERIES" --samples "$SAMPLES"
run watchman_h2h_settle0 --name "fscb-wmh2h0-$$" --only latency --settle-ms 0 \
	--samples "$SAMPLES"
echo "JSON in $OUTDIR (watchman_h2h.json, watchman_h2h_settle0.json);" \
	"$(($(date +%s) - start)) s"
