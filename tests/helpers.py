"""What several test modules need: the repository's layout and running a notebook."""

from __future__ import annotations

import builtins
from pathlib import Path

import nbformat

from attention_course.grading.runner import Limits, run_notebook
from attention_course.notebook_format import lab_number
from tools.book_paths import NOTEBOOK_LIMIT_SECONDS, ROOT

RESULTS_MIME = "application/vnd.attention-course.test-results+json"


def lab_names() -> list[str]:
    return sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))


def execute(
    notebook: nbformat.NotebookNode,
    cwd: Path,
    allow_errors: bool,
    timeout: int = NOTEBOOK_LIMIT_SECONDS,
) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel (the grader's runner) and return it with its outputs.

    Each cell has ``timeout`` seconds, and so has the whole notebook (the book's hard limit).
    """
    run = run_notebook(
        notebook, cwd, Limits(cell_seconds=timeout, notebook_seconds=timeout, memory_bytes=None)
    )
    assert not run.problems, [f"cell {p.cell}: {p.status}: {p.detail}" for p in run.problems]
    if not allow_errors:
        errors = [
            f"cell {index} raised {output.ename}: {output.evalue}"
            for index, cell in enumerate(run.notebook.cells)
            for output in cell.get("outputs", [])
            if output.output_type == "error"
        ]
        assert not errors, errors
    return run.notebook


def append_results_cell(notebook: nbformat.NotebookNode, name: str) -> None:
    """Add a last cell that displays the lab's results in that kernel as structured data."""
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from IPython.display import display\n"
            f"from attention_course.checks.lab{lab_number(name)} import lab\n"
            f"display({{{RESULTS_MIME!r}: lab.results()}}, raw=True)"
        )
    )


def recorded_results(notebook: nbformat.NotebookNode) -> list[dict]:
    rows = [
        output["data"][RESULTS_MIME]
        for output in notebook.cells[-1].get("outputs", [])
        if RESULTS_MIME in output.get("data", {})
    ]
    assert rows, "the results cell displayed nothing"
    return rows[-1]


def text_of(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def hide_module(monkeypatch, module: str) -> None:
    """Make ``import module`` fail as it does on a machine without that package."""
    real_import = builtins.__import__

    def import_without(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named {module!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without)
