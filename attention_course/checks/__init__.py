"""Lab checks: one module per lab (``lab01``, ...), built on :mod:`.core`.

In a lab notebook::

    from attention_course.checks import lab01 as checks
    checks.check_rnn_step(rnn_step)   # after each exercise
    checks.score()                    # last cell
"""

from .core import (
    ERRORED,
    FAILED,
    NOT_IMPLEMENTED,
    NOT_RUN,
    PASSED,
    CaseFailed,
    LabCheckFailed,
    call,
    lab_check,
    reset,
    results,
    score,
)
from .expect import expect_array, expect_close, expect_tensor, expect_true

__all__ = [
    "ERRORED",
    "FAILED",
    "NOT_IMPLEMENTED",
    "NOT_RUN",
    "PASSED",
    "CaseFailed",
    "LabCheckFailed",
    "call",
    "expect_array",
    "expect_close",
    "expect_tensor",
    "expect_true",
    "lab_check",
    "reset",
    "results",
    "score",
]
