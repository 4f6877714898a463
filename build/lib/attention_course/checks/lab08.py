"""Checks for Lab 8: time-series forecasting, piece by piece.

Each check builds its own series. A series whose value at step ``i`` is ``i`` makes a
leak or an off-by-one visible as a number; a purely periodic series makes the
seasonal-naive forecast exact, so any shift of its lag shows. The windows are compared
with the package's :func:`~attention_course.data.time_series.sliding_windows` (Chapter 8
uses it), the attention with ``torch.nn.functional.scaled_dot_product_attention``.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..data.time_series import sliding_windows as reference_windows
from . import core
from .core import CaseFailed, call, lab_check
from .expect import (
    expect_array,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    seeded_randn,
)

LAB = "08"


# ---------------------------------------------------------------- exercise 1


@lab_check(LAB, points=3)
def check_sliding_windows(sliding_windows):
    positions = np.arange(20.0)  # the value is the position

    def windows(series, lookback, horizon):
        X, y = expect_parts(call(sliding_windows, series, lookback, horizon), "X", "y")
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

    def returns_one_row_per_window():
        """returns (X, y) of shapes (windows, lookback) and (windows, horizon)"""
        X, y, n = windows(positions, 5, 3)
        expect_true(
            len(X) == n,
            f"a series of 20 steps with lookback 5 and horizon 3 has {n} windows "
            f"(starts 0 to {n - 1}), got {len(X)}"
            + (": the last window is missing" if len(X) == n - 1 else ""),
        )

    def no_target_is_in_its_own_input():
        """no window's input contains any of its targets (no leakage)"""
        X, y, _ = windows(positions, 5, 3)
        leaking = np.flatnonzero(X.max(axis=1) >= y.min(axis=1))
        if len(leaking):
            i = leaking[0]
            raise CaseFailed(
                f"window {i} has input {X[i].tolist()} and targets "
                f"{y[i].tolist()}: its input must stop just before its first target"
            )

    def targets_start_right_after_the_input():
        """the first target is the step right after the last input"""
        X, y, _ = windows(positions, 5, 3)
        expect_true(
            bool((y[:, 0] == X[:, -1] + 1).all()),
            f"window 0 is {X[0].tolist()} -> {y[0].tolist()}, expected "
            "[0.0, 1.0, 2.0, 3.0, 4.0] -> [5.0, 6.0, 7.0]: no step may be skipped "
            "or repeated between input and target",
        )

    def first_and_last_windows_are_right():
        """starts at step 0 and ends with the series' last step"""
        X, y, _ = windows(np.arange(10.0), 3, 2)
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

    def matches_the_reference_on_a_real_looking_series():
        """matches the reference on a random series (lookback 7, horizon 4)"""
        series = np.random.default_rng(0).normal(size=30).cumsum()
        X, y, _ = windows(series, 7, 4)
        X_ref, y_ref = reference_windows(series, 7, 4)
        expect_close(X, X_ref, name="X")
        expect_close(y, y_ref, name="y")

    def works_with_one_step_windows():
        """lookback 1 and horizon 1: each step predicts the next"""
        X, y, _ = windows(np.arange(4.0), 1, 1)
        expect_close(X, [[0], [1], [2]], name="X")
        expect_close(y, [[1], [2], [3]], name="y")

    return [
        returns_one_row_per_window,
        no_target_is_in_its_own_input,
        targets_start_right_after_the_input,
        first_and_last_windows_are_right,
        matches_the_reference_on_a_real_looking_series,
        works_with_one_step_windows,
    ]


# ---------------------------------------------------------------- exercise 2


def _reference_mape(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    keep = y_true != 0
    return 100 * np.mean(np.abs(y_true[keep] - y_pred[keep]) / np.abs(y_true[keep]))


def _mape_hint(got, y_true, y_pred):
    """Name the common mistake a wrong MAPE matches, if any."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    keep = y_true != 0
    error = np.abs(y_true[keep] - y_pred[keep])
    candidates = [
        (
            _reference_mape(y_true, y_pred) / 100,
            "that is a fraction: MAPE is reported in percent, so multiply by 100",
        ),
        (
            100 * np.mean(error / np.abs(y_pred[keep])),
            "divide by the true values, not by the forecasts",
        ),
        (
            100 * np.mean(error / y_true[keep]),
            "divide by |y_true|: with negative truths the plain y_true makes errors negative",
        ),
        (
            100 * np.mean((y_true[keep] - y_pred[keep]) / np.abs(y_true[keep])),
            "take the absolute value of each error, or over- and under-forecasts cancel",
        ),
    ]
    for value, hint in candidates:
        if np.isfinite(value) and np.isclose(got, value, rtol=1e-6, atol=1e-9):
            return hint
    return "MAPE = 100 * mean(|y_true - y_pred| / |y_true|)"


@lab_check(LAB, points=2)
def check_mape(mape):
    rng = np.random.default_rng(1)
    y_true = rng.uniform(2, 9, size=50)
    y_pred = y_true + rng.normal(0, 0.5, size=50)

    def value(truth, forecast, name="MAPE"):
        got = expect_array(call(mape, truth, forecast), name=name)
        expect_true(got.size == 1, f"return one number, got an array of shape {got.shape}")
        return float(got.reshape(()))

    def returns_one_number():
        """returns a single number"""
        value(y_true, y_pred)

    def is_a_percentage():
        """is in percent: forecasts 10 % too high give 10, not 0.1"""
        truth, forecast = [2.0, 4.0, 5.0], [2.2, 4.4, 5.5]
        got = value(truth, forecast)
        expect_true(
            np.isclose(got, 10.0),
            f"expected 10 (percent), got {got:.4g}: {_mape_hint(got, truth, forecast)}",
        )

    def matches_the_definition():
        """equals 100 * mean(|y - y_hat| / |y|) on random data"""
        got = value(y_true, y_pred)
        expected = _reference_mape(y_true, y_pred)
        expect_true(
            np.isclose(got, expected, rtol=1e-6),
            f"expected {expected:.4f}, got {got:.4f}: {_mape_hint(got, y_true, y_pred)}",
        )

    def divides_by_the_truth_not_the_forecast():
        """divides by the true value (truth 2, forecast 4 is 100 %, not 50 %)"""
        got = value([2.0], [4.0])
        expect_true(
            np.isclose(got, 100.0), f"expected 100, got {got:.4g}: {_mape_hint(got, [2.0], [4.0])}"
        )

    def handles_negative_truths():
        """uses |y| in the denominator, so negative truths work"""
        truth, forecast = np.array([-2.0, -4.0, 5.0]), np.array([-1.0, -5.0, 4.0])
        got = value(truth, forecast)
        expected = _reference_mape(truth, forecast)
        expect_true(
            np.isclose(got, expected),
            f"expected {expected:.4f}, got {got:.4f}: {_mape_hint(got, truth, forecast)}",
        )

    def errors_of_both_signs_do_not_cancel():
        """one forecast 10 % too high and one 10 % too low give 10, not 0"""
        got = value([10.0, 10.0], [11.0, 9.0])
        expect_true(
            np.isclose(got, 10.0),
            f"expected 10, got {got:.4g}: {_mape_hint(got, [10.0, 10.0], [11.0, 9.0])}",
        )

    def leaves_out_zero_truths():
        """entries whose truth is 0 are left out instead of giving inf or NaN"""
        truth, forecast = np.array([0.0, 4.0, 5.0, 0.0]), np.array([1.0, 5.0, 5.0, 0.0])
        got = expect_array(call(mape, truth, forecast), name="MAPE with zeros in y_true")
        expect_true(
            np.isclose(float(got.reshape(-1)[0]), 12.5),
            f"expected 12.5 (the mean of 25 % and 0 % over the two non-zero truths), "
            f"got {float(got.reshape(-1)[0]):.4g}",
        )

    def works_on_two_dimensional_arrays():
        """averages over every entry of a (windows, horizon) array"""
        truth, forecast = y_true.reshape(10, 5), y_pred.reshape(10, 5)
        got = value(truth, forecast)
        expect_true(
            np.isclose(got, _reference_mape(y_true, y_pred), rtol=1e-6),
            f"expected {_reference_mape(y_true, y_pred):.4f} (the mean over all 50 "
            f"entries), got {got:.4f}",
        )

    return [
        returns_one_number,
        is_a_percentage,
        matches_the_definition,
        divides_by_the_truth_not_the_forecast,
        handles_negative_truths,
        errors_of_both_signs_do_not_cancel,
        leaves_out_zero_truths,
        works_on_two_dimensional_arrays,
    ]


# ---------------------------------------------------------------- exercise 3


def _reference_seasonal_naive(X, horizon, season):
    h = np.arange(1, horizon + 1)
    back = season * np.ceil(h / season).astype(int)
    return X[:, X.shape[1] - 1 + h - back]


def _lag_hint(got, X, horizon, season):
    """Say by how many steps a wrong seasonal-naive forecast is shifted, if it is."""
    for shift in (-2, -1, 1, 2):
        h = np.arange(1, horizon + 1)
        columns = X.shape[1] - 1 + h - season * np.ceil(h / season).astype(int) + shift
        if (
            columns.min() >= 0
            and columns.max() < X.shape[1]
            and got.shape == (len(X), horizon)
            and np.allclose(got, X[:, columns])
        ):
            return (
                f"your forecast is the value {abs(shift)} step{'s' * (abs(shift) > 1)} "
                f"{'after' if shift > 0 else 'before'} the right one: y_hat(t+h) = "
                "y(t+h-season), and the origin t is the last column"
            )
    if got.shape == (len(X), horizon) and np.allclose(got, X[:, -1:]):
        return "that is persistence (the last value repeated); go back one season from each target"
    return "y_hat(t+h) = y(t+h-season) for h <= season; the origin t is X[:, -1]"


@lab_check(LAB, points=2)
def check_seasonal_naive(seasonal_naive):
    season, lookback = 6, 10
    periodic = np.tile(np.array([3.0, 5.0, 8.0, 6.0, 4.0, 2.0]), 8)  # period 6
    X_periodic = reference_windows(periodic, lookback, 1)[0][:5]
    X_random = np.random.default_rng(2).normal(size=(4, lookback))

    def forecast(X, horizon, season):
        got = expect_array(call(seasonal_naive, X, horizon, season), name="forecast")
        expect_true(
            got.shape == (len(X), horizon),
            f"expected shape ({len(X)}, {horizon}) (windows, horizon), got {got.shape}",
        )
        return got

    def returns_one_forecast_per_window_and_step():
        """returns an array of shape (windows, horizon)"""
        forecast(X_random, 4, season)

    def is_exact_on_a_periodic_series():
        """on a series that repeats every season, the forecast is exact"""
        got = forecast(X_periodic, season, season)
        truth = np.stack([periodic[i + lookback : i + lookback + season] for i in range(5)])
        expect_true(
            np.allclose(got, truth),
            f"window 0 continues as {truth[0].tolist()}, you forecast "
            f"{got[0].tolist()}: {_lag_hint(got, X_periodic, season, season)}",
        )

    def matches_the_definition_on_random_windows():
        """y_hat(t+h) = y(t+h-season) on random windows"""
        got = forecast(X_random, 5, season)
        expected = _reference_seasonal_naive(X_random, 5, season)
        expect_close(got, expected, name="forecast", hint=_lag_hint(got, X_random, 5, season))

    def repeats_the_last_season_beyond_one_season():
        """for horizon > season, repeats the last observed season"""
        got = forecast(X_periodic, 2 * season + 3, season)
        truth = np.stack([periodic[i + lookback : i + lookback + 2 * season + 3] for i in range(5)])
        expect_close(
            got,
            truth,
            name="forecast",
            hint="for h > season go back ceil(h / season) seasons: the forecast for "
            "t + season + 1 is again y(t + 1 - season)",
        )

    def season_one_is_persistence():
        """with season 1 it repeats the last value (persistence)"""
        got = forecast(X_random, 3, 1)
        expect_close(
            got,
            np.repeat(X_random[:, -1:], 3, axis=1),
            name="forecast",
            hint="with season 1 every step is forecast by the origin X[:, -1]",
        )

    return [
        returns_one_forecast_per_window_and_step,
        is_exact_on_a_periodic_series,
        matches_the_definition_on_random_windows,
        repeats_the_last_season_beyond_one_season,
        season_one_is_persistence,
    ]


# ---------------------------------------------------------------- exercise 4


def _reference_attention(query, states):
    scores = (states @ query[..., None]).squeeze(-1) / math.sqrt(query.shape[-1])
    weights = torch.softmax(scores, dim=-1)
    return (weights[..., None] * states).sum(dim=-2), weights


def _attention_hint(weights, query, states):
    scores = (states @ query[..., None]).squeeze(-1)
    d = query.shape[-1]
    candidates = [
        (
            torch.ones_like(scores),
            "every weight is 1: the softmax normalised a single score "
            "(the feature axis of a (batch, time, 1) tensor); normalise "
            "over time",
        ),
        (
            torch.softmax(scores / math.sqrt(d), dim=0),
            "the softmax ran over the batch: each example's weights over time must sum to 1",
        ),
        (torch.softmax(scores, dim=-1), "the scores were not divided by sqrt(d)"),
        (torch.softmax(scores / d, dim=-1), "divide the scores by sqrt(d), not by d"),
    ]
    for candidate, hint in candidates:
        if weights.shape == candidate.shape and torch.allclose(weights, candidate, atol=1e-5):
            return hint
    return "weights = softmax over time of (states . query) / sqrt(d)"


@lab_check(LAB, points=3)
def check_temporal_attention(temporal_attention):
    batch, time, d = 3, 7, 8
    query, states = seeded_randn(batch, d, seed=10), seeded_randn(batch, time, d, seed=11)
    expected_context, expected_weights = _reference_attention(query, states)

    def run(q, h):
        context, weights = expect_parts(call(temporal_attention, q, h), "context", "weights")
        context = expect_tensor(context, shape=(h.shape[0], h.shape[2]), name="context")
        weights = expect_tensor(weights, shape=h.shape[:2], name="weights")
        return context, weights

    def returns_context_and_weights():
        """returns (context, weights) of shapes (batch, d) and (batch, time)"""
        run(query, states)

    def weights_sum_to_one_over_time():
        """each example's weights are positive and sum to 1 over time"""
        _, weights = run(query, states)
        sums = weights.sum(dim=1)
        expect_true(
            bool((weights >= 0).all()) and bool(torch.allclose(sums, torch.ones(batch), atol=1e-5)),
            f"the weights of example 0 sum to {sums[0].item():.3g}: "
            f"{_attention_hint(weights, query, states)}",
        )

    def weights_are_the_scaled_softmax():
        """weights = softmax over time of q . h_t / sqrt(d)"""
        _, weights = run(query, states)
        expect_close(
            weights, expected_weights, name="weights", hint=_attention_hint(weights, query, states)
        )

    def context_matches_torch():
        """context equals torch.nn.functional.scaled_dot_product_attention"""
        context, weights = run(query, states)
        reference = F.scaled_dot_product_attention(query[:, None], states, states)[:, 0]
        expect_close(
            context,
            reference,
            name="context",
            hint="context = sum over t of weight_t * h_t"
            if torch.allclose(weights, expected_weights, atol=1e-5)
            else _attention_hint(weights, query, states),
        )

    def the_matching_step_gets_the_weight():
        """a step that matches the query strongly gets almost all the weight"""
        h = seeded_randn(1, 5, 4, seed=12) * 0.1
        q = torch.tensor([[5.0, 0.0, 0.0, 0.0]])
        h[0, 2] = torch.tensor([4.0, 0.0, 0.0, 0.0])
        _, weights = run(q, h)
        expect_true(
            weights[0].argmax().item() == 2 and weights[0, 2].item() > 0.99,
            f"step 2 matches the query (q . h = 20, others near 0) and should get "
            f"weight > 0.99, got {weights[0].tolist()}",
        )

    def examples_of_a_batch_stay_apart():
        """examples of a batch do not mix: one example alone gives what it gave in the batch"""
        in_batch, _ = run(query, states)
        alone, _ = run(query[1:2], states[1:2])
        expect_close(
            alone,
            in_batch[1:2],
            name="context of example 1 alone",
            hint="it changed when the other examples were removed: each example "
            "must attend only over its own states (normalise over time, not "
            "over the batch)",
        )

    return [
        returns_context_and_weights,
        weights_sum_to_one_over_time,
        weights_are_the_scaled_softmax,
        context_matches_torch,
        the_matching_step_gets_the_weight,
        examples_of_a_batch_stay_apart,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
