"""Execute every chapter and solution twice, side by side: under nbval and in the book build.

``make test`` runs this between the fast tests and the tests of the built book. The two
runs record their metrics in separate folders (``_build/metrics/nbval`` and ``.../book``),
which ``tests/book/test_build_results.py`` then compares: the determinism bar. Running
them at once halves the wall time on two cores, because every chapter runs torch on one
thread. Each run's lines are printed as they come, prefixed with the run's name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from attention_course.reporting import METRICS_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
METRICS = ROOT / "_build" / "metrics"
TEST_BOOK = ROOT / "_build" / "test-book"
BIN = Path(sys.executable).parent

RUNS = {
    "nbval": [sys.executable, "-m", "pytest", "-p", "tests.notebook_timing", "--nbval-lax",
              "--nbval-cell-timeout=120", "chapters", "solutions"],
    "book": [str(BIN / "jupyter-book"), "build", ".", "--path-output", str(TEST_BOOK),
             "--warningiserror", "--nitpick", "--keep-going"],
}


def _relay(name: str, process: subprocess.Popen, lock: threading.Lock) -> None:
    for line in process.stdout:
        with lock:
            sys.stdout.write(f"[{name}] {line}")
            sys.stdout.flush()


def main() -> int:
    subprocess.run(["rm", "-rf", str(METRICS), str(TEST_BOOK)], check=True)
    lock = threading.Lock()
    processes, relays = {}, []
    for name, command in RUNS.items():
        env = {**os.environ, METRICS_DIR_VARIABLE: str(METRICS / name)}
        processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, text=True,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        relay = threading.Thread(target=_relay, args=(name, processes[name], lock))
        relay.start()
        relays.append(relay)
    for relay in relays:
        relay.join()
    failed = [name for name, process in processes.items() if process.wait() != 0]
    if failed:
        print(f"failed: {', '.join(failed)} (see the lines prefixed with its name above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
