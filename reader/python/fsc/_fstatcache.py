"""FStatCache: the API of the Python library fsc grew out of (fstat_cache), over fsc.

    from fstat_cache import FStatCache         # or: from fsc import FStatCache
    cache = FStatCache()
    cache.start(["/tmp/test_file1"])
    print(cache.get_file_stats("/tmp/test_file1"))   # {'ts': 1733500000.1, 'size': 42}

get_file_stats returns what the original returned: {"ts": st_mtime, "size": st_size} for a
regular file, None for anything else (missing, a directory, not permitted). stat(path) gives
the whole os.stat_result.
"""
import os
import stat as _stat
import weakref

from . import _fsc
from ._fscd import start_private_fscd


def _shutdown(state):
    """Closes the cache, then stops the private fscd (close(), the finalizer, exit)."""
    cache, fscd = state.pop("cache", None), state.pop("fscd", None)
    if cache is not None:
        cache.close()
    if fscd is not None:
        fscd.stop()


class FStatCache:
    """File size and modification time from fsc's table (the original fstat_cache API).

    FStatCache(name=None): name is the table of the running fscd to use when it covers
    the paths given to start() (None: "default"). Use as a context manager, or call
    close(); a private fscd is stopped at exit in any case.
    """

    def __init__(self, name=None, *, timeout=10.0):
        self._name = name
        self._timeout = timeout
        self._state = {}
        self._finalizer = weakref.finalize(self, _shutdown, self._state)

    def start(self, paths):
        """Make sure paths are served: by the running fscd (table `name`) if it covers
        every one of them, else by a private fscd started for them, stopped by close()
        or at exit. Paths that do not exist are skipped, as the original did (their
        get_file_stats asks os.stat). Returns self."""
        if self._state:
            raise RuntimeError("FStatCache.start: already started (close() first)")
        wanted = [os.path.abspath(os.fsdecode(p)) for p in paths]
        present = [p for p in wanted if os.path.lexists(p)]
        cache = self._shared(present)
        if cache is None and present:
            fscd = start_private_fscd(present, timeout=self._timeout)
            self._state["fscd"] = fscd
            cache = _fsc.Cache(fscd.name)
        if cache is not None:
            self._state["cache"] = cache
        return self

    build = start  # the original's earlier name

    def _shared(self, paths):
        """The running fscd's table if it covers every path, else None."""
        try:
            cache = _fsc.Cache(self._name)
        except OSError:
            return None
        if all(self._covers(cache, p) for p in paths):
            return cache
        cache.close()
        return None

    @staticmethod
    def _covers(cache, path):
        """fscd covers path: its roots say so (fsc_covers), or it holds a record of it."""
        if _fsc.HAVE_KINDS and cache.covers(path):
            return True
        return cache.lookup(path).status in (_fsc.HIT, _fsc.NEGATIVE)

    @property
    def cache(self):
        """The fsc.Cache answering (None before start(), after close())."""
        return self._state.get("cache")

    @property
    def private(self):
        """True when start() had to run a private fscd."""
        return "fscd" in self._state

    @property
    def fscd(self):
        """The private fscd (a PrivateFscd: name, pid, log), or None."""
        return self._state.get("fscd")

    def stat(self, file_path):
        """The whole os.stat_result (Cache.stat; os.stat before start())."""
        cache = self._state.get("cache")
        return cache.stat(file_path) if cache is not None else os.stat(file_path)

    def get_file_stats(self, file_path):
        """{"ts": mtime, "size": bytes} of a regular file, else None (the original's)."""
        try:
            st = self.stat(file_path)
        except OSError:
            return None
        if not _stat.S_ISREG(st.st_mode):
            return None
        return {"ts": st.st_mtime, "size": st.st_size}

    @staticmethod
    def get_file_stats_using_stat(file_path):
        """get_file_stats by os.stat itself (the original's, for comparisons)."""
        try:
            st = os.stat(file_path)
        except OSError:
            return None
        if not _stat.S_ISREG(st.st_mode):
            return None
        return {"ts": st.st_mtime, "size": st.st_size}

    def close(self):
        """Detach, and stop the private fscd if one was started. Harmless twice."""
        _shutdown(self._state)

    invalidate = close  # the original's name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
