#!/usr/bin/python3
"""The cache-vs-stat web example: a file's size and modification time, from fsc's table
(/cache/<path>) beside the same from os.stat (/stat/<path>), as JSON.

    PYTHONPATH=build/reader/python /usr/bin/python3 reader/python/examples/webapp.py \\
        --watch /tmp/demo
    curl http://127.0.0.1:8000/cache/tmp/demo/app.log
    curl http://127.0.0.1:8000/stat/tmp/demo/app.log
    # {"mtime": 1733500000.123, "path": "/tmp/demo/app.log", "size": 42}

It serves what is under the --watch directories and nothing else: any other path, and a
file that does not exist, is 404 on both routes (never another file's metadata, not even
through a symlink pointing out). The directories are served by the running fscd when it
covers them (--name), else by a private fscd this program starts and stops.
Needs Flask (Debian: python3-flask). Exit status: 0 on Ctrl-C or SIGTERM, 1 if the
directories cannot be served, 2 on a usage error.
"""
import argparse
import os
import signal
import sys

from flask import Flask, abort, jsonify

import fsc


def _under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def create_app(cache, roots):
    """The Flask app: cache is an fsc.Cache, roots the directories it may tell about."""
    roots = [os.path.realpath(r) for r in roots]
    app = Flask("fsc-webapp")

    def answer(path, st):
        return jsonify(path=path, size=st.st_size, mtime=st.st_mtime)

    def by_stat(path):
        # os.stat follows symlinks: the real path decides whether it is served
        if os.path.normpath(path) != path or not _under(os.path.realpath(path), roots):
            abort(404)
        try:
            return answer(path, os.stat(path))
        except (FileNotFoundError, NotADirectoryError):
            abort(404)
        except PermissionError:
            abort(403)

    @app.get("/cache/<path:p>")
    def from_cache(p):
        path = "/" + p
        if not _under(path, roots):
            abort(404)
        # a record or negative entry of the table is of a real path under fscd's roots,
        # and cache.stat answers it without a system call; anything else is checked as
        # /stat checks it
        if cache.lookup(path).status not in (fsc.Status.HIT, fsc.Status.NEGATIVE):
            return by_stat(path)
        try:
            return answer(path, cache.stat(path))
        except (FileNotFoundError, NotADirectoryError):
            abort(404)
        except PermissionError:
            abort(403)

    @app.get("/stat/<path:p>")
    def from_stat(p):
        return by_stat("/" + p)

    return app


def main(argv=None):
    ap = argparse.ArgumentParser(description="fsc's cache-vs-stat web example: "
                                 "GET /cache/<path> and /stat/<path> give {path, size, mtime}.")
    ap.add_argument("--watch", action="append", required=True, metavar="DIR",
                    help="a directory (or file) to serve; repeat for more")
    ap.add_argument("--name", default=None,
                    help="the running fscd's table to use if it covers them (default: default)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ap.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    args = ap.parse_args(argv)
    roots = [os.path.realpath(w) for w in args.watch]
    missing = [r for r in roots if not os.path.exists(r)]
    if missing:
        print(f"webapp: cannot serve {', '.join(missing)}: no such file or directory",
              file=sys.stderr)
        return 1
    # SIGTERM ends the program through sys.exit, so a private fscd is stopped at exit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        served = fsc.FStatCache(args.name).start(roots)
    except (OSError, RuntimeError) as e:
        print(f"webapp: cannot serve {', '.join(roots)}: {e}", file=sys.stderr)
        return 1
    with served:
        how = f"private fscd, table {served.fscd.name}" if served.private \
            else f"table {served.cache.name}"
        print(f"webapp: serving {', '.join(roots)} ({how}) on http://{args.host}:{args.port}/",
              file=sys.stderr, flush=True)
        try:
            create_app(served.cache, roots).run(host=args.host, port=args.port)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
