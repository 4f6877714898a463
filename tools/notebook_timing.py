"""pytest plugin for the nbval run: time each notebook and enforce the hard limit.

Loaded with ``-p tools.notebook_timing``. Prints one line per notebook, writes the
times to ``_build/metrics/nbval-seconds.json`` and fails the session when a notebook
took longer than the limit (the bar and the limit are in :mod:`tools.book_paths`).
"""

import json
from collections import defaultdict

from tools.book_paths import NBVAL_SECONDS, NOTEBOOK_BAR_SECONDS, NOTEBOOK_LIMIT_SECONDS

_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _seconds:
        return
    terminalreporter.section("notebook execution times")
    for path, seconds in sorted(_seconds.items()):
        flag = ""
        if seconds > NOTEBOOK_LIMIT_SECONDS:
            flag = f"  over the {NOTEBOOK_LIMIT_SECONDS} s limit"
        elif seconds > NOTEBOOK_BAR_SECONDS:
            flag = f"  over the {NOTEBOOK_BAR_SECONDS} s bar"
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    terminalreporter.write_line(f"{sum(_seconds.values()):7.1f} s  in all")
    NBVAL_SECONDS.parent.mkdir(parents=True, exist_ok=True)
    NBVAL_SECONDS.write_text(json.dumps(dict(sorted(_seconds.items())), indent=1))


def pytest_sessionfinish(session, exitstatus):
    slow = [path for path, seconds in _seconds.items() if seconds > NOTEBOOK_LIMIT_SECONDS]
    if slow and session.exitstatus == 0:
        session.exitstatus = 1
