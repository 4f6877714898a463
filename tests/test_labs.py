"""The three proofs every lab must pass, plus its form.

1. The solution passes every check, in a real kernel, graded by the class grader.
2. The generated lab fails every check cell as "not implemented yet" and raises nothing else.
3. Every plausible wrong answer in ``tests/wrong_answers/labNN.py`` is caught.
"""

from __future__ import annotations

import contextlib
import importlib
import io

import nbformat
import pytest

from attention_course import grading, notebooks
from attention_course.checks import FAILED, NOT_IMPLEMENTED, PASSED, LabCheckFailed
from tests.helpers import (
    CHECK_CALL,
    ROOT,
    SCORE_CALL,
    append_results_cell,
    execute,
    is_setup_cell,
    lab_names,
    lab_number,
    recorded_results,
    text_of,
)

LABS = lab_names()


def test_there_is_a_lab():
    assert LABS, "solutions/ holds no notebook"


def test_notebooks_are_what_make_notebooks_writes():
    stale = notebooks.stale_files(ROOT)
    assert not stale, "run `make notebooks`; out of date: " + ", ".join(stale)


def checks_module(name):
    return importlib.import_module(f"attention_course.checks.lab{lab_number(name)}")


@pytest.mark.parametrize("name", LABS)
def test_every_exercise_has_one_check_cell_and_the_lab_ends_with_the_score(name):
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    called = [
        match
        for cell in solution.cells
        if cell.cell_type == "code"
        for match in CHECK_CALL.findall(cell.source)
    ]
    defined = [
        f"check_{exercise}"
        for exercise in (row["exercise"] for row in checks_module(name).results())
    ]
    assert sorted(called) == sorted(defined), "each check of the lab must be called once"
    assert SCORE_CALL.search(solution.cells[-1].source), "the last cell must print the score"


@pytest.mark.parametrize("name", LABS)
def test_solution_passes_every_check(name):
    # Graded as a student's submission would be: official checks, limits, fresh kernel.
    plan = grading.load_plan(lab_number(name), ROOT / "solutions")
    grade = grading.grade_file(ROOT / "solutions" / f"{name}.ipynb", plan)
    assert (grade.status, grade.notes, grade.cell_errors) == (grading.GRADED, [], [])
    assert grade.results and all(
        row["status"] == PASSED and row["earned"] == row["points"] for row in grade.results
    ), grade.results
    assert grade.total == grade.maximum


@pytest.mark.parametrize("name", LABS)
def test_lab_fails_every_check_as_not_implemented_and_nothing_else(name):
    lab = nbformat.read(ROOT / "labs" / f"{name}.ipynb", as_version=4)
    append_results_cell(lab, lab_number(name))
    executed = execute(lab, cwd=ROOT / "labs", allow_errors=True)
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if CHECK_CALL.search(cell.source):
            assert [e.ename for e in errors] == ["LabCheckFailed"], f"cell {index}: {errors}"
            assert "not implemented yet" in text_of(cell.outputs), f"cell {index}"
        else:
            assert not errors, f"cell {index} raised: {errors}"
    rows = recorded_results(executed)
    assert rows and all(row["status"] == NOT_IMPLEMENTED and row["earned"] == 0 for row in rows), (
        rows
    )


def wrong_answer_cases():
    cases = []
    for name in LABS:
        try:
            catalogue = importlib.import_module(f"tests.wrong_answers.lab{lab_number(name)}")
        except ModuleNotFoundError:
            cases.append(pytest.param(name, None, id=f"{name}-no-catalogue"))
            continue
        for wrong in catalogue.WRONG_ANSWERS:
            cases.append(pytest.param(name, wrong, id=f"{name}-{wrong.description}"))
    return cases


@pytest.mark.parametrize(("name", "wrong"), wrong_answer_cases())
def test_wrong_answer_is_caught(name, wrong):
    assert wrong is not None, f"tests/wrong_answers/lab{lab_number(name)}.py is missing"
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    cells = [
        cell
        for cell in solution.cells
        if cell.cell_type == "code"
        and not is_setup_cell(cell)
        and not SCORE_CALL.search(cell.source)
    ]
    sources = [cell.source for cell in cells]
    hits = sum(source.count(wrong.old) for source in sources)
    assert hits == 1, f"{wrong.old!r} occurs {hits} times in the solution, not once"
    sources = [source.replace(wrong.old, wrong.new) for source in sources]

    module = checks_module(name)
    namespace: dict = {"__name__": "__lab__"}
    output = io.StringIO()
    caught = None
    with contextlib.redirect_stdout(output):
        for source in sources:
            calls = CHECK_CALL.findall(source)
            if calls and calls != [wrong.check]:
                continue  # only the check that must catch this answer
            try:
                exec(compile(source, "<lab cell>", "exec"), namespace)
            except LabCheckFailed as failure:
                caught = failure
    assert caught is not None, f"{wrong.check} passed a wrong answer:\n{output.getvalue()}"
    row = next(row for row in module.results() if f"check_{row['exercise']}" == wrong.check)
    assert row["status"] == FAILED, f"expected a failed case, got {row['status']}: {row}"
