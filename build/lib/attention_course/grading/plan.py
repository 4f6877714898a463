"""What grading a lab needs, and the notebook the grader runs for one submission."""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..checks.framework import Lab
from ..notebook_format import (
    BEGIN_SOLUTION,
    CHECK_CALL,
    CHECKS_IMPORT,
    TITLE,
    is_setup_cell,
)

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
    """A lab's checks, and for each exercise what its official check cell passes."""

    lab: Lab
    solution: Path
    answers: dict[str, str]  # exercise -> the check call's arguments, as source ("rnn_step")
    needed_names: dict[str, set[str]]  # exercise -> the names those arguments read

    @property
    def number(self) -> str:
        return self.lab.number

    @property
    def points(self) -> dict[str, float]:
        return self.lab.points

    @property
    def maximum(self) -> float:
        return self.lab.maximum


def default_solutions_dir() -> Path:
    """``solutions/`` of the repository this package runs from, else of the current folder."""
    beside_package = Path(__file__).resolve().parents[2] / "solutions"
    return beside_package if beside_package.is_dir() else Path.cwd() / "solutions"


def load_plan(lab: str | int, solutions_dir: Path | None = None) -> LabPlan:
    number = normalise_lab(lab)
    solutions_dir = Path(solutions_dir or default_solutions_dir())
    matches = sorted(solutions_dir.glob(f"{number}_*.ipynb"))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise GradingSetupError(
            f"expected one solution notebook {solutions_dir}/{number}_*.ipynb, found {found}; "
            "pass --solutions with the solutions/ folder of a clone of the course repository"
        )
    try:
        checks = importlib.import_module(f"attention_course.checks.lab{number}").lab
    except ModuleNotFoundError:
        raise GradingSetupError(f"there is no attention_course.checks.lab{number} module") from None
    if not checks.checks:
        raise GradingSetupError(f"attention_course.checks.lab{number} defines no checks")
    solution = nbformat.read(matches[0], as_version=4)
    answers: dict[str, str] = {}
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code" or not CHECK_CALL.search(cell.source):
            continue
        where = f"{matches[0].name}, cell {index}"
        exercise, arguments = _check_call(cell.source, where)
        if exercise not in checks.checks or exercise in answers:
            raise GradingSetupError(
                f"{where}: calls check_{exercise}; expected one check of "
                f"{sorted(checks.checks)} not called before"
            )
        answers[exercise] = arguments
    missing = [exercise for exercise in checks.checks if exercise not in answers]
    if missing:
        raise GradingSetupError(f"{matches[0].name} has no check cell for {missing}")
    # A call goes after the cell defining what it passes that an exercise defines
    # (`rnn_step`), not after a library it may also pass (`torch`).
    defined = set().union(
        *(
            names_bound(python_source(cell.source) or ast.Module([], []))
            for cell in solution.cells
            if cell.cell_type == "code" and BEGIN_SOLUTION in cell.source
        )
    )
    needed = {}
    for exercise, source in answers.items():
        read = _names_read(source)
        needed[exercise] = (read & defined) or read
    return LabPlan(checks, matches[0], answers, needed)


def _check_call(source: str, where: str) -> tuple[str, str]:
    """``checks.check_encode(encode, cell)`` -> ("encode", "encode, cell")."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise GradingSetupError(f"{where}: {error}") from None
    call = (
        tree.body[0].value if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) else None
    )
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr.startswith("check_")
        and not call.keywords
    ):
        raise GradingSetupError(f"{where}: a check cell must be one call of a check")
    return (
        call.func.attr.removeprefix("check_"),
        ", ".join(ast.unparse(argument) for argument in call.args),
    )


# ---------------------------------------------------------------------------------------
# The notebook the grader runs: the submission with the official calls
# ---------------------------------------------------------------------------------------


def python_source(cell_source: str) -> ast.Module | None:
    """A cell as Python (IPython magics translated), or None when it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(cell_source))
    except (SyntaxError, ValueError):
        return None


def _names_read(source: str) -> set[str]:
    return {
        node.id
        for node in ast.walk(ast.parse(source or "None"))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def names_bound(tree: ast.Module) -> set[str]:
    """Names a cell binds at the top level (not inside its functions or classes)."""
    bound: set[str] = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
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
            for pattern in CHECKS_IMPORT:
                labs.update(f"{int(n):02d}" for n in pattern.findall(cell.source))
        elif cell.cell_type == "markdown":
            labs.update(f"{int(n):02d}" for n in TITLE.findall(cell.source))
    return labs


@dataclass
class GradedNotebook:
    notebook: nbformat.NotebookNode
    check_cells: dict[int, str]  # index in `notebook` -> exercise whose calls it runs
    origin: dict[int, int]  # index in `notebook` -> index of the submitted cell it runs


def graded_notebook(submission, plan: LabPlan) -> GradedNotebook:
    """The submission with its set-up and check cells replaced by the official calls."""
    kept = []  # (index in the submission, cell, names it binds)
    for index, cell in enumerate(submission.cells):
        if cell.cell_type != "code" or is_setup_cell(cell):
            continue  # the Colab set-up: the grader's environment has the package
        tree = python_source(cell.source)
        if _is_check_cell(tree):
            continue  # the submission's own check cells never run: the official ones do
        kept.append((index, cell, names_bound(tree) if tree else set()))

    # Each official call goes right after the last cell that defines what it passes, as
    # in the lab; a call whose function is defined nowhere goes at the end.
    after: dict[int, list[str]] = {}
    for exercise, names in plan.needed_names.items():
        defining = [position for position, (_, _, bound) in enumerate(kept) if bound & names]
        after.setdefault(defining[-1] if defining else len(kept) - 1, []).append(exercise)

    setup = nbformat.v4.new_code_cell(
        "# Inserted by the grader before any submitted code (it imports torch).\n"
        f"import attention_course.checks.lab{plan.number}\n"
        "import attention_course.grading.kernel"
    )
    setup.metadata["tags"] = [STARTUP_TAG]
    cells = [setup]
    check_cells: dict[int, str] = {}
    origin: dict[int, int] = {}

    def add_checks(position):
        for exercise in after.get(position, []):
            check_cells[len(cells)] = exercise
            cells.append(
                nbformat.v4.new_code_cell(
                    "# The official check's calls, inserted by the grader; it judges the results.\n"
                    "from attention_course.grading.kernel import publish_calls\n"
                    f"publish_calls({plan.number!r}, {exercise!r}, "
                    f"lambda: ({plan.answers[exercise]},))"
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
