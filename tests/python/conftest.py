"""Shared fixtures of the fsc Python tests: a real fscd over a temporary tree, started
through the package's one helper (fsc._fscd.start_private_fscd), and waits on conditions.

ctest runs these with PYTHONPATH at the build tree's package and FSC_FSCD at its fscd
(reader/python/CMakeLists.txt)."""
import os
import shutil
import tempfile
import time

import pytest

# Each test process gets a private object directory, so its tables never meet another
# test's (the fsc build reads FSC_DIR once table objects live in a trusted directory).
_OBJECT_DIR = tempfile.mkdtemp(prefix="fsc-pytest-")
os.environ["FSC_DIR"] = _OBJECT_DIR

import fsc  # noqa: E402
from fsc._fscd import start_private_fscd  # noqa: E402

TIMEOUT = 10.0  # seconds any condition may take


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_OBJECT_DIR, ignore_errors=True)


def wait_for(cond, what, timeout=TIMEOUT):
    """Polls cond() until it is true; fails the test naming what never happened."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail(f"after {timeout} s still not: {what}")
        time.sleep(0.005)


def wait_status(cache, path, status):
    """Waits until the table answers path with status (a fsc.Status)."""
    wait_for(lambda: cache.lookup(path).status == status,
             f"{path} is {status.name} in the table (it is {cache.lookup(path).status.name})")


def wait_current(cache, path):
    """Waits until the table's record of path is what os.stat says now (every field)."""
    def same():
        st = cache.lookup(path).stat
        return st is not None and stat_fields(st) == stat_fields(os.stat(path))
    wait_for(same, f"the table's record of {path} equals os.stat")


def stat_fields(st):
    """Every field of an os.stat_result, the unnamed integer times included."""
    names = ("st_mode st_ino st_dev st_nlink st_uid st_gid st_size st_atime st_mtime "
             "st_ctime st_atime_ns st_mtime_ns st_ctime_ns st_blksize st_blocks st_rdev")
    return tuple(st[:10]) + tuple((n, getattr(st, n)) for n in names.split())


def assert_same_stat(got, want):
    assert type(got) is os.stat_result
    assert stat_fields(got) == stat_fields(want)
    assert got == want


def assert_same_error(call, os_call):
    """call() raises exactly what os_call() raises: type, errno, strerror, filename."""
    with pytest.raises(OSError) as want:
        os_call()
    with pytest.raises(OSError) as got:
        call()
    assert type(got.value) is type(want.value)
    assert (got.value.errno, got.value.strerror, got.value.filename) == \
        (want.value.errno, want.value.strerror, want.value.filename)
    return got.value


class Served:
    """A private fscd watching root (a temporary directory), and a Cache of its table."""

    def __init__(self, root, args=()):
        self.root = os.path.realpath(root)
        self.fscd = start_private_fscd([self.root], args=args, timeout=TIMEOUT)
        self.cache = fsc.Cache(self.fscd.name)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def stop(self):
        self.cache.close()
        self.fscd.stop()


@pytest.fixture
def served(tmp_path):
    """A fresh fscd over an empty temporary directory, stopped after the test."""
    s = Served(tmp_path)
    yield s
    s.stop()
