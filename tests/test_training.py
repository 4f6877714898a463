"""The training loop, its log and schedule, and the parameter count (attention_course.training)."""

import pytest
import torch

from attention_course.reproducibility import set_seed
from attention_course.training import count_parameters, train, warmup_cosine


def fit_line(seed):
    set_seed(seed)
    model = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 32)[:, None]

    def loss(step):
        return ((model(x) - 3 * x) ** 2).mean()

    return train(model, loss, steps=200, lr=0.05), model


def test_training_is_deterministic_and_learns():
    log_a, model_a = fit_line(0)
    log_b, _ = fit_line(0)
    assert log_a.losses == log_b.losses
    assert log_a.final_loss < 1e-3 and abs(model_a.weight.item() - 3) < 0.05
    assert not model_a.training


def test_the_log_records_wall_and_cpu_seconds():
    log, _ = fit_line(0)
    assert log.seconds > 0 and log.cpu_seconds > 0


def test_count_parameters_adds_up_every_parameter():
    assert count_parameters(torch.nn.Linear(3, 4)) == 3 * 4 + 4
    gru = torch.nn.GRUCell(32, 128)
    assert count_parameters(gru) == 3 * (128 * 32 + 128 * 128 + 2 * 128)
    assert count_parameters(torch.nn.Sequential(torch.nn.ReLU())) == 0


def test_warmup_cosine_rises_then_falls_to_zero():
    multiplier = warmup_cosine(steps=10, warmup=4)
    values = [multiplier(step) for step in range(10)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0]
    assert (
        values[4] == 1.0 and all(a > b for a, b in zip(values[4:], values[5:])) and values[-1] > 0
    )
    assert multiplier(10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="warmup"):
        warmup_cosine(steps=5, warmup=5)


def test_training_follows_the_schedule():
    model = torch.nn.Linear(1, 1)

    def loss(step):
        return model(torch.ones(1, 1)).sum()

    before = model.weight.detach().clone()
    train(model, loss, steps=3, lr=0.1, schedule=lambda step: 0.0)
    assert torch.equal(model.weight, before), "a multiplier of 0 must freeze the weights"
    train(model, loss, steps=3, lr=0.1, schedule=lambda step: 1.0 if step == 2 else 0.0)
    assert not torch.equal(model.weight, before), "the multiplier of step 2 is 1"
