"""The cache-vs-stat web example: Flask's test client on the app, and the documented
command run for real."""
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import fsc
from conftest import TIMEOUT, Served, wait_current, wait_for

flask = pytest.importorskip("flask")  # python3-flask (tools/dev.sh installs it)
EXAMPLES = os.path.join(os.environ.get("FSC_SOURCE_DIR", os.path.join(os.path.dirname(
    __file__), "..", "..")), "reader", "python", "examples")
sys.path.insert(0, EXAMPLES)
import webapp  # noqa: E402


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "app.log").write_text("twelve bytes")
    (root / "sub").mkdir()
    os.symlink("/etc/passwd", root / "out")  # points outside the served root
    s = Served(root)
    wait_current(s.cache, s.path("app.log"))
    yield s, webapp.create_app(s.cache, [s.root]).test_client()
    s.stop()


def test_cache_and_stat_give_the_same_size_and_mtime(site):
    s, client = site
    p = s.path("app.log")
    st = os.stat(p)
    for route in ("cache", "stat"):
        r = client.get(f"/{route}{p}")
        assert r.status_code == 200, r.data
        assert r.get_json() == {"path": p, "size": st.st_size, "mtime": st.st_mtime}
    with open(p, "a") as f:
        f.write("+more")
    wait_current(s.cache, p)
    assert client.get(f"/cache{p}").get_json()["size"] == os.stat(p).st_size


def test_missing_is_404_in_both(site):
    s, client = site
    for p in (s.path("nothing"), s.path("sub", "nothing"), s.path("app.log", "below")):
        assert client.get(f"/cache{p}").status_code == 404
        assert client.get(f"/stat{p}").status_code == 404
    p = s.path("app.log")
    os.unlink(p)
    wait_for(lambda: s.cache.lookup(p).status.name == "NEGATIVE", f"{p} negative")
    assert client.get(f"/cache{p}").status_code == 404
    assert client.get(f"/stat{p}").status_code == 404


def test_outside_the_roots_is_404_not_metadata(site):
    s, client = site
    for p in ("/etc/passwd", s.root + "/../root-not", s.root + "/sub/../../x",
              s.path("out"), s.root + "-sibling", "/"):
        for route in ("cache", "stat"):
            r = client.get(f"/{route}{p}")
            assert r.status_code == 404, (route, p, r.data)
            assert b"size" not in r.data


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_documented_command_serves_and_cleans_up(tmp_path):
    (tmp_path / "app.log").write_text("0123456789")
    port = free_port()
    env = dict(os.environ, FLASK_DEBUG="0")
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "webapp.py"), "--watch",
                             str(tmp_path), "--name", "no-such-table-here", "--port",
                             str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        p = os.path.realpath(tmp_path / "app.log")

        def get():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/cache{p}",
                                            timeout=TIMEOUT) as r:
                    return r.read()
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stderr.read()
                return None
        body = wait_for(get, f"webapp answers on port {port}")
        assert json.loads(body) == {"path": p, "size": 10, "mtime": os.stat(p).st_mtime}
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=TIMEOUT)[1]
    assert proc.returncode == 0, err
    assert "private fscd" in err
    # the private fscd is stopped, its table gone
    name = err.split("table ")[1].split(")")[0]
    with pytest.raises(FileNotFoundError):
        fsc.Cache(name)


def test_usage_errors(tmp_path):
    assert webapp.main(["--watch", str(tmp_path / "missing")]) == 1
    with pytest.raises(SystemExit) as e:
        webapp.main([])
    assert e.value.code == 2
