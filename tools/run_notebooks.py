"""Execute every chapter and solution twice, side by side: under nbval, and in the book build.

``make test`` runs this (``python -m tools.run_notebooks``) between the fast tests and the
tests of the built book. The two runs record their metrics in separate folders
(``_build/metrics/nbval`` and ``.../book``, see :mod:`tools.book_paths`), which
``tests/book/test_build_results.py`` then compares: the determinism bar.

The runs share the machine, one on each core (every chapter runs torch on one thread). Two
things make that safe. Their kernels must not both use TCP: two launchers that each pick
"free" ports can pick the same one ("Address already in use" failed a CI run here), so the
nbval run's kernels use Unix sockets (:mod:`tools.nbval_unix_sockets`). And no chapter
asserts a wall-clock time: the cost curves of Chapters 1, 6 and 7 are CPU seconds, the
fastest of several rounds, so a busy second core does not bend them. The book build's
output goes to a log file, printed when both runs are done, so that the two do not
interleave.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from attention_course.reporting import BOOK_VARIABLE, METRICS_DIR_VARIABLE
from tools.book_paths import METRICS, NOTEBOOK_LIMIT_SECONDS, ROOT, SCREENSHOTS, TEST_BOOK_OUTPUT

BIN = Path(sys.executable).parent

RUNS = {
    "nbval": [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tools.nbval_unix_sockets",
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
    subprocess.run(["rm", "-rf", str(METRICS), str(TEST_BOOK_OUTPUT), str(SCREENSHOTS)], check=True)
    TEST_BOOK_OUTPUT.mkdir(parents=True)
    book_log = TEST_BOOK_OUTPUT / "build.log"
    running = {}
    with open(book_log, "w") as log:
        for name, command in RUNS.items():
            print(f"== {name}: {' '.join(command[1:] if name == 'nbval' else command)}", flush=True)
            env = {**os.environ, METRICS_DIR_VARIABLE: str(METRICS / name)}
            if name == "book":
                env[BOOK_VARIABLE] = "1"  # metrics for the execution statistics page
            output = log if name == "book" else None
            running[name] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )
    failed = [name for name, process in running.items() if process.wait() != 0]
    print(f"== book build output ({book_log}):", flush=True)
    print(book_log.read_text(encoding="utf-8", errors="replace"), flush=True)
    if failed:
        print(f"failed: {', '.join(failed)} (see its output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
