# shellcheck shell=sh disable=SC2154
# Shared by the bench/run_*.sh scripts that run whole-process C drivers (sourced, not run).
# Expects here (the bench directory) to be set by the script; sets top and BUILD (default
# build-rel, made absolute). bench_run expects OUTDIR and work (a scratch directory).

top=$(dirname "$here")
BUILD=${BUILD:-$top/build-rel}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac

# bench_build TARGET...: configures a Release tree in $BUILD if there is none, then builds
# the targets (fscd, which the drivers run, always).
bench_build() {
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		cmake -S "$top" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	fi
	cmake --build "$BUILD" -j2 --target fscd "$@" >/dev/null
}

# bench_run_as DRIVER NAME [ARGS...]: runs $BUILD/bench/DRIVER --dir $work ARGS, its JSON into
# $OUTDIR/NAME.json (checked to parse) and its summary into $OUTDIR/NAME.txt and stdout.
bench_run_as() {
	driver=$1
	name=$2
	shift 2
	echo "== $name: $BUILD/bench/$driver $*"
	"$BUILD/bench/$driver" --dir "$work" "$@" >"$OUTDIR/$name.json" 2>"$work/$name.txt" ||
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

# bench_run NAME [ARGS...]: bench_run_as NAME NAME ARGS.
bench_run() {
	bench_run_as "$1" "$@"
}

# bench_header: what machine and which source the figures come from.
bench_header() {
	echo "host: $(uname -n)  cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)  kernel: $(uname -r)"
	echo "source: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" \
		"(fscd built from the working tree as it is now)"
}
