#!/usr/bin/env bash
# CI step: fsc as its users get it.
#   1. prefix: `cmake --install BUILD --prefix P` into a fresh prefix; the examples built
#      against it with pkg-config (libfsc.so, then libfsc.a) and with find_package(fsc)
#      (fsc::fsc, fsc::fsc_static), each run against the prefix's own fscd.
#   2. debs: the Debian packages built from the tree (dpkg-buildpackage -b -us -uc in a copy),
#      lintian clean at the error level, installed with apt-get; the packaged fscd, with the
#      packaged /etc/fscd.conf pointed at a temporary tree, serves it, and the packaged fsc-stat
#      reads it as a member of group fsc (and is refused without the group); the examples build
#      against the installed libfsc-dev; then everything is purged and no file is left. The
#      user and group fsc stay after a purge, by design (debian/fscd.postinst says why).
#
# usage: tools/ci_install.sh [--prefix-only | --debs-only] [BUILD]   (BUILD: default build/)
# Step 2 needs root (or sudo) and refuses to run where any fsc package is already installed.
# Exit status: 0 every check passed; 1 a check failed (the message says which); 2 usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
steps=both
case "${1:-}" in
--prefix-only) steps=prefix; shift ;;
--debs-only) steps=debs; shift ;;
-h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
-*) echo "ci_install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) || {
	echo "ci_install.sh: no build tree at ${1:-$top/build}: build it first (tools/dev.sh fast)" >&2
	exit 2
}
jobs=$(nproc 2>/dev/null || echo 2)
packages=(libfsc0 libfsc-dev fscd fsc-tools)
# the Python module's package, once debian/control has it
python_pkg=
if grep -q '^Package: python3-fsc$' "$top/debian/control"; then
	python_pkg=python3-fsc
	packages+=("$python_pkg")
fi

work=$(mktemp -d /tmp/fsc-ci-install.XXXXXX)
chmod 755 "$work" # the unprivileged reader below must reach the object directory
# the objects of the fscds started here, in a directory of their own (fscd and libfsc read
# FSC_DIR once objects move out of /dev/shm; until then they use /dev/shm and unique names)
export FSC_DIR=$work/run
mkdir -m 755 "$FSC_DIR"
fscd_pid=
installed= # set while the packages are installed: a failure purges them too
cleanup() {
	[ -n "$fscd_pid" ] && kill "$fscd_pid" 2>/dev/null && wait "$fscd_pid" 2>/dev/null
	[ -n "$installed" ] && as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=300 purge -y -qq "${packages[@]}" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n== ci_install: %s\n' "$*" >&2; }
fail() {
	echo "ci_install.sh: FAILED: $*" >&2
	exit 1
}
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs "$@" every 0.1 s until it succeeds, for at most $1 seconds (then returns 1).
wait_until() {
	local secs=$1
	shift
	local i
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# The one place a private fscd starts: fscd_start FSCD SHMDUMP NAME [fscd args...].
# Sets fscd_pid once table NAME is published, readable by SHMDUMP.
fscd_start() {
	local fscd=$1 shmdump=$2 name=$3
	shift 3
	"$fscd" --name "$name" "$@" 2>"$work/fscd-$name.log" &
	fscd_pid=$!
	wait_until 20 "$shmdump" --name "$name" ||
		fail "$fscd --name $name $* published no table in 20 s; its log: $(cat "$work/fscd-$name.log")"
}

# SIGTERM, then the exit status must be 0 (a clean stop removes its objects).
fscd_stop() {
	local rc=0
	kill "$fscd_pid"
	wait "$fscd_pid" || rc=$?
	fscd_pid=
	[ "$rc" -eq 0 ] || fail "fscd exited with status $rc on SIGTERM"
}

# run_examples DIR NAME TREE STAT: the examples in DIR against the fscd serving table NAME on
# TREE; STAT is the fsc-stat to wait with.
run_examples() {
	local dir=$1 name=$2 tree=$3 stat=$4
	printf 'a\n' >"$tree/app.log"
	# the monitor's baseline comes from the table: wait until it holds the 2 bytes (a run
	# before left 7 there, and a monitor started at once once said "7 bytes", in CI)
	wait_until 20 sh -c "$stat --name $name $tree/app.log | grep -q ' size=2 '" ||
		fail "the table does not say $tree/app.log is 2 bytes: $("$stat" --name "$name" "$tree/app.log" 2>&1)"
	timeout 30 "$dir/fsc-logmon" --name "$name" --count 1 "$tree/app.log" >"$work/logmon.out" &
	local mon=$!
	wait_until 20 grep -q 'app.log: 2 bytes' "$work/logmon.out" ||
		fail "$dir/fsc-logmon printed no baseline: $(cat "$work/logmon.out")"
	printf 'more\n' >>"$tree/app.log"
	wait "$mon" || fail "$dir/fsc-logmon exited with status $?: $(cat "$work/logmon.out")"
	grep -q 'app.log grew 2 -> 7' "$work/logmon.out" ||
		fail "$dir/fsc-logmon did not report the growth: $(cat "$work/logmon.out")"
	printf 'done\n' >"$tree/upload"
	timeout 30 "$dir/fsc-wait-complete" --name "$name" --quiet-ms 200 --timeout 20000 \
		"$tree/upload" | grep -q 'upload complete: 5 bytes' ||
		fail "$dir/fsc-wait-complete did not report the file complete"
}

# needed DIR KIND: DIR's examples link libfsc dynamically (shared) or not at all (static).
check_linkage() {
	local dir=$1 kind=$2 f
	for f in "$dir/fsc-logmon" "$dir/fsc-wait-complete"; do
		# captured, not piped into grep -q: with pipefail, grep's early exit can SIGPIPE the
		# producer and fail the pipeline though the line was found
		if grep -q 'NEEDED.*libfsc\.so\.0' <<<"$(readelf -d "$f")"; then
			[ "$kind" = shared ] || fail "$f ($kind) needs libfsc.so.0"
		else
			[ "$kind" = static ] || fail "$f ($kind) does not link libfsc.so.0"
		fi
	done
}

step_prefix() {
	local p=$work/prefix n=0 kind
	say "cmake --install $build --prefix $p"
	cmake --install "$build" --prefix "$p" >"$work/install.log" ||
		fail "cmake --install: $(tail -5 "$work/install.log")"
	local libdir
	libdir=$(dirname "$(find "$p" -name fsc.pc -path '*/pkgconfig/*' | head -n 1)")
	[ -f "$libdir/fsc.pc" ] || fail "no fsc.pc installed under $p"
	libdir=$(dirname "$libdir")
	export PKG_CONFIG_PATH=$libdir/pkgconfig
	[ "$(pkg-config --modversion fsc)" = "$(sed -n 's/^project(fsc VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")" ] ||
		fail "fsc.pc's version is not the project's"
	# every installed program has its man page (doc/man: the page and one fsc_man_page line)
	local b
	for b in "$p"/bin/*; do
		b=$(basename "$b")
		[ -n "$(find "$p/share/man" -name "$b.[18]")" ] ||
			fail "$b is installed without a man page: write doc/man/$b.1.scd and add fsc_man_page($b 1 TOOL $b) to doc/man/CMakeLists.txt"
	done
	[ -f "$p/share/man/man3/fsc_stat.3" ] || fail "no fsc_stat(3) page sourcing libfsc(3)"
	# libfsc.so exports exactly the FSC_API functions of fsc.h
	local api exported
	api=$(grep -o '^FSC_API [^(]*(' "$p/include/fsc.h" | sed 's/.*[ *]\(fsc_[a-z_]*\)($/\1/' | sort -u)
	exported=$(nm -D --defined-only "$libdir"/libfsc.so | awk '{print $3}' | sort -u)
	[ "$api" = "$exported" ] || fail "libfsc.so exports [${exported//$'\n'/ }], fsc.h declares [${api//$'\n'/ }]"
	mkdir -p "$work/tree"
	fscd_start "$p/bin/fscd" "$p/bin/fsc-shmdump" "ci-prefix-$$" --watch "$work/tree"
	for kind in shared static; do
		local d=$work/make-$kind static=0
		[ "$kind" = static ] && static=1
		mkdir -p "$d" && cp "$top"/examples/*.c "$top/examples/Makefile" "$d/"
		say "examples: make (pkg-config, $kind)"
		make -s -C "$d" STATIC=$static >"$work/make.log" 2>&1 ||
			fail "make ($kind): $(cat "$work/make.log")"
		check_linkage "$d" "$kind"
		LD_LIBRARY_PATH=$libdir run_examples "$d" "ci-prefix-$$" "$work/tree" "$p/bin/fsc-stat"
		n=$((n + 1))
	done
	for kind in shared static; do
		local d=$work/cmake-$kind static=OFF
		[ "$kind" = static ] && static=ON
		say "examples: cmake find_package(fsc) ($kind)"
		if ! cmake -S "$top/examples" -B "$d" -DCMAKE_PREFIX_PATH="$p" \
			-DFSC_EXAMPLES_STATIC=$static >"$work/cmake.log" 2>&1 ||
			! cmake --build "$d" -j "$jobs" >>"$work/cmake.log" 2>&1; then
			fail "find_package build ($kind): $(tail -20 "$work/cmake.log")"
		fi
		check_linkage "$d" "$kind"
		run_examples "$d" "ci-prefix-$$" "$work/tree" "$p/bin/fsc-stat" # RUNPATH: its libfsc
		n=$((n + 1))
	done
	fscd_stop
	say "prefix: $n example builds ran against the prefix's fscd"
}

# the files (not directories) the packages in $work/debs ship, as absolute paths
deb_files() {
	local d
	for d in "$work"/debs/*.deb; do
		dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|'
	done
}

step_debs_build() {
	local p
	for p in "${packages[@]}"; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
			fail "package $p is already installed here; this step installs and purges it. Remove it first (apt-get purge ${packages[*]}) or run with --prefix-only"
		fi
	done
	say "dpkg-buildpackage -b -us -uc (in a copy of the tree)"
	mkdir -p "$work/src/fsc"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			(cd "$top" && tar --null -T - -cf -) | tar -C "$work/src/fsc" -xf -
	else
		tar -C "$top" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$work/src/fsc" -xf -
	fi
	(cd "$work/src/fsc" && DEB_BUILD_OPTIONS="parallel=$jobs nocheck noddebs" \
		dpkg-buildpackage -b -us -uc >"$work/dpkg-buildpackage.log" 2>&1) ||
		fail "dpkg-buildpackage: $(tail -30 "$work/dpkg-buildpackage.log")"
	local version
	version=$(cd "$work/src/fsc" && dpkg-parsechangelog -S Version)
	grep -q "^project(fsc VERSION $version " "$top/CMakeLists.txt" ||
		fail "debian/changelog's version $version is not the project's VERSION (CMakeLists.txt)"
	say "lintian --fail-on error"
	lintian --fail-on error "$work"/src/fsc_*.changes >"$work/lintian.log" 2>&1 ||
		fail "lintian: $(cat "$work/lintian.log")"
	grep -E '^[EW]: ' "$work/lintian.log" >&2 || true
	mkdir -p "$work/debs"
	for p in "${packages[@]}"; do
		mv "$work"/src/"${p}"_*.deb "$work/debs/"
	done
}

step_debs_check_installed() {
	local f
	for f in /usr/bin/fscd /usr/bin/fsc-stat /usr/bin/fsc-shmdump /etc/fscd.conf \
		/usr/share/doc/fscd/fscd.conf /usr/share/doc/fsc-tools/examples/fsc-metrics.timer; do
		[ -e "$f" ] || fail "$f is not installed"
	done
	grep -q '^watch = /var/log$' /etc/fscd.conf || fail "/etc/fscd.conf does not serve /var/log"
	grep -q '^group = fsc$' /etc/fscd.conf || fail "/etc/fscd.conf does not give the table to group fsc"
	grep -q '^ExecStart=/usr/bin/fscd ' /lib/systemd/system/fscd.service ||
		fail "the packaged unit does not run /usr/bin/fscd"
	[ -L /etc/systemd/system/multi-user.target.wants/fscd.service ] ||
		fail "fscd.service is not enabled"
	getent group fsc >/dev/null || fail "no group fsc after installing fscd"
	getent passwd fsc >/dev/null || fail "no user fsc after installing fscd"
	for f in fscd fsc-stat fsc-shmdump fscd.conf libfsc; do
		man -w "$f" >/dev/null 2>&1 || fail "man $f finds no page"
	done
	[ "$(pkg-config --libs fsc | xargs)" = "-lfsc" ] || fail "pkg-config --libs fsc: $(pkg-config --libs fsc)"
}

# the packaged Python module (python3 -I: nothing but the system's site packages) reads the
# packaged fscd's table as a member of group fsc
step_debs_python() {
	local name=$1 gid=$2 where
	say "the packaged Python module reads it too"
	where=$(/usr/bin/python3 -I -c 'import fsc; print(fsc.__file__)') ||
		fail "the packaged Python module does not import"
	case "$where" in
	/usr/lib/python3/dist-packages/*) ;;
	*) fail "python3 imports fsc from $where, not from the package" ;;
	esac
	# shellcheck disable=SC2016 # the program is Python, not shell
	setpriv --reuid=65534 --regid=65534 --groups="$gid" /usr/bin/python3 -I -c '
import sys, fsc
with fsc.Cache(sys.argv[1]) as c:
    r = c.lookup(sys.argv[2])
    sys.exit(0 if r.status == fsc.Status.HIT and r.stat.st_size == 2 else 1)' \
		"$name" "$work/debtree/app.log" ||
		fail "the packaged Python module gets no hit (size 2) for $work/debtree/app.log"
}

step_debs_run() {
	local name=ci-deb-$$ gid
	mkdir -p "$work/debtree"
	printf 'x\n' >"$work/debtree/app.log"
	# the packaged configuration, serving the temporary tree instead of /var/log
	sed "s|^watch = /var/log\$|watch = $work/debtree|" /etc/fscd.conf >"$work/fscd.conf"
	grep -q "^watch = $work/debtree\$" "$work/fscd.conf" || fail "could not point the config at $work/debtree"
	say "the packaged fscd --config (its watch = $work/debtree), read by the packaged fsc-stat"
	fscd_start /usr/bin/fscd /usr/bin/fsc-shmdump "$name" --config "$work/fscd.conf"
	gid=$(getent group fsc | cut -d: -f3)
	wait_until 20 sh -c "setpriv --reuid=65534 --regid=65534 --groups=$gid \
		/usr/bin/fsc-stat --name $name $work/debtree/app.log | grep -q hit" ||
		fail "a member of group fsc does not get a hit from the packaged fsc-stat"
	local rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/fsc-stat --name "$name" \
		"$work/debtree/app.log" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || fail "a user outside group fsc read the table (fsc-stat exit $rc, not 1)"
	[ -z "$python_pkg" ] || step_debs_python "$name" "$gid"
	# captured first: piped into grep -q, a scrape over 4 KiB could die of SIGPIPE once grep
	# has its line, and pipefail would call that a failure (it did, in CI)
	local scrape
	scrape=$(/usr/bin/fsc-shmdump --name "$name" --prometheus) ||
		fail "fsc-shmdump --prometheus exited with status $? on the packaged table"
	grep -qx "fsc_table_usable{table=\"$name\"} 1" <<<"$scrape" ||
		fail "fsc-shmdump --prometheus does not say the packaged table is usable: $(grep -E '^fsc_(table_usable|writer_alive|heartbeat_age_seconds)' <<<"$scrape")"
	say "examples against the installed libfsc-dev (pkg-config)"
	mkdir -p "$work/deb-examples"
	cp "$top"/examples/*.c "$top/examples/Makefile" "$work/deb-examples/"
	make -s -C "$work/deb-examples" >"$work/make.log" 2>&1 || fail "make: $(cat "$work/make.log")"
	check_linkage "$work/deb-examples" shared
	run_examples "$work/deb-examples" "$name" "$work/debtree" /usr/bin/fsc-stat
	fscd_stop
}

step_debs_purge() {
	say "apt-get purge; nothing may be left"
	deb_files | sort -u >"$work/files"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 purge -y -qq "${packages[@]}" \
		>"$work/purge.log" 2>&1 || fail "apt-get purge: $(tail -5 "$work/purge.log")"
	installed=
	local f p
	while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] && fail "$f is left after purge"
		dpkg -S "$f" >/dev/null 2>&1 && fail "dpkg -S still knows $f"
	done <"$work/files"
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed' &&
			fail "$p is still known to dpkg: $(dpkg-query -W -f='${Status}' "$p")"
	done
	[ ! -e /etc/systemd/system/multi-user.target.wants/fscd.service ] ||
		fail "the unit's enable link is left after purge"
	getent passwd fsc >/dev/null && echo "ci_install: user and group fsc kept after purge, by design" >&2
	return 0
}

step_debs() {
	unset PKG_CONFIG_PATH # the system's fsc.pc now, not the prefix's
	step_debs_build
	say "apt-get install ./*.deb"
	installed=1
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
		"$work"/debs/*.deb >"$work/apt.log" 2>&1 || fail "apt-get install: $(tail -10 "$work/apt.log")"
	step_debs_check_installed
	step_debs_run
	step_debs_purge
}

start=$SECONDS
[ "$steps" = debs ] || step_prefix
[ "$steps" = prefix ] || step_debs
say "passed in $((SECONDS - start)) s"
