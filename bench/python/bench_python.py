#!/usr/bin/python3
"""The Python benchmark (bench/run_python.sh runs it): in one Python process, on the same
10,000 paths of a tree a real fscd watches,

  1. per call: os.stat vs Cache.stat hit vs Cache.lookup hit vs FStatCache.get_file_stats
     (and the original's os.stat version), medians of interleaved repetitions;
  2. the headline scenario's monitor loop written in Python: 10,000 files, 100 of them
     appended to at 100 appends/s each by another process, a monitor that knows every
     file's size every 100 ms, three ways: os.stat every file each tick, Cache.stat every
     file each tick, and the change journal (Cache.changes) plus Cache.stat of what changed;
     total CPU = the monitor's + fscd's (the appender's, the same for all, apart).

Prints a summary and writes JSON (--out). Needs the fsc package and fscd on PYTHONPATH and
FSC_FSCD (the driver sets both)."""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import fsc
from fsc._fscd import start_private_fscd

DIRS, PER_DIR = 100, 100  # 10,000 files, as the C lookup benchmark and the scenario
HOT, APPENDS_PER_S = 100, 100
TICK = 0.100


def make_tree(root):
    paths = []
    for d in range(DIRS):
        sub = os.path.join(root, f"d{d:03}")
        os.mkdir(sub)
        for f in range(PER_DIR):
            p = os.path.join(sub, f"app-{f:03}.log")
            with open(p, "w") as out:
                out.write("x" * (d + f))
            paths.append(p)
    return paths


def wait_all_hits(cache, paths, timeout=60):
    end = time.monotonic() + timeout
    for p in paths:
        while cache.lookup(p).status != fsc.Status.HIT:
            if time.monotonic() > end:
                sys.exit(f"bench: {p} not cached after {timeout} s")
            time.sleep(0.01)


def per_call(paths, cache, fstat_cache, reps):
    """ns per call, each method's median over reps interleaved rounds."""
    original = fsc.FStatCache.get_file_stats_using_stat
    one = [paths[len(paths) // 2]] * len(paths)  # one path, hot in every cache
    methods = {
        "os.stat": (os.stat, paths),
        "Cache.stat hit": (cache.stat, paths),
        "Cache.lookup hit": (cache.lookup, paths),
        "FStatCache.get_file_stats hit": (fstat_cache.get_file_stats, paths),
        "original get_file_stats (os.stat)": (original, paths),
        "os.stat, one path": (os.stat, one),
        "Cache.stat hit, one path": (cache.stat, one),
    }
    real = {name: [] for name in methods}
    cpu = {name: [] for name in methods}
    order = list(methods)
    for _ in range(reps):
        random.shuffle(order)
        for name in order:
            fn, ps = methods[name]
            c0, t0 = time.process_time_ns(), time.perf_counter_ns()
            for p in ps:
                fn(p)
            real[name].append((time.perf_counter_ns() - t0) / len(ps))
            cpu[name].append((time.process_time_ns() - c0) / len(ps))
    return {name: {"median_ns": statistics.median(real[name]), "min_ns": min(real[name]),
                   "max_ns": max(real[name]), "cpu_median_ns": statistics.median(cpu[name]),
                   "reps": reps} for name in methods}


APPENDER = r"""
import os, sys, time
paths, rate = sys.argv[2:], float(sys.argv[1])
fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
step = 1.0 / rate
next_t = time.monotonic()
i = 0
while True:
    os.write(fds[i % len(fds)], b"line of a log\n")
    i += 1
    next_t += step
    d = next_t - time.monotonic()
    if d > 0.002:
        time.sleep(d)
"""


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def monitor(mode, paths, cache, fscd_pid, warm, window):
    """Runs one monitor kind for warm + window seconds; CPU and work in the window."""
    sizes = {}
    lookups = entries = ticks = lost = 0
    changes = None
    if mode == "journal":
        changes = cache.changes()
        for p in paths:
            sizes[p] = cache.stat(p).st_size
    start = time.monotonic()
    measuring = False
    next_tick = start
    while True:
        now = time.monotonic()
        if not measuring and now - start >= warm:
            measuring = True
            cpu0, fscd0, t0 = time.process_time(), proc_cpu_s(fscd_pid), now
            lookups = entries = ticks = 0
        if measuring and now - t0 >= window:
            break
        if mode == "os.stat":
            for p in paths:
                sizes[p] = os.stat(p).st_size
            lookups += len(paths)
        elif mode == "Cache.stat":
            st = cache.stat
            for p in paths:
                sizes[p] = st(p).st_size
            lookups += len(paths)
        else:
            try:
                changed = set()
                for ch in changes:
                    changed.add(ch.path)
                    entries += 1
                for p in changed:
                    try:
                        sizes[p] = cache.stat(p).st_size
                    except OSError:
                        sizes.pop(p, None)
                lookups += len(changed)
            except fsc.CursorLost:
                lost += 1
                changes = cache.changes()
                for p in paths:
                    sizes[p] = cache.stat(p).st_size
        ticks += 1
        next_tick += TICK
        delay = next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - t0
    mon = (time.process_time() - cpu0) / elapsed * 1000
    fscd = (proc_cpu_s(fscd_pid) - fscd0) / elapsed * 1000
    return {"monitor_ms_per_s": mon, "fscd_ms_per_s": fscd, "total_ms_per_s": mon + fscd,
            "ticks_per_s": ticks / elapsed, "lookups_per_s": lookups / elapsed,
            "journal_entries_per_s": entries / elapsed, "cursors_lost": lost,
            "behind_schedule": ticks / elapsed < 0.9 / TICK}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="JSON results file")
    ap.add_argument("--reps", type=int, default=21, help="per-call repetitions (21)")
    ap.add_argument("--warm", type=float, default=2.0, help="monitor warm-up seconds (2)")
    ap.add_argument("--window", type=float, default=6.0, help="monitor window seconds (6)")
    ap.add_argument("--skip-monitor", action="store_true", help="per-call figures only")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="fscpy.", dir="/tmp")
    fscd = appender = None
    try:
        paths = make_tree(work)
        fscd = start_private_fscd([work], args=["--capacity", "32768"], timeout=60)
        cache = fsc.Cache(fscd.name)
        wait_all_hits(cache, paths)
        fstat_cache = fsc.FStatCache(fscd.name).start([work])
        assert not fstat_cache.private
        results = {"host": os.uname().nodename, "cpus": os.cpu_count(),
                   "python": sys.version.split()[0], "paths": len(paths),
                   "path_bytes": len(paths[0]), "example": paths[0],
                   "load_before": os.getloadavg()}
        calls = per_call(paths, cache, fstat_cache, args.reps)
        results["per_call"] = calls
        base = calls["os.stat"]["median_ns"]
        print(f"host {results['host']}, {results['cpus']} cpus, python {results['python']}, "
              f"{len(paths)} paths of {len(paths[0])} bytes, load {results['load_before']}")
        cbase = calls["os.stat"]["cpu_median_ns"]
        print(f"\nper call, ns (medians of {args.reps} interleaved rounds over all paths; "
              "real time and process CPU time):")
        print(f"  {'':36} {'real':>8} {'cpu':>8}   os.stat / this: real, cpu")
        for name, r in calls.items():
            if name.endswith("one path"):
                continue
            print(f"  {name:36} {r['median_ns']:8.0f} {r['cpu_median_ns']:8.0f}   "
                  f"{base / r['median_ns']:5.1f}x {cbase / r['cpu_median_ns']:5.1f}x")
        hot_os, hot = calls["os.stat, one path"], calls["Cache.stat hit, one path"]
        print(f"  one path, 10,000 times: os.stat {hot_os['median_ns']:.0f}, Cache.stat "
              f"{hot['median_ns']:.0f} ns: {hot_os['median_ns'] / hot['median_ns']:.1f}x")
        ratio = base / calls["Cache.stat hit"]["median_ns"]
        results["ratio_os_stat_over_cache_stat"] = ratio
        print(f"\ntarget (Cache.stat hit >= 5x cheaper than os.stat, median): {ratio:.1f}x, "
              + ("met" if ratio >= 5 else "NOT met"))
        if not args.skip_monitor:
            appender = subprocess.Popen(
                [sys.executable, "-c", APPENDER, str(HOT * APPENDS_PER_S)]
                + paths[:: len(paths) // HOT][:HOT])
            mons = {}
            for mode in ("os.stat", "Cache.stat", "journal"):
                mons[mode] = monitor(mode, paths, cache, fscd.pid, args.warm, args.window)
            results["monitor"] = mons
            print(f"\nmonitor loop in Python: {len(paths)} files, {HOT} appended at "
                  f"{APPENDS_PER_S}/s each, every file's size every {TICK * 1000:.0f} ms; "
                  f"CPU ms/s over {args.window:.0f} s")
            print(f"  {'monitor':12} {'total':>8} {'monitor':>8} {'fscd':>6} {'ticks/s':>8} "
                  f"{'lookups/s':>10} {'entries/s':>10}  stat/this")
            tot = mons["os.stat"]["total_ms_per_s"]
            for mode, m in mons.items():
                late = " (behind schedule)" if m["behind_schedule"] else ""
                print(f"  {mode:12} {m['total_ms_per_s']:8.1f} {m['monitor_ms_per_s']:8.1f} "
                      f"{m['fscd_ms_per_s']:6.1f} {m['ticks_per_s']:8.1f} "
                      f"{m['lookups_per_s']:10.0f} {m['journal_entries_per_s']:10.0f}  "
                      f"{tot / m['total_ms_per_s']:5.1f}x{late}")
        results["load_after"] = os.getloadavg()
        if args.out:
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
            print(f"\nJSON: {args.out}")
        fstat_cache.close()
        cache.close()
    finally:
        if appender:
            appender.send_signal(signal.SIGTERM)
            appender.wait()
        if fscd:
            fscd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
