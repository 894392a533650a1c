"""pip install --no-build-isolation from the folder builds the same package: built here
from a copy of the sources (so the checkout stays clean) into a --target directory."""
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

TOP = os.environ.get("FSC_SOURCE_DIR",
                     os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..")))


def test_pip_install_from_the_folder(tmp_path):
    for module in ("pip", "setuptools"):  # found, not imported (setuptools patches distutils)
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"no {module}: install python3-pip and python3-setuptools")
    src = tmp_path / "src"
    for d in ("reader", "shm"):
        shutil.copytree(os.path.join(TOP, d), src / d,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                        "--no-deps", "--no-index", "--quiet", "--target", str(target),
                        str(src / "reader" / "python")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    check = textwrap.dedent(f"""
        import os, fsc, fstat_cache
        assert fsc.__file__.startswith({str(target)!r}), fsc.__file__
        with fstat_cache.FStatCache("no-such-table-here") as c:
            c.start([{str(src / "shm")!r}])
            p = {str(src / "shm" / "fsc_shm_map.c")!r}
            assert c.cache.lookup(p).status == fsc.Status.HIT
            assert c.stat(p) == os.stat(p)
            assert c.get_file_stats(p)["size"] == os.stat(p).st_size
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=str(target))
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_cmake_install_puts_it_under_the_prefix(tmp_path):
    build, cmake = os.environ.get("FSC_BUILD_DIR"), os.environ.get("FSC_CMAKE")
    if not build or not cmake:
        pytest.skip("run by ctest (FSC_BUILD_DIR, FSC_CMAKE)")
    prefix = tmp_path / "prefix"
    r = subprocess.run([cmake, "--install", build, "--prefix", str(prefix)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    inits = list(prefix.glob("lib/python3*/*-packages/fsc/__init__.py"))
    assert len(inits) == 1, r.stdout
    site = inits[0].parent.parent
    assert (site / "fstat_cache.py").exists() and list((site / "fsc").glob("_fsc.*.so"))
    check = textwrap.dedent(f"""
        import fsc, fsc._fscd
        assert fsc.__file__.startswith({str(site)!r}), fsc.__file__
        assert fsc._fscd.find_fscd() == {str(prefix / "bin" / "fscd")!r}, fsc._fscd.find_fscd()
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "FSC_FSCD"}
    env["PYTHONPATH"] = str(site)
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
