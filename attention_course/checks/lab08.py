"""Checks for Lab 8: can attention beat persistence on real stock indices?

The checks build their own prices. Prices whose daily return in percent is the day's
number make a leak or an off-by-one visible as a number; prices that double every day
tell log returns from simple ones. The judges compute what they compare with themselves:
windows and MAPEs by the formulas of the exercises, attention by a softmax of their own
(``torch.nn.functional.scaled_dot_product_attention`` and ``nn.MultiheadAttention`` fail
while the student's code runs), and, for the experiment, the baselines' errors from the
prices of R's ``datasets::EuStockMarkets``, and the forecaster's error from the forecasts
the student's run returned.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .calling import CaseFailed
from .encoding import describe
from .expect import (
    Mistake,
    expect_answer,
    expect_array,
    expect_close,
    expect_number,
    expect_parts,
    expect_tensor,
    expect_true,
    named_mistake,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("08", "Can attention beat persistence? Forecasting stock indices")
score = lab.score

ATTENTION_SHORTCUTS = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.MultiheadAttention",
)


# ---------------------------------------------------------------- exercise 1


def _reference_windows(prices, lookback, target):
    prices = np.asarray(prices, dtype=np.float64)
    returns = 100 * np.diff(np.log(prices), axis=0)  # returns[s - 1]: from day s - 1 to day s
    origins = np.arange(lookback, len(prices) - 1)
    X = np.stack([returns[t - lookback : t] for t in origins])
    return X, returns[origins, target], prices[origins, target]


def _numbered_prices(days, indices):
    """Prices whose return in percent on day s is s, for every index (day 0 has none);
    index k's price is k + 1 times index 0's, so that a price tells its index."""
    s = np.arange(days, dtype=np.float64)[:, None]
    return (np.arange(indices) + 1) * np.exp(s * (s + 1) / 200)


def _window_mistakes(prices, lookback, target):
    prices = np.asarray(prices, dtype=np.float64)
    X, y, last = _reference_windows(prices, lookback, target)
    simple = 100 * (prices[1:] / prices[:-1] - 1)
    log_returns = 100 * np.diff(np.log(prices), axis=0)
    origins = np.arange(lookback, len(prices) - 1)
    return {
        "X": [
            Mistake(
                "these are simple returns, 100 (p_t / p_(t-1) - 1): use log returns, "
                "100 ln(p_t / p_(t-1))",
                lambda: np.stack([simple[t - lookback : t] for t in origins]),
            ),
            Mistake(
                "these returns are fractions: multiply by 100 for percent",
                lambda: X / 100,
            ),
            Mistake(
                "each window ends one day late: its last return is the target's (the day "
                "after the origin), which leaks the answer into the input",
                lambda: np.stack([log_returns[t - lookback + 1 : t + 1] for t in origins]),
            ),
        ],
        "y": [
            Mistake(
                "the target is the origin's own return (the last one in the window): "
                "forecast the return of the next day, t + 1",
                lambda: X[:, -1, target],
            ),
            Mistake("these targets are fractions: multiply by 100 for percent", lambda: y / 100),
            Mistake(
                "these are simple returns, 100 (p_t / p_(t-1) - 1): use log returns",
                lambda: simple[origins, target],
            ),
        ]
        + (
            [
                Mistake(
                    "these are the first index's returns: take the column `target` names",
                    lambda: log_returns[origins, 0],
                )
            ]
            if not np.allclose(log_returns[:, 0], log_returns[:, target])
            else []
        ),
        "last": [
            Mistake(
                "that is the price the day after the origin, the one being forecast: "
                "the last known price is the origin's, p_t",
                lambda: prices[origins + 1, target],
            ),
            Mistake(
                "that is the price the day before the origin: the last known price is "
                "the origin's own, p_t",
                lambda: prices[origins - 1, target],
            ),
        ],
    }


def _windows(result, prices, lookback):
    """(X, y, last) as arrays of the right shapes."""
    X, y, last = expect_parts(result, "X", "y", "last")
    days, indices = np.asarray(prices).shape
    n = days - lookback - 1
    X = expect_array(X, name="X")
    y = expect_array(y, name="y")
    last = expect_array(last, name="last")
    if X.ndim == 3 and X.shape[1:] == (lookback, indices - 1):
        raise CaseFailed(
            f"X has shape {X.shape}: {indices - 1} returns per day for {indices} indices. "
            "Did np.diff run along the indices? Returns are taken along time, axis=0"
        )
    if X.ndim == 3 and lookback != indices and X.shape[1:] == (indices, lookback):
        raise CaseFailed(
            f"X has shape {X.shape}: expected (windows, lookback, indices) = "
            f"({n}, {lookback}, {indices}), days before indices"
        )
    expect_true(
        X.shape == (n, lookback, indices) and y.shape == (n,) and last.shape == (n,),
        f"{days} days, lookback {lookback}: expected X {(n, lookback, indices)}, y ({n},) "
        f"and last ({n},); got {X.shape}, {y.shape} and {last.shape}"
        + (": the last window is missing" if len(X) == n - 1 else ""),
    )
    return X, y, last


def _windows_equal(result, prices, lookback, target):
    X, y, last = _windows(result, prices, lookback)
    reference = _reference_windows(prices, lookback, target)
    mistakes = _window_mistakes(prices, lookback, target)
    for name, got, expected in zip(("X", "y", "last"), (X, y, last), reference):
        expect_close(got, expected, name=name, mistakes=mistakes[name], hint=_WINDOW_RULE)


_WINDOW_RULE = (
    "with r_s = 100 ln(p_s / p_(s-1)) and origin t: X = r_(t-lookback+1) .. r_t of every "
    "index, y = r_(t+1) of the target, last = p_t of the target"
)


@lab.check(points=3)
def check_return_windows():
    numbered = _numbered_prices(30, 3)  # every index's return on day s is s %
    doubling = 2.0 ** np.arange(8, dtype=np.float64)[:, None] * np.array([[100.0, 50.0]])
    walk = 1000 * np.exp(np.cumsum(seeded_randn(60, 4, seed=0).double().numpy() * 0.01, axis=0))
    one_index = np.array([[100.0], [101.0], [99.0], [102.0], [103.0]])
    by_day = calls(numbered, 5, 1)

    def shapes(result):
        _windows(result, numbered, 5)

    def no_leakage(result):
        X, y, _ = _windows(result, numbered, 5)
        days_in = X[:, :, 0]  # a return is its day's number
        target_day = y
        leaking = np.flatnonzero(days_in.max(axis=1) >= target_day - 1e-6)
        if len(leaking):
            i = leaking[0]
            mistake = named_mistake(X, _window_mistakes(numbered, 5, 1)["X"])
            raise CaseFailed(
                f"window {i} holds the returns of days {np.round(days_in[i], 3).tolist()} "
                f"and its target is day {target_day[i]:.4g}'s: the input must stop at the "
                "origin, the day before the target" + (f" ({mistake})" if mistake else "")
            )

    def target_is_the_next_day(result):
        _, y, _ = _windows(result, numbered, 5)
        expected = _reference_windows(numbered, 5, 1)[1]  # days 6 .. 29
        if not np.allclose(y, expected):
            mistake = named_mistake(y, _window_mistakes(numbered, 5, 1)["y"])
            raise CaseFailed(
                "window 0's origin is day 5, the last day of its input, so its target is "
                f"day 6's return, 6 %; got {y[0]:.4g}: {mistake or _WINDOW_RULE}"
            )

    def last_price_at_the_origin(result):
        _, _, last = _windows(result, numbered, 5)
        expected = _reference_windows(numbered, 5, 1)[2]
        if not np.allclose(last, expected, rtol=1e-6):
            mistake = named_mistake(last, _window_mistakes(numbered, 5, 1)["last"])
            raise CaseFailed(
                "window 0's origin is day 5: last should be index 1's price that day, "
                f"{expected[0]:.6g}; got {last[0]:.6g}: {mistake or _WINDOW_RULE}"
            )

    def first_and_last_windows(result):
        X, y, _ = _windows(result, numbered, 5)
        expect_true(
            np.allclose(X[0, :, 0], [1, 2, 3, 4, 5]) and np.isclose(y[0], 6),
            f"the first window should hold days 1..5 (day 0 has no return) and forecast "
            f"day 6; got days {np.round(X[0, :, 0], 3).tolist()} and target day {y[0]:.4g}",
        )
        expect_true(
            np.isclose(y[-1], 29),
            f"the last window should forecast the last day, day 29, got day {y[-1]:.4g}",
        )

    def percent_log_returns(result):
        X, y, _ = _windows(result, doubling, 2)
        expected = 100 * math.log(2)
        if not np.allclose(X, expected):
            got = float(X.reshape(-1)[0])
            why = {
                100.0: "that is the simple return, 100 (p_t / p_(t-1) - 1): take the log",
                math.log(2): "that is a fraction: multiply by 100 for percent",
            }
            reason = next((w for v, w in why.items() if math.isclose(got, v, rel_tol=1e-6)), "")
            raise CaseFailed(
                f"prices that double every day have a return of 100 ln 2 = {expected:.4f} % "
                f"a day, got {got:.4g}" + (f": {reason}" if reason else "")
            )
        expect_close(y, np.full(len(y), expected), name="y")

    return [
        Case(
            "returns X (24, 5, 3), y (24,), last (24,) for 30 days of 3 indices, lookback 5",
            by_day,
            shapes,
        ),
        Case("no window's input reaches its target's day (no leakage)", by_day, no_leakage),
        Case(
            "y is the target index's return of the day after the origin",
            by_day,
            target_is_the_next_day,
        ),
        Case(
            "last is the target index's price on the origin day", by_day, last_price_at_the_origin
        ),
        Case(
            "the first window starts with day 1's return, the last forecasts the last day",
            by_day,
            first_and_last_windows,
        ),
        Case(
            "returns are log returns in percent: doubling prices give 69.31 a day",
            calls(doubling, 2, 0),
            percent_log_returns,
        ),
        Case(
            "equals the formula on a random walk of 4 indices (lookback 7, target 2)",
            calls(walk, 7, 2),
            lambda result: _windows_equal(result, walk, 7, 2),
        ),
        Case(
            "one index, lookback 1: each day's return forecasts the next",
            calls(one_index, 1, 0),
            lambda result: _windows_equal(result, one_index, 1, 0),
        ),
    ]


# ---------------------------------------------------------------- exercise 2


def _reference_mape(predicted, true):
    predicted, true = _float64(predicted), _float64(true)
    forecast, truth = np.exp(predicted / 100), np.exp(true / 100)  # times the last price
    return 100 * np.mean(np.abs(forecast - truth) / truth)


def _float64(values):
    if isinstance(values, torch.Tensor):
        values = values.detach().double().numpy()
    return np.asarray(values, dtype=np.float64)


def _mape_mistakes(last, predicted, true):
    last, predicted, true = _float64(last), _float64(predicted), _float64(true)
    forecast, truth = last * np.exp(predicted / 100), last * np.exp(true / 100)
    right = _reference_mape(predicted, true)
    mistakes = [
        Mistake("that is a fraction: MAPE is in percent, multiply by 100", right / 100),
        Mistake(
            "that divides by the forecast price: divide by the true price",
            100 * np.mean(np.abs(forecast - truth) / forecast),
        ),
        Mistake(
            "that divides by the last known price: divide by the true next price",
            100 * np.mean(np.abs(forecast - truth) / last),
        ),
        Mistake(
            "the prices were rebuilt with 1 + r/100: a log return r gives p_t · exp(r / 100)",
            100 * np.mean(np.abs((1 + predicted / 100) - (1 + true / 100)) / (1 + true / 100)),
        ),
        Mistake(
            "over- and under-forecasts cancelled: take the absolute value of each error",
            100 * np.mean((forecast - truth) / truth),
        ),
    ]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mistakes += [
            Mistake(
                "that is the MAPE of the returns themselves, which explodes where a return "
                "is near 0: compare the prices",
                100 * np.mean(np.abs(predicted - true) / np.abs(true)),
            ),
            Mistake(
                "the returns are in percent: divide them by 100 before exp",
                100 * np.mean(np.abs(np.exp(predicted) - np.exp(true)) / np.exp(true)),
            ),
        ]
    return [m for m in mistakes if np.isfinite(m.output)]


def _one_number(result):
    got = expect_array(result, name="MAPE")
    expect_true(got.size == 1, f"return one number, got an array of shape {got.shape}")
    return float(got.reshape(()))


def _mape_judge(last, predicted, true, note="", rel_tol=1e-5):
    def judge(result):
        got, expected = _one_number(result), _reference_mape(predicted, true)
        if not math.isclose(got, expected, rel_tol=rel_tol, abs_tol=1e-9):
            mistake = named_mistake(got, _mape_mistakes(last, predicted, true), atol=1e-9)
            raise CaseFailed(
                f"expected {expected:.6g}{note}, got {got:.6g}: "
                + (
                    mistake
                    or "forecast p_t · exp(predicted / 100), truth p_t · exp(true / 100), "
                    "MAPE = 100 · mean(|forecast - truth| / truth)"
                )
            )

    return judge


@lab.check(points=2)
def check_price_mape():
    rng = np.random.default_rng(1)
    last = rng.uniform(1500, 6000, size=40)
    true = rng.normal(0.05, 1.0, size=40)
    predicted = true + rng.normal(0, 0.7, size=40)
    persistence = np.zeros(3), np.array([1.0, -1.0, 2.0])
    ten_percent = np.array([100 * math.log(1.1)]), np.array([0.0])
    doubled = np.array([100 * math.log(2)]), np.array([0.0])
    crash = np.array([0.0, 0.0]), np.array([-20.0, 20.0])
    prices = np.array([2000.0, 3000.0])

    return [
        Case("returns one number", calls(last, predicted, true), _one_number),
        Case(
            "a perfect forecast scores 0",
            calls(last, true, true),
            _mape_judge(last, true, true),
        ),
        Case(
            "persistence (a predicted return of 0) on returns of 1, -1 and 2 %",
            calls(last[:3], *persistence),
            _mape_judge(last[:3], *persistence),
        ),
        Case(
            "in percent: a forecast 10 % above the true price scores 10",
            calls(last[:1], *ten_percent),
            _mape_judge(last[:1], *ten_percent, " (percent)"),
        ),
        Case(
            "divides by the true price: a forecast of twice the price scores 100",
            calls(last[:1], *doubled),
            _mape_judge(last[:1], *doubled),
        ),
        Case(
            "rebuilds prices with exp: moves of -20 % and +20 % (log returns)",
            calls(prices, *crash),
            _mape_judge(prices, *crash),
        ),
        Case(
            "equals the formula on 40 random days",
            calls(last, predicted, true),
            _mape_judge(last, predicted, true),
        ),
        Case(
            "takes torch tensors (float32) as well",
            calls(
                torch.tensor(last, dtype=torch.float32),
                torch.tensor(predicted, dtype=torch.float32),
                torch.tensor(true, dtype=torch.float32),
            ),
            _mape_judge(last, predicted, true, rel_tol=1e-4),
        ),
    ]


# ---------------------------------------------------------------- exercise 3


def _reference_lag_attention(query, keys, values, lag_bias, mask=None, **mistake):
    query, keys, values, lag_bias = (t.double() for t in (query, keys, values, lag_bias))
    d = query.shape[-1]
    scale = 1.0 if mistake.get("unscaled") else math.sqrt(d)
    bias = lag_bias if mistake.get("unreversed") else lag_bias.flip(0)
    scores = (keys @ query[:, :, None])[..., 0] / scale + bias
    if mask is not None:
        mask = torch.as_tensor(mask, dtype=torch.bool).expand_as(scores)
        if mistake.get("mask_after"):
            weights = torch.softmax(scores, dim=-1) * mask
        elif mistake.get("mask_zero"):
            weights = torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1)
        else:
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    else:
        weights = torch.softmax(scores, dim=0 if mistake.get("over_batch") else -1)
    source = keys if mistake.get("keys_as_values") else values
    return (weights[:, None] @ source)[:, 0], weights


_LAG_MISTAKES = [
    (
        "the lag bias runs the wrong way: lag_bias[0] belongs to the most recent step, the "
        "last key (lag 1), so key s gets lag_bias[L - 1 - s]",
        {"unreversed": True},
    ),
    ("the scores were not divided by √d", {"unscaled": True}),
    (
        "the softmax ran over the batch: each example's weights over its own past must sum to 1",
        {"over_batch": True},
    ),
]
_MASK_MISTAKES = [
    (
        "the mask was applied after the softmax: masked steps must get -inf scores before it, "
        "so that the other weights still sum to 1",
        {"mask_after": True},
    ),
    ("masked scores were set to 0, not -inf: a score of 0 still gets weight", {"mask_zero": True}),
]


def _lag_mistakes(inputs, mask, part):
    """Mistakes for the weights (part 1) or the context (part 0)."""
    listed = _LAG_MISTAKES + (_MASK_MISTAKES if mask is not None else [])
    if part == 0:
        listed = [
            *listed,
            ("the context sums the keys: weight the values", {"keys_as_values": True}),
        ]
    return [
        Mistake(
            text,
            lambda mistake=mistake: _reference_lag_attention(*inputs, mask, **mistake)[part],
        )
        for text, mistake in listed
    ]


_LAG_RULE = (
    "scores = keys · query / √d + lag_bias flipped (key L-1 gets lag_bias[0]); masked "
    "scores -inf; softmax over time; context = weights · values"
)


def _attended(result, batch, steps, d_v):
    context, weights = expect_parts(result, "context", "weights")
    context = expect_tensor(context, shape=(batch, d_v), name="context")
    weights = expect_tensor(weights, shape=(batch, steps), name="weights")
    return context.double(), weights.double()


def _lag_judge(inputs, mask=None, atol=1e-5):
    query, keys, values, lag_bias = inputs
    batch, steps, d_v = values.shape

    def judge(result):
        context, weights = _attended(result, batch, steps, d_v)
        expected_context, expected_weights = _reference_lag_attention(*inputs, mask)
        expect_close(
            weights,
            expected_weights,
            name="weights",
            atol=atol,
            hint=_LAG_RULE,
            mistakes=_lag_mistakes(inputs, mask, 1),
        )
        expect_close(
            context,
            expected_context,
            name="context",
            atol=atol,
            hint="context = Σ_s weight_s · values_s",
            mistakes=_lag_mistakes(inputs, mask, 0),
        )

    return judge


@lab.check(
    points=3,
    forbid=ATTENTION_SHORTCUTS,
)
def check_lag_attention():
    batch, steps, d, d_v = 3, 6, 4, 5
    plain = (
        seeded_randn(batch, d, seed=10),
        seeded_randn(batch, steps, d, seed=11),
        seeded_randn(batch, steps, d_v, seed=12),
        seeded_randn(steps, seed=13),
    )
    # Only the bias speaks: a zero query, and lag 1 (the most recent step) favoured.
    lag_one = (torch.zeros(2, d), plain[1][:2], plain[2][:2], torch.zeros(steps))
    lag_one[3][0] = 8.0
    # Scores of about +1000 in example 0 and about -1000 in example 1, for every step.
    large_keys = torch.zeros(2, steps, d)
    large_keys[0] = torch.linspace(80.0, 120.0, steps)[:, None]
    large_keys[1] = -torch.linspace(90.0, 110.0, steps)[:, None]
    large = (torch.full((2, d), 5.0), large_keys, plain[2][:2], torch.zeros(steps))
    mask_steps = torch.tensor([True, False, True, True, False, True])
    mask_rows = torch.tensor(
        [
            [True] * 6,
            [False, False, False, True, True, True],
            [True, False, False, False, False, False],
        ]
    )
    one = tuple(t[:1] if t.dim() > 1 else t for t in plain)
    precise = tuple(t.double() for t in plain)

    def sums_to_one(result):
        _, weights = _attended(result, batch, steps, d_v)
        sums = weights.sum(dim=-1)
        expect_true(
            bool((weights >= 0).all())
            and bool(torch.allclose(sums, torch.ones(batch, dtype=torch.float64), atol=1e-5)),
            f"each example's weights should be positive and sum to 1 over its {steps} past "
            f"steps, got sums {np.round(sums.numpy(), 4).tolist()}: "
            + (named_mistake(weights, _lag_mistakes(plain, None, 1)) or _LAG_RULE),
        )

    def follows_the_lag(result):
        _, weights = _attended(result, 2, steps, d_v)
        top = weights.argmax(dim=-1).tolist()
        expect_true(
            top == [steps - 1, steps - 1],
            f"with a zero query, lag_bias[0] = 8 must put the weight on the most recent step "
            f"(the last key, index {steps - 1}); most weight went to steps {top}"
            + (
                ": the bias runs the wrong way, key s gets lag_bias[L - 1 - s]"
                if top == [0, 0]
                else ""
            ),
        )

    def stable_for_large_scores(result):
        context, weights = _attended(result, 2, steps, d_v)
        expect_true(
            bool(torch.isfinite(weights).all()) and bool(torch.isfinite(context).all()),
            "scores of about +1000 in one example and -1000 in the other gave NaN or inf: "
            "a softmax written by hand must subtract each row's own maximum before exp",
        )
        _lag_judge(large)(result)

    def masked_steps_get_nothing(mask):
        def judge(result):
            _, weights = _attended(result, batch, steps, d_v)
            blocked = ~mask.expand(batch, steps)
            expect_true(
                bool((weights[blocked].abs() < 1e-9).all()),
                f"masked steps (mask False) should get weight 0, got up to "
                f"{weights[blocked].abs().max().item():.3g}: "
                + (
                    named_mistake(weights, _lag_mistakes(plain, mask, 1))
                    or "set their scores to -inf before the softmax"
                ),
            )
            _lag_judge(plain, mask)(result)

        return judge

    return [
        Case(
            "returns (context (B, d_v), weights (B, L))",
            calls(*plain),
            lambda r: _attended(r, batch, steps, d_v),
        ),
        Case(
            "each example's weights are positive and sum to 1 over time", calls(*plain), sums_to_one
        ),
        Case(
            "equals softmax(keys · query / √d + bias by lag) and weights · values, keys ≠ values",
            calls(*plain),
            _lag_judge(plain),
        ),
        Case("lag_bias[0] is lag 1, the most recent step", calls(*lag_one), follows_the_lag),
        Case(
            "scores of ±1000 (one row very large, one very negative): no NaN",
            calls(*large),
            stable_for_large_scores,
        ),
        Case(
            "a mask of shape (L,): masked steps get weight 0, the rest sum to 1",
            calls(*plain, mask=mask_steps),
            masked_steps_get_nothing(mask_steps),
        ),
        Case(
            "a mask of shape (B, L), different for each example",
            calls(*plain, mask=mask_rows),
            masked_steps_get_nothing(mask_rows),
        ),
        Case("a batch of one example", calls(*one), _lag_judge(one)),
        Case("float64 inputs", calls(*precise), _lag_judge(precise, atol=1e-9)),
    ]


# ---------------------------------------------------------------- exercise 4: the experiment

LOOKBACK, TARGET, TRAIN_SHARE = 20, 0, 0.7  # 20 trading days of returns; forecast the DAX
EXPERIMENT_SEEDS = (0, 1, 2)
_RESULT_KEYS = ("persistence", "drift", "attention", "predicted", "weights")


@functools.lru_cache(maxsize=1)
def eu_stock_prices() -> np.ndarray:
    """Daily closing prices of the DAX, SMI, CAC and FTSE, 1991-1998 (R's
    datasets::EuStockMarkets, 1,860 trading days), as a (1860, 4) float64 array."""
    from ..data.time_series import load_eu_stock_markets

    return load_eu_stock_markets().to_numpy(dtype=np.float64)


def _experiment_reference():
    """The test windows' truth and the two baselines' MAPEs, as the judge computes them."""
    X, y, last = _reference_windows(eu_stock_prices(), LOOKBACK, TARGET)
    split = int(TRAIN_SHARE * len(X))
    drift = np.full(len(X) - split, y[:split].mean())
    return {
        "split": split,
        "y": y[split:],
        "last": last[split:],
        "persistence": _reference_mape(np.zeros(len(X) - split), y[split:]),
        "drift": _reference_mape(drift, y[split:]),
    }


def _experiment_result(result, seed):
    expect_true(
        isinstance(result, dict) and all(key in result for key in _RESULT_KEYS),
        f"seed {seed}: return a dict with the keys {', '.join(map(repr, _RESULT_KEYS))}; got "
        + (
            f"a dict with the keys {sorted(result)[:6]}"
            if isinstance(result, dict)
            else describe(result)
        ),
    )
    reference = _experiment_reference()
    n_test = len(reference["y"])
    return {
        "persistence": expect_number(result["persistence"], name=f"seed {seed}: 'persistence'"),
        "drift": expect_number(result["drift"], name=f"seed {seed}: 'drift'"),
        "attention": expect_number(result["attention"], name=f"seed {seed}: 'attention'"),
        "predicted": expect_array(
            result["predicted"], shape=(n_test,), name=f"seed {seed}: 'predicted'"
        ),
        "weights": expect_array(
            result["weights"], shape=(LOOKBACK,), name=f"seed {seed}: 'weights'"
        ),
    }


@lab.check(points=3, time_limit=60, forbid=ATTENTION_SHORTCUTS)
def check_attention_vs_persistence():
    prices = eu_stock_prices()

    def runs(attention_vs_persistence):
        return [
            attention_vs_persistence(prices, seed)
            for seed in (*EXPERIMENT_SEEDS, EXPERIMENT_SEEDS[0])
        ]

    def results(result):
        expect_true(
            isinstance(result, list) and len(result) == len(EXPERIMENT_SEEDS) + 1,
            f"expected {len(EXPERIMENT_SEEDS) + 1} runs, got {describe(result)}",
        )
        return [
            _experiment_result(r, s)
            for r, s in zip(result, (*EXPERIMENT_SEEDS, EXPERIMENT_SEEDS[0]))
        ]

    def baselines(result):
        got, reference = results(result)[0], _experiment_reference()
        for name, rule in (
            ("persistence", "a predicted return of 0: tomorrow's price is today's"),
            ("drift", "every test day's return forecast as the mean of the training targets"),
        ):
            expect_true(
                math.isclose(got[name], reference[name], rel_tol=1e-5),
                f"the {name} MAPE of the test windows is {reference[name]:.6f} %, you report "
                f"{got[name]:.6f}: {rule}; windows of lookback {LOOKBACK} on all four "
                f"indices, target the DAX (column {TARGET}), the first int({TRAIN_SHARE} · n) "
                "windows for training, the rest for the test",
            )

    def reports_its_forecasts(result):
        reference = _experiment_reference()
        for run, seed in zip(results(result), EXPERIMENT_SEEDS):
            recomputed = _reference_mape(run["predicted"], reference["y"])
            expect_true(
                math.isclose(run["attention"], recomputed, rel_tol=1e-4),
                f"seed {seed}: your 'predicted' returns give a MAPE of {recomputed:.6f} % on "
                f"the test windows, but you report {run['attention']:.6f}: report the MAPE "
                "of the forecasts you return, on the test windows",
            )

    def forecaster_is_trained(result):
        reference = _experiment_reference()
        for run, seed in zip(results(result), EXPERIMENT_SEEDS):
            recomputed = _reference_mape(run["predicted"], reference["y"])
            ratio = recomputed / reference["persistence"]
            expect_true(
                ratio < 1.05,
                f"seed {seed}: the forecaster's MAPE is {recomputed:.4f} %, {ratio:.2f} times "
                "persistence's: a trained model should come close to it. Are the returns in "
                "percent throughout (targets, forecasts, price_mape)?",
            )
            spread = float(np.std(run["predicted"]))
            expect_true(
                spread > 1e-3,
                f"seed {seed}: the forecasts hardly vary (standard deviation {spread:.2g} "
                "percentage points): return the model's forecast for each test window, in "
                "percent like the targets it learned from",
            )

    def weights_are_attention(result):
        for run, seed in zip(results(result), EXPERIMENT_SEEDS):
            weights = run["weights"]
            expect_true(
                bool((weights >= 0).all()) and math.isclose(weights.sum(), 1.0, rel_tol=1e-4),
                f"seed {seed}: 'weights' should be the attention weights averaged over the test "
                f"windows, {LOOKBACK} numbers summing to 1; they sum to {weights.sum():.4g}",
            )

    def same_seed_same_run(result):
        runs_ = results(result)
        expect_true(
            bool(np.allclose(runs_[0]["predicted"], runs_[-1]["predicted"], atol=1e-6)),
            "two runs with seed 0 gave different forecasts: call torch.manual_seed(seed) "
            "before building the model, and draw the batches from a generator seeded with seed",
        )

    return [
        Case(
            "returns the three MAPEs, the test forecasts and the mean weights, for seeds 0, 1, 2",
            runs,
            results,
        ),
        Case("the baselines' MAPEs equal the judge's, on the same test windows", runs, baselines),
        Case(
            "the forecaster's MAPE is that of the forecasts it returns", runs, reports_its_forecasts
        ),
        Case(
            "the forecaster is trained: within 5 % of persistence, forecasts that vary",
            runs,
            forecaster_is_trained,
        ),
        Case("its mean attention weights are 20 numbers summing to 1", runs, weights_are_attention),
        Case("the same seed gives the same run (seed 0, twice)", runs, same_seed_same_run),
    ]


# ---------------------------------------------------------------- the question

_PERSISTENCE_ANSWERS = {
    "a": "a gain of at most about 1 % of the error, which varies from seed to seed by about "
    "as much as its size, and of which the constant drift gets a good part without reading "
    "the past, is not a forecast anyone could trade on",
    "c": "the returns of the past 20 days hardly predict tomorrow's; looking further back "
    "adds more days that predict nothing. No window length makes a random walk predictable",
    "d": "persistence gets the same MAPE without learning anything: a small MAPE on daily "
    "prices only says that prices move about 1 % a day. Judge a forecaster against the "
    "naive forecast, on the same data",
}


@lab.check(points=1)
def check_does_attention_beat_persistence():
    def judge(result):
        expect_answer(result, "b", _PERSISTENCE_ANSWERS)

    return [Case("the reading that fits your runs", calls(), judge)]
