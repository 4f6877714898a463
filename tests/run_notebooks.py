"""Execute every chapter and solution twice: under nbval, then in the book build.

``make test`` runs this between the fast tests and the tests of the built book. The two
runs record their metrics in separate folders (``_build/metrics/nbval`` and ``.../book``),
which ``tests/book/test_build_results.py`` then compares: the determinism bar.

The two runs go side by side, one on each core (every chapter runs torch on one thread),
which saves about six minutes. Their kernels must not both use TCP: two launchers that
each pick "free" ports can pick the same one ("Address already in use" failed a CI run
here), so the nbval run's kernels use Unix sockets (``tests/nbval_unix_sockets.py``).
The book build's output goes to a log file, printed when both runs are done, so that the
two do not interleave.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from attention_course.reporting import METRICS_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
METRICS = ROOT / "_build" / "metrics"
TEST_BOOK = ROOT / "_build" / "test-book"
BIN = Path(sys.executable).parent

RUNS = {
    "nbval": [sys.executable, "-m", "pytest", "-p", "tests.nbval_unix_sockets",
              "-p", "tests.notebook_timing", "--nbval-lax",
              "--nbval-cell-timeout=120", "chapters", "solutions"],
    "book": [str(BIN / "jupyter-book"), "build", ".", "--path-output", str(TEST_BOOK),
             "--warningiserror", "--nitpick", "--keep-going"],
}


def main() -> int:
    subprocess.run(["rm", "-rf", str(METRICS), str(TEST_BOOK)], check=True)
    TEST_BOOK.mkdir(parents=True)
    book_log = TEST_BOOK / "build.log"
    running = {}
    with open(book_log, "w") as log:
        for name, command in RUNS.items():
            print(f"== {name}: {' '.join(command[1:] if name == 'nbval' else command)}",
                  flush=True)
            env = {**os.environ, METRICS_DIR_VARIABLE: str(METRICS / name)}
            output = log if name == "book" else None
            running[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                             stderr=subprocess.STDOUT if output else None)
    failed = [name for name, process in running.items() if process.wait() != 0]
    print(f"== book build output ({book_log}):", flush=True)
    print(book_log.read_text(encoding="utf-8", errors="replace"), flush=True)
    if failed:
        print(f"failed: {', '.join(failed)} (see its output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
