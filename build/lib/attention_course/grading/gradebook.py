"""A submission's grade, and what the grader writes: the CSV, the summary, the feedback."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.framework import ExerciseResult, result_lines

# Statuses of a submission, most serious first; a submission gets the first that applies,
# and its detail lists every problem found.
UNREADABLE = "unreadable"
WRONG_LAB = "wrong lab"
GRADER_ERROR = "grader error"
CHECK_ERROR = "check error"
KERNEL_DIED = "kernel died"
TIME_LIMIT = "time limit"
MEMORY_LIMIT = "memory limit"
GRADED = "graded"
STATUSES = (
    UNREADABLE,
    WRONG_LAB,
    GRADER_ERROR,
    CHECK_ERROR,
    KERNEL_DIED,
    TIME_LIMIT,
    MEMORY_LIMIT,
    GRADED,
)


@dataclass
class Grade:
    file: str
    lab: str
    status: str  # one of STATUSES
    earned: dict[str, float] = field(default_factory=dict)  # exercise -> points
    results: list[ExerciseResult] = field(default_factory=list)  # the judged checks
    maximum: float = 0.0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what went wrong, for the instructor
    cell_errors: list[str] = field(default_factory=list)  # what the submission's cells raised

    @property
    def detail(self) -> str:
        return "; ".join(self.notes)

    @property
    def total(self) -> float:
        return round(sum(self.earned.values()), 2)

    def add_problem(self, status: str, note: str) -> None:
        """Note a problem; the status becomes the most serious one noted."""
        self.notes.append(note)
        if STATUSES.index(status) < STATUSES.index(self.status):
            self.status = status


def write_gradebook(grades: list[Grade], exercises: list[str], path: Path) -> None:
    """One row per submission: file, lab, each exercise's points, total, maximum, status,
    seconds, detail."""
    columns = ["file", "lab", *exercises, "total", "maximum", "status", "seconds", "detail"]
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for grade in grades:
            writer.writerow(
                [
                    grade.file,
                    grade.lab,
                    *(f"{grade.earned.get(e, 0):g}" for e in exercises),
                    f"{grade.total:g}",
                    f"{grade.maximum:g}",
                    grade.status,
                    f"{grade.seconds:.1f}",
                    grade.detail,
                ]
            )


def summary(grades: list[Grade], seconds: float) -> str:
    """The gradebook as a table to read in the terminal, and a count of the statuses."""
    import pandas as pd  # only the command line needs it

    table = pd.DataFrame(
        {
            "file": [g.file for g in grades],
            "score": [f"{g.total:g} / {g.maximum:g}" for g in grades],
            "status": [g.status for g in grades],
            "seconds": [f"{g.seconds:.1f}" for g in grades],
            "detail": [g.detail if len(g.detail) <= 60 else g.detail[:57] + "..." for g in grades],
        }
    )
    left = {
        column: f"{{:<{max(table[column].str.len().max(), len(column))}}}".format
        for column in ("file", "status", "detail")
    }
    counts = pd.Series([g.status for g in grades]).value_counts()
    tally = ", ".join(f"{count} {status}" for status, count in counts.items())
    return (
        table.to_string(index=False, justify="left", formatters=left)
        + "\n\n"
        + f"{len(grades)} submissions graded in {seconds:.0f} s: {tally}"
    )


def feedback(grade: Grade) -> str:
    """What the student would have seen under each check, plus what the grader noticed."""
    lines = [
        f"Lab {grade.lab}: {grade.file}",
        f"Score: {grade.total:g} / {grade.maximum:g} ({grade.status})",
    ]
    lines += [f"  - {note}" for note in grade.notes]
    lines.append("")
    if grade.status in (UNREADABLE, WRONG_LAB):
        return "\n".join(lines)
    for result in grade.results:
        if result.cases:
            lines += result_lines(result)  # the lines the student saw under the check
        else:
            lines += [
                f"Checking {result.exercise} ({result.points:g} points)",
                "  not checked: the notebook stopped before this check",
                f"  0 / {result.points:g} points",
            ]
        lines.append("")
    if grade.cell_errors:
        lines.append("Cells that raised an error:")
        lines += [f"  {error}" for error in grade.cell_errors]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(grades: list[Grade], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for grade in grades:
        name = grade.file.removesuffix(".ipynb").replace(os.sep, "__") + ".txt"
        (folder / name).write_text(feedback(grade))
