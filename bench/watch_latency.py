#!/usr/bin/python3
"""Change-to-command-start latency of fsc-watch (private fscd and a shared one, debounce 50
and 0) and of entr (if installed), one line each. The command appends to a log; the latency
is the log's mtime minus the time just before the change (both CLOCK_REALTIME).

    bench/watch_latency.py FSC_WATCH FSCD [N]     (run by bench/run_watch.sh)
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

FSC_WATCH, FSCD = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 50


def log_size(log):
    return os.path.getsize(log) if os.path.exists(log) else 0


def measure(label, argv_for, stdin_for=None, server_for=None):
    root = tempfile.mkdtemp(prefix='fsc_watch_lat_')
    log = root + '.log'
    target = os.path.join(root, 'f')
    with open(target, 'w') as fh:
        fh.write('0')
    server = server_for(root) if server_for else None
    proc = subprocess.Popen(argv_for(root, log), stdin=subprocess.PIPE if stdin_for else None,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if stdin_for:
        proc.stdin.write(stdin_for(target).encode())
        proc.stdin.close()
    time.sleep(1.5)  # started, cursor taken (fsc-watch --postpone: no first run)
    lat = []
    for _ in range(N):
        before = log_size(log)
        t0 = time.time_ns()
        with open(target, 'a') as fh:
            fh.write('x')
        deadline = time.time() + 5
        while log_size(log) == before and time.time() < deadline:
            time.sleep(0.0005)
        lat.append((os.stat(log).st_mtime_ns - t0) / 1e6)
        time.sleep(0.15)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    if server:
        server.terminate()
        server.wait()
    shutil.rmtree(root)
    os.unlink(log)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print('%-30s n=%d p50=%.2f ms p99=%.2f ms' % (label, N, statistics.median(lat), p99))


def logger(log):
    return ['sh', '-c', 'echo x >> ' + log]


name = 'watchlat%d' % os.getpid()
for deb in ('50', '0'):
    measure('fsc-watch private debounce=' + deb,
            lambda r, l: [FSC_WATCH, '-w', r, '--private', '--postpone', '--debounce', deb,
                          '--'] + logger(l))
for deb in ('50', '0'):
    measure('fsc-watch shared debounce=' + deb,
            lambda r, l: [FSC_WATCH, '-w', r, '--name', name, '--postpone', '--debounce', deb,
                          '--'] + logger(l),
            server_for=lambda r: (subprocess.Popen([FSCD, '--name', name, '--watch', r],
                                                   stderr=subprocess.DEVNULL),
                                  time.sleep(1))[0])
if shutil.which('entr'):
    measure('entr -np', lambda r, l: ['entr', '-np'] + logger(l),
            stdin_for=lambda target: target + '\n')
else:
    print('entr: not installed (apt-get install entr), skipped')
