"""fsc: file metadata from the shared-memory table fscd keeps, with no system call.

fscd watches directory trees with inotify and publishes every file's stat record in shared
memory; this package reads it through libfsc (a C extension: a hit costs a fraction of
os.stat and makes no system call).

    import fsc
    with fsc.Cache() as cache:                  # the table of the fscd called "default"
        st = cache.stat("/var/log/syslog")      # exactly os.stat's result (or exception)
        r = cache.lookup("/var/log/syslog")     # the table's own answer: r.status, r.stat, r.info
        changes = cache.changes()               # the change journal, from now on
        for ch in changes: ...                  # fsc.Change(path, kinds, flags, change_seq)
        cache.wait(1.0)                         # sleep until something changes

No fscd running?  fsc.FStatCache().start([paths]) uses the running one if it covers the
paths and starts a private one otherwise (stopped on close() or at exit).  The module
fstat_cache offers FStatCache under the name the original library used.
"""
import enum as _enum

from . import _fsc
from ._fsc import Cache, Change, Changes, Cursor, CursorLost, Info, Lookup

__all__ = ["Cache", "Change", "Changes", "Cursor", "CursorLost", "FStatCache", "Flag",
           "Info", "Kind", "Lookup", "Status"]


class Status(_enum.IntEnum):
    """What the table answers for a path (Lookup.status)."""
    HIT = _fsc.HIT                  #: the record is there: Lookup.stat holds it
    NEGATIVE = _fsc.NEGATIVE        #: cached "does not exist"
    MISS = _fsc.MISS                #: not in the table (or a path it never holds)
    UNAVAILABLE = _fsc.UNAVAILABLE  #: no live fscd keeps the table current

    # print(lookup.status) says "Status.HIT": since Python 3.11 an IntEnum prints as its
    # number; it still compares and formats with "d" as one
    __str__ = _enum.Enum.__str__


class Flag(_enum.IntFlag):
    """A record's flags (Info.flags) and a journal entry's (Change.flags)."""
    NEGATIVE = _fsc.FLAG_NEGATIVE   #: the path does not exist
    POLLED = _fsc.FLAG_POLLED       #: kept current by polling: see Info.verified_age
    STALE = _fsc.FLAG_STALE         #: fscd knows the record may be out of date
    WRITING = getattr(_fsc, "FLAG_WRITING", 0x8)  #: a writer has the file open
    DROPPED = _fsc.CHANGE_DROPPED   #: journal only: fscd no longer holds the path

    __str__ = _enum.Flag.__str__  # "Flag.POLLED|STALE", not "6"


class Kind(_enum.IntFlag):
    """What happened to a path (Change.kinds); 0 when this fscd does not say."""
    CREATE = getattr(_fsc, "KIND_CREATE", 0x1)
    MODIFY = getattr(_fsc, "KIND_MODIFY", 0x2)
    ATTRIB = getattr(_fsc, "KIND_ATTRIB", 0x4)
    CLOSE_WRITE = getattr(_fsc, "KIND_CLOSE_WRITE", 0x8)
    DELETE = getattr(_fsc, "KIND_DELETE", 0x10)
    MOVED_FROM = getattr(_fsc, "KIND_MOVED_FROM", 0x20)
    MOVED_TO = getattr(_fsc, "KIND_MOVED_TO", 0x40)
    DIR = getattr(_fsc, "KIND_DIR", 0x80)
    RESCAN = getattr(_fsc, "KIND_RESCAN", 0x100)

    __str__ = _enum.Flag.__str__  # "Kind.CREATE|CLOSE_WRITE", not "9"


#: True when this libfsc reports change kinds (Change.kinds) and has Cache.covers.
HAVE_KINDS = bool(_fsc.HAVE_KINDS)

_fsc._set_types(Status, Flag, Kind)

from ._fstatcache import FStatCache  # noqa: E402  (needs Cache above)
