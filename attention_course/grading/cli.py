"""The command line, and grading a folder of submissions ``--jobs`` at a time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from ..checks.calling import format_exception
from ..checks.framework import ExerciseResult
from .gradebook import (
    GRADED,
    GRADER_ERROR,
    INCOMPLETE,
    UNREADABLE,
    WRONG_LAB,
    Grade,
    display_name,
    summary,
    write_feedback,
    write_gradebook,
)
from .judging import judge_run
from .plan import GradingSetupError, LabPlan, declared_labs, graded_notebook, load_plan
from .runner import (
    STARTUP_SECONDS,
    Limits,
    Stopped,
    raise_if_stopping,
    run_coroutine,
    run_notebook_async,
)
from .sandbox import BWRAP_MISSING, Sandbox, SandboxUnavailable, sandbox_limits

MAX_NOTEBOOK_BYTES = 64 * 2**20
# Judges run one at a time, beside the event loop (which keeps reading the kernels): a
# judge may take seconds, and judges seed PyTorch's global generator.
_JUDGES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attention-course-judge")


class Unreadable(Exception):
    """Why a submitted file is not read as a notebook (never a word of its content)."""


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The notebook in ``path``: a regular file, not followed if it is a symbolic link,
    at most 64 MiB, UTF-8 JSON. Raises :class:`Unreadable`."""
    try:
        before = os.lstat(path)
    except OSError as error:
        raise Unreadable(f"cannot be read ({os.strerror(error.errno or 0)})") from None
    kind = _file_kind(before.st_mode)
    if kind:
        raise Unreadable(
            f"{kind}: not followed" if kind.endswith("link") else f"{kind}, not a file"
        )
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise Unreadable(f"cannot be read ({os.strerror(error.errno or 0)})") from None
    with os.fdopen(descriptor, "rb") as file:
        opened = os.fstat(file.fileno())
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino) or _file_kind(
            opened.st_mode
        ):
            raise Unreadable("changed while it was being read")
        data = file.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("not text (UTF-8)") from None
    # nbformat logs what makes a notebook invalid, with its content: not here.
    log = logging.getLogger("traitlets")
    disabled, log.disabled = log.disabled, True
    try:
        notebook = nbformat.reads(text, as_version=4, capture_validation_error={})
    except nbformat.reader.NotJSONError:
        raise Unreadable("not JSON (NotJSONError: a truncated or corrupted download?)") from None
    except Exception as error:
        raise Unreadable(f"not a notebook ({type(error).__name__})") from None
    finally:
        log.disabled = disabled
    if not isinstance(notebook.get("cells"), list):
        raise Unreadable("not a notebook (no list of cells)")
    return notebook


def _file_kind(mode: int) -> str:
    """ "" for a regular file, else what it is."""
    if stat.S_ISREG(mode):
        return ""
    for test, kind in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def _new_grade(name: str, plan: LabPlan) -> Grade:
    return Grade(
        name,
        plan.number,
        GRADED,
        maximum=plan.maximum,
        earned=dict.fromkeys(plan.points, 0.0),
        results=[ExerciseResult(plan.number, e, p) for e, p in plan.points.items()],
    )


async def grade_submission(
    path: Path, name: str, plan: LabPlan, limits: Limits, sandbox: Sandbox | None = None
) -> Grade:
    """Grade one submitted file, never raising for anything the submission does. Its
    kernel runs in a box of ``sandbox``, or, with None, as a plain process."""
    grade = _new_grade(name, plan)
    start = time.monotonic()
    try:
        try:
            submission = read_submission(path)  # the original is only read, here
            graded = graded_notebook(submission, plan)
            declared = declared_labs(submission)
        except Unreadable as error:
            grade.add_problem(UNREADABLE, f"not a readable notebook: {error}")
            return grade
        except Exception as error:  # cells of unexpected types, ...
            grade.add_problem(UNREADABLE, f"not a readable notebook ({type(error).__name__})")
            return grade
        if declared and plan.number not in declared:
            grade.add_problem(
                WRONG_LAB,
                f"a notebook of lab {', '.join(sorted(declared))}"
                f", not of lab {plan.number}: not run",
            )
            return grade
        if sandbox is not None:
            with sandbox.box() as box:
                run = await run_notebook_async(graded.notebook, box.folder, limits, box)
        else:
            # Whatever the submission leaves in its folder, removing it must not fail.
            with tempfile.TemporaryDirectory(
                prefix="attention-course-grade-", ignore_cleanup_errors=True
            ) as folder:
                run = await run_notebook_async(graded.notebook, Path(folder), limits)
        raise_if_stopping()  # a notebook stopped half-way is not graded
        try:
            await asyncio.get_running_loop().run_in_executor(
                _JUDGES, judge_run, grade, graded, run, plan
            )
        except Exception as error:  # a bug of ours must not stop the rest of the class
            grade.add_problem(
                GRADER_ERROR, f"could not judge the results: {format_exception(error)}"
            )
        return grade
    finally:
        grade.seconds = time.monotonic() - start


def find_submissions(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` under ``folder`` that is not a folder, sorted; folders behind
    symbolic links are not entered, and a link named ``*.ipynb`` is listed (it will be
    unreadable: links are not followed)."""
    found = []
    for root, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if f != ".ipynb_checkpoints")
        entries = files + [f for f in folders if os.path.islink(os.path.join(root, f))]
        found += [Path(root) / name for name in entries if name.endswith(".ipynb")]
    return sorted(found)


def _sandbox(limits: Limits, hidden) -> Sandbox:
    return Sandbox(
        sandbox_limits(
            limits.memory_bytes, limits.threads, limits.notebook_seconds, STARTUP_SECONDS
        ),
        hidden,
    )


async def _grade_all(
    paths: list[Path],
    folder: Path,
    plan: LabPlan,
    limits: Limits,
    jobs: int,
    progress: bool,
    sandbox: Sandbox | None,
) -> list[Grade]:
    from tqdm import tqdm

    slots = asyncio.Semaphore(jobs)
    names = [display_name(str(path.relative_to(folder))) for path in paths]

    async def grade_one(path, name):
        async with slots:
            try:
                return await grade_submission(path, name, plan, limits, sandbox)
            except Exception as error:  # a bug of ours: this row says so, the others go on
                grade = _new_grade(name, plan)
                grade.add_problem(GRADER_ERROR, f"could not grade it: {format_exception(error)}")
                return grade

    tasks = [asyncio.ensure_future(grade_one(path, name)) for path, name in zip(paths, names)]
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
        except asyncio.CancelledError:  # SIGINT, SIGTERM: wait until every kernel is shut down
            await asyncio.gather(*tasks, return_exceptions=True)
    grades = []
    for task, name in zip(tasks, names):
        if task.done() and not task.cancelled() and task.exception() is None:
            grades.append(task.result())
        else:
            grade = _new_grade(name, plan)
            grade.add_problem(
                INCOMPLETE, "grading was stopped before this notebook was graded: grade it again"
            )
            grades.append(grade)
    return grades


def grade_file(
    path: Path, plan: LabPlan, limits: Limits | None = None, sandboxed: bool = True
) -> Grade:
    """Grade one notebook, in a sandbox unless ``sandboxed=False`` (the tests grade every
    lab's solution with it)."""
    path = Path(path)
    limits = limits or Limits()
    if not sandboxed:
        return run_coroutine(grade_submission(path, path.name, plan, limits))
    with _sandbox(limits, [path, plan.solution.parent]) as sandbox:
        return run_coroutine(grade_submission(path, path.name, plan, limits, sandbox))


def grade_folder(
    folder: Path,
    plan: LabPlan,
    limits: Limits | None = None,
    jobs: int | None = None,
    progress: bool = True,
    sandboxed: bool = True,
    hidden: Iterable[Path] = (),
    report: Callable[[str], None] | None = None,
) -> list[Grade]:
    """Grade every notebook under ``folder`` (sorted by path), ``jobs`` at a time, each
    in a sandbox unless ``sandboxed=False``; ``hidden``: more paths no kernel may see
    (the gradebook, the feedback folder); ``report`` gets a line on the sandbox.

    SIGINT or SIGTERM stops it: :class:`Stopped` is raised once every kernel is shut down,
    its ``partial`` holding a grade per notebook, those not finished marked incomplete.
    """
    folder = Path(folder)
    limits = limits or Limits()
    jobs = jobs or available_cores()
    paths = find_submissions(folder)
    if limits.threads is None:
        limits = dataclasses.replace(limits, threads=max(1, available_cores() // jobs))
    with contextlib.ExitStack() as stack:
        sandbox = None
        if sandboxed:
            sandbox = stack.enter_context(_sandbox(limits, [folder, plan.solution.parent, *hidden]))
            if report:
                report(sandbox.describe())
        return run_coroutine(_grade_all(paths, folder, plan, limits, jobs, progress, sandbox))


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
        help="a kernel's memory in GiB: its whole sandbox where control groups allow, and "
        "each process's address space; 0 for none (default: %(default)g)",
    )
    parser.add_argument(
        "--output-limit",
        type=float,
        default=Limits.output_bytes / 2**20,
        metavar="MIB",
        help="output kept from one notebook in MiB; over it the notebook is stopped "
        "(default: %(default)g)",
    )
    parser.add_argument(
        "--solutions",
        type=Path,
        default=None,
        help="the course's solutions/ folder (default: the one beside the "
        "package, else ./solutions)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run the notebooks without a sandbox, with your own rights: only for notebooks "
        "you trust (without bubblewrap the grader refuses to run otherwise)",
    )
    args = parser.parse_args(argv)

    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    if not args.unsafe_no_sandbox and not shutil.which("bwrap"):
        print(f"error: {BWRAP_MISSING}", file=sys.stderr)
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
        args.cell_timeout,
        args.notebook_timeout,
        int(args.memory_limit * 2**30) or None,
        output_bytes=max(1, int(args.output_limit * 2**20)),
    )
    out = args.out or Path(f"grades-lab{plan.number}.csv")
    start = time.monotonic()
    stopped = None
    try:
        grades = grade_folder(
            args.submissions,
            plan,
            limits,
            jobs=args.jobs,
            progress=not args.no_progress,
            sandboxed=not args.unsafe_no_sandbox,
            hidden=[out, *([args.feedback] if args.feedback else [])],
            report=lambda line: print(line, file=sys.stderr),
        )
    except SandboxUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Stopped as stop:
        stopped, grades = stop, stop.partial
        if grades is None:
            print(f"\nstopped by {stop}: no gradebook written", file=sys.stderr)
            return 128 + stop.signum
    # A signal now waits until the gradebook is whole; the CSV appears at once, complete.
    with _signals_held():
        partial = out.with_name(f".{out.name}.partial")
        write_gradebook(grades, list(plan.points), partial)
        os.replace(partial, out)
        if args.feedback:
            write_feedback(grades, args.feedback)
    print(summary(grades, time.monotonic() - start))
    print(f"gradebook: {out}" + (f"; feedback: {args.feedback}/" if args.feedback else ""))
    if stopped is not None:
        left = sum(grade.status == INCOMPLETE for grade in grades)
        print(
            f"\nstopped by {stopped}: {len(grades) - left} of {len(grades)} notebooks graded; "
            f"the other {left} are marked {INCOMPLETE!r} in {out}",
            file=sys.stderr,
        )
        return 128 + stopped.signum
    return 0


@contextlib.contextmanager
def _signals_held():
    held = {signal.SIGINT, signal.SIGTERM}
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
