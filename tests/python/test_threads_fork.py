"""One Cache shared by threads (close racing with running calls included) and used after
fork()."""
import os
import threading
import time

import pytest

import fsc
from conftest import TIMEOUT, Served, assert_same_stat, wait_current


def make(served, name, data="x"):
    p = served.path(name)
    with open(p, "w") as f:
        f.write(data)
    return p


def run_threads(n, target):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as e:  # reported by the test, not lost in the thread
            errors.append(e)
    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, errors


def test_threads_share_one_cache(served):
    paths = [make(served, f"f{i}", "x" * i) for i in range(8)]
    for p in paths:
        wait_current(served.cache, p)
    want = {p: os.stat(p) for p in paths}
    outside = os.path.realpath(__file__)  # a miss: stat(2) with the GIL released

    def hammer(i):
        for k in range(5000):
            p = paths[(i + k) % len(paths)]
            assert served.cache.stat(p) == want[p]
            assert served.cache.lookup(p).status == fsc.Status.HIT
            if k % 50 == 0:
                assert_same_stat(served.cache.stat(outside), os.stat(outside))
    threads, errors = run_threads(8, hammer)
    for t in threads:
        t.join()
    assert errors == []


def test_close_while_threads_call(served):
    """close() racing calls that hold the handle with the GIL released: each call either
    answers or raises ValueError, nothing crashes, and the handle is freed once."""
    cache = fsc.Cache(served.fscd.name)
    outside = os.path.realpath(__file__)
    inside = make(served, "in")
    wait_current(cache, inside)
    started = threading.Barrier(5)

    def caller(i):
        started.wait()
        while True:
            try:
                cache.stat(outside if i % 2 else inside)
            except ValueError:
                return
    threads, errors = run_threads(4, caller)
    started.wait()
    time.sleep(0.05)  # let them run: the close must land while calls are in flight
    cache.close()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive()
    assert errors == []


def test_close_during_a_wait_ends_it(served):
    cache = fsc.Cache(served.fscd.name)
    changes = cache.changes()
    result = []

    def waiter(_):
        t0 = time.monotonic()
        try:
            changes.wait(TIMEOUT)
            result.append("returned")
        except ValueError:
            result.append(time.monotonic() - t0)
    threads, errors = run_threads(1, waiter)
    time.sleep(0.1)
    cache.close()
    threads[0].join(TIMEOUT)
    assert errors == [] and len(result) == 1
    assert result[0] != "returned" and result[0] < 2.0


def test_a_wait_releases_the_gil(served):
    changes = served.cache.changes()
    counted = []
    stop = threading.Event()

    def counter(_):
        n = 0
        while not stop.is_set():
            n += 1
        counted.append(n)
    threads, errors = run_threads(1, counter)
    before = time.monotonic()
    assert changes.wait(0.5) is False
    stop.set()
    threads[0].join()
    assert time.monotonic() - before >= 0.45
    assert counted[0] > 10000, "the counter thread did not run while the main one waited"


def child_checks(served, p):
    """In a forked child: the cache answers from the table (its handle re-opened)."""
    r = served.cache.lookup(p)
    assert r.status == fsc.Status.HIT and r.stat == os.stat(p)
    assert_same_stat(served.cache.stat(p), os.stat(p))
    changes = served.cache.changes()
    make(served, "from-child")
    end = time.monotonic() + TIMEOUT
    while served.path("from-child") not in {c.path for c in changes}:
        assert changes.wait(end - time.monotonic())


def fork_and_check(served, p):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child_checks(served, p)
            served.cache.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_fork_child_keeps_working(served):
    p = make(served, "forked", "abc")
    wait_current(served.cache, p)
    assert fork_and_check(served, p) == 0
    # the parent's handle is untouched by the child's
    assert served.cache.lookup(p).status == fsc.Status.HIT


def test_fork_while_another_thread_uses_the_cache(served):
    p = make(served, "busy", "abc")
    wait_current(served.cache, p)
    stop = threading.Event()

    def busy(_):
        while not stop.is_set():
            served.cache.stat(p)
            served.cache.stat(os.path.realpath(__file__))
    threads, errors = run_threads(2, busy)
    try:
        for _ in range(5):
            assert fork_and_check(served, p) == 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_closed_stays_closed_in_a_child(served):
    cache = fsc.Cache(served.fscd.name)
    cache.close()
    pid = os.fork()
    if pid == 0:
        try:
            cache.stat(served.root)
            os._exit(1)
        except ValueError:
            os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def test_a_forked_child_leaves_the_parents_private_fscd_alone(tmp_path):
    """The child exits normally (atexit and finalizers run): the parent's private fscd,
    which the child inherited a handle to, keeps serving."""
    import subprocess
    import sys
    import textwrap
    p = str(tmp_path / "f")
    with open(p, "w") as f:
        f.write("x")
    code = textwrap.dedent(f"""
        import os, sys, fsc
        c = fsc.FStatCache("no-such-table-here").start([{p!r}])
        assert c.private
        pid = os.fork()
        if pid == 0:
            c.get_file_stats({p!r})
            sys.exit(0)  # runs the child's finalizers
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert c.fscd.running
        assert c.cache.lookup(os.path.realpath({p!r})).status == fsc.Status.HIT
        c.close()
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=TIMEOUT * 3)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
