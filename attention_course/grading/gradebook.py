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
INCOMPLETE = "incomplete"  # grading was stopped (SIGINT, SIGTERM) before it finished
GRADER_ERROR = "grader error"
CHECK_ERROR = "check error"
KERNEL_DIED = "kernel died"
OUTPUT_LIMIT = "output limit"
TIME_LIMIT = "time limit"
MEMORY_LIMIT = "memory limit"
GRADED = "graded"
STATUSES = (
    UNREADABLE,
    WRONG_LAB,
    INCOMPLETE,
    GRADER_ERROR,
    CHECK_ERROR,
    KERNEL_DIED,
    OUTPUT_LIMIT,
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
    seconds, detail. Text a spreadsheet would evaluate as a formula is escaped."""
    columns = ["file", "lab", *exercises, "total", "maximum", "status", "seconds", "detail"]
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for grade in grades:
            writer.writerow(
                [
                    spreadsheet_safe(grade.file),
                    grade.lab,
                    *(f"{grade.earned.get(e, 0):g}" for e in exercises),
                    f"{grade.total:g}",
                    f"{grade.maximum:g}",
                    grade.status,
                    f"{grade.seconds:.1f}",
                    spreadsheet_safe(printable(grade.detail)),
                ]
            )


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(text: str) -> str:
    """``text``, with a leading ' when a spreadsheet would evaluate it ("=HYPERLINK(...)")."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def display_name(relative: str) -> str:
    """A submission's path as the gradebook shows it: bytes that are not UTF-8 and control
    characters (a terminal's escape sequences) written as escapes."""
    return printable(os.fsencode(relative).decode("utf-8", "backslashreplace"))


def printable(text: str, keep: str = "") -> str:
    """``text`` with every character a terminal would obey (escape sequences, carriage
    returns, ...) written as an escape, except those in ``keep``."""
    return "".join(
        ch if ch.isprintable() or ch in keep else ch.encode("unicode_escape").decode("ascii")
        for ch in text
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
            "detail": [
                printable(g.detail if len(g.detail) <= 60 else g.detail[:57] + "...")
                for g in grades
            ],
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
    return printable("\n".join(lines).rstrip() + "\n", keep="\n")


def feedback_names(grades: list[Grade]) -> list[str]:
    """One feedback file name per grade, all different: ``alice/lab03.ipynb`` ->
    ``alice__lab03.txt``; a name taken already (``alice__lab03.ipynb``, or the same but for
    upper and lower case) gets ``-2``, ``-3``, ... in the order of the grades."""
    taken: set[str] = set()
    names = []
    for grade in grades:
        stem = grade.file.removesuffix(".ipynb").replace("/", "__").replace(os.sep, "__")
        stem = stem.lstrip(".") or "notebook"  # no hidden files
        name, count = f"{stem}.txt", 1
        while name.casefold() in taken:
            count += 1
            name = f"{stem}-{count}.txt"
        taken.add(name.casefold())
        names.append(name)
    return names


def write_feedback(grades: list[Grade], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for grade, name in zip(grades, feedback_names(grades)):
        (folder / name).write_text(feedback(grade), encoding="utf-8", errors="backslashreplace")
