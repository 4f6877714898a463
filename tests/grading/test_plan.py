"""What grading a lab needs, and the notebook the grader runs for a submission."""

import nbformat
import pytest

from attention_course.grading.plan import (
    STARTUP_TAG,
    GradingSetupError,
    declared_labs,
    graded_notebook,
    load_plan,
    names_bound,
    normalise_lab,
    python_source,
)
from attention_course.notebook_format import lab_number
from tests.helpers import ROOT, lab_names


@pytest.mark.parametrize("name", lab_names())
def test_every_lab_gets_its_official_calls_after_its_exercises(name):
    plan = load_plan(lab_number(name), ROOT / "solutions")
    lab = nbformat.read(ROOT / "labs" / f"{name}.ipynb", as_version=4)
    graded = graded_notebook(lab, plan)
    cells = graded.notebook.cells
    assert STARTUP_TAG in cells[0].metadata["tags"]
    assert list(graded.check_cells.values()) == list(plan.points)
    for index, exercise in graded.check_cells.items():
        assert f"lambda: ({plan.answers[exercise]},)" in cells[index].source
        defined = names_bound(python_source(cells[index - 1].source))
        assert plan.needed_names[exercise] & defined, cells[index - 1].source
    submitted_checks = [
        cell
        for i, cell in enumerate(cells)
        if i not in graded.check_cells and "checks.check_" in cell.source
    ]
    assert not submitted_checks
    assert declared_labs(lab) == {lab_number(name)}


def test_points_come_from_the_lab_without_running_a_check():
    plan = load_plan("1", ROOT / "solutions")
    assert plan.points == {
        "gru_step": 3,
        "encode": 3,
        "state_gradient_norms": 2,
        "recall_by_position": 3,
        "reading_the_bottleneck": 1,
    }
    assert plan.answers["encode"] == "encode"


@pytest.mark.parametrize(("given", "expected"), [("3", "03"), ("lab03", "03"), (7, "07")])
def test_lab_numbers_are_normalised(given, expected):
    assert normalise_lab(given) == expected


def test_what_cannot_be_graded_says_why(tmp_path):
    with pytest.raises(GradingSetupError, match="a lab number"):
        normalise_lab("three")
    with pytest.raises(GradingSetupError, match="expected one solution notebook"):
        load_plan("1", tmp_path)
