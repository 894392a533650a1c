"""Cache.changes, Changes iteration and waits, cursors, CursorLost: against a real fscd."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import fsc
from conftest import TIMEOUT, Served


def collect(changes, want, timeout=TIMEOUT):
    """Reads changes (waiting when caught up) until every path in want was seen."""
    seen = []
    end = time.monotonic() + timeout
    while not want <= {c.path for c in seen}:
        seen += list(changes)
        if want <= {c.path for c in seen}:
            break
        left = end - time.monotonic()
        if left <= 0:
            pytest.fail(f"no journal entry for {want - {c.path for c in seen}} in {timeout} s")
        changes.wait(left)
    return seen


def test_iterating_gives_the_paths_that_changed(served):
    changes = served.cache.changes()
    assert list(changes) == []  # a new cursor starts at the end
    a, b = served.path("a"), served.path("b")
    for p in (a, b):
        with open(p, "w") as f:
            f.write("x")
    seen = collect(changes, {a, b})
    for c in seen:
        assert isinstance(c, fsc.Change) and isinstance(c.flags, fsc.Flag)
        assert isinstance(c.kinds, fsc.Kind) and c.change_seq > 0
    last = [c for c in seen if c.path == a][-1]
    assert served.cache.lookup(a).info.change_seq >= last.change_seq
    os.unlink(a)
    seen = collect(changes, {a})
    assert fsc.Flag.NEGATIVE in [c for c in seen if c.path == a][-1].flags
    if fsc.HAVE_KINDS:
        assert fsc.Kind.DELETE in [c for c in seen if c.path == a][-1].kinds


@pytest.mark.skipif(not fsc.HAVE_KINDS, reason="this libfsc reports no change kinds")
def test_kinds_say_what_happened(served):
    changes = served.cache.changes()
    p = served.path("k")
    with open(p, "w") as f:
        f.write("x")
    seen = collect(changes, {p})
    kinds = fsc.Kind(0)
    for c in seen:
        if c.path == p:
            kinds |= c.kinds
    assert fsc.Kind.CREATE in kinds


def test_a_saved_cursor_resumes_where_it_was(served):
    changes = served.cache.changes()
    saved = changes.cursor
    assert isinstance(saved, fsc.Cursor) and saved.journal_id != 0
    p = served.path("resumed")
    with open(p, "w") as f:
        f.write("x")
    first = [c.path for c in collect(changes, {p})]
    again = served.cache.changes(saved)
    assert [c.path for c in collect(again, {p})][:len(first)] == first
    assert served.cache.changes(cursor=tuple(saved)).cursor == saved


def test_wait_is_woken_by_a_write_from_another_process(served):
    changes = served.cache.changes()
    assert changes.wait(0) is False  # nothing yet, and no waiting
    p = served.path("from-child")
    child = subprocess.Popen([sys.executable, "-c",
                              "import sys, time; time.sleep(0.3); open(sys.argv[1], 'w')",
                              p])
    t0 = time.monotonic()
    woke = served.cache.wait(TIMEOUT)  # waits on the latest changes() of the cache
    elapsed = time.monotonic() - t0
    child.wait()
    assert woke is True, f"wait() returned {woke} after {elapsed:.2f} s"
    assert elapsed < TIMEOUT
    assert p in {c.path for c in collect(changes, {p})}
    assert served.cache.wait(0.05, changes) is False or list(changes) != []


def test_wait_times_out(served):
    changes = served.cache.changes()
    t0 = time.monotonic()
    assert changes.wait(0.3) is False
    assert 0.25 <= time.monotonic() - t0 < 5


def test_wait_needs_a_cursor(tmp_path):
    s = Served(tmp_path)
    try:
        with pytest.raises(ValueError, match="changes"):
            s.cache.wait(0)
        with pytest.raises(TypeError):
            s.cache.wait(0, changes=42)
        with pytest.raises(ValueError):
            s.cache.wait(-1)
    finally:
        s.stop()


def test_a_stopped_fscd_loses_the_cursor(tmp_path):
    s = Served(tmp_path)
    changes = s.cache.changes()
    s.fscd.stop()
    with pytest.raises(fsc.CursorLost):
        changes.wait(TIMEOUT)
    with pytest.raises(fsc.CursorLost):
        next(changes)
    s.cache.close()


def test_a_foreign_cursor_is_lost(served):
    changes = served.cache.changes(fsc.Cursor((12345, 0)))
    with pytest.raises(fsc.CursorLost):
        list(changes)
    with pytest.raises(TypeError):
        served.cache.changes((1, 2, 3))


def test_ctrl_c_interrupts_a_wait(served):
    changes = served.cache.changes()
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        changes.wait(TIMEOUT)
    timer.join()
    assert time.monotonic() - t0 < 2.0


def test_a_cache_with_changes_is_freed_without_the_collector(served):
    """The cache refers to its latest Changes weakly: dropping both frees the handle at
    once (no reference cycle left for the garbage collector)."""
    import gc
    import weakref
    gc.disable()
    try:
        cache = fsc.Cache(served.fscd.name)
        changes = cache.changes()
        assert cache.wait(0) is False  # waits on that Changes
        ref = weakref.ref(cache)
        del cache, changes
        assert ref() is None
    finally:
        gc.enable()
    cache = fsc.Cache(served.fscd.name)
    cache.changes()  # not kept: nothing to wait on
    with pytest.raises(ValueError, match="changes"):
        cache.wait(0)
    cache.close()
