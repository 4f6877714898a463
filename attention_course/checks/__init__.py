"""Lab checks: one module per lab (``lab01``, ...), each defining one :class:`Lab`.

In a lab notebook::

    from attention_course.checks import lab01 as checks
    checks.check_rnn_step(rnn_step)   # after each exercise
    checks.score()                    # last cell

How a check is written (cases as data, called in one place and judged in another) is in
:mod:`.framework`; what judges use is in :mod:`.expect`.
"""

from .calling import CaseFailed
from .expect import (
    Mistake,
    expect_answer,
    expect_array,
    expect_choice,
    expect_close,
    expect_number,
    expect_parts,
    expect_tensor,
    expect_true,
    named_mistake,
    reject_mistakes,
    seeded_generator,
    seeded_randn,
)
from .framework import (
    ERRORED,
    FAILED,
    NOT_IMPLEMENTED,
    NOT_RUN,
    PASSED,
    Case,
    Check,
    ExerciseResult,
    Lab,
    LabCheckFailed,
    calls,
)

__all__ = [
    "ERRORED",
    "FAILED",
    "NOT_IMPLEMENTED",
    "NOT_RUN",
    "PASSED",
    "Case",
    "CaseFailed",
    "Check",
    "ExerciseResult",
    "Lab",
    "LabCheckFailed",
    "Mistake",
    "calls",
    "expect_answer",
    "expect_array",
    "expect_choice",
    "expect_close",
    "expect_number",
    "expect_parts",
    "expect_tensor",
    "expect_true",
    "named_mistake",
    "reject_mistakes",
    "seeded_generator",
    "seeded_randn",
]
