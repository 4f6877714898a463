"""The machinery behind every lab check cell.

A lab module (``lab01.py``, ...) defines one check function per exercise with the
:func:`lab_check` decorator. The check function receives the student's function and
returns a list of *cases*: small functions named after what they verify
(``def keeps_values_between_minus_one_and_one(): ...``). The decorator runs each case,
prints it as passed or failed with its message, records the result for the lab's
score, and raises :class:`LabCheckFailed` when anything failed, so "Run all" stops at
the first exercise that needs work.

Whatever the student's function does -- return the wrong type or shape, NaN, raise,
loop forever -- becomes a failed case with a message; the checker itself never
crashes on it.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not implemented"
ERRORED = "errored"  # a bug in the check itself, never the student's fault
NOT_RUN = "not run"

DEFAULT_TIME_LIMIT = 10.0  # seconds a single call of student code may take


class LabCheckFailed(Exception):
    """Raised by a check cell when at least one case did not pass."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback through the package's internals:
        # the cases printed above already say what is wrong.
        return [f"LabCheckFailed: {self}"]


class CaseFailed(Exception):
    """Raised inside a case with the message the student should read."""


class _StudentNotImplemented(Exception):
    """The student's function still raises NotImplementedError."""


@dataclass
class CaseResult:
    name: str
    status: str
    message: str = ""


@dataclass
class ExerciseResult:
    lab: str
    exercise: str
    points: float
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = {case.status for case in self.cases}
        if not self.cases:
            return NOT_RUN
        if ERRORED in statuses:
            return ERRORED
        if NOT_IMPLEMENTED in statuses:
            return NOT_IMPLEMENTED
        if FAILED in statuses:
            return FAILED
        return PASSED

    @property
    def earned(self) -> float:
        """Points for the share of cases passed (a stub earns nothing)."""
        if not self.cases or self.status == NOT_IMPLEMENTED:
            return 0.0
        passed = sum(case.status == PASSED for case in self.cases)
        return round(self.points * passed / len(self.cases), 2)

    def as_dict(self) -> dict:
        return {
            "lab": self.lab,
            "exercise": self.exercise,
            "points": self.points,
            "earned": self.earned,
            "status": self.status,
            "cases": [vars(case).copy() for case in self.cases],
        }


# lab -> exercise name -> points, in the order the checks are defined
_EXERCISES: dict[str, dict[str, float]] = {}
# (lab, exercise) -> latest result in this kernel
_RESULTS: dict[tuple[str, str], ExerciseResult] = {}


def lab_check(lab: str, points: float, time_limit: float = DEFAULT_TIME_LIMIT):
    """Turn ``def check_<exercise>(student_fn) -> list[case]`` into a check cell function."""

    def decorate(make_cases: Callable):
        exercise = make_cases.__name__.removeprefix("check_")
        _EXERCISES.setdefault(lab, {})[exercise] = points

        @functools.wraps(make_cases)
        def check(student_fn=None, *args, **kwargs):
            result = ExerciseResult(lab, exercise, points)
            _RESULTS[(lab, exercise)] = result
            if not callable(student_fn):
                result.cases.append(
                    CaseResult(
                        "your answer is a function",
                        FAILED,
                        f"expected a function, got {_describe(student_fn)}",
                    )
                )
            else:
                try:
                    cases = make_cases(student_fn, *args, **kwargs)
                except Exception as error:  # a bug in the check, reported, not raised
                    cases = []
                    result.cases.append(
                        CaseResult("setting up the check", ERRORED, _format_exception(error))
                    )
                for case in cases:
                    result.cases.append(_run_case(case, time_limit))
            _print_result(result)
            if result.status != PASSED:
                raise LabCheckFailed(_summary(result))

        check.lab = lab
        check.exercise = exercise
        check.points = points
        return check

    return decorate


def _run_case(case: Callable, time_limit: float) -> CaseResult:
    # A case is named by its docstring when it has one, else by its function name.
    name = (case.__doc__ or "").strip() or case.__name__.strip("_").replace("_", " ")
    try:
        with _time_limit(time_limit):
            case()
    except _StudentNotImplemented:
        return CaseResult(name, NOT_IMPLEMENTED, "not implemented yet")
    except CaseFailed as failure:
        return CaseResult(name, FAILED, str(failure))
    except _TimeUp:
        return CaseResult(
            name, FAILED, f"did not finish within {time_limit:g} s (an endless loop?)"
        )
    except Exception as error:
        return CaseResult(name, ERRORED, "the check itself failed: " + _format_exception(error))
    return CaseResult(name, PASSED)


def call(student_fn: Callable, *args, **kwargs):
    """Call the student's function; its exceptions become a failed case with a message."""
    try:
        return student_fn(*args, **kwargs)
    except NotImplementedError as error:
        raise _StudentNotImplemented() from error
    except CaseFailed:
        raise
    except Exception as error:
        raise CaseFailed(f"your function raised {_format_exception(error)}") from error


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException so student ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:  # e.g. Windows: run without a limit rather than not at all
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _format_exception(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:200] + "..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _describe(value) -> str:
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a {kind} of shape {tuple(shape)}"
    return "None" if value is None else f"a {kind}"


_MARK = {PASSED: "✔", FAILED: "✘", NOT_IMPLEMENTED: "…", ERRORED: "!"}


def _print_result(result: ExerciseResult) -> None:
    print(f"Checking {result.exercise} ({result.points:g} points)")
    if result.status == NOT_IMPLEMENTED:
        print(
            f"  {_MARK[NOT_IMPLEMENTED]} not implemented yet: replace the "
            "`raise NotImplementedError` line with your code, run that cell, then this one"
        )
    else:
        for case in result.cases:
            line = f"  {_MARK[case.status]} {case.name}"
            if case.message:
                line += f": {case.message}"
            print(line)
    print(f"  {result.earned:g} / {result.points:g} points")


def _summary(result: ExerciseResult) -> str:
    if result.status == NOT_IMPLEMENTED:
        return f"{result.exercise} is not implemented yet"
    bad = sum(case.status != PASSED for case in result.cases)
    return f"{bad} of {len(result.cases)} checks of {result.exercise} did not pass (see above)"


def results(lab: str) -> list[dict]:
    """Every exercise of a lab with its latest result in this kernel, in order."""
    rows = []
    for exercise, points in _EXERCISES.get(lab, {}).items():
        result = _RESULTS.get((lab, exercise), ExerciseResult(lab, exercise, points))
        rows.append(result.as_dict())
    return rows


def score(lab: str) -> tuple[float, float]:
    """Print the lab's score table and return (earned, maximum)."""
    rows = results(lab)
    if not rows:
        raise ValueError(f"no checks are defined for lab {lab!r}")
    width = max(len(row["exercise"]) for row in rows)
    print(f"Lab {lab} score")
    for row in rows:
        earned = f"{row['earned']:>5g} / {row['points']:<3g}"
        print(f"  {row['exercise']:<{width}}  {earned} {row['status']}")
    earned = round(sum(row["earned"] for row in rows), 2)
    maximum = sum(row["points"] for row in rows)
    print(f"  {'total':<{width}}  {earned:>5g} / {maximum:g}")
    return earned, maximum


def reset(lab: str | None = None) -> None:
    """Forget recorded results (all labs, or one)."""
    for key in [key for key in _RESULTS if lab is None or key[0] == lab]:
        del _RESULTS[key]
