#!/usr/bin/python3
"""fsc-watch and fsc-wait beside entr and an `inotifywait -m -r` loop (issue 11, benchmarks).

    bench/watch_bench.py --watch FSC_WATCH --wait FSC_WAIT --fscd FSCD --out OUT.json
                         [--tree DIR] [--samples N] [--idle S] [--wait-samples N]

Run by bench/run_watch.sh (which sets FSC_DIR to a private object directory). Parts:

1. latency, change to command start: every watcher runs at once, each on its own directory
   with one file; in each round the watchers are taken in a random order and for each one
   a byte is appended to its file (t0 = CLOCK_REALTIME just before open()); the command is
   `date +%s%N` writing to the watcher's log, so the latency is date's clock minus t0 (the
   exec of date is in every figure alike). Watchers: fsc-watch on a shared fscd and with a
   private one, each with --debounce 0 and the default 50; entr -np; and
   `inotifywait -m -r -q -e modify,create,delete,move DIR | while read; do date; done`.
2. CPU while idle: the same processes (with their fscd) left alone for --idle seconds;
   CPU of each (all its processes and threads) from /proc/PID/task/*/schedstat (ns; utime+stime
   ticks too) and its voluntary context switches (wakeups).
3. a 1,000 x 100 file tree (--tree, made once): for 1 and 4 concurrent watchers of each
   tool, the setup time (spawn to the first change detected: a probe file in the tree is
   appended to every 100 ms (entr starves under a faster stream)
   and each watcher's command logs the time) and the kernel
   inotify watches held (`inotify wd` lines in /proc/PID/fdinfo of every process of each
   watcher; the shared fscd counted once).
4. fsc-wait close-to-return: a writer opens a new file, writes, leaves it open; fsc-wait is
   started on it (against the shared fscd) and given time to block; then t0, close(), and
   the time until fsc-wait has exited (waitpid). `inotifywait -e close_write FILE`
   the same way, interleaved, as the naive peer.
"""
import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument('--watch', required=True)
ap.add_argument('--wait', required=True)
ap.add_argument('--fscd', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--tree', default='/tmp/fsc-watchbench-tree')
ap.add_argument('--samples', type=int, default=100)
ap.add_argument('--idle', type=float, default=60)
ap.add_argument('--wait-samples', type=int, default=100)
ap.add_argument('--parts', default='latency,idle,tree,wait')
A = ap.parse_args()
PARTS = A.parts.split(',')
HZ = os.sysconf('SC_CLK_TCK')
HAVE_ENTR = shutil.which('entr') is not None
HAVE_INW = shutil.which('inotifywait') is not None
DATE = shutil.which('date')
FSC_DIR = os.environ.get('FSC_DIR', '')
RESULT = {'machine': {'cpus': os.cpu_count(), 'load_start': open('/proc/loadavg').read().split()[:3]}}
WATCHES_FILE = '/proc/sys/fs/inotify/max_user_watches'
# the tree part's probe period: longer than entr's 50 ms consolidation, which a change every
# 20 ms keeps from ever firing (seen: entr never ran); so setup times are +-0.1 s
PROBE_S = 0.1


def out(*a):
    print(*a, flush=True)


def pct(v, p):
    v = sorted(v)
    if not v:
        return None
    return v[min(len(v) - 1, int(len(v) * p))]


def stats(v):
    return {'n': len(v), 'min': min(v) if v else None, 'p50': pct(v, 0.5), 'p90': pct(v, 0.9), 'p99': pct(v, 0.99),
            'max': max(v) if v else None}


# ---- processes ---------------------------------------------------------------------------

def ppid_map():
    m = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                s = open('/proc/%s/stat' % d).read()
                m[int(d)] = int(s[s.rindex(')') + 2:].split()[1])
            except (OSError, ValueError):
                pass
    return m


def tree_of(pid, m=None):
    """pid and all its descendants."""
    m = m or ppid_map()
    kids = {}
    for p, pp in m.items():
        kids.setdefault(pp, []).append(p)
    res, todo = [], [pid]
    while todo:
        p = todo.pop()
        res.append(p)
        todo.extend(kids.get(p, []))
    return res


def comm(pid):
    try:
        return open('/proc/%d/comm' % pid).read().strip()
    except OSError:
        return '?'


def cpu_ms(pid):
    try:
        s = open('/proc/%d/stat' % pid).read()
        f = s[s.rindex(')') + 2:].split()
        return (int(f[11]) + int(f[12])) * 1000.0 / HZ
    except (OSError, ValueError):
        return 0.0


def run_ns_wakeups(pid):
    """CPU time on the runqueue's clock (ns, /proc/PID/task/*/schedstat: exact, not ticks)
    and voluntary context switches (each a sleep, so about one wakeup each), all threads."""
    ns = cs = 0
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return 0, 0
    for t in tasks:
        try:
            ns += int(open('/proc/%d/task/%s/schedstat' % (pid, t)).read().split()[0])
            for line in open('/proc/%d/task/%s/status' % (pid, t)):
                if line.startswith('voluntary_ctxt_switches'):
                    cs += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return ns, cs


def watches(pids):
    n = 0
    for p in pids:
        try:
            fds = os.listdir('/proc/%d/fdinfo' % p)
        except OSError:
            continue
        for fd in fds:
            try:
                with open('/proc/%d/fdinfo/%s' % (p, fd)) as fh:
                    n += sum(1 for line in fh if line.startswith('inotify wd'))
            except OSError:
                pass
    return n


def spawn(argv, log, stdin=None, shell=False):
    fh = open(log, 'ab')
    p = subprocess.Popen(argv, stdin=stdin, stdout=fh, stderr=subprocess.DEVNULL,
                         start_new_session=True, shell=shell)
    fh.close()
    return p


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def start_fscd(name, root, extra=()):
    p = subprocess.Popen([A.fscd, '--name', name, '--watch', root, '--log-level', 'warn']
                         + list(extra), stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.monotonic()
    path = os.path.join(FSC_DIR, 'fsc.' + name)
    while not os.path.exists(path):
        if p.poll() is not None or time.monotonic() - t0 > 120:
            raise SystemExit('fscd %s did not publish its table' % name)
        time.sleep(0.005)
    return p, time.monotonic() - t0


def log_lines(log):
    try:
        with open(log) as fh:
            return [int(x) for x in fh.read().split() if x.isdigit()]
    except OSError:
        return []


# the watchers: argv builders; each runs DATE on change with stdout to its log
def fscw(root, mode, deb, name=None):
    a = [A.watch, '-w', root, '--postpone', '--debounce', str(deb)]
    a += ['--private'] if mode == 'private' else ['--name', name]
    return a + ['--', DATE, '+%s%N']


def entr_cmd(files_cmd):
    # entr needs an open-file limit above the number of files it is given (it says so)
    return ('ulimit -n 1048576 2>/dev/null || ulimit -n 200000 2>/dev/null; %s | exec entr -np %s +%%s%%N'
            % (files_cmd, DATE))


def inw_cmd(root):
    return ("inotifywait -m -r -q -e modify,create,delete,move '%s' | "
            "while read -r _; do %s +%%s%%N; done" % (root, DATE))


def append(path):
    with open(path, 'a') as fh:
        fh.write('x')


# ---- 1 + 2: latency, then idle CPU -------------------------------------------------------

def part_latency_idle(work, shared_name):
    out('== latency: change to command start (all watchers running, interleaved)')
    lat_root = os.path.join(work, 'lat')
    os.mkdir(lat_root)
    cfg = [('fsc-watch shared, debounce 0', 'fsc', 'shared', 0),
           ('fsc-watch shared, debounce 50', 'fsc', 'shared', 50),
           ('fsc-watch private, debounce 0', 'fsc', 'private', 0),
           ('fsc-watch private, debounce 50', 'fsc', 'private', 50)]
    if HAVE_ENTR:
        cfg.append(('entr -np', 'entr', None, None))
    else:
        out('entr: not installed (apt-get install entr), skipped')
    if HAVE_INW:
        cfg.append(('inotifywait -m -r loop', 'inw', None, None))
    else:
        out('inotifywait: not installed (apt-get install inotify-tools), skipped')
    W = []
    for i, (label, kind, mode, deb) in enumerate(cfg):
        d = os.path.join(lat_root, 'w%d' % i)
        os.mkdir(d)
        f = os.path.join(d, 'f')
        append(f)
        W.append({'label': label, 'kind': kind, 'dir': d, 'file': f,
                  'log': os.path.join(work, 'lat%d.log' % i), 'mode': mode})
    fscd, _ = start_fscd(shared_name, lat_root)
    for w, (label, kind, mode, deb) in zip(W, cfg):
        if kind == 'fsc':
            w['p'] = spawn(fscw(w['dir'], mode, deb, shared_name), w['log'])
        elif kind == 'entr':
            w['p'] = spawn(entr_cmd("echo '%s'" % w['file']), w['log'], shell=True)
        else:
            w['p'] = spawn(inw_cmd(w['dir']), w['log'], shell=True)
    time.sleep(2.0)
    for w in W:
        if w['p'].poll() is not None:
            raise SystemExit('%s exited at start (status %s)' % (w['label'], w['p'].returncode))
        w['lat'] = []
        w['seen'] = len(log_lines(w['log']))
    misses = {w['label']: 0 for w in W}
    for _ in range(A.samples):
        order = list(W)
        random.shuffle(order)
        for w in order:
            # at least 150 ms between a watcher's command and its next change: entr (without
            # -a) drops changes made while its utility runs, and a shuffled order can put
            # one watcher last in a round and first in the next
            rest = w.get('last', 0) + 0.15 - time.monotonic()
            if rest > 0:
                time.sleep(rest)
            w['seen'] = len(log_lines(w['log']))  # a late run of a missed sample is not one
            t0 = time.time_ns()
            append(w['file'])
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                lines = log_lines(w['log'])
                if len(lines) > w['seen']:
                    break
                time.sleep(0.0003)
            else:
                misses[w['label']] += 1
                w['last'] = time.monotonic()
                continue
            # let anything late (a second run) land before the next sample
            time.sleep(0.03)
            lines = log_lines(w['log'])
            w['lat'].append((lines[w['seen']] - t0) / 1e6)
            w['seen'] = len(lines)
            w['last'] = time.monotonic()
    res = []
    for w in W:
        s = stats(w['lat'])
        s['label'] = w['label']
        s['missed'] = misses[w['label']]
        res.append(s)
        out('%-32s n=%d p50=%7.2f ms p90=%7.2f ms p99=%7.2f ms max=%7.2f ms missed=%d'
            % (w['label'], s['n'], s['p50'], s['p90'], s['p99'], s['max'], s['missed']))
    RESULT['latency'] = {'samples': A.samples, 'unit': 'ms', 'rows': res}
    e = next((r for r in res if r['label'] == 'entr -np'), None)
    if e:
        for r in res:
            r['p50_vs_entr'] = r['p50'] / e['p50']
        out('p50 / entr p50: ' + ', '.join('%s %.2fx' % (r['label'], r['p50_vs_entr'])
                                          for r in res))

    if 'idle' in PARTS:
        out('== CPU while idle for %g s (the same processes, nothing changing)' % A.idle)
        m = ppid_map()
        groups = []
        fscd_pids = tree_of(fscd.pid, m)
        groups.append(('shared fscd (serving both shared fsc-watch)', fscd_pids))
        for w in W:
            pids = tree_of(w['p'].pid, m)
            groups.append((w['label'] + ' [' + '+'.join(comm(p) for p in pids) + ']', pids))
        def snap(pids):
            v = [run_ns_wakeups(p) for p in pids]
            return (sum(cpu_ms(p) for p in pids), sum(x[0] for x in v), sum(x[1] for x in v))
        before = [snap(pids) for _, pids in groups]
        time.sleep(A.idle)
        rows = []
        for (label, pids), b in zip(groups, before):
            a = snap(pids)
            row = {'label': label, 'cpu_ms_ticks': a[0] - b[0], 'cpu_ms': (a[1] - b[1]) / 1e6,
                   'wakeups': a[2] - b[2]}
            rows.append(row)
            out('%-62s %8.2f ms CPU (%3.0f ms in ticks), %5d wakeups in %g s'
                % (label, row['cpu_ms'], row['cpu_ms_ticks'], row['wakeups'], A.idle))
        RESULT['idle'] = {'seconds': A.idle, 'clk_tck': HZ, 'rows': rows}
    for w in W:
        stop(w['p'])
    stop(fscd)


# ---- 3: the 100,000-file tree -----------------------------------------------------------

def make_tree(root):
    mark = os.path.join(root, '.complete')
    if os.path.exists(mark):
        return False
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for i in range(1000):
        d = os.path.join(root, 'd%04d' % i)
        os.mkdir(d)
        for j in range(100):
            open(os.path.join(d, 'f%03d' % j), 'w').close()
    open(mark, 'w').close()
    return True


def part_tree(work, shared_name):
    root = A.tree
    t = time.monotonic()
    made = make_tree(root)
    out('== a 1,000 x 100 file tree at %s (%s in %.1f s)' % (root, 'made' if made else 'reused',
                                                           time.monotonic() - t))
    subprocess.run(['find', root, '-type', 'f'], stdout=subprocess.DEVNULL)  # warm the dentries
    probe = os.path.join(root, 'd0500', 'f050')
    saved = open(WATCHES_FILE).read().strip()
    need = 4 * 101000 + 200000
    raised = False
    if HAVE_ENTR and int(saved) < need:  # only entr needs more than the default
        try:
            with open(WATCHES_FILE, 'w') as fh:
                fh.write(str(need))
            raised = True
            out('fs.inotify.max_user_watches raised from %s to %d for this part (4 entr of '
                '100,000 files need 400,000), restored after' % (saved, need))
        except OSError:
            out('fs.inotify.max_user_watches is %s and cannot be raised (not root): entr x4 '
                'may fail' % saved)
    RESULT['tree'] = {'root': root, 'dirs': 1000, 'files': 100000,
                      'max_user_watches': saved, 'raised_to': need if raised else None,
                      'rows': []}
    try:
        fscd, fscd_s = start_fscd(shared_name + 't', root, ['--capacity', '262144'])
        fscd_w = watches([fscd.pid])
        out('shared fscd (--capacity 262144): table published %.2f s after start, %d watches'
            % (fscd_s, fscd_w))
        RESULT['tree']['shared_fscd'] = {'publish_s': fscd_s, 'watches': fscd_w}
        tools = [('fsc-watch shared', 'fsc-shared'), ('fsc-watch private', 'fsc-private')]
        if HAVE_ENTR:
            tools.append(('entr -np (find | entr)', 'entr'))
        if HAVE_INW:
            tools.append(('inotifywait -m -r loop', 'inw'))
        for k in (1, 4):
            for label, kind in tools:
                row = tree_run(work, root, probe, label, kind, k, shared_name + 't', fscd)
                RESULT['tree']['rows'].append(row)
        stop(fscd)
    finally:
        if raised:
            with open(WATCHES_FILE, 'w') as fh:
                fh.write(saved)


def tree_run(work, root, probe, label, kind, k, name, fscd):
    logs = [os.path.join(work, 'tree-%s-%d-%d.log' % (kind, k, i)) for i in range(k)]
    for lg in logs:
        open(lg, 'w').close()
    t0 = time.time_ns()
    ps = []
    for lg in logs:
        if kind == 'fsc-shared':
            ps.append(spawn(fscw(root, 'shared', 0, name), lg))
        elif kind == 'fsc-private':
            ps.append(spawn(fscw(root, 'private', 0), lg))
        elif kind == 'entr':
            ps.append(spawn(entr_cmd("find '%s' -type f" % root), lg, shell=True))
        else:
            ps.append(spawn(inw_cmd(root), lg, shell=True))
    ready = [None] * k
    deadline = time.monotonic() + 90
    while None in ready and time.monotonic() < deadline:
        append(probe)
        time.sleep(PROBE_S)
        for i, lg in enumerate(logs):
            if ready[i] is None:
                v = log_lines(lg)
                if v:
                    ready[i] = (v[0] - t0) / 1e9
        if any(p.poll() is not None for p in ps):
            break
    time.sleep(0.2)
    m = ppid_map()
    pids = [tree_of(p.pid, m) for p in ps]
    w_own = sum(watches(x) for x in pids)
    w_fscd = watches([fscd.pid]) if kind == 'fsc-shared' else 0
    exited = [p.returncode for p in ps if p.poll() is not None]
    for p in ps:
        stop(p)
    ok = [r for r in ready if r is not None]
    row = {'tool': label, 'watchers': k, 'ready': len(ok),
           'setup_s_max': max(ok) if ok else None,
           'setup_s_each': ready, 'watches_own': w_own, 'watches_shared_fscd': w_fscd,
           'watches_total': w_own + w_fscd, 'exited': exited}
    out('%-26s x%d: setup %s s (slowest of %d ready), kernel watches %d%s%s'
        % (label, k, '%.2f' % row['setup_s_max'] if ok else '-', len(ok), row['watches_total'],
           ' (the shared fscd once: %d; fsc-watch own: %d)' % (w_fscd, w_own)
           if kind == 'fsc-shared' else '',
           ' EXITED %s' % exited if exited else ''))
    return row


# ---- 4: fsc-wait close-to-return ---------------------------------------------------------

def part_wait(work, shared_name):
    out('== fsc-wait: close() to return (writer wrote, then closes; fsc-wait already waiting)')
    root = os.path.join(work, 'drop')
    os.mkdir(root)
    name = shared_name + 'w'
    fscd, _ = start_fscd(name, root)
    peers = [('fsc-wait', 'fw')] + ([('inotifywait -e close_write FILE', 'inw')]
                                    if HAVE_INW else [])
    lat = {p: [] for p, _ in peers}
    early = {p: 0 for p, _ in peers}
    for i in range(A.wait_samples):
        order = list(peers)
        random.shuffle(order)
        for label, kind in order:
            path = os.path.join(root, '%s-%d' % (kind, i))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, b'x' * 4096)
            time.sleep(0.02)  # fscd has seen it being written
            if kind == 'fw':
                argv = [A.wait, '--name', name, path]
            else:
                argv = ['inotifywait', '-q', '-e', 'close_write', path]
            p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.08)  # started and blocked
            if p.poll() is not None:
                early[label] += 1
                os.close(fd)
                continue
            os.write(fd, b'y' * 4096)
            t0 = time.perf_counter_ns()
            os.close(fd)
            p.wait()
            lat[label].append((time.perf_counter_ns() - t0) / 1e6)
            if p.returncode != 0:
                early[label] += 1000  # flags a failure loudly
    stop(fscd)
    rows = []
    for label, _ in peers:
        s = stats(lat[label])
        s['label'] = label
        s['returned_before_close'] = early[label]
        rows.append(s)
        out('%-34s n=%d p50=%6.2f ms p90=%6.2f ms p99=%6.2f ms max=%6.2f ms early=%d'
            % (label, s['n'], s['p50'], s['p90'], s['p99'], s['max'], early[label]))
    RESULT['wait'] = {'unit': 'ms', 'rows': rows}


def main():
    work = tempfile.mkdtemp(prefix='fsc_watchbench_')
    shared = 'wb%d' % os.getpid()
    t = time.monotonic()
    try:
        if 'latency' in PARTS:
            part_latency_idle(work, shared)
        if 'tree' in PARTS:
            part_tree(work, shared)
        if 'wait' in PARTS:
            part_wait(work, shared)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULT['machine']['load_end'] = open('/proc/loadavg').read().split()[:3]
    RESULT['seconds'] = time.monotonic() - t
    with open(A.out, 'w') as fh:
        json.dump(RESULT, fh, indent=1)
    out('load average at start %s, at end %s; %.0f s' % (' '.join(RESULT['machine']['load_start']),
                                                        ' '.join(RESULT['machine']['load_end']),
                                                        RESULT['seconds']))


main()
