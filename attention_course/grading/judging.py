"""Judging a run: the call records its kernel published, judged by the official checks.

This runs in the grader's own process, which never runs student code: a record is plain
data (see :mod:`attention_course.checks.encoding`), and the check rebuilds its inputs and
computes what it compares with itself. A record that claims the check broke in the kernel
earns nothing and marks the submission for the instructor (it could be forged).
"""

from __future__ import annotations

from ..checks.framework import UNTRUSTED_ERROR, ExerciseResult
from .gradebook import CHECK_ERROR, Grade
from .kernel import RECORD_MIME
from .plan import GradedNotebook, LabPlan
from .runner import Run


def published_records(cell) -> list[dict]:
    """The call records a cell displayed, in order."""
    return [
        output["data"][RECORD_MIME]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "display_data" and RECORD_MIME in output.get("data", {})
    ]


def judge_run(grade: Grade, graded: GradedNotebook, run: Run, plan: LabPlan) -> None:
    """Fill in ``grade`` from the run: points and results per exercise, and problems."""
    records = {}
    for index, exercise in graded.check_cells.items():
        # The last record of the grader's own cell for this exercise: the student's
        # function, called there, could display something too, but only before it.
        rows = [
            row
            for row in published_records(graded.notebook.cells[index])
            if isinstance(row, dict)
            and row.get("exercise") == exercise
            and row.get("lab") == plan.number
        ]
        if rows:
            records[exercise] = rows[-1]
    grade.results, grade.earned = [], {}
    for exercise, check in plan.lab.checks.items():
        if exercise in records:
            result = check.judge(records[exercise], trusted=False)
        else:
            result = ExerciseResult(plan.number, exercise, check.points)
        grade.results.append(result)
        grade.earned[exercise] = result.earned
        if any(case.message.startswith(UNTRUSTED_ERROR) for case in result.cases):
            grade.add_problem(
                CHECK_ERROR,
                f"the check of {exercise} failed in the kernel "
                "(no points for those cases): look at the feedback",
            )
    for index in graded.origin:
        for output in graded.notebook.cells[index].get("outputs", []):
            if output.get("output_type") == "error":
                grade.cell_errors.append(
                    f"{describe_cell(graded, index)} raised "
                    f"{output.get('ename')}: {output.get('evalue', '')}"[:300]
                )
    for problem in run.problems:
        grade.add_problem(
            problem.status, f"{describe_cell(graded, problem.cell)}: {problem.detail}"
        )
    not_run = [exercise for exercise in plan.points if exercise not in records]
    stopped_in = {problem.cell for problem in run.problems}
    for index, exercise in graded.check_cells.items():
        cell = graded.notebook.cells[index]
        ran = cell.get("execution_count") is not None and index not in stopped_in
        if exercise in not_run and ran:
            grade.notes.append(
                f"the check of {exercise} ran but no result came back (its output was over "
                "the size limit, or something in the notebook hid it)"
            )
    if not_run:
        grade.notes.append("not checked: " + ", ".join(not_run))


def describe_cell(graded: GradedNotebook, index: int | None) -> str:
    if index is None:
        return "at the start"
    if index in graded.check_cells:
        return f"the check of {graded.check_cells[index]}"
    if index in graded.origin:
        first = next(
            (
                line.strip()
                for line in graded.notebook.cells[index].source.splitlines()
                if line.strip()
            ),
            "",
        )
        first = first if len(first) <= 40 else first[:37] + "..."
        return f"cell {graded.origin[index] + 1} ({first})"
    return "the grader's set-up cell"
