"""What the grader runs inside a submission's kernel: call the student's functions, publish.

For each exercise the grader inserts one cell that calls :func:`publish_calls`. It calls the
student's functions on the official check's inputs (under the check's guards) and displays
the call record -- what they returned, as plain data -- under a MIME type of its own. The
verdicts are not made here: the grader judges the records in its own process. So nothing
a submitted cell does in this kernel can change a verdict, except what its functions
return.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# A call record travels from the kernel to the grader as display data of this type.
RECORD_MIME = "application/vnd.attention-course.call-record+json"


def publish_calls(lab: str, exercise: str, answers: Callable[[], tuple]) -> None:
    """Call ``answers()`` (the student's functions, looked up by name) through the official
    check of ``exercise`` and display the call record."""
    from IPython.display import display

    check = importlib.import_module(f"attention_course.checks.lab{lab}").lab.checks[exercise]
    try:
        found = answers()
    except NameError as error:
        record = _setup_failed(
            lab,
            exercise,
            "your function is defined",
            f"{error}: was its cell deleted or renamed, or did it raise?",
        )
    except Exception as error:  # whatever the names hold is the student's doing
        record = _setup_failed(lab, exercise, "your function is defined", repr(error)[:200])
    else:
        try:
            record = check.call(*found)
        except KeyboardInterrupt as stop:  # the grader's time limit: publish what ran
            record = getattr(stop, "record", None) or _setup_failed(
                lab, exercise, "finishes within the time limit", "stopped by the grader"
            )
    display({RECORD_MIME: record}, raw=True)


def _setup_failed(lab: str, exercise: str, name: str, message: str) -> dict:
    return {
        "lab": lab,
        "exercise": exercise,
        "setup": {"status": "failed", "name": name, "message": message},
    }
