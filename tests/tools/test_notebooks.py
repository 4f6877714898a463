"""The lab generator and the set-up cell sync."""

import nbformat
import pytest

from tools import notebooks
from tools.notebooks import NotebookError, lab_from_solution, stub_source

SOLVED = '''def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION
'''


def test_stub_replaces_the_body_and_keeps_signature_docstring_and_indent():
    stub = stub_source(SOLVED)
    assert 'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE' in stub
    assert '    raise NotImplementedError("double: not implemented yet")' in stub
    assert "2 * x" not in stub
    namespace = {}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError):
        namespace["double"](1)


@pytest.mark.parametrize(
    "broken",
    [
        "### BEGIN SOLUTION\nx = 1\n",
        "x = 1\n### END SOLUTION\n",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
    ],
)
def test_unbalanced_markers_are_a_clear_error(broken):
    with pytest.raises(NotebookError, match="SOLUTION"):
        stub_source(broken)


def make_solution():
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Solution 3: Something\n\nText."),
            nbformat.v4.new_code_cell(
                SOLVED,
                outputs=[nbformat.v4.new_output("stream", text="old output")],
                execution_count=4,
            ),
        ]
    )


def test_lab_has_stubs_no_outputs_and_a_lab_title():
    lab = lab_from_solution(make_solution())
    assert lab.cells[0].source.startswith("# Lab 3: Something")
    assert lab.cells[1].outputs == [] and lab.cells[1].execution_count is None
    assert "NotImplementedError" in lab.cells[1].source


def test_a_solution_without_exercises_is_an_error():
    solution = make_solution()
    solution.cells.pop()
    with pytest.raises(NotebookError, match="nothing to do"):
        lab_from_solution(solution)


def test_setup_cell_is_first_once_and_uses_the_url():
    notebook = notebooks.with_setup_cell(make_solution(), "https://example.org/repo")
    again = notebooks.with_setup_cell(notebook, "https://example.org/other")
    assert [notebooks.SETUP_TAG in c.metadata.get("tags", []) for c in again.cells] == [
        True,
        False,
        False,
    ]
    assert "git+https://example.org/other" in again.cells[0].source


def test_sync_then_check_on_a_copy_of_a_book(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/r\n")
    for folder in ("chapters", "solutions", "labs"):
        (tmp_path / folder).mkdir()
    nbformat.write(make_solution(), tmp_path / "solutions" / "03_x.ipynb")
    assert notebooks.stale_files(tmp_path) == ["solutions/03_x.ipynb", "labs/03_x.ipynb"]
    notebooks.sync(tmp_path)
    assert notebooks.stale_files(tmp_path) == []
    (tmp_path / "labs" / "09_orphan.ipynb").write_text("{}")
    assert notebooks.stale_files(tmp_path) == ["labs/09_orphan.ipynb (no solution with this name)"]
    assert notebooks.main(["check", "--root", str(tmp_path)]) == 1
