#!/usr/bin/env bash
# fsc developer entry point: install dependencies, build, run the demo or the test suite.
#   tools/dev.sh demo [DIR]   build, start fscd on DIR (default /var/log), show live records
#   tools/dev.sh test         build and run every test: normal, ASan+UBSan, TSan, fuzzing
#   tools/dev.sh fast         build (build/) and run the fast set: ctest -LE 'stress|slow'
#   tools/dev.sh bench        build (Release) and run every benchmark: JSON + PNG in bench/results
#   tools/dev.sh deps         only install the Debian/Ubuntu packages
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
packages=(build-essential cmake pkg-config liburcu-dev libcmocka-dev libbenchmark-dev
	libxxhash-dev libinih-dev clang libclang-rt-14-dev python3 libfuse3-dev fuse3
	logrotate python3-dev python3-pytest python3-flask python3-setuptools python3-pip)

# only the benchmarks need these: a peer to compare with, and the plotting
bench_packages=(watchman gnuplot-nox)

# man pages, the Debian packages and their checks (tools/ci_install.sh, a step of test)
packages+=(scdoc groff debhelper lintian fakeroot dpkg-dev adduser dh-python)

say() { printf '\n== %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

deps() { # [extra packages...]
	local missing=()
	for p in "${packages[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	as_root apt-get update -qq
	# clang's runtime package name differs between releases; take what exists
	if ! apt-cache show libclang-rt-14-dev >/dev/null 2>&1; then
		missing=("${missing[@]/libclang-rt-14-dev/}")
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		${missing[@]} >/dev/null
}

build() { # build DIR [cmake args...]
	local dir=$1
	shift
	cmake -S "$top" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j "$jobs" >/dev/null
}

demo() {
	local watch=${1:-/var/log}
	local name=demo$$
	deps
	say "building (release) in build/"
	build "$top/build" -DCMAKE_BUILD_TYPE=Release
	say "starting fscd on $watch (table '$name')"
	"$top/build/writer/fscd/fscd" --name "$name" --watch "$watch" &
	demo_fscd=$! # global: the EXIT trap runs after this function's locals are gone
	trap 'kill "$demo_fscd" 2>/dev/null; wait "$demo_fscd" 2>/dev/null' EXIT
	trap 'exit 130' INT TERM
	for _ in $(seq 100); do
		"$top/build/tools/fsc-shmdump" --name "$name" >/dev/null 2>&1 && break
		sleep 0.1
	done
	say "the table (fsc-shmdump --name $name)"
	"$top/build/tools/fsc-shmdump" --name "$name"
	mapfile -t files < <(find "$watch" -xdev -type f 2>/dev/null | head -n 8)
	if [ ${#files[@]} -eq 0 ]; then
		echo "no files under $watch; try: tools/dev.sh demo /some/dir" >&2
		return 0
	fi
	say "live records from the table, no syscalls (fsc-stat --watch); Ctrl-C to stop"
	if [ -n "${FSC_DEMO_SECONDS:-}" ]; then
		timeout "$FSC_DEMO_SECONDS" "$top/build/tools/fsc-stat" --name "$name" --watch 500 "${files[@]}" || true
	else
		"$top/build/tools/fsc-stat" --name "$name" --watch 500 "${files[@]}"
	fi
}

run_ctest() { # DIR [ctest args...]
	local dir=$1
	shift
	(cd "$dir" && ctest --output-on-failure -j "$jobs" "$@")
}

test_all() {
	deps
	say "build and test: normal (build/)"
	build "$top/build"
	run_ctest "$top/build"
	# demo and bench build Release (-O3), whose warnings differ: it must build too
	say "build only: Release, as demo and bench build it (build-rel/)"
	build "$top/build-rel" -DCMAKE_BUILD_TYPE=Release
	say "build and test: AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
	build "$top/build-asan" -DCMAKE_BUILD_TYPE=Debug -DFSC_SANITIZE=ON -DFSC_BENCH=OFF
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest "$top/build-asan"
	say "build and test: ThreadSanitizer, concurrency tests (build-tsan/)"
	build "$top/build-tsan" -DCMAKE_BUILD_TYPE=Debug -DFSC_TSAN=ON -DFSC_BENCH=OFF
	# fscd's threads (stat workers, liburcu) too; tests/tsan.supp says what TSan cannot see
	TSAN_OPTIONS="suppressions=$top/tests/tsan.supp halt_on_error=1" \
		run_ctest "$top/build-tsan" -L tsan
	fuzz
	# installed as users get it: a fresh prefix (examples by pkg-config and find_package) and
	# the Debian packages (built, lintian, apt-get install, run, purged)
	say "install test: prefix and Debian packages (tools/ci_install.sh)"
	"$top/tools/ci_install.sh" "$top/build"
	say "all test suites passed"
}

# libFuzzer on the read side (tests/fuzz): each target for FSC_FUZZ_SECONDS (60) on a copy of
# its seed corpus; a crash, sanitizer report, leak or an input slower than 5 s fails.
fuzz() {
	local dir=$top/build-fuzz secs=${FSC_FUZZ_SECONDS:-60} t
	say "fuzzing the read side, ${secs} s per target (build-fuzz/, clang, libFuzzer+ASan+UBSan)"
	CC=clang CXX=clang++ cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DFSC_FUZZ=ON -DFSC_BENCH=OFF >/dev/null
	cmake --build "$dir" -j "$jobs" --target fsc-fuzz-table fsc-fuzz-journal >/dev/null
	for t in table journal; do
		rm -rf "$dir/fuzz-corpus/$t"
		mkdir -p "$dir/fuzz-corpus/$t" "$dir/fuzz-artifacts"
		cp "$top/tests/fuzz/corpus/$t/"* "$dir/fuzz-corpus/$t/"
		local rc=0 objdir
		# the objects it forges go to a directory of this run's own, removed after it
		objdir=$(mktemp -d /dev/shm/fsc-fuzz.XXXXXX)
		chmod 755 "$objdir"
		FSC_DIR=$objdir "$dir/tests/fuzz/fsc-fuzz-$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$dir/fuzz-artifacts/$t-" \
			"$dir/fuzz-corpus/$t" >"$dir/fuzz-$t.log" 2>&1 &
		local pid=$!
		wait "$pid" || rc=$?
		rm -rf "$objdir" # with what a run that crashed left in it
		grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/fuzz-$t.log" >&2 || true
		if [ "$rc" -ne 0 ]; then
			tail -n 60 "$dir/fuzz-$t.log" >&2
			echo "fsc-fuzz-$t failed (exit $rc): log $dir/fuzz-$t.log, input in $dir/fuzz-artifacts/" >&2
			return 1
		fi
	done
}

# the tests without the labels stress and slow (tests/CMakeLists.txt): seconds, for iterating
test_fast() {
	deps
	say "build and test: normal (build/), without the stress and slow tests"
	build "$top/build"
	run_ctest "$top/build" -LE 'stress|slow'
}

bench() {
	deps
	# a peer missing from this release's archive only skips its comparison
	deps "${bench_packages[@]}" || say "could not install ${bench_packages[*]}: those parts skip"
	"$top/bench/run_all.sh" "$@"
}

case "${1:-}" in
demo) shift; demo "$@" ;;
bench) shift; bench "$@" ;;
test) test_all ;;
fast) test_fast ;;
deps) deps ;;
*)
	sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
