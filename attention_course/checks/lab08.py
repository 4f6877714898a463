"""Checks for Lab 8: time-series forecasting, piece by piece.

Each check builds its own series. A series whose value at step ``i`` is ``i`` makes a
leak or an off-by-one visible as a number; a purely periodic series makes the
seasonal-naive forecast exact, so any shift of its lag shows. The judges compare the
windows with the package's :func:`~attention_course.data.time_series.sliding_windows`
(Chapter 8 uses it), the attention with ``torch.nn.functional.scaled_dot_product_attention``.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..data.time_series import sliding_windows as reference_windows
from .calling import CaseFailed
from .encoding import Opaque
from .expect import (
    Mistake,
    expect_array,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    named_mistake,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("08", "Time-series forecasting, piece by piece")
score = lab.score


# ---------------------------------------------------------------- exercise 1


def _windows(result, series, lookback, horizon):
    """The (X, y) a sliding_windows call returned, as 2-D arrays of the right widths, and
    the number of windows the series has."""
    X, y = expect_parts(result, "X", "y")
    n = len(series) - lookback - horizon + 1
    X = expect_array(X, name="X")
    y = expect_array(y, name="y")
    expect_true(
        X.ndim == 2 and y.ndim == 2,
        f"X and y should be 2-D, (windows, lookback) and (windows, horizon); "
        f"got shapes {X.shape} and {y.shape}",
    )
    expect_true(
        X.shape[1] == lookback and y.shape[1] == horizon,
        f"with lookback {lookback} and horizon {horizon}, X should have "
        f"{lookback} columns and y {horizon}; got shapes {X.shape} and {y.shape}"
        + (": are lookback and horizon swapped?" if X.shape[1] == horizon else ""),
    )
    expect_true(
        len(X) == len(y),
        f"X and y should have one row per window each, got {len(X)} and {len(y)} rows",
    )
    return X, y, n


@lab.check(points=3)
def check_sliding_windows():
    positions = np.arange(20.0)  # the value is the position
    ten_steps, four_steps = np.arange(10.0), np.arange(4.0)
    series = np.random.default_rng(0).normal(size=30).cumsum()
    by_position = calls(positions, 5, 3)
    short = calls(ten_steps, 3, 2)
    random = calls(series, 7, 4)
    one_step = calls(four_steps, 1, 1)

    def one_row_per_window(result):
        X, _, n = _windows(result, positions, 5, 3)
        expect_true(
            len(X) == n,
            f"a series of 20 steps with lookback 5 and horizon 3 has {n} windows "
            f"(starts 0 to {n - 1}), got {len(X)}"
            + (": the last window is missing" if len(X) == n - 1 else ""),
        )

    def no_leakage(result):
        X, y, _ = _windows(result, positions, 5, 3)
        leaking = np.flatnonzero(X.max(axis=1) >= y.min(axis=1))
        if len(leaking):
            i = leaking[0]
            raise CaseFailed(
                f"window {i} has input {X[i].tolist()} and targets "
                f"{y[i].tolist()}: its input must stop just before its first target"
            )

    def targets_right_after_the_input(result):
        X, y, _ = _windows(result, positions, 5, 3)
        if not (y[:, 0] == X[:, -1] + 1).all():  # then X has a window 0 to show
            raise CaseFailed(
                f"window 0 is {X[0].tolist()} -> {y[0].tolist()}, expected "
                "[0.0, 1.0, 2.0, 3.0, 4.0] -> [5.0, 6.0, 7.0]: no step may be skipped "
                "or repeated between input and target"
            )

    def first_and_last_windows(result):
        X, y, _ = _windows(result, ten_steps, 3, 2)
        # No window at all would leave nothing to index: say so in the first window's words.
        expect_true(len(X) > 0, "the first window should be [0, 1, 2] -> [3, 4], got none")
        expect_true(
            X[0].tolist() == [0, 1, 2] and y[0].tolist() == [3, 4],
            f"the first window should be [0, 1, 2] -> [3, 4], got "
            f"{X[0].tolist()} -> {y[0].tolist()}",
        )
        expect_true(
            X[-1].tolist() == [5, 6, 7] and y[-1].tolist() == [8, 9],
            f"the last window should be [5, 6, 7] -> [8, 9], got "
            f"{X[-1].tolist()} -> {y[-1].tolist()}",
        )

    def matches_the_reference(result):
        X, y, _ = _windows(result, series, 7, 4)
        X_ref, y_ref = reference_windows(series, 7, 4)
        expect_close(X, X_ref, name="X")
        expect_close(y, y_ref, name="y")

    def each_step_predicts_the_next(result):
        X, y, _ = _windows(result, four_steps, 1, 1)
        expect_close(X, [[0], [1], [2]], name="X")
        expect_close(y, [[1], [2], [3]], name="y")

    return [
        Case(
            "returns (X, y) of shapes (windows, lookback) and (windows, horizon)",
            by_position,
            one_row_per_window,
        ),
        Case("no window's input contains any of its targets (no leakage)", by_position, no_leakage),
        Case(
            "the first target is the step right after the last input",
            by_position,
            targets_right_after_the_input,
        ),
        Case("starts at step 0 and ends with the series' last step", short, first_and_last_windows),
        Case(
            "matches the reference on a random series (lookback 7, horizon 4)",
            random,
            matches_the_reference,
        ),
        Case(
            "lookback 1 and horizon 1: each step predicts the next",
            one_step,
            each_step_predicts_the_next,
        ),
    ]


# ---------------------------------------------------------------- exercise 2

_MAPE_RULE = "MAPE = 100 * mean(|y_true - y_pred| / |y_true|)"


def _reference_mape(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    keep = y_true != 0
    return 100 * np.mean(np.abs(y_true[keep] - y_pred[keep]) / np.abs(y_true[keep]))


def _mape_mistakes(y_true, y_pred):
    """The common wrong MAPEs of these truths and forecasts."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    keep = y_true != 0
    truth, forecast = y_true[keep], y_pred[keep]
    error = np.abs(truth - forecast)
    return [
        Mistake(
            "that is a fraction: MAPE is reported in percent, so multiply by 100",
            lambda: _reference_mape(y_true, y_pred) / 100,
        ),
        Mistake(
            "divide by the true values, not by the forecasts",
            lambda: 100 * np.mean(error / np.abs(forecast)),
        ),
        Mistake(
            "divide by |y_true|: with negative truths the plain y_true makes errors negative",
            lambda: 100 * np.mean(error / truth),
        ),
        Mistake(
            "take the absolute value of each error, or over- and under-forecasts cancel",
            lambda: 100 * np.mean((truth - forecast) / np.abs(truth)),
        ),
    ]


def _expect_mape(got, expected, message, truth, forecast, rtol=1e-5):
    """``got`` is ``expected``; else fail with ``message`` and the mistake it matches."""
    if not np.isclose(got, expected, rtol=rtol):
        mistake = named_mistake(got, _mape_mistakes(truth, forecast), atol=1e-9)
        raise CaseFailed(f"{message}: {mistake or _MAPE_RULE}")


def _returned_number(result):
    """What MAPE returned, with a non-finite NumPy float64 given back as NaN.

    The encoding writes np.float64(nan) or np.float64(inf) (what np.mean gives when a zero
    truth is kept) as its repr "np.float64(nan)", which decoding cannot read back, so it
    arrives as malformed data; a NaN is reported in the words used for both.
    """
    if isinstance(result, Opaque) and result.description == "malformed data":
        return math.nan
    return result


def _one_number(result, name="MAPE"):
    got = expect_array(_returned_number(result), name=name)
    expect_true(got.size == 1, f"return one number, got an array of shape {got.shape}")
    return float(got.reshape(()))


@lab.check(points=2)
def check_mape():
    rng = np.random.default_rng(1)
    y_true = rng.uniform(2, 9, size=50)
    y_pred = y_true + rng.normal(0, 0.5, size=50)
    high = [2.0, 4.0, 5.0], [2.2, 4.4, 5.5]
    twice = [2.0], [4.0]
    negative = np.array([-2.0, -4.0, 5.0]), np.array([-1.0, -5.0, 4.0])
    both_signs = [10.0, 10.0], [11.0, 9.0]
    zeros = np.array([0.0, 4.0, 5.0, 0.0]), np.array([1.0, 5.0, 5.0, 0.0])
    random = calls(y_true, y_pred)

    def is_a_percentage(result):
        got = _one_number(result)
        _expect_mape(got, 10.0, f"expected 10 (percent), got {got:.4g}", *high)

    def matches_the_definition(result):
        got, expected = _one_number(result), _reference_mape(y_true, y_pred)
        message = f"expected {expected:.4f}, got {got:.4f}"
        _expect_mape(got, expected, message, y_true, y_pred, rtol=1e-6)

    def divides_by_the_truth(result):
        got = _one_number(result)
        _expect_mape(got, 100.0, f"expected 100, got {got:.4g}", *twice)

    def handles_negative_truths(result):
        got, expected = _one_number(result), _reference_mape(*negative)
        _expect_mape(got, expected, f"expected {expected:.4f}, got {got:.4f}", *negative)

    def errors_do_not_cancel(result):
        got = _one_number(result)
        _expect_mape(got, 10.0, f"expected 10, got {got:.4g}", *both_signs)

    def leaves_out_zero_truths(result):
        got = expect_array(_returned_number(result), name="MAPE with zeros in y_true")
        got = got.reshape(-1)
        first = float(got[0]) if got.size else math.nan
        expect_true(
            np.isclose(first, 12.5),
            f"expected 12.5 (the mean of 25 % and 0 % over the two non-zero truths), "
            f"got {first:.4g}",
        )

    def averages_over_every_entry(result):
        got, expected = _one_number(result), _reference_mape(y_true, y_pred)
        expect_true(
            np.isclose(got, expected, rtol=1e-6),
            f"expected {expected:.4f} (the mean over all 50 entries), got {got:.4f}",
        )

    return [
        Case("returns a single number", random, _one_number),
        Case(
            "is in percent: forecasts 10 % too high give 10, not 0.1", calls(*high), is_a_percentage
        ),
        Case("equals 100 * mean(|y - y_hat| / |y|) on random data", random, matches_the_definition),
        Case(
            "divides by the true value (truth 2, forecast 4 is 100 %, not 50 %)",
            calls(*twice),
            divides_by_the_truth,
        ),
        Case(
            "uses |y| in the denominator, so negative truths work",
            calls(*negative),
            handles_negative_truths,
        ),
        Case(
            "one forecast 10 % too high and one 10 % too low give 10, not 0",
            calls(*both_signs),
            errors_do_not_cancel,
        ),
        Case(
            "entries whose truth is 0 are left out instead of giving inf or NaN",
            calls(*zeros),
            leaves_out_zero_truths,
        ),
        Case(
            "averages over every entry of a (windows, horizon) array",
            calls(y_true.reshape(10, 5), y_pred.reshape(10, 5)),
            averages_over_every_entry,
        ),
    ]


# ---------------------------------------------------------------- exercise 3

_SEASONAL_RULE = "y_hat(t+h) = y(t+h-season) for h <= season; the origin t is X[:, -1]"


def _reference_seasonal_naive(X, horizon, season):
    h = np.arange(1, horizon + 1)
    back = season * np.ceil(h / season).astype(int)
    return X[:, X.shape[1] - 1 + h - back]


def _lag_mistakes(X, horizon, season):
    """Seasonal-naive forecasts shifted by a step or two, and persistence."""
    h = np.arange(1, horizon + 1)
    right = X.shape[1] - 1 + h - season * np.ceil(h / season).astype(int)
    shifted = [
        Mistake(
            f"your forecast is the value {abs(shift)} step{'s' * (abs(shift) > 1)} "
            f"{'after' if shift > 0 else 'before'} the right one: y_hat(t+h) = "
            "y(t+h-season), and the origin t is the last column",
            lambda columns=right + shift: X[:, columns],
        )
        for shift in (-2, -1, 1, 2)
        if (right + shift).min() >= 0 and (right + shift).max() < X.shape[1]
    ]
    persistence = Mistake(
        "that is persistence (the last value repeated); go back one season from each target",
        lambda: np.repeat(X[:, -1:], horizon, axis=1),
    )
    return [*shifted, persistence]


def _forecast(result, X, horizon):
    got = expect_array(result, name="forecast")
    expect_true(
        got.shape == (len(X), horizon),
        f"expected shape ({len(X)}, {horizon}) (windows, horizon), got {got.shape}",
    )
    return got


@lab.check(points=2)
def check_seasonal_naive():
    season, lookback = 6, 10
    periodic = np.tile(np.array([3.0, 5.0, 8.0, 6.0, 4.0, 2.0]), 8)  # period 6
    X_periodic = reference_windows(periodic, lookback, 1)[0][:5]
    X_random = np.random.default_rng(2).normal(size=(4, lookback))

    def continuation(horizon):
        """What follows each periodic window: the exact forecast."""
        return np.stack([periodic[i + lookback : i + lookback + horizon] for i in range(5)])

    def one_forecast_per_window_and_step(result):
        _forecast(result, X_random, 4)

    def exact_on_a_periodic_series(result):
        got, truth = _forecast(result, X_periodic, season), continuation(season)
        if not np.allclose(got, truth):
            mistake = named_mistake(got, _lag_mistakes(X_periodic, season, season))
            raise CaseFailed(
                f"window 0 continues as {truth[0].tolist()}, you forecast "
                f"{got[0].tolist()}: {mistake or _SEASONAL_RULE}"
            )

    def matches_the_definition(result):
        got = _forecast(result, X_random, 5)
        expected = _reference_seasonal_naive(X_random, 5, season)
        mistake = named_mistake(got, _lag_mistakes(X_random, 5, season))
        expect_close(got, expected, name="forecast", hint=mistake or _SEASONAL_RULE)

    def repeats_the_last_season(result):
        expect_close(
            _forecast(result, X_periodic, 2 * season + 3),
            continuation(2 * season + 3),
            name="forecast",
            hint="for h > season go back ceil(h / season) seasons: the forecast for "
            "t + season + 1 is again y(t + 1 - season)",
        )

    def season_one_is_persistence(result):
        expect_close(
            _forecast(result, X_random, 3),
            np.repeat(X_random[:, -1:], 3, axis=1),
            name="forecast",
            hint="with season 1 every step is forecast by the origin X[:, -1]",
        )

    return [
        Case(
            "returns an array of shape (windows, horizon)",
            calls(X_random, 4, season),
            one_forecast_per_window_and_step,
        ),
        Case(
            "on a series that repeats every season, the forecast is exact",
            calls(X_periodic, season, season),
            exact_on_a_periodic_series,
        ),
        Case(
            "y_hat(t+h) = y(t+h-season) on random windows",
            calls(X_random, 5, season),
            matches_the_definition,
        ),
        Case(
            "for horizon > season, repeats the last observed season",
            calls(X_periodic, 2 * season + 3, season),
            repeats_the_last_season,
        ),
        Case(
            "with season 1 it repeats the last value (persistence)",
            calls(X_random, 3, 1),
            season_one_is_persistence,
        ),
    ]


# ---------------------------------------------------------------- exercise 4

_ATTENTION_RULE = "weights = softmax over time of (states . query) / sqrt(d)"


def _reference_weights(query, states):
    scores = (states @ query[..., None]).squeeze(-1) / math.sqrt(query.shape[-1])
    return torch.softmax(scores, dim=-1)


def _attention_mistakes(query, states):
    """Weights of the common wrong temporal attentions."""
    scores = (states @ query[..., None]).squeeze(-1)
    d = query.shape[-1]
    return [
        Mistake(
            "every weight is 1: the softmax normalised a single score "
            "(the feature axis of a (batch, time, 1) tensor); normalise "
            "over time",
            lambda: torch.ones_like(scores),
        ),
        Mistake(
            "the softmax ran over the batch: each example's weights over time must sum to 1",
            lambda: torch.softmax(scores / math.sqrt(d), dim=0),
        ),
        Mistake("the scores were not divided by sqrt(d)", lambda: torch.softmax(scores, dim=-1)),
        Mistake(
            "divide the scores by sqrt(d), not by d", lambda: torch.softmax(scores / d, dim=-1)
        ),
    ]


def _attention_hint(weights, query, states):
    return named_mistake(weights, _attention_mistakes(query, states)) or _ATTENTION_RULE


def _context_and_weights(result, states):
    """The (context, weights) a temporal_attention call returned, checked for shape, as
    float32 (what the inputs are) so that they compare with the references."""
    context, weights = expect_parts(result, "context", "weights")
    context = expect_tensor(context, shape=(states.shape[0], states.shape[2]), name="context")
    weights = expect_tensor(weights, shape=states.shape[:2], name="weights")
    return context.float(), weights.float()


@lab.check(points=3)
def check_temporal_attention():
    batch, time, d = 3, 7, 8
    query, states = seeded_randn(batch, d, seed=10), seeded_randn(batch, time, d, seed=11)
    # One step that matches the query strongly (q . h = 20) among small random ones.
    h = seeded_randn(1, 5, 4, seed=12) * 0.1
    q = torch.tensor([[5.0, 0.0, 0.0, 0.0]])
    h[0, 2] = torch.tensor([4.0, 0.0, 0.0, 0.0])
    run = calls(query, states)

    def batch_then_alone(temporal_attention):  # two calls, compared in one case
        return temporal_attention(query, states), temporal_attention(query[1:2], states[1:2])

    def parts(result):
        return _context_and_weights(result, states)

    def weights_sum_to_one(result):
        _, weights = parts(result)
        sums = weights.sum(dim=1)
        expect_true(
            bool((weights >= 0).all()) and bool(torch.allclose(sums, torch.ones(batch), atol=1e-5)),
            f"the weights of example 0 sum to {sums[0].item():.3g}: "
            f"{_attention_hint(weights, query, states)}",
        )

    def weights_are_the_scaled_softmax(result):
        _, weights = parts(result)
        expect_close(
            weights,
            _reference_weights(query, states),
            name="weights",
            hint=_attention_hint(weights, query, states),
        )

    def context_matches_torch(result):
        context, weights = parts(result)
        reference = F.scaled_dot_product_attention(query[:, None], states, states)[:, 0]
        right_weights = torch.allclose(weights, _reference_weights(query, states), atol=1e-5)
        expect_close(
            context,
            reference,
            name="context",
            hint="context = sum over t of weight_t * h_t"
            if right_weights
            else _attention_hint(weights, query, states),
        )

    def the_matching_step_gets_the_weight(result):
        _, weights = _context_and_weights(result, h)
        expect_true(
            weights[0].argmax().item() == 2 and weights[0, 2].item() > 0.99,
            f"step 2 matches the query (q . h = 20, others near 0) and should get "
            f"weight > 0.99, got {weights[0].tolist()}",
        )

    def examples_stay_apart(result):
        in_batch, alone = expect_parts(result, "the batch's result", "example 1's result")
        in_batch, _ = parts(in_batch)
        alone, _ = _context_and_weights(alone, states[1:2])
        expect_close(
            alone,
            in_batch[1:2],
            name="context of example 1 alone",
            hint="it changed when the other examples were removed: each example "
            "must attend only over its own states (normalise over time, not "
            "over the batch)",
        )

    return [
        Case("returns (context, weights) of shapes (batch, d) and (batch, time)", run, parts),
        Case("each example's weights are positive and sum to 1 over time", run, weights_sum_to_one),
        Case(
            "weights = softmax over time of q . h_t / sqrt(d)", run, weights_are_the_scaled_softmax
        ),
        Case(
            "context equals torch.nn.functional.scaled_dot_product_attention",
            run,
            context_matches_torch,
        ),
        Case(
            "a step that matches the query strongly gets almost all the weight",
            calls(q, h),
            the_matching_step_gets_the_weight,
        ),
        Case(
            "examples of a batch do not mix: one example alone gives what it gave in the batch",
            batch_then_alone,
            examples_stay_apart,
        ),
    ]
