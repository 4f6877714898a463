"""Lab checks as data: a lab is a :class:`Lab`, an exercise's check a list of :class:`Case`.

A case says three things:

* its **name**, the line the student reads ("weights sum to 1 over the keys");
* its **call**: a recipe that gets the student's function(s) and calls them on inputs the
  check built deterministically (``calls(q, k, v)`` for the plain case);
* its **judge**: a function of what the call returned that raises :class:`CaseFailed`
  with a message when it is wrong, and computes whatever it compares with *itself*.

Running a check is two steps that need not happen in one process:

1. :meth:`Check.call` runs every distinct recipe once (cases may share one) under the
   guards of :mod:`.calling` and returns a *call record*: plain data, the outcomes;
2. :meth:`Check.judge` rebuilds the cases (same inputs), and judges each outcome.

In a student's notebook, calling the check does both in place, prints one line per case
and raises :class:`LabCheckFailed` when something needs work. The class grader does step 1
in the student's kernel and step 2 in a process that never runs student code, so the
expected values never exist where the student's code runs: write a case's expectations
inside its judge, never in the check's body.

A check's own bug (a judge that raises something other than :class:`CaseFailed`) is
reported as such and never costs the student points.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import calling
from .calling import CaseFailed, Guards, format_exception
from .encoding import decode, describe

# Statuses of a case and of an exercise
PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not implemented"
ERRORED = "errored"  # a bug in the check itself, never the student's fault
NOT_RUN = "not run"

RECORD_FORMAT = 1
DEFAULT_TIME_LIMIT = 10.0  # seconds a single call of student code may take
UNCHANGED_INPUTS = "leaves the caller's inputs unchanged"
# How a grader's judge marks a check that broke where the student's code ran.
UNTRUSTED_ERROR = "the check failed where your code ran (not counted; your instructor will look)"


class LabCheckFailed(Exception):
    """Raised by a check cell when at least one case did not pass."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback through the package's internals:
        # the cases printed above already say what is wrong.
        return [f"LabCheckFailed: {self}"]


@dataclass(frozen=True)
class Case:
    """One thing a check verifies: how the student's code is called, and how it is judged."""

    name: str
    call: Callable[..., Any]  # (*student functions) -> what they returned; runs with them
    # (decoded result) -> None, or a short note the student reads beside the ✔ (what an
    # experiment measured: "held-out accuracy 0.97"); raises CaseFailed when wrong.
    judge: Callable[[Any], str | None]


def calls(*args, **kwargs) -> Callable:
    """The recipe that calls the student's (only) function with these arguments."""
    return lambda function: function(*args, **kwargs)


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
        for status in (NOT_IMPLEMENTED, FAILED, ERRORED, PASSED):
            if status in statuses:
                return status
        return NOT_RUN

    @property
    def earned(self) -> float:
        """Points for the share of cases passed; a stub earns nothing, and a case the check
        could not judge (its own bug) counts as passed."""
        if not self.cases or self.status == NOT_IMPLEMENTED:
            return 0.0
        good = sum(case.status in (PASSED, ERRORED) for case in self.cases)
        return round(self.points * good / len(self.cases), 2)

    def as_dict(self) -> dict:
        return {
            "lab": self.lab,
            "exercise": self.exercise,
            "points": self.points,
            "earned": self.earned,
            "status": self.status,
            "cases": [vars(case).copy() for case in self.cases],
        }

    @classmethod
    def from_dict(cls, row: dict) -> ExerciseResult:
        return cls(
            row["lab"],
            row["exercise"],
            row["points"],
            [CaseResult(**case) for case in row["cases"]],
        )


class Check:
    """The check of one exercise: call it with the student's function(s) in a notebook."""

    def __init__(
        self,
        lab: Lab,
        exercise: str,
        points: float,
        make_cases: Callable[[], list[Case]],
        guards: Guards,
    ):
        self.lab = lab
        self.exercise = exercise
        self.points = points
        self.make_cases = make_cases
        self.guards = guards
        self.__doc__ = make_cases.__doc__

    def __repr__(self) -> str:
        return f"<check of lab {self.lab.number}, {self.exercise} ({self.points:g} points)>"

    # -- step 1: where the student's code runs

    def call(self, *answers) -> dict:
        """Call the student's answers on every case's inputs: the call record (plain data).

        A KeyboardInterrupt stops the calls; it is raised again after the record of what
        ran is attached to it (``error.record``).
        """
        record = {"format": RECORD_FORMAT, "lab": self.lab.number, "exercise": self.exercise}
        if not answers or not all(callable(a) for a in answers):
            what = ", ".join(describe(a) for a in answers) or "nothing"
            record["setup"] = {"status": FAILED, "message": f"expected a function, got {what}"}
            return record
        try:
            recipes = _distinct_recipes(self.make_cases())
        except Exception as error:
            record["setup"] = {"status": ERRORED, "message": format_exception(error)}
            return record
        try:
            outcomes, log = calling.run_recipes(recipes, answers, self.guards)
        except calling._Interrupted as stop:
            record.update(calls=stop.outcomes, changed_inputs=stop.log.changed_inputs)
            interrupt = KeyboardInterrupt()
            interrupt.record = record
            raise interrupt from None
        record.update(calls=outcomes, changed_inputs=log.changed_inputs)
        return record

    # -- step 2: anywhere, from the record alone

    def judge(self, record: dict, trusted: bool = True) -> ExerciseResult:
        """Judge a call record, which may come from another process.

        ``trusted=False`` (the grader): the record comes from where the student's code ran
        and could be forged, so where it claims the check broke there, the case earns
        nothing (it is marked for the instructor) instead of counting as passed.
        """
        result = ExerciseResult(self.lab.number, self.exercise, self.points)
        record = record if isinstance(record, dict) else {}
        setup = record.get("setup")
        if isinstance(setup, dict):
            if setup.get("status") == FAILED:
                name = str(setup.get("name", "your answer is a function"))[:100]
                case = CaseResult(name, FAILED, str(setup.get("message"))[:300])
            else:
                case = _broken("setting up the check", str(setup.get("message")), trusted)
            result.cases.append(case)
            return result
        try:
            cases = self.make_cases()
        except Exception as error:  # a bug in the check, reported, not raised
            result.cases.append(_broken("setting up the check", format_exception(error), True))
            return result
        outcomes = record.get("calls")
        outcomes = outcomes if isinstance(outcomes, list) else []
        index: dict[int, int] = {}
        for case in cases:
            position = index.setdefault(id(case.call), len(index))
            outcome = outcomes[position] if position < len(outcomes) else None
            result.cases.append(_judge_case(case, outcome, trusted))
        changed = record.get("changed_inputs") or []
        if changed and not self.guards.allow_mutation:  # one more case, failed
            changed = changed if isinstance(changed, list) else ["its inputs"]
            result.cases.append(
                CaseResult(
                    UNCHANGED_INPUTS,
                    FAILED,
                    f"your function changed "
                    f"{', '.join(str(c) for c in changed[:3])} in place: work on new tensors "
                    "(x = x * 2, not x *= 2; masked_fill, not masked_fill_)",
                )
            )
        return result

    # -- both, in a notebook

    def __call__(self, *answers) -> None:
        try:
            record = self.call(*answers)
        except KeyboardInterrupt as stop:  # Ctrl-C: show what ran, then stop the cell
            self._finish(getattr(stop, "record", {}), raise_failure=False)
            raise
        self._finish(record, raise_failure=True)

    def _finish(self, record: dict, raise_failure: bool) -> None:
        # Judged exactly as a judge in another process would judge it: from plain data.
        result = self.judge(json.loads(json.dumps(record)))
        self.lab.record(result)
        print_result(result)
        if raise_failure and result.status in (FAILED, NOT_IMPLEMENTED):
            raise LabCheckFailed(_summary(result))


def _distinct_recipes(cases: Sequence[Case]) -> list[Callable]:
    recipes: dict[int, Callable] = {}
    for case in cases:
        recipes.setdefault(id(case.call), case.call)
    return list(recipes.values())


def _judge_case(case: Case, outcome, trusted: bool) -> CaseResult:
    if not isinstance(outcome, dict) or "outcome" not in outcome:
        return CaseResult(case.name, FAILED, "not run")
    kind, message = outcome["outcome"], str(outcome.get("message", ""))
    if kind == calling.RETURNED:
        value = decode(outcome.get("value"))
        try:
            note = case.judge(value)
        except CaseFailed as failure:
            return CaseResult(case.name, FAILED, str(failure))
        except Exception as error:  # a bug of the judge, or a value crafted to crash it
            return _broken(case.name, format_exception(error), trusted)
        return CaseResult(case.name, PASSED, note[:300] if isinstance(note, str) else "")
    if kind == calling.STUB:
        return CaseResult(case.name, NOT_IMPLEMENTED, "not implemented yet")
    if kind == calling.BROKEN:
        return _broken(case.name, message, trusted)
    if kind in (
        calling.RAISED,
        calling.TIME_LIMIT,
        calling.SHORTCUT,
        calling.REJECTED,
        calling.INTERRUPTED,
    ):
        return CaseResult(case.name, FAILED, message)
    return CaseResult(case.name, FAILED, "not run")


def _broken(name: str, error: str, trusted: bool) -> CaseResult:
    """A case the check could not judge: its own bug, which never costs points in the
    student's notebook. For the grader (untrusted) it earns nothing and is flagged for the
    instructor: the record could be forged to claim, or to cause, a crash."""
    if trusted:
        return CaseResult(name, ERRORED, "the check itself failed: " + error)
    return CaseResult(name, FAILED, f"{UNTRUSTED_ERROR}: {error}")


class Lab:
    """One lab's checks: ``lab.check(points=...)`` declares one, ``lab.score()`` prints
    the score table. Results are kept per lab, in this process."""

    def __init__(self, number: str, title: str):
        self.number = number
        self.title = title
        self.checks: dict[str, Check] = {}
        self._results: dict[str, ExerciseResult] = {}
        # What exercises returned in their check's last run, kept by a recipe with
        # lab.keep for the notebook cells that draw or tabulate it (in this kernel only).
        self._returned: dict[str, object] = {}

    def keep(self, exercise: str, value: object) -> None:
        """Keep what ``exercise`` returned, for :meth:`returned`."""
        self._returned[exercise] = value

    def returned(self, exercise: str):
        """What ``exercise`` returned in the last run of its check in this kernel, or None."""
        return self._returned.get(exercise)

    def check(
        self,
        points: float,
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        forbid: Sequence[str] = (),
        allow_mutation: bool = False,
    ):
        """Decorate ``def check_<exercise>() -> list[Case]``; the result is the check cell's
        function. ``forbid`` names library functions that would do the exercise for the
        student (``"torch.nn.functional.scaled_dot_product_attention"``); they fail while
        the student's code runs."""
        guards = Guards(time_limit, tuple(forbid), allow_mutation)

        def decorate(make_cases: Callable[[], list[Case]]) -> Check:
            exercise = make_cases.__name__.removeprefix("check_")
            if exercise in self.checks:
                raise ValueError(f"lab {self.number} declares {exercise} twice")
            check = Check(self, exercise, points, make_cases, guards)
            self.checks[exercise] = check
            return check

        return decorate

    @property
    def points(self) -> dict[str, float]:
        """Each exercise's points, in the order the checks are declared."""
        return {exercise: check.points for exercise, check in self.checks.items()}

    @property
    def maximum(self) -> float:
        return sum(self.points.values())

    def record(self, result: ExerciseResult) -> None:
        self._results[result.exercise] = result

    def results(self) -> list[dict]:
        """Every exercise with its latest result in this process, in order."""
        return [
            self._results.get(exercise, ExerciseResult(self.number, exercise, points)).as_dict()
            for exercise, points in self.points.items()
        ]

    def score(self) -> tuple[float, float]:
        """Print the lab's score table and return (earned, maximum)."""
        rows = self.results()
        width = max(len(row["exercise"]) for row in rows)
        print(f"Lab {self.number} score")
        for row in rows:
            earned = f"{row['earned']:>5g} / {row['points']:<3g}"
            print(f"  {row['exercise']:<{width}}  {earned} {row['status']}")
        earned = round(sum(row["earned"] for row in rows), 2)
        print(f"  {'total':<{width}}  {earned:>5g} / {self.maximum:g}")
        return earned, self.maximum

    def reset(self) -> None:
        """Forget the recorded results."""
        self._results.clear()


_MARK = {PASSED: "✔", FAILED: "✘", NOT_IMPLEMENTED: "…", ERRORED: "!"}


def result_lines(result: ExerciseResult) -> list[str]:
    """The lines a student reads under a check cell."""
    lines = [f"Checking {result.exercise} ({_points(result.points)})"]
    if result.status == NOT_IMPLEMENTED:
        lines.append(
            f"  {_MARK[NOT_IMPLEMENTED]} not implemented yet: replace the "
            "`raise NotImplementedError` line with your code, run that cell, then this one"
        )
    else:
        for case in result.cases:
            line = f"  {_MARK.get(case.status, '?')} {case.name}"
            if case.message:
                line += f": {case.message}"
            if case.status == ERRORED:
                line += " (a bug in the check, not in your answer: this case counts as passed)"
            lines.append(line)
    lines.append(f"  {result.earned:g} / {_points(result.points)}")
    return lines


def print_result(result: ExerciseResult) -> None:
    print("\n".join(result_lines(result)))


def _summary(result: ExerciseResult) -> str:
    if result.status == NOT_IMPLEMENTED:
        return f"{result.exercise} is not implemented yet"
    bad = sum(case.status == FAILED for case in result.cases)
    return f"{bad} of {len(result.cases)} checks of {result.exercise} did not pass (see above)"


def _points(points: float) -> str:
    return f"{points:g} point" if points == 1 else f"{points:g} points"
