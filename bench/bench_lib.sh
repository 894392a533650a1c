# shellcheck shell=sh disable=SC2154
# Shared by the bench/run_*.sh scripts that run whole-process C drivers (sourced, not run).
# Expects BUILD, OUTDIR, work (a scratch directory) and top to be set by the script.

# bench_run NAME [ARGS...]: runs $BUILD/bench/NAME --dir $work ARGS, its JSON into
# $OUTDIR/NAME.json (checked to parse) and its summary into $OUTDIR/NAME.txt and stdout.
bench_run() {
	name=$1
	shift
	echo "== $name: $BUILD/bench/$name $*"
	"$BUILD/bench/$name" --dir "$work" "$@" >"$OUTDIR/$name.json" 2>"$work/$name.txt" ||
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

# bench_header: what machine and which source the figures come from.
bench_header() {
	echo "host: $(uname -n)  cpus: $(nproc)  load: $(cut -d' ' -f1-3 /proc/loadavg)  kernel: $(uname -r)"
	echo "source: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" \
		"(fscd built from the working tree as it is now)"
}
