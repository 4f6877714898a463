"""Catalogues of plausible wrong answers, one module per lab (``lab01.py``, ...).

Each wrong answer is a small edit of the solution's source: ``old`` must occur exactly
once in the solution notebook, and is replaced by ``new``. ``tests/checks/test_labs.py`` runs
the named check on the edited solution and requires it to fail.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class WrongAnswer:
    check: str  # the check function that must catch it, e.g. "check_gru_step"
    description: str
    old: str
    new: str

    def __str__(self):
        return self.description
