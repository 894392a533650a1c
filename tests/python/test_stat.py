"""Cache.stat, stat_fresh and lookup against os.stat, on a tree a real fscd watches."""
import errno
import os
import pathlib
import stat
import subprocess

import pytest

import fsc
from conftest import Served, assert_same_error, assert_same_stat, wait_current, wait_status
from fsc._fscd import find_fscd

HIT, NEGATIVE, MISS, UNAVAILABLE = (fsc.Status.HIT, fsc.Status.NEGATIVE, fsc.Status.MISS,
                                    fsc.Status.UNAVAILABLE)


def make(served, name, data=b"x"):
    p = served.path(name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def test_hits_equal_os_stat_in_every_field(served):
    paths = [make(served, "small", b"hello"), make(served, "empty", b"")]
    os.mkdir(served.path("dir"))
    paths.append(served.path("dir"))
    big = make(served, "sparse")
    os.truncate(big, 5 << 30)  # past 32 bits; no blocks
    paths.append(big)
    old = make(served, "old")
    os.utime(old, ns=(-1_234_567_891, -86_400_000_000_001))  # before 1970: float rounding
    paths.append(old)
    odd = make(served, "odd")
    os.utime(odd, ns=(1_700_000_000_999_999_999, 4_102_444_800_123_456_789))
    paths.append(odd)
    fifo = served.path("fifo")
    os.mkfifo(fifo)
    paths.append(fifo)
    try:
        os.mknod(served.path("null"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        paths.append(served.path("null"))  # st_rdev set
    except PermissionError:
        pass
    os.chmod(served.path("small"), 0o4751)
    for p in paths:
        wait_current(served.cache, p)
        want = os.stat(p)
        assert_same_stat(served.cache.stat(p), want)
        assert_same_stat(served.cache.stat(p, follow_symlinks=False), os.lstat(p))
    assert os.stat(big).st_size == 5 << 30


def test_negative_is_file_not_found_with_the_path(served):
    p = make(served, "gone")
    wait_status(served.cache, p, HIT)
    os.unlink(p)
    wait_status(served.cache, p, NEGATIVE)
    e = assert_same_error(lambda: served.cache.stat(p), lambda: os.stat(p))
    assert isinstance(e, FileNotFoundError) and e.errno == errno.ENOENT and e.filename == p
    assert_same_error(lambda: served.cache.stat(p, follow_symlinks=False), lambda: os.lstat(p))
    b = os.fsencode(p)
    e = assert_same_error(lambda: served.cache.stat(b), lambda: os.stat(b))
    assert e.filename == b
    e = assert_same_error(lambda: served.cache.stat(pathlib.Path(p)),
                          lambda: os.stat(pathlib.Path(p)))
    assert e.filename == p


def test_negative_below_a_deleted_directory(served):
    os.mkdir(served.path("d"))
    p = make(served, "d/f")
    wait_status(served.cache, p, HIT)
    os.unlink(p)
    os.rmdir(served.path("d"))
    wait_status(served.cache, p, NEGATIVE)
    wait_status(served.cache, served.path("d"), NEGATIVE)
    assert_same_error(lambda: served.cache.stat(p), lambda: os.stat(p))
    # a file now where the directory was: stat(2) says ENOTDIR, and so must the cache
    make(served, "d")
    wait_status(served.cache, served.path("d"), HIT)
    # fscd keeps d/f negative (a refresh of it would store lstat's ENOTDIR as negative too),
    # and the negative alone cannot tell ENOENT from ENOTDIR: the cache looks at d
    assert served.cache.lookup(p).status == NEGATIVE
    e = assert_same_error(lambda: served.cache.stat(p), lambda: os.stat(p))
    assert isinstance(e, NotADirectoryError)


def test_miss_falls_back_to_stat(served, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    p = str(outside / "f")
    with open(p, "w") as f:
        f.write("abc")
    assert served.cache.lookup(p).status == MISS
    assert_same_stat(served.cache.stat(p), os.stat(p))
    missing = str(outside / "missing")
    assert_same_error(lambda: served.cache.stat(missing), lambda: os.stat(missing))
    assert_same_error(lambda: served.cache.stat("/etc/passwd/x"), lambda: os.stat("/etc/passwd/x"))


def test_symlinks_are_followed_or_not_as_asked(served):
    target = make(served, "target", b"12345")
    link = served.path("link")
    os.symlink("target", link)
    dangling = served.path("dangling")
    os.symlink("nothing-here", dangling)
    wait_status(served.cache, target, HIT)
    assert served.cache.lookup(link).status == MISS  # fscd never caches a symlink
    assert_same_stat(served.cache.stat(link), os.stat(link))
    assert_same_stat(served.cache.stat(link, follow_symlinks=False), os.lstat(link))
    assert_same_error(lambda: served.cache.stat(dangling), lambda: os.stat(dangling))
    assert_same_stat(served.cache.stat(dangling, follow_symlinks=False), os.lstat(dangling))


def test_path_types(served):
    p = make(served, "t\u00e9st")  # not ASCII: goes through the filesystem encoding
    raw = make(served, os.fsdecode(b"raw\xff"))  # undecodable: surrogateescape
    wait_status(served.cache, p, HIT)
    wait_status(served.cache, raw, HIT)

    class Bytes:
        def __fspath__(self):
            return os.fsencode(p)

    for arg in (p, os.fsencode(p), pathlib.Path(p), Bytes(), raw, os.fsencode(raw)):
        assert_same_stat(served.cache.stat(arg), os.stat(arg))
    with open(p) as f:
        assert_same_stat(served.cache.stat(f.fileno()), os.stat(f.fileno()))
        with pytest.raises(ValueError):
            served.cache.stat(f.fileno(), follow_symlinks=False)
    assert served.cache.lookup(pathlib.Path(p)).status == HIT
    assert served.cache.lookup(os.fsencode(p)).status == HIT


def test_bad_input_raises_as_os_stat(served, monkeypatch):
    c = served.cache
    for bad in (1.5, None, [b"/"], object()):
        with pytest.raises(TypeError) as e:
            c.stat(bad)
        assert "path should be string, bytes, os.PathLike or integer" in str(e.value)
        with pytest.raises(TypeError):
            c.lookup(bad)
    with pytest.raises(TypeError):
        c.lookup(3)
    for nul in ("/tmp/a\0b", b"/tmp/a\0b"):
        with pytest.raises(ValueError, match="embedded null byte"):
            c.stat(nul)
        with pytest.raises(ValueError):
            c.lookup(nul)
    long = "/" + "a" * 5000
    assert_same_error(lambda: c.stat(long), lambda: os.stat(long))
    assert c.lookup(long).status == MISS
    with pytest.raises(TypeError):
        c.stat(served.root, True)  # follow_symlinks is keyword-only, as in os.stat
    with pytest.raises(TypeError):
        c.stat(served.root, dir_fd=3)
    # relative and non-canonical spellings: stat(2) resolves them, never a wrong answer
    f = make(served, "rel")
    wait_status(c, f, HIT)
    monkeypatch.chdir(served.root)
    for spelling in ("rel", "./rel", served.root + "//rel", served.root + "/./rel", "."):
        assert c.lookup(spelling).status == MISS
        assert_same_stat(c.stat(spelling), os.stat(spelling))


def test_closed_cache_raises_value_error(served):
    c = fsc.Cache(served.fscd.name)
    with c as same:
        assert same is c and not c.closed
    assert c.closed
    for call in (lambda: c.stat(served.root), lambda: c.lookup(served.root),
                 lambda: c.stat_fresh(served.root, 1), lambda: c.changes(),
                 lambda: c.wait(0), lambda: c.request(served.root)):
        with pytest.raises(ValueError, match="closed"):
            call()
    c.close()  # twice: harmless
    assert "closed" in repr(c) and c.name == served.fscd.name


def test_an_uninitialised_cache_raises_value_error():
    c = fsc.Cache.__new__(fsc.Cache)
    with pytest.raises(ValueError, match="__init__"):
        c.stat("/")
    with pytest.raises(ValueError):
        c.lookup("/")


def test_no_table_raises_file_not_found():
    with pytest.raises(FileNotFoundError, match="no fscd publishes"):
        fsc.Cache("no-such-table-here")


def test_lookup_answers(served):
    p = make(served, "looked")
    wait_current(served.cache, p)
    r = served.cache.lookup(p)
    assert r.status is HIT and r.stat == os.stat(p)
    assert r.info.change_seq > 0 and r.info.verified_age >= 0.0
    assert isinstance(r.info.flags, fsc.Flag)
    # WRITING may still be set (fscd clears it when it sees the close); nothing else
    assert r.info.flags & ~fsc.Flag.WRITING == fsc.Flag(0)
    status, st, info = r  # a tuple too
    os.unlink(p)
    wait_status(served.cache, p, NEGATIVE)
    r = served.cache.lookup(p)
    assert r.stat is None and fsc.Flag.NEGATIVE in r.info.flags
    assert r.info.change_seq > info.change_seq
    r = served.cache.lookup(served.path("never"))
    assert (r.status, r.stat, r.info) == (MISS, None, None)


def test_answers_print_by_name_and_compare_as_numbers(served):
    p = make(served, "printed")
    wait_current(served.cache, p)
    r = served.cache.lookup(p)
    assert str(r.status) == "Status.HIT" and f"{r.status}" == "Status.HIT"
    assert r.status == fsc.Status.HIT == 1 and f"{r.status:d}" == "1"
    assert str(fsc.Flag.POLLED | fsc.Flag.STALE) == "Flag.POLLED|STALE"
    assert str(fsc.Kind.CREATE | fsc.Kind.CLOSE_WRITE) == "Kind.CREATE|CLOSE_WRITE"


def test_stat_builds_a_result_once_per_record(tmp_path):
    """Cache.stat keeps the result it built while the record is unchanged (the memo), and
    never gives it for a changed record, nor for another fscd's table under the same name
    (whose records count their change_seq from 1 again: the generation tells them apart)."""
    s = Served(tmp_path)
    try:
        p = make(s, "memo", b"one")
        wait_current(s.cache, p)
        first = s.cache.stat(p)
        assert s.cache.stat(p) is first and s.cache.stat(p, follow_symlinks=False) is first
        with open(p, "ab") as f:
            f.write(b"two")
        wait_current(s.cache, p)
        second = s.cache.stat(p)
        assert second is not first and second.st_size == 6
        assert_same_stat(second, os.stat(p))
        name, generation = s.fscd.name, s.cache.lookup(p).info.generation
        s.fscd.stop()
        with open(p, "ab") as f:
            f.write(b"three")
        again = subprocess.Popen([find_fscd(), "--name", name, "--watch", s.root,
                                  "--log-level", "warn"])
        try:
            wait_current(s.cache, p)
            assert s.cache.lookup(p).info.generation != generation
            assert_same_stat(s.cache.stat(p), os.stat(p))
            assert s.cache.stat(p).st_size == 11
        finally:
            again.terminate()
            assert again.wait(timeout=10) == 0
    finally:
        s.cache.close()


def test_a_stopped_fscd_is_unavailable_and_stat_falls_back(tmp_path):
    s = Served(tmp_path)
    p = make(s, "f", b"abc")
    wait_status(s.cache, p, HIT)
    s.fscd.stop()
    assert s.cache.lookup(p).status == UNAVAILABLE
    with open(p, "ab") as f:
        f.write(b"more")  # nobody updates the table now
    assert_same_stat(s.cache.stat(p), os.stat(p))
    s.cache.close()


def test_stat_fresh_refuses_old_polled_records(tmp_path):
    root = os.path.realpath(tmp_path)
    p = os.path.join(root, "polled")
    with open(p, "w") as f:
        f.write("one")
    # polled every minute: the record stays as first seen for the whole test
    s = Served(root, args=["--poll", root, "--poll-interval", "60000"])
    try:
        wait_current(s.cache, p)
        assert fsc.Flag.POLLED in s.cache.lookup(p).info.flags
        with open(p, "a") as f:
            f.write("two")
        assert s.cache.stat(p).st_size == 3  # the polled record, as fsc_stat serves it
        assert s.cache.stat_fresh(p, 3600).st_size == 3
        assert_same_stat(s.cache.stat_fresh(p, 0), os.stat(p))  # too old: stat(2)
        assert_same_stat(s.cache.stat_fresh(p, 0.001, follow_symlinks=False), os.lstat(p))
        for bad in (-1, float("nan")):
            with pytest.raises(ValueError):
                s.cache.stat_fresh(p, bad)
        with pytest.raises(TypeError):
            s.cache.stat_fresh(p, None)
    finally:
        s.stop()


def test_answers_come_from_the_table(served):
    """With fscd stopped (SIGSTOP) the table keeps its last records until the heartbeat
    goes stale (2 s): a hit and a negative answered then prove no stat(2) was made."""
    import signal
    f = make(served, "grows", b"1234")
    gone = make(served, "gone")
    os.unlink(gone)
    wait_current(served.cache, f)
    wait_status(served.cache, gone, NEGATIVE)
    for _attempt in range(3):
        os.kill(served.fscd.pid, signal.SIGSTOP)
        try:
            with open(f, "ab") as out:
                out.write(b"5678")
            with open(gone, "w"):
                pass
            got_size = served.cache.stat(f).st_size
            try:
                served.cache.stat(gone)
                raised = None
            except FileNotFoundError as e:
                raised = e
            still_live = served.cache.lookup(f).status == HIT
        finally:
            os.kill(served.fscd.pid, signal.SIGCONT)
        if still_live:  # else this process was descheduled past the heartbeat: again
            break
        os.unlink(gone)
        wait_current(served.cache, f)
        wait_status(served.cache, gone, NEGATIVE)
    assert still_live, "the table went unavailable before the answers could be checked"
    assert got_size == 4 and os.stat(f).st_size > 4
    assert raised is not None and raised.filename == gone and os.path.exists(gone)


@pytest.mark.skipif(not fsc.HAVE_KINDS, reason="this libfsc has no fsc_covers")
def test_covers_says_what_fscd_serves(served, tmp_path_factory):
    assert served.cache.covers(served.root) is True
    assert served.cache.covers(served.path("not-yet", "there")) is True
    assert served.cache.covers(pathlib.Path(served.path("x"))) is True
    outside = str(tmp_path_factory.mktemp("elsewhere"))
    assert served.cache.covers(outside) is False
    with pytest.raises(ValueError, match="absolute"):
        served.cache.covers("relative/path")
