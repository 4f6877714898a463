"""Execute every chapter and solution twice: under nbval, then in the book build.

``make test`` runs this (``python -m tools.run_notebooks``) between the fast tests and the
tests of the built book. The two runs record their metrics in separate folders
(``_build/metrics/nbval`` and ``.../book``, see :mod:`tools.book_paths`), which
``tests/book/test_build_results.py`` then compares: the determinism bar.

The runs go one after the other. Side by side they would save a few minutes, but their
kernels then race for TCP ports (a port chosen free by one launcher is taken by the
other's connections before its kernel binds it: "Address already in use"), which failed
a CI run here. Giving one run's kernels Unix sockets cured that, but then Chapter 6's cost
curves, measured while the other run loaded the second core, bent out of their bars
(the GRU's time grew like n^0.67): the chapters need the machine to themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from attention_course.reporting import METRICS_DIR_VARIABLE
from tools.book_paths import METRICS, NOTEBOOK_LIMIT_SECONDS, ROOT, TEST_BOOK_OUTPUT

BIN = Path(sys.executable).parent

RUNS = {
    "nbval": [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tools.notebook_timing",
        "--nbval-lax",
        f"--nbval-cell-timeout={NOTEBOOK_LIMIT_SECONDS}",
        "chapters",
        "solutions",
    ],
    "book": [
        str(BIN / "jupyter-book"),
        "build",
        ".",
        "--path-output",
        str(TEST_BOOK_OUTPUT),
        "--warningiserror",
        "--nitpick",
        "--keep-going",
    ],
}


def main() -> int:
    subprocess.run(["rm", "-rf", str(METRICS), str(TEST_BOOK_OUTPUT)], check=True)
    failed = []
    for name, command in RUNS.items():
        print(f"== {name}: {' '.join(command[1:] if name == 'nbval' else command)}", flush=True)
        env = {**os.environ, METRICS_DIR_VARIABLE: str(METRICS / name)}
        if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)} (see its output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
