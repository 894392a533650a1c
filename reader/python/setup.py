"""pip install --no-build-isolation reader/python (Debian: python3-pip, python3-setuptools,
python3-dev, libxxhash-dev): builds fsc._fsc from this checkout's C sources, the
extension's own (src/) and libfsc's (../../reader, ../../shm), into one module with no other
library to find at run time. The CMake build does the same (CMakeLists.txt here)."""
import glob
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
LIBFSC_DIRS = [os.path.join(TOP, "reader"), os.path.join(TOP, "shm")]


class BuildExt(build_ext):
    """libfsc's sources live outside this folder: each is compiled through a one-line stub
    in the build directory (#include "<its path>"), so objects never land in the tree."""

    def build_extension(self, ext):
        missing = [d for d in LIBFSC_DIRS if not os.path.isfile(os.path.join(d, "fsc.h"))
                   and not glob.glob(os.path.join(d, "*.c"))]
        if missing:
            raise SystemExit(f"fsc: {', '.join(missing)} not found: install from a checkout "
                             "of fsc (pip install --no-build-isolation reader/python)")
        stubs = os.path.join(os.path.abspath(self.build_temp), "libfsc")
        os.makedirs(stubs, exist_ok=True)
        for d in LIBFSC_DIRS:
            for src in sorted(glob.glob(os.path.join(d, "*.c"))):
                stub = os.path.join(stubs, os.path.basename(d) + "_" + os.path.basename(src))
                with open(stub, "w") as f:
                    f.write(f'#include "{src}"\n')
                ext.sources.append(stub)
        super().build_extension(ext)


setup(
    name="fsc",
    version="0.1.0",
    description="file metadata from fscd's shared-memory table, with no system call",
    packages=["fsc"],
    py_modules=["fstat_cache"],
    package_data={"fsc": ["__init__.pyi", "py.typed"]},
    data_files=[],
    ext_modules=[Extension(
        "fsc._fsc",
        sources=sorted(glob.glob("src/*.c")),
        include_dirs=["src"] + LIBFSC_DIRS,
        extra_compile_args=["-std=gnu11", "-ffp-contract=off", "-fvisibility=hidden"],
        extra_link_args=[f"-Wl,--version-script={os.path.join(HERE, 'src', 'fsc_py.map')}"],
        libraries=["pthread", "rt"],
    )],
    cmdclass={"build_ext": BuildExt},
    python_requires=">=3.10",  # Py_NewRef, PyModule_AddObjectRef
)
