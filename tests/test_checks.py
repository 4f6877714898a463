"""The check machinery turns anything a student's function does into a readable result."""

import math

import pytest
import torch

from attention_course.checks import (
    ERRORED,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    CaseFailed,
    LabCheckFailed,
    call,
    core,
    expect_close,
    expect_tensor,
    lab_check,
    results,
    score,
)

LAB = "test"


@lab_check(LAB, points=4, time_limit=0.5)
def check_double(double):
    def returns_a_tensor_of_the_input_shape():
        expect_tensor(call(double, torch.ones(2, 3)), shape=(2, 3), name="result")

    def doubles_values():
        x = torch.arange(6.0).reshape(2, 3)
        expect_close(call(double, x), 2 * x, name="result")

    return [returns_a_tensor_of_the_input_shape, doubles_values]


@pytest.fixture(autouse=True)
def fresh_results():
    core.reset(LAB)
    yield
    core.reset(LAB)


def run(student):
    with pytest.raises(LabCheckFailed):
        check_double(student)
    return {case["name"]: case for case in results(LAB)[0]["cases"]}


def test_a_correct_function_passes_and_earns_every_point(capsys):
    check_double(lambda x: 2 * x)
    assert results(LAB)[0]["status"] == PASSED
    assert results(LAB)[0]["earned"] == 4
    assert "✔ returns a tensor of the input shape" in capsys.readouterr().out


def test_a_stub_is_not_implemented_and_earns_nothing(capsys):
    def stub(x):
        raise NotImplementedError("double: not implemented yet")

    run(stub)
    row = results(LAB)[0]
    assert (row["status"], row["earned"]) == (NOT_IMPLEMENTED, 0)
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("student", "message"),
    [
        (lambda x: None, "should be a torch tensor, got None"),
        (lambda x: "twice", "should be a torch tensor, got a str"),
        (lambda x: (2 * x).T, "expected shape (2, 3), got (3, 2)"),
        (lambda x: x * math.nan, "NaN"),
        (lambda x: x + x + 1, "differs from the expected values"),
        (lambda x: 1 / 0, "your function raised ZeroDivisionError: division by zero"),
    ],
)
def test_wrong_results_become_failed_cases_with_a_message(student, message):
    cases = run(student)
    assert any(
        case["status"] == FAILED and message in case["message"] for case in cases.values()
    ), cases


def test_an_endless_loop_is_stopped_by_the_time_limit():
    def forever(x):
        while True:
            pass

    cases = run(forever)
    assert all("did not finish within 0.5 s" in case["message"] for case in cases.values())


def test_student_code_catching_exceptions_cannot_swallow_the_time_limit():
    def stubborn(x):
        while True:
            try:
                while True:
                    pass
            except Exception:
                pass

    cases = run(stubborn)
    assert all(case["status"] == FAILED for case in cases.values())


def test_partial_credit_is_the_share_of_cases_passed():
    run(lambda x: torch.ones_like(x))
    assert results(LAB)[0]["earned"] == 2


def test_something_not_callable_is_a_failed_case():
    with pytest.raises(LabCheckFailed):
        check_double(42)
    assert "expected a function, got a int" in results(LAB)[0]["cases"][0]["message"]


def test_a_bug_in_a_check_is_reported_as_errored_not_blamed_on_the_student():
    @lab_check(LAB, points=1)
    def check_buggy(fn):
        def broken():
            raise KeyError("oops")

        return [broken]

    with pytest.raises(LabCheckFailed):
        check_buggy(lambda: None)
    row = next(r for r in results(LAB) if r["exercise"] == "buggy")
    assert row["status"] == ERRORED
    core._EXERCISES[LAB].pop("buggy")


def test_score_lists_exercises_not_run_and_the_total(capsys):
    check_double(lambda x: 2 * x)
    earned, maximum = score(LAB)
    assert (earned, maximum) == (4, 4)
    assert "total" in capsys.readouterr().out


def test_the_failure_shows_one_line_in_ipython_not_a_traceback():
    error = LabCheckFailed("1 of 2 checks of double did not pass (see above)")
    assert error._render_traceback_() == [
        "LabCheckFailed: 1 of 2 checks of double did not pass (see above)"
    ]


def test_case_failed_is_what_cases_raise():
    with pytest.raises(CaseFailed):
        expect_tensor([1, 2])
