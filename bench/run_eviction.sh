#!/bin/sh
# Runs the eviction hit-ratio study (sim_eviction): fsc's real table (CLOCK with reader hit
# hints, with and without the admission filter) against LRU, SIEVE and CLOCK on Zipf traces
# with and without a one-off scan. Seeded, so reruns give the same numbers (fsc's own hash
# seed is random per table, which moves its figures by about 0.1 point).
#
#   BUILD=build-rel bench/run_eviction.sh [OUTDIR] [-- extra sim_eviction flags]
#
# Writes OUTDIR/eviction.json (default OUTDIR: bench/results) and OUTDIR/eviction.txt (the
# table). About 30 s. Tables are named fscsim.<pid>.<n>; any left by a crash are removed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
BUILD=${BUILD:-$top/build-rel}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
BIN=$BUILD/bench/sim_eviction
OUTDIR=$here/results
case ${1:-} in
-*) ;; # no OUTDIR, flags only
?*)
	OUTDIR=$1
	shift
	;;
esac
[ "${1:-}" = "--" ] && shift

if [ ! -x "$BIN" ]; then
	echo "no $BIN; build it first:" >&2
	echo "  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release &&" \
		"cmake --build build-rel -j2 --target sim_eviction" >&2
	exit 1
fi
mkdir -p "$OUTDIR"

pid_file=$(mktemp /tmp/fscsim.XXXXXX)
# one object directory (shm/fsc_shm_dir.h) for every driver of this run, on tmpfs; removed,
# with whatever a killed driver left in it, at exit
FSC_DIR=$(mktemp -d /dev/shm/fsc-bench.XXXXXX)
chmod 755 "$FSC_DIR"
export FSC_DIR
cleanup() {
	pid=$(cat "$pid_file" 2>/dev/null || true)
	rm -rf "$FSC_DIR"
	rm -f "$pid_file"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "command: $BIN $*" >&2
"$BIN" "$@" >"$OUTDIR/eviction.json.tmp" 2>"$OUTDIR/eviction.txt" &
echo $! >"$pid_file"
if ! wait $!; then
	cat "$OUTDIR/eviction.txt" >&2
	rm -f "$OUTDIR/eviction.json.tmp"
	echo "sim_eviction failed" >&2
	exit 1
fi
mv "$OUTDIR/eviction.json.tmp" "$OUTDIR/eviction.json"
cat "$OUTDIR/eviction.txt" >&2
echo "JSON: $OUTDIR/eviction.json" >&2
