"""Execute the book's notebooks into its execution cache, one per core, before the build.

``make book`` runs this (``python -m tools.execute_book``) and then ``jupyter-book build``.
jupyter-book executes notebooks one after the other; every chapter runs torch on one
thread, so on a machine with two cores (Colab's, these build machines) half of it would sit
idle for the whole build. Here the chapters and solutions whose code is not yet in the
execution cache that jupyter-book itself uses (``execute_notebooks: cache`` in
``_config.yml``, a jupyter-cache folder) run as many at a time as there are cores, each in
its own folder like the build runs them, and go into the cache with their run time; the
build then finds every one there and executes nothing (its "Execution statistics" page
shows the run times stored here). A notebook that fails here stays out of the cache, so
the build runs it once more and reports the error with its traceback.

``make test`` does not use this: there the book build already runs beside the nbval run,
one on each core (:mod:`tools.run_notebooks`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

from tools.book_paths import BUILD, NOTEBOOK_LIMIT_SECONDS, ROOT, book_notebooks
from tools.unix_socket_kernels import UnixSocketKernelManager

CACHE = BUILD / ".jupyter_cache"  # where jupyter-book keeps it for the book in _build/


def _execute(task: tuple[Path, int]):
    """Run one notebook in its own folder: (path, executed notebook, seconds, error or None)."""
    path, timeout = task
    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(
        notebook,
        cwd=str(path.parent),
        timeout=timeout,
        allow_errors=False,
        kernel_manager_class=UnixSocketKernelManager,
    )
    error = None if result.err is None else type(result.err).__name__
    return path, result.nb, result.time, error


def execute(notebooks: list[Path], cache_path: Path, timeout: int, workers: int) -> list[Path]:
    """Run the notebooks the cache does not hold, ``workers`` at a time; return the failed."""
    cache = get_cache(str(cache_path))
    missing = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:  # no cached run of this code
            missing.append(path)
    failed = []
    if not missing:
        return failed
    with multiprocessing.Pool(min(workers, len(missing))) as pool:
        tasks = [(path, timeout) for path in missing]
        for path, executed, seconds, error in pool.imap_unordered(_execute, tasks):
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            if error:
                print(f"{name}: {error}; the build will run it again and show why", flush=True)
                failed.append(path)
                continue
            # What jupyter-book stores after executing a notebook itself (myst-nb's
            # cache client), so that the build takes this run as its own.
            cache.cache_notebook_bundle(
                CacheBundleIn(executed, str(path), data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            print(f"{name}: executed in {seconds:.0f} s", flush=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.execute_book", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="notebooks run at a time (default: one per core)",
    )
    args = parser.parse_args(argv)
    execute(book_notebooks(), CACHE, NOTEBOOK_LIMIT_SECONDS, args.workers)
    return 0  # the build that follows reports any failure, with its traceback


if __name__ == "__main__":
    sys.exit(main())
