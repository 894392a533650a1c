"""A private fscd for FStatCache.start and the tests: the one place that starts one.

start_private_fscd(paths) runs fscd --name <a private name> --watch PATH... as a child and
returns once its table serves every path; PrivateFscd.stop() ends it, and fscd's clean exit
removes the objects it published. When the table objects move to a trusted directory, this
function is the only one that changes.
"""
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time

from . import _fsc

_POLL = 0.005  # seconds between looks while waiting for fscd


def find_fscd():
    """The fscd binary: $FSC_FSCD, else the one of this build or install, else PATH."""
    env = os.environ.get("FSC_FSCD")
    if env:
        if not os.access(env, os.X_OK):
            raise FileNotFoundError(f"FSC_FSCD={env} is not an executable fscd: "
                                    "point it at the fscd binary")
        return env
    try:
        from ._build import FSCD as candidates
    except ImportError:
        candidates = []
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    found = shutil.which("fscd") or shutil.which("fscd", path="/usr/sbin:/sbin")
    if found:
        return found
    raise FileNotFoundError("cannot find fscd: install fsc, put fscd on PATH, or set "
                            "FSC_FSCD=/path/to/fscd")


class PrivateFscd:
    """A running private fscd: name (its table), pid, log (its stderr so far)."""

    def __init__(self, name, pid, log_file):
        self.name = name
        self.pid = pid
        self._owner = os.getpid()  # a forked child must not stop its parent's fscd
        self._log = log_file
        self._lock = threading.Lock()

    @property
    def log(self):
        """What fscd wrote to stderr so far."""
        if self._log.closed:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    @property
    def running(self):
        """True until stop() (or fscd exited by itself and was reaped here)."""
        with self._lock:
            return self.pid is not None and not self._reap(0)

    def _reap(self, flags):
        """With the lock held: True once the child is reaped (or is not ours)."""
        if self.pid is None or os.getpid() != self._owner:
            return True
        try:
            pid, _ = os.waitpid(self.pid, flags | os.WNOHANG)
        except ChildProcessError:
            pid = self.pid  # reaped elsewhere
        if pid:
            self.pid = None
        return pid != 0

    def _wait(self, timeout):
        end = time.monotonic() + timeout
        while not self._reap(0):
            if time.monotonic() >= end:
                return False
            time.sleep(_POLL)
        return True

    def stop(self, timeout=5.0):
        """SIGTERM (fscd exits cleanly, removing its objects), SIGKILL after timeout s."""
        with self._lock:
            if os.getpid() != self._owner:
                self.pid = None  # the parent's fscd, inherited by fork(): left running
            if self.pid is not None:
                try:
                    os.kill(self.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                if not self._wait(timeout):
                    os.kill(self.pid, signal.SIGKILL)
                    self._wait(timeout)
            if not self._log.closed:
                self._log.close()

    def __repr__(self):
        return f"<PrivateFscd name={self.name!r} pid={self.pid}>"


def _served(name, paths):
    """True once the table name is live and answers HIT or NEGATIVE for every path."""
    try:
        cache = _fsc.Cache(name)
    except OSError:
        return False
    with cache:
        for p in paths:
            status = cache.lookup(p).status
            if status not in (_fsc.HIT, _fsc.NEGATIVE):
                return False
    return True


def start_private_fscd(paths, *, args=(), timeout=10.0):
    """Start fscd watching paths (absolute, existing) under a private table name and
    return a PrivateFscd once the table serves every path. args: more fscd options.
    Raises OSError if fscd cannot be found or started, RuntimeError if it exits or does
    not serve the paths within timeout seconds (the message quotes its log)."""
    binary = find_fscd()
    name = f"py{os.getpid()}-{secrets.token_hex(6)}"
    argv = [binary, "--name", name, "--log-level", "warn"]
    for p in paths:
        argv += ["--watch", os.fsdecode(p)]
    argv += list(args)
    log = tempfile.TemporaryFile(prefix="fscd-log-")
    # the kernel stops fscd if this thread dies; only the main thread lives as long as
    # the process (atexit and the finalizer stop it otherwise)
    deathsig = threading.current_thread() is threading.main_thread()
    try:
        pid = _fsc._spawn(argv, log.fileno(), deathsig)
    except BaseException:
        log.close()
        raise
    fscd = PrivateFscd(name, pid, log)
    end = time.monotonic() + timeout
    real = [os.path.realpath(p) for p in paths]  # the keys fscd stores (it resolves roots)
    while not _served(name, real):
        if not fscd.running or time.monotonic() >= end:
            why = "exited" if not fscd.running else f"did not serve {list(paths)} in {timeout} s"
            text = fscd.log.strip()
            fscd.stop()
            raise RuntimeError(f"private fscd ({' '.join(argv)}) {why}"
                               + (f"; its log:\n{text}" if text else ""))
        time.sleep(_POLL)
    return fscd
