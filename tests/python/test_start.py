"""FStatCache.start: a shared fscd when it covers the paths, else a private one that is
stopped on close(), at exit and when its Python dies, leaving nothing behind; and the
original fstat_cache example program, run as a new user would."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import fsc
from conftest import TIMEOUT, Served, wait_current, wait_for

ORIGINAL_EXAMPLE = """
from fstat_cache import FStatCache

if __name__ == '__main__':
    cache = FStatCache()
    cache.start([{path!r}])
    print(cache.get_file_stats({path!r}))
    print(cache.fscd.name if cache.fscd else "-", cache.fscd.pid if cache.fscd else 0)
"""


def table_gone(name):
    """True when no table called name can be attached (fscd removed what it published)."""
    try:
        fsc.Cache(name).close()
    except FileNotFoundError:
        return True
    return False


def process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie of ours would still answer: it is reaped by whoever waits for it
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1].startswith("Z")


def expected(path):
    st = os.stat(path)
    return {"ts": st.st_mtime, "size": st.st_size}


def test_standalone_starts_and_stops_a_private_fscd(tmp_path):
    p = str(tmp_path / "test_file1")
    with open(p, "w") as f:
        f.write("hello")
    cache = fsc.FStatCache("no-such-table-here")
    cache.start([p])
    assert cache.private and cache.fscd.running
    name, pid = cache.fscd.name, cache.fscd.pid
    assert cache.cache.lookup(os.path.realpath(p)).status == fsc.Status.HIT
    assert cache.get_file_stats(p) == expected(p)
    assert cache.get_file_stats(str(tmp_path)) is None  # a directory: not a file
    assert cache.get_file_stats(p + ".missing") is None
    assert fsc.FStatCache.get_file_stats_using_stat(p) == expected(p)
    assert cache.stat(p) == os.stat(p)
    with pytest.raises(RuntimeError):
        cache.start([p])
    cache.close()
    assert cache.cache is None and cache.fscd is None
    assert process_gone(pid) and table_gone(name)
    cache.close()  # twice: harmless


def test_shared_uses_the_running_fscd(tmp_path):
    s = Served(tmp_path)
    try:
        p = s.path("served")
        with open(p, "w") as f:
            f.write("abc")
        wait_current(s.cache, p)
        with fsc.FStatCache(s.fscd.name) as cache:
            cache.start([p, s.root])
            assert not cache.private and cache.cache.name == s.fscd.name
            assert cache.get_file_stats(p) == expected(p)
        assert s.fscd.running  # not ours to stop
    finally:
        s.stop()


def test_paths_the_running_fscd_does_not_cover_get_a_private_one(tmp_path):
    (tmp_path / "a").mkdir()
    s = Served(tmp_path / "a")
    try:
        other = tmp_path / "b"
        other.mkdir()
        (other / "f").write_text("x")
        with fsc.FStatCache(s.fscd.name) as cache:
            cache.start([str(other / "f")])
            assert cache.private
            assert cache.get_file_stats(str(other / "f")) == expected(str(other / "f"))
    finally:
        s.stop()


def test_missing_paths_are_skipped_as_the_original_did(tmp_path):
    with fsc.FStatCache("no-such-table-here") as cache:
        cache.start([str(tmp_path / "nothing")])
        assert cache.fscd is None
        assert cache.get_file_stats(str(tmp_path / "nothing")) is None


def run_python(code, **kw):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=TIMEOUT * 3, **kw)


def test_the_original_example_runs_unchanged(tmp_path):
    p = str(tmp_path / "test_file1")
    with open(p, "w") as f:
        f.write("0123456789")
    r = run_python(ORIGINAL_EXAMPLE.format(path=p))
    assert r.returncode == 0, r.stderr
    stats, fscd_line = r.stdout.splitlines()
    assert stats == repr(expected(p))
    name, pid = fscd_line.split()
    if name != "-":  # a private fscd: gone with the program, and its table with it
        wait_for(lambda: process_gone(int(pid)), f"fscd {pid} exited")
        assert table_gone(name)


def test_a_killed_python_leaves_no_fscd(tmp_path):
    """SIGKILL: no atexit, no finalizer; the kernel's parent-death signal stops fscd."""
    p = str(tmp_path / "f")
    open(p, "w").close()
    r = run_python(f"""
        import os, signal, fsc
        c = fsc.FStatCache("no-such-table-here").start([{p!r}])
        print(c.fscd.name, c.fscd.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert r.returncode == -signal.SIGKILL, r.stderr
    name, pid = r.stdout.split()
    wait_for(lambda: process_gone(int(pid)), f"fscd {pid} stopped after its parent died")
    wait_for(lambda: table_gone(name), f"table {name} removed")


def test_a_private_fscd_that_cannot_start_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("FSC_FSCD", "/bin/false")
    with pytest.raises(RuntimeError, match="exited"):
        fsc.FStatCache("no-such-table-here").start([str(tmp_path)])
    monkeypatch.setenv("FSC_FSCD", str(tmp_path / "not-there"))
    with pytest.raises(FileNotFoundError, match="FSC_FSCD"):
        fsc.FStatCache("no-such-table-here").start([str(tmp_path)])
