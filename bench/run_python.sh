#!/bin/sh
# The Python benchmark (bench/python/bench_python.py): os.stat vs the fsc package's Cache.stat,
# Cache.lookup and FStatCache.get_file_stats on the same 10,000 paths in one process, and the
# headline scenario's 10,000-file monitor loop written in Python, three ways. About a minute.
#
#   bench/run_python.sh [OUTDIR]     (OUTDIR default bench/results; BUILD default build-rel)
#
# Builds the Release tree's fscd and Python extension, then runs the script with Debian's
# python (/usr/bin/python3; PYTHON overrides) against them. JSON: OUTDIR/python.json.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_lib.sh"
OUTDIR=${1:-$here/results}
mkdir -p "$OUTDIR"
PYTHON=${PYTHON:-/usr/bin/python3}

bench_build fsc_python
bench_header
echo "command: PYTHONPATH=$BUILD/reader/python FSC_FSCD=$BUILD/writer/fscd/fscd $PYTHON" \
	"$here/python/bench_python.py --out $OUTDIR/python.json"
PYTHONPATH=$BUILD/reader/python FSC_FSCD=$BUILD/writer/fscd/fscd PYTHONDONTWRITEBYTECODE=1 \
	"$PYTHON" "$here/python/bench_python.py" --out "$OUTDIR/python.json"
