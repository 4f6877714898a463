"""Chapter 8's forecasters (attention_course.models.forecasters)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attention_course.models.forecasters import (
    LagAttentionForecaster,
    RecurrentForecaster,
    RecurrentWithExtras,
)
from attention_course.training import train

N_OBSERVED, N_KNOWN, LOOKBACK, HORIZON = 3, 2, 6, 4


def inputs(batch=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    past = torch.randn(batch, LOOKBACK, N_OBSERVED, generator=generator)
    future_known = torch.randn(batch, HORIZON, N_KNOWN, generator=generator)
    return past, future_known


MODELS = {
    "RNN": lambda: RecurrentForecaster(nn.RNN, N_OBSERVED, N_KNOWN, hidden=8),
    "LSTM": lambda: RecurrentForecaster(nn.LSTM, N_OBSERVED, N_KNOWN, hidden=8),
    "LSTM with extras": lambda: RecurrentWithExtras(
        nn.LSTM, N_OBSERVED, N_KNOWN, HORIZON, hidden=8, d=4
    ),
    "attention": lambda: LagAttentionForecaster(
        N_OBSERVED, N_KNOWN, LOOKBACK, HORIZON, d=8, heads=2, hidden=8
    ),
}


@pytest.mark.parametrize("name", MODELS)
def test_one_forecast_per_target_time(name):
    torch.manual_seed(0)
    assert MODELS[name]()(*inputs()).shape == (5, HORIZON)


@pytest.mark.parametrize("name", ["LSTM with extras", "attention"])
def test_predicts_the_change_from_the_last_observation(name):
    # With the output network's last layer at zero, the forecast is the last observed
    # value (the first column of the origin's step) at every horizon.
    torch.manual_seed(0)
    model = MODELS[name]()
    last_layer = model.output[-1] if name == "LSTM with extras" else model.head[-1]
    nn.init.zeros_(last_layer.weight)
    nn.init.zeros_(last_layer.bias)
    past, future_known = inputs()
    expected = past[:, -1, 0][:, None].expand(-1, HORIZON)
    assert torch.equal(model(past, future_known), expected)


def test_the_plain_recurrent_forecaster_predicts_levels():
    torch.manual_seed(0)
    model = MODELS["LSTM"]()
    nn.init.zeros_(model.output.weight)
    nn.init.zeros_(model.output.bias)
    assert torch.equal(model(*inputs()), torch.zeros(5, HORIZON))


def test_lag_counts_from_each_past_step_to_each_target_time():
    model = MODELS["attention"]()
    assert model.lag.shape == (HORIZON, LOOKBACK)
    for h in range(HORIZON):
        for s in range(LOOKBACK):
            # past step s is at t - (LOOKBACK - 1 - s); target h is at t + h + 1
            assert model.lag[h, s] == (h + 1) + (LOOKBACK - 1 - s)
    assert model.lag.min() == 1 and model.lag.max() == LOOKBACK + HORIZON - 1


def test_the_lag_bias_moves_the_weight_to_its_lag():
    torch.manual_seed(0)
    model = MODELS["attention"]()
    with torch.no_grad():
        model.lag_bias[:, 3] = 50.0  # every head: all weight on lag 3
    model(*inputs())
    for h in range(HORIZON):
        s = LOOKBACK - 1 - (3 - (h + 1))  # the past step at lag 3 from target h + 1
        if 0 <= s < LOOKBACK:
            assert torch.allclose(model.weights[:, :, h, s], torch.ones(5, 2), atol=1e-6)


def test_attention_weights_sum_to_one_over_the_past_steps():
    torch.manual_seed(0)
    model = MODELS["attention"]()
    model(*inputs())
    assert model.weights.shape == (5, 2, HORIZON, LOOKBACK)
    assert (model.weights >= 0).all()
    assert torch.allclose(model.weights.sum(dim=-1), torch.ones(5, 2, HORIZON), atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_a_short_training_lowers_the_loss(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    past, future_known = inputs(batch=32, seed=1)
    target = past[:, -1:, 0] + future_known[..., 0]  # learnable from the inputs

    def loss_on_batch(step):
        return F.l1_loss(model(past, future_known), target)

    log = train(model, loss_on_batch, steps=60, lr=1e-2)
    assert log.final_loss < 0.7 * log.losses[0]
