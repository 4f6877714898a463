"""Grade a folder of submitted lab notebooks and write a gradebook.

``attention-course-grade SUBMISSIONS --lab 03 --out grades.csv`` (or
``python -m attention_course.grading ...``) grades every ``.ipynb`` under SUBMISSIONS:

* each submission runs in a fresh kernel, in a temporary folder holding a copy of it, with
  a time limit per cell and per notebook and a memory limit; the submitted file is only
  ever read;
* it is graded with the **official** checks, never with whatever the submission contains:
  the submission's own check cells are dropped and the check cells of the solution notebook
  are inserted after the cells that define the exercises; a cell the grader runs before any
  submitted code takes a snapshot of the checks' modules (and of the names of the libraries
  they use), and each official check first puts back anything a submitted cell changed
  there; the status says so. An exercise whose code changes them *while* it is being
  checked gets no points, since that check's verdicts cannot be trusted;
* each check's result comes from the checks module as structured data (a display output of
  its own MIME type), not from printed text;
* a submission that hangs, kills its kernel, runs out of memory, is not a notebook or belongs
  to another lab gets a status that says so, and grading goes on with the next one.

Nothing here knows a particular lab: the exercises, their points and their check cells come
from ``attention_course.checks.labNN`` and ``solutions/NN_topic.ipynb``.

The grader is not a sandbox: submitted code runs with your user's rights, in the same
process as the checks. It defeats edited and deleted check cells and the usual ways of
overwriting a check, and it reports them; code written to fool this grader in particular
could still succeed. Grade untrusted notebooks in a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import csv
import dataclasses
import importlib
import io
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

try:
    import resource  # the kernel's memory limit; POSIX only
except ImportError:  # Windows: grade without a memory limit
    resource = None

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from .checks import core

# nbclient logs each timeout and dead kernel as an error; the grader reports them itself.
_NBCLIENT_LOG = logging.getLogger("attention_course.grading.nbclient")
_NBCLIENT_LOG.addHandler(logging.NullHandler())
_NBCLIENT_LOG.propagate = False

# A check result travels from the kernel to the grader as display data of this type.
RESULT_MIME = "application/vnd.attention-course.check-result+json"
# The name under which the grader's sealed checks live in the kernel.
KERNEL_NAME = "__attention_course_grader__"

# Statuses of a submission, most serious first; a submission gets the first that applies,
# and its detail lists every problem found.
UNREADABLE = "unreadable"
WRONG_LAB = "wrong lab"
GRADER_ERROR = "grader error"
CHECKS_MODIFIED = "checks modified"
KERNEL_DIED = "kernel died"
TIME_LIMIT = "time limit"
MEMORY_LIMIT = "memory limit"
GRADED = "graded"
STATUSES = (
    UNREADABLE,
    WRONG_LAB,
    GRADER_ERROR,
    CHECKS_MODIFIED,
    KERNEL_DIED,
    TIME_LIMIT,
    MEMORY_LIMIT,
    GRADED,
)


# ---------------------------------------------------------------------------------------
# In the kernel: the official checks, sealed before any submitted code runs
# ---------------------------------------------------------------------------------------

_MISSING = object()


def _function_state(fn: types.FunctionType) -> tuple:
    """What a function runs: its code, defaults and the values in its closure."""
    closure = []
    for cell in fn.__closure__ or ():
        try:
            closure.append(cell.cell_contents)
        except ValueError:  # an empty cell
            closure.append(_MISSING)
    return (fn.__code__, fn.__defaults__, fn.__kwdefaults__, *closure)


def _set_function_state(fn: types.FunctionType, state: tuple) -> None:
    fn.__code__, fn.__defaults__, fn.__kwdefaults__ = state[:3]
    for cell, value in zip(fn.__closure__ or (), state[3:]):
        if value is not _MISSING:
            cell.cell_contents = value


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class _Snapshot:
    """What a submission must not change: the checks' modules, functions and classes.

    Our own modules are saved whole (a name added, removed or rebound is a change); so
    are the functions and classes they define, down to code objects and closures (the
    decorated check functions keep the original in a closure). Of the libraries the
    checks use (``torch``, ``numpy``, ...) only the names that already exist are saved:
    those libraries legitimately add names as they import submodules lazily.
    """

    def __init__(self, modules: list[types.ModuleType]):
        self.modules = {module: dict(vars(module)) for module in modules}
        ours = {module.__name__ for module in modules}
        self.libraries: dict[types.ModuleType, dict] = {}
        self.functions: dict[types.FunctionType, tuple] = {}
        self.classes: dict[type, dict] = {}
        todo = [value for module in modules for value in vars(module).values()]
        while todo:
            value = todo.pop()
            if isinstance(value, types.ModuleType):
                if value.__name__ not in ours and value not in self.libraries:
                    self.libraries[value] = dict(vars(value))
            elif getattr(value, "__module__", None) not in ours:
                continue
            elif isinstance(value, types.FunctionType) and value not in self.functions:
                self.functions[value] = _function_state(value)
                todo.extend(self.functions[value][3:])  # e.g. the check a decorator wraps
                todo.append(getattr(value, "__wrapped__", None))
            elif isinstance(value, type) and value not in self.classes:
                self.classes[value] = dict(vars(value))
                todo.extend(vars(value).values())
            elif isinstance(value, (staticmethod, classmethod)):
                todo.append(value.__func__)
            elif isinstance(value, property):
                todo.extend([value.fget, value.fset, value.fdel])

    def restore(self) -> list[str]:
        """Put back everything that changed; return what changed, by name."""
        changed = []
        for module, saved in self.modules.items():
            current = vars(module)
            # A submodule imported since (a lab's helper module) is not a change.
            imported = {
                name: value
                for name, value in current.items()
                if name not in saved and sys.modules.get(f"{module.__name__}.{name}") is value
            }
            names = [
                name
                for name in set(current) | set(saved)
                if name not in imported
                and current.get(name, _MISSING) is not saved.get(name, _MISSING)
            ]
            if names:
                changed += [f"{module.__name__}.{name}" for name in names]
                current.clear()
                current.update(saved | imported)
        for module, saved in self.libraries.items():
            current = vars(module)
            for name, value in saved.items():
                if current.get(name, _MISSING) is not value:
                    changed.append(f"{module.__name__}.{name}")
                    current[name] = value
        for cls, saved in self.classes.items():
            current = dict(vars(cls))
            for name in set(current) | set(saved):
                if current.get(name, _MISSING) is not saved.get(name, _MISSING):
                    changed.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
                    if name in saved:
                        setattr(cls, name, saved[name])
                    else:
                        delattr(cls, name)
        for fn, state in self.functions.items():
            if not _same(_function_state(fn), state):
                changed.append(f"{fn.__module__}.{fn.__qualname__}")
                _set_function_state(fn, state)
        return sorted(changed)


class SealedChecks:
    """The grader's handle on a lab's official checks, created in the kernel first thing.

    ``check(exercise, official_call)`` puts the checks back as they were at the start,
    runs the official check cell's call with the pristine module, and publishes the
    result as structured display data. Whatever happens (the function is missing, the
    grader's time limit interrupts it, it exits), the result says so.
    """

    def __init__(self, lab: str, cell_seconds: float):
        from IPython.display import display

        self.lab = lab
        self.cell_seconds = cell_seconds
        self.module = importlib.import_module(f"attention_course.checks.lab{lab}")
        self._display = display
        self._core = core
        # results() goes through the registry of exercises, which a submission could
        # edit; the result objects themselves are read from the dict the checks fill.
        self._results = core._RESULTS
        self._modified: set[str] = set()
        modules = [
            module
            for name, module in sorted(sys.modules.items())
            if name == "attention_course.checks" or name.startswith("attention_course.checks.")
        ]
        self._snapshot = _Snapshot(modules)

    def check(self, exercise: str, official_call) -> None:
        self._modified.update(self._snapshot.restore())
        key = (self.lab, exercise)
        self._results.pop(key, None)
        extra = None
        try:
            official_call(self.module)
        except self._core.LabCheckFailed:
            pass  # the check printed what failed, as the student saw it
        except NameError as error:
            if key not in self._results:
                extra = (
                    "your function is defined",
                    f"{error}: was its cell deleted or renamed, or did it raise?",
                )
            else:
                extra = ("the check finishes", f"NameError: {error}")
        except KeyboardInterrupt:
            extra = (
                "finishes within the time limit",
                f"stopped by the grader after {self.cell_seconds:g} s (an endless loop?)",
            )
        except BaseException as error:  # SystemExit and the like, raised by student code
            extra = ("the check finishes", f"stopped by {type(error).__name__}: {error}")
        # Changed while the student's function was being checked: the verdicts of this
        # check cannot be trusted, so the grader gives it no points.
        during = self._snapshot.restore()
        self._modified.update(during)
        result = self._results.get(key) or self._core.ExerciseResult(
            self.lab, exercise, getattr(self.module, f"check_{exercise}").points
        )
        if extra:
            result.cases.append(self._core.CaseResult(extra[0], self._core.FAILED, extra[1]))
        if during:
            result.cases.append(
                self._core.CaseResult(
                    "leaves the checks alone",
                    self._core.FAILED,
                    f"your code changed {', '.join(during)} while it was being checked: "
                    "no points for this exercise",
                )
            )
        payload = result.as_dict()
        payload["modified"] = sorted(self._modified)
        payload["changed_during_check"] = during
        self._display({RESULT_MIME: payload}, raw=True)


def publish_results(lab: str) -> None:
    """Display every exercise's latest result of ``lab`` as structured data (for the tests)."""
    from IPython.display import display

    for row in core.results(lab):
        display({RESULT_MIME: row}, raw=True)


def published_results(cell) -> list[dict]:
    """The structured check results a cell displayed, in order."""
    return [
        output["data"][RESULT_MIME]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "display_data" and RESULT_MIME in output.get("data", {})
    ]


# ---------------------------------------------------------------------------------------
# The lab, as its solution notebook and checks module define it
# ---------------------------------------------------------------------------------------

_CHECK_CALL = re.compile(r"\bchecks\.check_(\w+)\(")
_DECLARED_LAB = [
    re.compile(r"attention_course\.checks\s+import\s+lab(\d+)"),
    re.compile(r"attention_course\.checks\.lab(\d+)"),
]
_TITLE = re.compile(r"^#\s+(?:Lab|Solution)\s+(\d+)\b", re.MULTILINE)
_SETUP_TAG = "colab-setup"
STARTUP_TAG = "grader-startup"  # a cell timed like the kernel's start, not like a cell


class GradingSetupError(ValueError):
    """The lab cannot be graded (no solution, no checks, a malformed check cell)."""


def normalise_lab(lab: str | int) -> str:
    text = str(lab).strip().lower().removeprefix("lab").strip()
    if not text.isdigit():
        raise GradingSetupError(f"--lab takes a lab number such as 03, not {lab!r}")
    return f"{int(text):02d}"


@dataclass
class LabPlan:
    """What grading a lab needs: its exercises, their points and their official check calls."""

    lab: str
    solution: Path
    points: dict[str, float]  # exercise -> points, in the order of the checks module
    check_calls: dict[str, str]  # exercise -> the official check cell's call
    needed_names: dict[str, set[str]]  # exercise -> what the call reads that exercises define

    @property
    def maximum(self) -> float:
        return sum(self.points.values())


def default_solutions_dir() -> Path:
    """``solutions/`` of the repository this package runs from, else of the current folder."""
    beside_package = Path(__file__).resolve().parent.parent / "solutions"
    return beside_package if beside_package.is_dir() else Path.cwd() / "solutions"


def load_plan(lab: str | int, solutions_dir: Path | None = None) -> LabPlan:
    lab = normalise_lab(lab)
    solutions_dir = Path(solutions_dir or default_solutions_dir())
    matches = sorted(solutions_dir.glob(f"{lab}_*.ipynb"))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise GradingSetupError(
            f"expected one solution notebook {solutions_dir}/{lab}_*.ipynb, found {found}; "
            "pass --solutions with the solutions/ folder of a clone of the course repository"
        )
    try:
        importlib.import_module(f"attention_course.checks.lab{lab}")  # registers its checks
    except ModuleNotFoundError:
        raise GradingSetupError(f"there is no attention_course.checks.lab{lab} module") from None
    points = {row["exercise"]: row["points"] for row in core.results(lab)}
    if not points:
        raise GradingSetupError(f"attention_course.checks.lab{lab} defines no checks")
    calls: dict[str, str] = {}
    solution = nbformat.read(matches[0], as_version=4)
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code" or not _CHECK_CALL.search(cell.source):
            continue
        where = f"{matches[0].name}, cell {index}"
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as error:
            raise GradingSetupError(f"{where}: {error}") from None
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
            raise GradingSetupError(f"{where}: a check cell must be one call of a check")
        exercises = _CHECK_CALL.findall(cell.source)
        if len(exercises) != 1 or exercises[0] not in points or exercises[0] in calls:
            raise GradingSetupError(
                f"{where}: calls {exercises}; expected one check of "
                f"{sorted(points)} not called before"
            )
        calls[exercises[0]] = cell.source.strip()
    missing = [exercise for exercise in points if exercise not in calls]
    if missing:
        raise GradingSetupError(f"{matches[0].name} has no check cell for {missing}")
    # A check needs the names its call reads that the exercises define (`rnn_step`), not
    # the libraries it may also pass (`torch`).
    defined = set().union(
        *(
            _names_bound(_python_source(cell.source) or ast.Module([], []))
            for cell in solution.cells
            if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source
        )
    )
    needed = {}
    for exercise in points:
        read = _names_read(calls[exercise]) - {"checks"}
        needed[exercise] = (read & defined) or read
    return LabPlan(lab, matches[0], points, calls, needed)


# ---------------------------------------------------------------------------------------
# The notebook the grader runs: the submission with the official checks
# ---------------------------------------------------------------------------------------


def _python_source(cell_source: str) -> ast.Module | None:
    """A cell as Python (IPython magics translated), or None when it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(cell_source))
    except (SyntaxError, ValueError):
        return None


def _names_read(source: str) -> set[str]:
    return {
        node.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _names_bound(tree: ast.Module) -> set[str]:
    """Names a cell binds at the top level (not inside its functions or classes)."""
    bound: set[str] = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return bound


def _is_check_cell(tree: ast.Module | None) -> bool:
    """Every statement is a call of something on ``checks`` (a check or the score)."""

    def calls_checks(statement):
        return (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and isinstance(statement.value.func.value, ast.Name)
            and statement.value.func.value.id == "checks"
        )

    return bool(tree and tree.body) and all(calls_checks(s) for s in tree.body)


def declared_labs(notebook) -> set[str]:
    """Lab numbers a notebook names: its checks import and its title."""
    labs = set()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for pattern in _DECLARED_LAB:
                labs.update(f"{int(n):02d}" for n in pattern.findall(cell.source))
        elif cell.cell_type == "markdown":
            labs.update(f"{int(n):02d}" for n in _TITLE.findall(cell.source))
    return labs


@dataclass
class GradedNotebook:
    notebook: nbformat.NotebookNode
    check_cells: dict[int, str]  # index in `notebook` -> exercise its official check runs
    origin: dict[int, int]  # index in `notebook` -> index of the submitted cell it runs


def graded_notebook(submission, plan: LabPlan, cell_seconds: float) -> GradedNotebook:
    """The submission with its set-up and check cells replaced by the official checks."""
    kept = []  # (index in the submission, cell, names it binds)
    for index, cell in enumerate(submission.cells):
        if cell.cell_type != "code":
            continue
        if _SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            continue  # the Colab set-up; the grader's environment has the package
        tree = _python_source(cell.source)
        if _is_check_cell(tree):
            continue  # the submission's own check cells never run: the official ones do
        kept.append((index, cell, _names_bound(tree) if tree else set()))

    # Each official check goes right after the last cell that defines what it needs, as
    # in the lab; a check whose function is defined nowhere goes at the end.
    after: dict[int, list[str]] = {}
    for exercise, names in plan.needed_names.items():
        defining = [position for position, (_, _, bound) in enumerate(kept) if bound & names]
        after.setdefault(defining[-1] if defining else len(kept) - 1, []).append(exercise)

    setup = nbformat.v4.new_code_cell(
        f"# Inserted by the grader before any submitted code: the official checks, sealed.\n"
        f"from attention_course.grading import SealedChecks\n"
        f"{KERNEL_NAME} = SealedChecks({plan.lab!r}, cell_seconds={cell_seconds!r})"
    )
    # It imports torch: part of starting the kernel, with the start-up time limit.
    setup.metadata["tags"] = [STARTUP_TAG]
    cells = [setup]
    check_cells: dict[int, str] = {}
    origin: dict[int, int] = {}

    def add_checks(position):
        for exercise in after.get(position, []):
            check_cells[len(cells)] = exercise
            cells.append(
                nbformat.v4.new_code_cell(
                    "# The official check, inserted by the grader.\n"
                    f"{KERNEL_NAME}.check({exercise!r}, "
                    f"lambda checks: {plan.check_calls[exercise]})"
                )
            )

    add_checks(-1)  # when the submission has no code cell at all
    for position, (index, cell, _) in enumerate(kept):
        origin[len(cells)] = index
        cells.append(nbformat.v4.new_code_cell(cell.source))
        add_checks(position)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return GradedNotebook(notebook, check_cells, origin)


# ---------------------------------------------------------------------------------------
# Running a notebook with limits
# ---------------------------------------------------------------------------------------


@dataclass
class Limits:
    cell_seconds: float = 60
    notebook_seconds: float = 300
    memory_bytes: int | None = 4 * 2**30  # address space of the kernel; None: no limit
    threads: int | None = None  # torch/OpenMP threads per kernel; None: the environment's


@dataclass
class Problem:
    status: str
    detail: str
    cell: int | None = None  # index in the executed notebook


@dataclass
class Run:
    notebook: nbformat.NotebookNode
    problems: list[Problem]
    seconds: float


STARTUP_SECONDS = 60  # for the kernel to start, and for the grader's first cell (torch)


class _OutOfTime(Exception):
    pass


def _stop_everything() -> None:
    """Ctrl-C: cancel every notebook; each one's kernel is shut down on the way out."""
    for task in asyncio.all_tasks():
        task.cancel()


def _run(coroutine):
    """``asyncio.run``, where Ctrl-C ends as a KeyboardInterrupt (not a cancelled task)."""
    try:
        return asyncio.run(coroutine)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


class _LimitedClient(NotebookClient):
    """An nbclient that interrupts a cell at its time limit, stops the notebook at its own,
    and notes what happened instead of raising."""

    def __init__(self, notebook, limits: Limits, **kwargs):
        super().__init__(
            notebook,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            timeout_func=self._cell_timeout,
            log=_NBCLIENT_LOG,
            **kwargs,
        )
        self.limits = limits
        # The notebook's clock starts once its kernel is ready (a slow start is not the
        # submission's fault); starting has a limit of its own.
        self.deadline = math.inf
        self.startup_timeout = STARTUP_SECONDS
        self.problems: list[Problem] = []
        self.current: int | None = None
        self.interrupted: set[int] = set()
        self.exit_code: int | None = None

    def _cell_timeout(self, cell) -> int:
        remaining = self.deadline - time.monotonic()
        limit = (
            self.startup_timeout
            if STARTUP_TAG in cell.metadata.get("tags", [])
            else self.limits.cell_seconds
        )
        return max(1, math.ceil(min(limit, remaining)))

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        self.deadline = time.monotonic() + self.limits.notebook_seconds
        # nbclient's own Ctrl-C handler shuts down this notebook's kernel and lets the
        # others go on; the grader stops everything instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, threads
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, _stop_everything)
        return client

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        if self.limits.memory_bytes and hasattr(resource, "prlimit"):  # Linux
            limit = int(self.limits.memory_bytes)
            resource.prlimit(self.km.provisioner.pid, resource.RLIMIT_AS, (limit, limit))

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self.current = cell_index
        if cell.cell_type == "code" and time.monotonic() >= self.deadline:
            self._stop(
                f"the notebook ran over its limit of {self.limits.notebook_seconds:g} s "
                "and was stopped before this cell"
            )
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    async def _async_handle_timeout(self, timeout, cell=None):
        if time.monotonic() >= self.deadline - 0.5:  # the notebook's time, not the cell's
            self._stop(
                f"the notebook ran over its limit of {self.limits.notebook_seconds:g} s "
                "and was stopped"
            )
        if self.current in self.interrupted:
            self._stop("did not stop when interrupted; the notebook was stopped")
        self.interrupted.add(self.current)
        self.problems.append(
            Problem(
                TIME_LIMIT, f"did not finish within {timeout:g} s and was interrupted", self.current
            )
        )
        return await super()._async_handle_timeout(timeout, cell)

    def _stop(self, detail: str):
        """Give up on the notebook; leaving nbclient's context kills the kernel."""
        self.problems.append(Problem(TIME_LIMIT, detail, self.current))
        raise _OutOfTime()

    async def _async_cleanup_kernel(self):
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and self.exit_code is None:
            self.exit_code = process.poll()
        await super()._async_cleanup_kernel()


def _kernel_environment(limits: Limits) -> dict[str, str]:
    env = dict(os.environ)
    # Idle threads sleep instead of spinning (spinning made training 30 times slower on a
    # busy 2-core machine), and parallel kernels share the cores instead of each taking all.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if limits.threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(name, str(limits.threads))
    env.setdefault("TQDM_DISABLE", "1")  # progress bars of student code would fill outputs
    return env


_OUT_OF_MEMORY = re.compile(r"MemoryError|can't allocate memory|bad_alloc|Cannot allocate memory")


async def run_notebook_async(notebook, cwd: Path, limits: Limits) -> Run:
    """Run ``notebook`` (changed in place) in a fresh kernel started in ``cwd``.

    Every problem -- a cell over its time limit, the notebook over its own, the kernel
    dying, a cell out of memory -- is returned in ``Run.problems``; nothing is raised for
    them. The kernel process's own output (not the cells') is discarded: its start-up
    warnings would only garble the progress bar.
    """
    start = time.monotonic()
    client = _LimitedClient(notebook, limits, resources={"metadata": {"path": str(cwd)}})
    try:
        await client.async_execute(
            env=_kernel_environment(limits), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except _OutOfTime:
        pass  # recorded by the client
    except DeadKernelError:
        how = ""
        if client.exit_code is not None and client.exit_code < 0:
            how = f" (killed by signal {-client.exit_code}"
            how += ": out of memory?)" if client.exit_code == -9 else ")"
        elif client.exit_code is not None:
            how = f" (exit code {client.exit_code})"
        client.problems.append(Problem(KERNEL_DIED, f"the kernel died{how}", client.current))
    except Exception as error:  # e.g. the kernel did not start: keep what did run
        client.problems.append(
            Problem(
                GRADER_ERROR,
                f"could not run the notebook: {core._format_exception(error)}",
                client.current,
            )
        )
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and _OUT_OF_MEMORY.search(
                f"{output.get('ename', '')}: {output.get('evalue', '')}"
            ):
                limit = (
                    f" (limit {limits.memory_bytes / 2**30:g} GiB)" if limits.memory_bytes else ""
                )
                client.problems.append(Problem(MEMORY_LIMIT, f"ran out of memory{limit}", index))
    return Run(notebook, client.problems, time.monotonic() - start)


def run_notebook(notebook, cwd: Path, limits: Limits | None = None) -> Run:
    """Synchronous :func:`run_notebook_async` (the tests run the labs with it)."""
    return _run(run_notebook_async(notebook, cwd, limits or Limits()))


# ---------------------------------------------------------------------------------------
# Grading submissions
# ---------------------------------------------------------------------------------------


@dataclass
class Grade:
    file: str
    lab: str
    status: str  # one of STATUSES
    earned: dict[str, float] = field(default_factory=dict)  # exercise -> points
    results: list[dict] = field(default_factory=list)  # the checks' results, as published
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


def _describe_cell(graded: GradedNotebook, index: int | None) -> str:
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


def _score(plan: LabPlan, runs: dict[str, dict]) -> tuple[dict[str, float], list[dict]]:
    """Points per exercise, with the points of the plan (not those the kernel reported)."""
    earned, results = {}, []
    for exercise, points in plan.points.items():
        row = runs.get(exercise)
        if row is None:
            result = core.ExerciseResult(plan.lab, exercise, points)
        else:
            result = core.ExerciseResult(
                plan.lab,
                exercise,
                points,
                [core.CaseResult(c["name"], c["status"], c["message"]) for c in row["cases"]],
            )
        cheated = bool(row and row.get("changed_during_check"))
        earned[exercise] = 0.0 if cheated else result.earned
        results.append(result.as_dict() | {"earned": earned[exercise]})
    return earned, results


def _add_problem(grade: Grade, status: str, note: str) -> None:
    """Note a problem; the submission's status becomes the most serious one noted."""
    grade.notes.append(note)
    if STATUSES.index(status) < STATUSES.index(grade.status):
        grade.status = status


async def grade_submission(path: Path, name: str, plan: LabPlan, limits: Limits) -> Grade:
    """Grade one submitted file, never raising for anything the submission does."""
    grade = Grade(name, plan.lab, GRADED, maximum=plan.maximum)
    grade.earned, grade.results = _score(plan, {})
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
                graded = graded_notebook(submission, plan, limits.cell_seconds)
                declared = declared_labs(submission)
            except Exception as error:  # unreadable, not JSON, not a notebook, ...
                _add_problem(
                    grade, UNREADABLE, f"not a readable notebook: {core._format_exception(error)}"
                )
                return grade
            if declared and plan.lab not in declared:
                _add_problem(
                    grade,
                    WRONG_LAB,
                    f"a notebook of lab {', '.join(sorted(declared))}"
                    f", not of lab {plan.lab}: not run",
                )
                return grade
            run = await run_notebook_async(graded.notebook, Path(folder), limits)
        try:
            _collect(grade, graded, run, plan)
        except Exception as error:  # a bug of ours must not stop the rest of the class
            _add_problem(
                grade, GRADER_ERROR, f"could not read the results: {core._format_exception(error)}"
            )
        return grade
    finally:
        grade.seconds = time.monotonic() - start


def _well_formed(row) -> bool:
    return (
        isinstance(row, dict)
        and isinstance(row.get("exercise"), str)
        and isinstance(row.get("cases"), list)
        and all(
            isinstance(case, dict)
            and case.get("status") in _CASE_STATUSES
            and isinstance(case.get("name"), str)
            and isinstance(case.get("message"), str)
            for case in row["cases"]
        )
        and isinstance(row.get("modified", []), list)
        and isinstance(row.get("changed_during_check", []), list)
    )


_CASE_STATUSES = (core.PASSED, core.FAILED, core.NOT_IMPLEMENTED, core.ERRORED)


def _collect(grade: Grade, graded: GradedNotebook, run: Run, plan: LabPlan) -> None:
    """Scores from the official check cells' structured results; problems from the run."""
    published: dict[str, dict] = {}
    modified: set[str] = set()
    for index, exercise in graded.check_cells.items():
        # The last result of the check's own cell: the student's function, called by the
        # check, could display something too, but only before the grader publishes.
        rows = [
            row
            for row in published_results(graded.notebook.cells[index])
            if _well_formed(row) and row["exercise"] == exercise
        ]
        if rows:
            published[exercise] = rows[-1]
            modified.update(rows[-1].get("modified", []))
    grade.earned, grade.results = _score(plan, published)
    for index in graded.origin:
        for output in graded.notebook.cells[index].get("outputs", []):
            if output.get("output_type") == "error":
                grade.cell_errors.append(
                    f"{_describe_cell(graded, index)} raised "
                    f"{output.get('ename')}: {output.get('evalue', '')}"[:300]
                )
    for problem in run.problems:
        _add_problem(
            grade, problem.status, f"{_describe_cell(graded, problem.cell)}: {problem.detail}"
        )
    if modified:
        _add_problem(
            grade,
            CHECKS_MODIFIED,
            "submitted code changed the checks (put back "
            "before grading): " + ", ".join(sorted(modified)),
        )
    not_run = [exercise for exercise in plan.points if exercise not in published]
    if not_run:
        grade.notes.append("not checked: " + ", ".join(not_run))


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
        desc=f"Grading lab {plan.lab}",
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
    return _run(grade_submission(path, path.name, plan, limits or Limits()))


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
    return _run(_grade_all(paths, folder, plan, limits, jobs, progress))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------
# Gradebook, summary and feedback
# ---------------------------------------------------------------------------------------


def write_gradebook(grades: list[Grade], plan: LabPlan, path: Path) -> None:
    """One row per submission: file, lab, each exercise's points, total, maximum, status,
    seconds, detail."""
    columns = ["file", "lab", *plan.points, "total", "maximum", "status", "seconds", "detail"]
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for grade in grades:
            writer.writerow(
                [
                    grade.file,
                    grade.lab,
                    *(f"{grade.earned[e]:g}" for e in plan.points),
                    f"{grade.total:g}",
                    f"{grade.maximum:g}",
                    grade.status,
                    f"{grade.seconds:.1f}",
                    grade.detail,
                ]
            )


def summary(grades: list[Grade], seconds: float) -> str:
    """The gradebook as a table to read in the terminal, and a count of the statuses."""
    # pandas is imported here, not at the top: kernels import this module too.
    import pandas as pd

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
    for row in grade.results:
        result = core.ExerciseResult(
            row["lab"],
            row["exercise"],
            row["points"],
            [core.CaseResult(**case) for case in row["cases"]],
        )
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            if result.cases:
                core._print_result(result)  # the lines the student saw under the check
            else:
                print(
                    f"Checking {result.exercise} ({result.points:g} points)\n"
                    f"  not checked: the notebook stopped before this check\n"
                    f"  0 / {result.points:g} points"
                )
        printed = text.getvalue().rstrip("\n").split("\n")
        if row["earned"] != result.earned:  # no points: the checks were changed meanwhile
            printed[-1] = f"  {row['earned']:g} / {row['points']:g} points"
        lines += printed + [""]
    if grade.cell_errors:
        lines.append("Cells that raised an error:")
        lines += [f"  {error}" for error in grade.cell_errors]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(grades: list[Grade], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for grade in grades:
        name = grade.file.removesuffix(".ipynb").replace(os.sep, "__") + ".txt"
        (folder / name).write_text(feedback(grade))


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
    out = args.out or Path(f"grades-lab{plan.lab}.csv")
    write_gradebook(grades, plan, out)
    if args.feedback:
        write_feedback(grades, args.feedback)
    print(summary(grades, time.monotonic() - start))
    print(f"gradebook: {out}" + (f"; feedback: {args.feedback}/" if args.feedback else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
