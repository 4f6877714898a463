"""What several test modules need: the repository's layout and running a notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from attention_course import grading

ROOT = Path(__file__).resolve().parent.parent
CHECK_CALL = re.compile(r"^checks\.(check_\w+)\(", re.MULTILINE)
SCORE_CALL = re.compile(r"^checks\.score\(\)", re.MULTILINE)


def lab_names() -> list[str]:
    return sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))


def lab_number(name: str) -> str:
    return name.split("_", 1)[0]


def is_setup_cell(cell) -> bool:
    return "colab-setup" in cell.get("metadata", {}).get("tags", [])


def execute(
    notebook: nbformat.NotebookNode, cwd: Path, allow_errors: bool, timeout: int = 120
) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel (the grader's runner) and return it with its outputs.

    Each cell has ``timeout`` seconds, and so has the whole notebook (the book's hard limit).
    """
    run = grading.run_notebook(
        notebook,
        cwd,
        grading.Limits(cell_seconds=timeout, notebook_seconds=timeout, memory_bytes=None),
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


def append_results_cell(notebook: nbformat.NotebookNode, lab: str) -> None:
    """Add a last cell that displays the checks' recorded results as structured data."""
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            f"from attention_course.grading import publish_results\npublish_results({lab!r})"
        )
    )


def recorded_results(notebook: nbformat.NotebookNode) -> list[dict]:
    rows = grading.published_results(notebook.cells[-1])
    assert rows, "the results cell displayed nothing"
    return rows


def text_of(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
