"""A check turns anything a student's function does into a readable result, and its call
and its judging can happen in two processes with the same verdict."""

import json
import math
import subprocess
import sys

import pytest
import torch

from attention_course.checks import (
    ERRORED,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    Case,
    CaseFailed,
    Lab,
    LabCheckFailed,
    calls,
    expect_close,
    expect_tensor,
)
from attention_course.checks.framework import UNCHANGED_INPUTS, UNTRUSTED_ERROR

lab = Lab("test", "A lab for the tests")


@lab.check(points=4, time_limit=0.5)
def check_double():
    x = torch.arange(6.0).reshape(2, 3)
    ones = calls(torch.ones(2, 3))
    plain = calls(x)

    def a_tensor(result):
        expect_tensor(result, shape=(2, 3), name="result")

    def doubled(result):
        expect_close(result, 2 * x, name="result")

    return [
        Case("returns a tensor of the input shape", ones, a_tensor),
        Case("doubles values", plain, doubled),
        Case("doubles values (again, from the same call)", plain, doubled),
    ]


@pytest.fixture(autouse=True)
def fresh_results():
    lab.reset()
    yield
    lab.reset()


def run(student):
    with pytest.raises(LabCheckFailed):
        check_double(student)
    return {case["name"]: case for case in lab.results()[0]["cases"]}


def test_a_correct_function_passes_and_earns_every_point(capsys):
    check_double(lambda x: 2 * x)
    row = lab.results()[0]
    assert (row["status"], row["earned"]) == (PASSED, 4)
    printed = capsys.readouterr().out
    assert "✔ returns a tensor of the input shape" in printed
    assert UNCHANGED_INPUTS not in printed  # said only when the inputs were changed


def test_float64_answers_are_as_right_as_float32_ones():
    check_double(lambda x: 2 * x.double())
    assert lab.results()[0]["status"] == PASSED


def test_cases_sharing_a_call_call_the_student_once():
    seen = []
    check_double(lambda x: seen.append(x) or 2 * x)
    assert len(seen) == 2


def test_a_stub_is_not_implemented_and_earns_nothing(capsys):
    def stub(x):
        raise NotImplementedError("double: not implemented yet")

    run(stub)
    row = lab.results()[0]
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
        (lambda x: (i for i in x), "should be a torch tensor, got a generator"),
        (lambda x: x.mul_(2), "changed `x` in place"),
    ],
)
def test_wrong_results_become_failed_cases_with_a_message(student, message):
    cases = run(student)
    assert any(c["status"] == FAILED and message in c["message"] for c in cases.values()), cases


def test_an_in_place_change_does_not_leak_into_the_next_call():
    calls_seen = []

    def doubles_in_place(x):
        calls_seen.append(x.clone())
        return x.mul_(2)

    cases = run(doubles_in_place)
    assert cases["doubles values"]["status"] == PASSED  # it got a fresh copy of x
    assert cases[UNCHANGED_INPUTS]["status"] == FAILED


def test_an_endless_loop_is_stopped_by_the_time_limit_and_not_retried():
    def forever(x):
        while True:
            pass

    cases = run(forever)
    messages = [case["message"] for name, case in cases.items() if name != UNCHANGED_INPUTS]
    assert "did not finish within 0.5 s" in messages[0]
    assert all("0.5 s" in message for message in messages)


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
    run(lambda x: torch.ones_like(x))  # the right shape, the wrong values
    assert lab.results()[0]["earned"] == 1.33  # 1 of 3 cases


def test_something_not_callable_is_a_failed_case():
    with pytest.raises(LabCheckFailed):
        check_double(42)
    assert "expected a function, got a int" in lab.results()[0]["cases"][0]["message"]


shortcuts = Lab("shortcuts", "A lab whose exercise forbids a library function")


@shortcuts.check(points=1, forbid=["torch.nn.functional.softmax", "torch.Tensor.softmax"])
def check_softmax():
    scores = torch.tensor([[1.0, 2.0, 3.0]])
    return [
        Case(
            "equals the softmax",
            calls(scores),
            lambda got: expect_close(got, torch.softmax(scores, -1)),
        )
    ]


def test_a_forbidden_library_function_fails_while_the_student_code_runs():
    from torch.nn.functional import softmax as imported_by_name

    def own(x):
        e = torch.exp(x - x.max(-1, keepdim=True).values)
        return e / e.sum(-1, keepdim=True)

    def swallowing(x):
        try:
            return imported_by_name(x, -1)
        except BaseException:
            return own(x)

    for student, passes in [
        (own, True),
        (lambda x: torch.nn.functional.softmax(x, -1), False),
        (lambda x: x.softmax(-1), False),
        (swallowing, False),
    ]:
        shortcuts.reset()
        try:
            check_softmax(student)
        except LabCheckFailed:
            pass
        case = shortcuts.results()[0]["cases"][0]
        assert (case["status"] == PASSED) == passes, case
        if not passes:
            assert "implement it yourself" in case["message"]
    # ... and is itself again afterwards
    assert torch.allclose(torch.nn.functional.softmax(torch.zeros(2), -1), torch.full((2,), 0.5))
    assert torch.zeros(2).softmax(-1).sum() == 1 and "softmax" not in vars(torch.Tensor)


broken = Lab("broken", "A lab with a buggy check")


@broken.check(points=2)
def check_buggy():
    def judge(result):
        raise KeyError("oops")

    return [
        Case("a case whose judge is broken", calls(1), judge),
        Case("a case that works", calls(1), lambda result: None),
    ]


def test_a_bug_in_a_check_is_reported_and_never_costs_points(capsys):
    check_buggy(lambda x: x)  # no LabCheckFailed: nothing for the student to fix
    row = broken.results()[0]
    assert (row["status"], row["earned"]) == (ERRORED, 2)
    assert "a bug in the check, not in your answer" in capsys.readouterr().out


def test_a_record_that_claims_the_check_broke_earns_nothing_when_untrusted():
    broke = {"outcome": "broken", "message": "KeyError: x"}
    forged = {"calls": [broke, broke], "changed_inputs": []}
    trusted = check_buggy.judge(forged)
    untrusted = check_buggy.judge(forged, trusted=False)
    assert trusted.earned == 2 and untrusted.earned == 0
    assert untrusted.cases[0].message.startswith(UNTRUSTED_ERROR)
    assert check_double.judge({"setup": {"status": "errored"}}, trusted=False).earned == 0


@pytest.mark.parametrize(
    "forged",
    [
        None,
        3,
        {},
        {"calls": "x"},
        {"calls": [{"outcome": "?"}]},
        {"calls": [{"outcome": "returned", "value": {"$tensor": 1}}]},
    ],
)
def test_a_malformed_record_is_judged_wrong_never_raises(forged):
    result = check_double.judge(forged, trusted=False)
    assert result.earned == 0 and result.status == FAILED


def test_score_lists_exercises_not_run_and_the_total(capsys):
    check_double(lambda x: 2 * x)
    assert lab.score() == (4, 4)
    assert "total" in capsys.readouterr().out
    assert lab.points == {"double": 4}


def test_the_failure_shows_one_line_in_ipython_not_a_traceback():
    error = LabCheckFailed("1 of 2 checks of double did not pass (see above)")
    assert error._render_traceback_() == [
        "LabCheckFailed: 1 of 2 checks of double did not pass (see above)"
    ]


def test_case_failed_is_what_judges_raise():
    with pytest.raises(CaseFailed):
        expect_tensor([1, 2])


# The grader calls a check in the student's kernel and judges in its own process. Here: a
# wrong answer to Lab 1's GRU step, called in one Python process, judged in another, and
# both in place -- the same verdict and the same lines.
WRONG_GRU = """
import torch
def gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    r, z, n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(r + hr), torch.sigmoid(z + hz)
    n = torch.tanh(n + r * hn)
    return z * n + (1 - z) * h  # z and 1 - z swapped
"""
CALL_IN_A_PROCESS = (
    WRONG_GRU
    + """
import json, sys
from attention_course.checks import lab01
json.dump(lab01.check_gru_step.call(gru_step), sys.stdout)
"""
)
JUDGE_IN_A_PROCESS = """
import json, sys
from attention_course.checks import lab01
from attention_course.checks.framework import result_lines
record = json.load(sys.stdin)
print("\\n".join(result_lines(lab01.check_gru_step.judge(record))))
"""


def test_call_and_judge_in_two_processes_give_what_in_place_gives(capsys):
    record = subprocess.run(
        [sys.executable, "-c", CALL_IN_A_PROCESS], capture_output=True, text=True, check=True
    ).stdout
    judged = subprocess.run(
        [sys.executable, "-c", JUDGE_IN_A_PROCESS],
        input=record,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    from attention_course.checks import lab01

    namespace = {}
    exec(WRONG_GRU, namespace)
    capsys.readouterr()
    with pytest.raises(LabCheckFailed):
        lab01.check_gru_step(namespace["gru_step"])
    in_place = capsys.readouterr().out
    assert judged == in_place
    assert "✘ equals nn.GRUCell" in judged and "✔ returns a (batch, hidden) tensor" in judged
    assert json.loads(record)["exercise"] == "gru_step"


noted = Lab("test-notes", "A lab whose judge reports what it measured")


@noted.check(points=1)
def check_mean():
    def measured(result):
        if abs(float(result) - 2.0) > 1e-6:
            raise CaseFailed(f"the mean should be 2, got {float(result):.3g}")
        return f"your mean: {float(result):.3f}"

    return [Case("computes the mean", calls(torch.tensor([1.0, 2.0, 3.0])), measured)]


def test_a_judge_can_tell_a_passing_student_what_it_measured(capsys):
    check_mean(lambda x: x.mean())
    assert "✔ computes the mean: your mean: 2.000" in capsys.readouterr().out
    assert noted.results()[0]["earned"] == 1
    noted.reset()
