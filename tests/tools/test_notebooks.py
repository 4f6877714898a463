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


def a_book(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/r\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "1.2.0"\n')
    (tmp_path / "requirements.txt").write_text("traffic_anomaly==2.5.4\n")
    for folder in ("chapters", "solutions", "labs"):
        (tmp_path / folder).mkdir()
    return tmp_path


def test_setup_cell_is_first_once_and_installs_this_version(tmp_path):
    root = a_book(tmp_path)
    cell = notebooks.setup_cell(root, root / "solutions" / "03_x.ipynb")
    notebook = notebooks.with_setup_cell(make_solution(), cell)
    again = notebooks.with_setup_cell(notebook, cell)
    tags = [notebooks.SETUP_TAG in c.metadata.get("tags", []) for c in again.cells]
    assert tags == [True, False, False]
    assert '"attention-course @ git+https://example.org/r@v1.2.0"' in again.cells[0].source
    assert "--no-deps" not in again.cells[0].source


def test_chapter_8_also_installs_the_traffic_counts_without_their_dependencies(tmp_path):
    root = a_book(tmp_path)
    source = notebooks.setup_cell(root, root / "chapters" / "08_time_series.ipynb").source
    assert '[*pip, "--no-deps", "traffic-anomaly==2.5.4"]' in source
    compile(source, "<set-up cell>", "exec")


def test_sync_then_check_on_a_copy_of_a_book(tmp_path):
    a_book(tmp_path)
    nbformat.write(make_solution(), tmp_path / "solutions" / "03_x.ipynb")
    assert notebooks.stale_files(tmp_path) == ["solutions/03_x.ipynb", "labs/03_x.ipynb"]
    notebooks.sync(tmp_path)
    assert notebooks.stale_files(tmp_path) == []
    (tmp_path / "labs" / "09_orphan.ipynb").write_text("{}")
    assert notebooks.stale_files(tmp_path) == ["labs/09_orphan.ipynb (no solution with this name)"]
    assert notebooks.main(["check", "--root", str(tmp_path)]) == 1
