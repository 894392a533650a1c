#!/usr/bin/env python3
"""PNG plots of the benchmark JSON in a results folder, drawn with gnuplot.

    python3 bench/plot.py [OUTDIR]      (default bench/results)

Each plot is made from one JSON file if it is there; a missing file skips its plot with a
note. Data go to gnuplot inline, so nothing but the PNGs is left behind."""
import json
import os
import subprocess
import sys


def load(outdir, name):
    path = os.path.join(outdir, name)
    if not os.path.exists(path):
        print(f"plot: {name} not found, skipped", file=sys.stderr)
        return None
    with open(path) as f:
        return json.load(f)


def gnuplot(outdir, png, script, blocks):
    """Runs a gnuplot script with named inline data blocks ($name << EOD)."""
    text = [f'set terminal pngcairo size 900,540 font "sans,10"',
            f'set output "{os.path.join(outdir, png)}"', "set grid",
            "set termoption noenhanced"]
    for name, rows in blocks.items():
        text.append(f"${name} << EOD")
        text += [" ".join(str(v) for v in row) for row in rows]
        text.append("EOD")
    text.append(script)
    try:
        subprocess.run(["gnuplot"], input="\n".join(text), text=True, check=True)
        print(f"plot: {png}", file=sys.stderr)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"plot: {png} failed: {e}", file=sys.stderr)


def lines(*titles):
    """The plot command for columns 2, 3... of $d against column 1, one titled line each."""
    return "plot " + ", \\\n     ".join(f'$d using 1:{i + 2} with linespoints title "{t}"'
                                         for i, t in enumerate(titles))


def plot_eviction(outdir):
    d = load(outdir, "eviction.json")
    if not d:
        return
    policies = ["fsc_clock", "fsc_clock_admit", "lru", "sieve"]
    traces = sorted({r["trace"] for r in d["results"]})
    for trace in traces:
        caps = sorted({r["capacity"] for r in d["results"] if r["trace"] == trace})
        rows = []
        for cap in caps:
            hit = {r["policy"]: r["hit_ratio"] * 100 for r in d["results"]
                   if r["trace"] == trace and r["capacity"] == cap}
            rows.append([cap] + [hit.get(p, "NaN") for p in policies])
        gnuplot(outdir, f"eviction_{trace.replace('+', '_').replace('%', 'pct')}.png", f"""
set title "Hit ratio, {trace} ({d['keys']} keys): fsc vs LRU vs SIEVE"
set xlabel "cache capacity (entries)"; set ylabel "hit ratio (%)"
set logscale x; set key bottom right
{lines("fsc CLOCK+hints", "fsc + admission", "LRU", "SIEVE")}
""", {"d": rows})


def plot_fscd_cpu(outdir):
    d = load(outdir, "fscd_cpu.json")
    if not d:
        return
    rows = [[r["events_per_s"], r["cpu_ms_per_s"]] for r in d["rates"] if r["events_per_s"]]
    gnuplot(outdir, "fscd_cpu.png", """
set title "fscd CPU against inotify event rate"
set xlabel "events/s"; set ylabel "fscd CPU (ms per s)"
set logscale xy; set key top left
plot $d using 1:2 with linespoints title "fscd, all threads"
""", {"d": rows})


def plot_fscd_latency(outdir):
    d = load(outdir, "fscd_latency.json")
    if not d:
        return
    rows = []
    for i, c in enumerate(d["conditions"]):
        lat = c["latency"]
        rows.append([i, f'"{c["condition"]}"', lat["p50_us"], lat["p90_us"], lat["p99_us"]])
    gnuplot(outdir, "fscd_latency.png", """
set title "Change-to-visible latency through fscd (append, then fsc_lookup shows it)"
set ylabel "microseconds"; set logscale y; set style data histograms
set style histogram clustered; set style fill solid 0.8 border -1; set boxwidth 0.9
plot $d using 3:xtic(2) title "p50", '' using 4 title "p90", '' using 5 title "p99"
""", {"d": rows})


HISTOGRAM = """set style data histograms; set style histogram clustered
set style fill solid 0.8 border -1; set boxwidth 0.9; set logscale y
"""


def plot_watchman(outdir):
    d = load(outdir, "watchman_h2h.json")
    if not d or d.get("skipped"):
        return
    pa = d["per_answer"]
    names = [("fsc_lookup", "fsc_lookup"), ("fsc_stat", "fsc_stat"), ("stat", "stat()"),
             ("watchman_path_nosync", "watchman, no sync"),
             ("watchman_path_sync", "watchman, synced")]
    rows = [[i, f'"{label}"', pa[k]["p50_ns"] / 1000, pa[k]["p99_ns"] / 1000]
            for i, (k, label) in enumerate(names) if k in pa]
    gnuplot(outdir, "watchman_per_answer.png", HISTOGRAM + """
set title "One answer to 'size and mtime of this file', same tree, same run"
set ylabel "microseconds (log)"
plot $d using 3:xtic(2) title "p50", '' using 4 title "p99"
""", {"d": rows})
    lat = d["latency"]
    names = [("fsc_lookup", "fsc (spin on fsc_lookup)"),
             ("watchman_path_nosync", "watchman, no-sync queries"),
             ("watchman_path_sync", "watchman, synced query"),
             ("watchman_subscription", "watchman subscription")]
    rows = [[i, f'"{label}"', lat[k]["p50_us"], lat[k]["p99_us"]]
            for i, (k, label) in enumerate(names) if k in lat]
    gnuplot(outdir, "watchman_latency.png", HISTOGRAM + """
set title "Change-to-visible latency after a 1-byte append: fsc vs Watchman"
set ylabel "microseconds (log)"
plot $d using 3:xtic(2) title "p50", '' using 4 title "p99"
""", {"d": rows})


def plot_scenario(outdir):
    d = load(outdir, "scenario_monitors.json")
    if not d:
        return
    total = {(p["k"], p["mode"]): p["cpu_ms_per_s"]["total"] for p in d["phases"]}
    ks = sorted({k for k, _ in total})
    modes = [("stat", "each monitor calls stat() on every file"),
             ("fsc", "each monitor calls fsc_stat on every file (+ fscd)"),
             ("journal", "each reads the change journal, fsc_stat of what changed (+ fscd)")]
    modes = [(m, t) for m, t in modes if any(mode == m for _, mode in total)]
    rows = [[k] + [total.get((k, m), "NaN") for m, _ in modes] for k in ks]
    gnuplot(outdir, "scenario_monitors.png", f"""
set title "{d['files']} logs polled at 10 Hz by K monitors: total CPU (monitors + fscd)"
set xlabel "K monitor processes"; set ylabel "CPU ms per second (log)"
set logscale xy; set xrange [0.8:20]; set xtics ({', '.join(str(k) for k in ks)}); set key top left
{lines(*(t for _, t in modes))}
""", {"d": rows})


def plot_inotify_direct(outdir):
    d = load(outdir, "inotify_direct.json")
    if not d:
        return
    rows = {}
    for c in d["configs"]:
        rows.setdefault(c["k"], {})[c["variant"]] = c["setup_cpu_ms_all_monitors"]
    fscd = d["fscd"]
    data = [[k, v.get("dir", "NaN"), v.get("file", "NaN"),
             fscd["setup_cpu_ms"] + k * fscd["reader_setup_cpu_ms"]]
            for k, v in sorted(rows.items())]
    gnuplot(outdir, "inotify_direct.png", f"""
set title "Setup CPU of K monitors: each its own inotify, or one fscd shared by all"
set xlabel "K monitor processes"; set ylabel "CPU ms, all monitors (log)"
set logscale xy; set key top left
{lines("own inotify, a watch per directory", "own inotify, a watch per file",
        "one fscd + K fsc readers")}
""", {"d": data})


SWEEP_TITLES = ("fsc_lookup hit", "fsc_stat hit", "private in-process table (floor)")


def plot_sweep(outdir):
    d = load(outdir, "sweep_summary.json")
    if not d:
        return
    cols = ["fsc_lookup_hit", "fsc_stat_hit", "private_hit", "stat", "fsc_lookup_miss"]
    by_size = sorted((r for r in d["rows"] if r["path_len"] == 50), key=lambda r: r["entries"])
    gnuplot(outdir, "sweep_table_size.png", f"""
set title "Lookup cost against table size (50-byte paths)"
set xlabel "entries in the table"; set ylabel "ns per call (log)"; set logscale xy
set key top left
{lines(*SWEEP_TITLES, "stat() (10k real files)", "fsc_lookup miss")}
""", {"d": [[r["entries"]] + [r.get(c, "NaN") for c in cols] for r in by_size]})
    by_len = sorted((r for r in d["rows"] if r["entries"] == 10000), key=lambda r: r["path_len"])
    gnuplot(outdir, "sweep_path_length.png", f"""
set title "Lookup cost against path length (10,000 entries)"
set xlabel "path length (bytes)"; set ylabel "ns per call (log)"; set logscale y
set key top left
{lines(*SWEEP_TITLES, "stat()")}
""", {"d": [[r["path_len"]] + [r.get(c, "NaN") for c in cols[:4]] for r in by_len]})


def plot_scaling(outdir):
    d = load(outdir, "scaling.json")
    if not d:
        return
    rows = sorted(([s["readers"], s["median_aggregate_lookups_per_s"] / 1e6,
                    s["median_lookups_per_cpu_second"] / 1e6]
                   for s in d["summary"] if s["experiment"] == "libfsc"), key=lambda r: r[0])
    gnuplot(outdir, "scaling_readers.png", f"""
set title "fsc_lookup hits from N reader processes, writer at 10k updates/s ({d['online_cpus']} CPUs)"
set xlabel "reader processes"; set ylabel "million lookups per second"
set xtics (1, 2, 4); set yrange [0:*]; set key bottom right
{lines("aggregate", "per CPU-second of a reader")}
""", {"d": rows})


PLOTS = [plot_eviction, plot_fscd_cpu, plot_fscd_latency, plot_watchman, plot_scenario,
         plot_inotify_direct, plot_sweep, plot_scaling]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results")
    for plot in PLOTS:
        plot(outdir)


if __name__ == "__main__":
    main()
