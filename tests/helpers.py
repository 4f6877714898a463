"""What several test modules need: the repository's layout and running a notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
CHECK_CALL = re.compile(r"^checks\.(check_\w+)\(", re.MULTILINE)
SCORE_CALL = re.compile(r"^checks\.score\(\)", re.MULTILINE)


def lab_names() -> list[str]:
    return sorted(path.stem for path in (ROOT / "solutions").glob("*.ipynb"))


def lab_number(name: str) -> str:
    return name.split("_", 1)[0]


def is_setup_cell(cell) -> bool:
    return "colab-setup" in cell.get("metadata", {}).get("tags", [])


def execute(notebook: nbformat.NotebookNode, cwd: Path, allow_errors: bool,
            timeout: int = 120) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel and return it with its outputs."""
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook


def append_results_cell(notebook: nbformat.NotebookNode, lab: str) -> None:
    """Add a last cell that prints the checks' recorded results as JSON on one line."""
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json\nfrom attention_course.checks import results as _results\n"
        f"print('RESULTS=' + json.dumps(_results({lab!r})))"))


def recorded_results(notebook: nbformat.NotebookNode) -> list[dict]:
    for output in notebook.cells[-1].outputs:
        if output.output_type == "stream" and "RESULTS=" in output.text:
            return json.loads(output.text.split("RESULTS=", 1)[1])
    raise AssertionError("the results cell printed nothing")


def text_of(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
