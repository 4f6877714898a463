"""The guards around a call of the student's code."""

import torch

from attention_course.checks.calling import (
    RETURNED,
    SHORTCUT,
    CallLog,
    Guards,
    StudentFunction,
    run_recipes,
)


def test_a_changed_input_is_named_by_its_parameter():
    def scale(x, mask=None, *, factors):
        factors["a"].add_(1)
        return x

    log = CallLog()
    student = StudentFunction(scale, Guards(), log)
    x = torch.ones(2)
    factors = {"a": torch.zeros(1)}
    student(x, factors=factors)
    assert log.changed_inputs == ["`factors`['a']"]
    assert torch.equal(factors["a"], torch.zeros(1))  # the caller's own tensor is untouched


def test_a_module_whose_parameters_were_trained_in_place_is_reported():
    layer = torch.nn.Linear(2, 2)
    log = CallLog()
    StudentFunction(lambda model: model.weight.data.zero_(), Guards(), log)(layer)
    assert log.changed_inputs == ["`model` (its parameters)"]


def test_forbidden_functions_are_restored_even_when_the_call_fails():
    original = torch.nn.functional.scaled_dot_product_attention
    guards = Guards(forbidden=["torch.nn.functional.scaled_dot_product_attention"])

    def uses_it(q):
        return torch.nn.functional.scaled_dot_product_attention(q, q, q)

    outcomes, _ = run_recipes([lambda f: f(torch.ones(1, 2, 3))], [uses_it], guards)
    assert outcomes[0]["outcome"] == SHORTCUT
    assert torch.nn.functional.scaled_dot_product_attention is original
    outcomes, _ = run_recipes([lambda f: f(torch.ones(1, 2, 3))], [lambda q: q], guards)
    assert outcomes[0]["outcome"] == RETURNED
