#!/bin/bash
# fsc-watch beside entr and inotifywait: change-to-command-start latency (p50/p99), CPU
# while idle, and kernel inotify watches held by 4 watchers of a 1000-directory tree.
#
#   bench/run_watch.sh [IDLE_SECONDS]    (BUILD default build-rel; entr and inotify-tools
#                                         are used when installed: apt-get install entr
#                                         inotify-tools)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
BUILD=${BUILD:-$top/build-rel}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
W=$BUILD/tools/fsc-watch
F=$BUILD/writer/fscd/fscd
idle_s=${1:-60}
[ -x "$W" ] && [ -x "$F" ] || { echo "run_watch.sh: build $BUILD first (fsc-watch, fscd)" >&2; exit 2; }

echo "== latency: change to command start"
/usr/bin/python3 "$here/watch_latency.py" "$W" "$F" 50

echo "== CPU while idle for ${idle_s} s"
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
d=$(mktemp -d)
"$W" -w "$d" --private -- true >/dev/null 2>&1 &
w=$!
sleep 2
f=$(pgrep -P "$w" fscd)
a=$(cpu_ms "$w"); b=$(cpu_ms "$f")
sleep "$idle_s"
echo "fsc-watch $(( $(cpu_ms "$w") - a )) ms CPU, its private fscd $(( $(cpu_ms "$f") - b )) ms CPU"
kill "$w"; wait "$w" || true
rm -rf "$d"

echo "== inotify watches: 4 watchers of a 1000-directory tree"
d=$(mktemp -d)
for i in $(seq 1000); do mkdir -p "$d/d$((i % 50))/s$i"; touch "$d/d$((i % 50))/s$i/f"; done
watches() { local n=0 p fd; for p in "$@"; do for fd in /proc/"$p"/fdinfo/*; do
	n=$((n + $(grep -c '^inotify wd' "$fd" 2>/dev/null || true))); done; done; echo "$n"; }
name=watchbench$$
"$F" --name "$name" --watch "$d" 2>/dev/null &
fscd=$!
sleep 2
ws=()
for i in 1 2 3 4; do "$W" -w "$d" --name "$name" -- true >/dev/null 2>&1 & ws+=($!); done
sleep 2
echo "one fscd: $(watches "$fscd"); 4 fsc-watch on it: $(watches "${ws[@]}")"
kill "${ws[@]}"; wait "${ws[@]}" || true
if command -v entr >/dev/null && command -v inotifywait >/dev/null; then
	es=(); for i in 1 2 3 4; do find "$d" -type f | entr -n true >/dev/null 2>&1 & es+=($!); done
	ns=(); for i in 1 2 3 4; do inotifywait -m -r -q "$d" >/dev/null 2>&1 & ns+=($!); done
	sleep 3
	echo "4 entr (each file listed): $(watches "${es[@]}"); 4 inotifywait -m -r: $(watches "${ns[@]}")"
	kill "${es[@]}" "${ns[@]}"; wait "${es[@]}" "${ns[@]}" 2>/dev/null || true
fi
kill "$fscd"; wait "$fscd" || true
rm -rf "$d"
