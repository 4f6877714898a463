"""The three proofs every lab must pass, its form, and checks that no answer can break.

1. The solution passes every check, in a real kernel, graded by the class grader.
2. The generated lab fails every check cell as "not implemented yet" and raises nothing else.
3. Every plausible wrong answer in ``tests/checks/wrong_answers/labNN.py`` is caught.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import math

import nbformat
import pytest
import torch

from attention_course.checks import ERRORED, FAILED, NOT_IMPLEMENTED, PASSED, LabCheckFailed
from attention_course.grading.cli import grade_file
from attention_course.grading.gradebook import GRADED
from attention_course.grading.plan import load_plan
from attention_course.notebook_format import CHECK_CALL, SCORE_CALL, is_setup_cell, lab_number
from tests.helpers import ROOT, append_results_cell, execute, lab_names, recorded_results, text_of
from tools import notebooks

LABS = lab_names()


def test_there_is_a_lab():
    assert LABS, "solutions/ holds no notebook"


def test_notebooks_are_what_make_notebooks_writes():
    stale = notebooks.stale_files(ROOT)
    assert not stale, "run `make notebooks`; out of date: " + ", ".join(stale)


def lab_of(name):
    return importlib.import_module(f"attention_course.checks.lab{lab_number(name)}").lab


@pytest.mark.parametrize("name", LABS)
def test_every_exercise_has_one_check_cell_and_the_lab_ends_with_the_score(name):
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    called = [
        match
        for cell in solution.cells
        if cell.cell_type == "code"
        for match in CHECK_CALL.findall(cell.source)
    ]
    assert sorted(called) == sorted(lab_of(name).checks), "each check must be called once"
    assert SCORE_CALL.search(solution.cells[-1].source), "the last cell must print the score"


@pytest.mark.parametrize("name", LABS)
def test_solution_passes_every_check(name):
    # Graded as a student's submission would be: official checks, limits, fresh kernel.
    plan = load_plan(lab_number(name), ROOT / "solutions")
    grade = grade_file(ROOT / "solutions" / f"{name}.ipynb", plan)
    assert (grade.status, grade.notes, grade.cell_errors) == (GRADED, [], [])
    assert grade.results and all(
        result.status == PASSED and result.earned == result.points for result in grade.results
    ), grade.results
    assert grade.total == grade.maximum


@pytest.mark.parametrize("name", LABS)
def test_lab_fails_every_check_as_not_implemented_and_nothing_else(name):
    lab = nbformat.read(ROOT / "labs" / f"{name}.ipynb", as_version=4)
    append_results_cell(lab, name)
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
            catalogue = importlib.import_module(f"tests.checks.wrong_answers.lab{lab_number(name)}")
        except ModuleNotFoundError:
            cases.append(pytest.param(name, None, id=f"{name}-no-catalogue"))
            continue
        for wrong in catalogue.WRONG_ANSWERS:
            cases.append(pytest.param(name, wrong, id=f"{name}-{wrong.description}"))
    return cases


@pytest.mark.parametrize(("name", "wrong"), wrong_answer_cases())
def test_wrong_answer_is_caught(name, wrong):
    assert wrong is not None, f"tests/checks/wrong_answers/lab{lab_number(name)}.py is missing"
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

    lab = lab_of(name)
    lab.reset()
    namespace: dict = {"__name__": "__lab__"}
    output = io.StringIO()
    caught = None
    with contextlib.redirect_stdout(output):
        for source in sources:
            called = [f"check_{exercise}" for exercise in CHECK_CALL.findall(source)]
            if called and called != [wrong.check]:
                continue  # only the check that must catch this answer
            try:
                exec(compile(source, "<lab cell>", "exec"), namespace)
            except LabCheckFailed as failure:
                caught = failure
    assert caught is not None, f"{wrong.check} passed a wrong answer:\n{output.getvalue()}"
    row = next(row for row in lab.results() if f"check_{row['exercise']}" == wrong.check)
    assert row["status"] == FAILED, f"expected a failed case, got {row['status']}: {row}"


# Answers no student means, but many write by accident: whatever comes back, every case
# must be judged (failed, with a message), never break the check.
def _nonsense():
    yield "None", lambda *args, **kwargs: None
    yield "a string", lambda *args, **kwargs: "attention"
    yield "an int", lambda *args, **kwargs: 7
    yield "a 1-element tensor", lambda *args, **kwargs: torch.zeros(1)
    yield "a NaN tensor", lambda *args, **kwargs: torch.full((2, 3), math.nan)
    yield "a tuple of five tensors", lambda *args, **kwargs: (torch.ones(2),) * 5
    yield "a list of strings", lambda *args, **kwargs: ["a", "b"]
    yield "an exception", lambda *args, **kwargs: {}["missing"]


def nonsense_cases():
    return [
        pytest.param(name, exercise, what, answer, id=f"{name}-{exercise}-{what}")
        for name in LABS
        for exercise in lab_of(name).checks
        for what, answer in _nonsense()
    ]


@pytest.mark.parametrize(("name", "exercise", "what", "answer"), nonsense_cases())
def test_no_answer_breaks_a_check(name, exercise, what, answer):
    check = lab_of(name).checks[exercise]
    passed = load_plan(lab_number(name), ROOT / "solutions").answers[exercise]
    arity = len(ast.parse(f"({passed},)").body[0].value.elts)
    with contextlib.redirect_stdout(io.StringIO()):
        result = check.judge(check.call(*[answer] * arity), trusted=False)
    assert result.status == FAILED and result.earned < result.points, result
    assert not [case for case in result.cases if case.status == ERRORED], result.cases
