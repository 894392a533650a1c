"""No reference or memory leaks on the hot paths: a million lookups and stats (hits,
negatives raising, misses), with the process's RSS flat, and tracemalloc (or, in a debug
python, sys.gettotalrefcount) showing nothing kept."""
import gc
import os
import sys
import tracemalloc

import fsc
from conftest import wait_current, wait_status

MILLION = 1_000_000


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def workload(cache, hit, negative, miss, n):
    stat, lookup = cache.stat, cache.lookup
    for i in range(n):
        stat(hit)
        lookup(hit)
        if i % 8 == 0:
            try:
                stat(negative)
            except FileNotFoundError:
                pass
            lookup(negative)
            lookup(miss)
        if i % 64 == 0:
            stat(miss)
            list(cache.changes())


def make_paths(served):
    hit = served.path("hit")
    with open(hit, "w") as f:
        f.write("x")
    negative = served.path("negative")
    open(negative, "w").close()
    os.unlink(negative)
    wait_current(served.cache, hit)
    wait_status(served.cache, negative, fsc.Status.NEGATIVE)
    return hit, negative, os.path.realpath(__file__)  # outside the tree: a miss


def test_a_million_calls_keep_rss_flat(served):
    args = make_paths(served)
    workload(served.cache, *args, 50_000)  # warm: caches, freelists, enum members
    gc.collect()
    before = rss_kib()
    workload(served.cache, *args, MILLION)
    gc.collect()
    grown = rss_kib() - before
    # a leaked stat_result per call would be ~200 MB; allow the allocator some slack
    assert grown < 4096, f"RSS grew by {grown} KiB over a million calls"


def test_no_objects_kept(served):
    args = make_paths(served)
    workload(served.cache, *args, 20_000)
    gc.collect()
    if hasattr(sys, "gettotalrefcount"):  # a debug build of python
        refs = sys.gettotalrefcount()
        workload(served.cache, *args, 100_000)
        gc.collect()
        assert sys.gettotalrefcount() - refs < 100
    tracemalloc.start()
    try:
        workload(served.cache, *args, 2_000)
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        workload(served.cache, *args, 100_000)
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now - base < 16384, f"{now - base} bytes kept after 100,000 rounds"
