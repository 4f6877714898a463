"""The command line, and grading a folder of submissions ``--jobs`` at a time."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ..checks.calling import format_exception
from ..checks.framework import ExerciseResult
from .gradebook import (
    GRADED,
    GRADER_ERROR,
    UNREADABLE,
    WRONG_LAB,
    Grade,
    summary,
    write_feedback,
    write_gradebook,
)
from .judging import judge_run
from .plan import GradingSetupError, LabPlan, declared_labs, graded_notebook, load_plan
from .runner import Limits, run_coroutine, run_notebook_async


async def grade_submission(path: Path, name: str, plan: LabPlan, limits: Limits) -> Grade:
    """Grade one submitted file, never raising for anything the submission does."""
    grade = Grade(
        name,
        plan.number,
        GRADED,
        maximum=plan.maximum,
        earned=dict.fromkeys(plan.points, 0.0),
        results=[ExerciseResult(plan.number, e, p) for e, p in plan.points.items()],
    )
    start = time.monotonic()
    try:
        # Whatever the submission leaves in its folder, removing it must not fail.
        with tempfile.TemporaryDirectory(
            prefix="attention-course-grade-", ignore_cleanup_errors=True
        ) as folder:
            copy_path = Path(folder) / "submission.ipynb"
            try:
                shutil.copyfile(path, copy_path)  # the original is only read, here
                submission = nbformat.read(copy_path, as_version=4)
                graded = graded_notebook(submission, plan)
                declared = declared_labs(submission)
            except Exception as error:  # unreadable, not JSON, not a notebook, ...
                grade.add_problem(UNREADABLE, f"not a readable notebook: {format_exception(error)}")
                return grade
            if declared and plan.number not in declared:
                grade.add_problem(
                    WRONG_LAB,
                    f"a notebook of lab {', '.join(sorted(declared))}"
                    f", not of lab {plan.number}: not run",
                )
                return grade
            run = await run_notebook_async(graded.notebook, Path(folder), limits)
        try:
            judge_run(grade, graded, run, plan)
        except Exception as error:  # a bug of ours must not stop the rest of the class
            grade.add_problem(
                GRADER_ERROR, f"could not judge the results: {format_exception(error)}"
            )
        return grade
    finally:
        grade.seconds = time.monotonic() - start


def find_submissions(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in Path(folder).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts and path.is_file()
    )


async def _grade_all(
    paths: list[Path], folder: Path, plan: LabPlan, limits: Limits, jobs: int, progress: bool
) -> list[Grade]:
    from tqdm import tqdm

    slots = asyncio.Semaphore(jobs)

    async def grade_one(path):
        async with slots:
            return await grade_submission(path, str(path.relative_to(folder)), plan, limits)

    tasks = [asyncio.ensure_future(grade_one(path)) for path in paths]
    # Without an explicit `disable`, tqdm's own TQDM_DISABLE variable still applies.
    with tqdm(
        total=len(tasks),
        desc=f"Grading lab {plan.number}",
        unit="notebook",
        **({} if progress else {"disable": True}),
    ) as bar:
        try:
            for finished in asyncio.as_completed(tasks):
                grade = await finished
                bar.set_postfix_str(
                    f"{grade.file}: {grade.total:g}/{grade.maximum:g}", refresh=False
                )
                bar.update()
        except asyncio.CancelledError:  # Ctrl-C: wait until every kernel is shut down
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    return [task.result() for task in tasks]


def grade_file(path: Path, plan: LabPlan, limits: Limits | None = None) -> Grade:
    """Grade one notebook (the tests grade every lab's solution with it)."""
    path = Path(path)
    return run_coroutine(grade_submission(path, path.name, plan, limits or Limits()))


def grade_folder(
    folder: Path,
    plan: LabPlan,
    limits: Limits | None = None,
    jobs: int | None = None,
    progress: bool = True,
) -> list[Grade]:
    """Grade every notebook under ``folder`` (sorted by path), ``jobs`` at a time."""
    folder = Path(folder)
    limits = limits or Limits()
    jobs = jobs or available_cores()
    paths = find_submissions(folder)
    if limits.threads is None:
        limits = dataclasses.replace(limits, threads=max(1, available_cores() // jobs))
    return run_coroutine(_grade_all(paths, folder, plan, limits, jobs, progress))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attention-course-grade",
        description="Grade a folder of submitted lab notebooks with the official checks "
        "and write a CSV gradebook.",
    )
    parser.add_argument(
        "submissions", type=Path, help="folder of submitted .ipynb files (searched recursively)"
    )
    parser.add_argument("--lab", required=True, help="the lab's number, e.g. 03")
    parser.add_argument("--out", type=Path, help="the CSV to write (default: grades-labNN.csv)")
    parser.add_argument(
        "--feedback",
        type=Path,
        metavar="FOLDER",
        help="also write one feedback .txt per submission into FOLDER",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="notebooks run at once (default: the number of cores)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=Limits.cell_seconds,
        metavar="SECONDS",
        help="a cell's time limit (default: %(default)g)",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=float,
        default=Limits.notebook_seconds,
        metavar="SECONDS",
        help="a notebook's time limit (default: %(default)g)",
    )
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=Limits.memory_bytes / 2**30,
        metavar="GIB",
        help="a kernel's address-space limit in GiB, 0 for none (default: %(default)g)",
    )
    parser.add_argument(
        "--solutions",
        type=Path,
        default=None,
        help="the course's solutions/ folder (default: the one beside the "
        "package, else ./solutions)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    try:
        plan = load_plan(args.lab, args.solutions)
    except GradingSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not find_submissions(args.submissions):
        print(f"error: no .ipynb files under {args.submissions}", file=sys.stderr)
        return 2
    limits = Limits(
        args.cell_timeout, args.notebook_timeout, int(args.memory_limit * 2**30) or None
    )
    start = time.monotonic()
    try:
        grades = grade_folder(
            args.submissions, plan, limits, jobs=args.jobs, progress=not args.no_progress
        )
    except KeyboardInterrupt:
        print("\ninterrupted: no gradebook written", file=sys.stderr)
        return 130
    out = args.out or Path(f"grades-lab{plan.number}.csv")
    write_gradebook(grades, list(plan.points), out)
    if args.feedback:
        write_feedback(grades, args.feedback)
    print(summary(grades, time.monotonic() - start))
    print(f"gradebook: {out}" + (f"; feedback: {args.feedback}/" if args.feedback else ""))
    return 0
