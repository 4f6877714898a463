"""Checks for Lab 4: weights that are exactly zero, by sparsemax or by a sample.

The student writes a masked sparsemax, measures its support as the temperature changes,
samples hard attention, and computes the two gradient estimators of hard attention
(REINFORCE and straight-through), then measures their bias and noise on a problem whose
exact gradient is known. The judges compute every expected value themselves: sparsemax
with the ``entmax`` package (by the method's authors), samples with ``torch.multinomial``,
and the estimators' exact means and variances in closed form, summing over every position
instead of sampling. The experiments are judged on the student's own run.

Exercise functions are called only by the checks; ``returned(exercise)`` gives the cells
that print a table what the student's function returned in the last run of its check, in
this kernel.
"""

from __future__ import annotations

import math

import torch

from ..data.sequences import length_mask
from ..models.additive_attention import masked_softmax
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
    expect_weights,
    reject_mistakes,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("04", "Sparsemax, temperature and hard attention's gradients")
score = lab.score

returned = lab.returned  # what an exercise returned in its check's last run


# --------------------------------------------------------------------- Exercise 1

SPARSEMAX_SHORTCUTS = [
    "entmax.sparsemax",
    "entmax.activations.sparsemax",
    "entmax.activations.SparsemaxFunction.apply",
    "entmax.sparsemax_bisect",
    "entmax.root_finding.sparsemax_bisect",
    "entmax.entmax_bisect",
    "entmax.root_finding.entmax_bisect",
    "attention_course.models.attention_zoo.sparsemax",
    "attention_course.models.attention_zoo.masked_sparsemax",
]


def reference_masked_sparsemax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sparsemax over each row's real positions, 0 elsewhere, in float64 (for the judges)."""
    import entmax  # the method's authors' implementation, a dependency of the course

    scores = scores.double()
    mask = mask.expand(scores.shape)
    # A padded score 1 below the row's lowest real score is never in the support (the
    # threshold is at least the largest score minus 1), so the real weights are the
    # sparsemax of the real scores alone.
    lowest = scores.masked_fill(~mask, math.inf).amin(dim=-1, keepdim=True)
    lowest = torch.where(mask.any(dim=-1, keepdim=True), lowest, torch.zeros_like(lowest))
    filled = torch.where(mask, scores, lowest - 1)
    return entmax.sparsemax(filled, dim=-1) * mask


def _like_sparsemax(scores, mask, hint: str = ""):
    """A judge: the weights equal sparsemax over each row's real positions."""

    def judge(result):
        got = expect_weights(result, scores.shape)

        def zeroed_after():
            import entmax

            return entmax.sparsemax(scores.double(), dim=-1) * mask.expand(scores.shape)

        reject_mistakes(
            got,
            Mistake(
                "this is sparsemax over every position with the padding zeroed afterwards: "
                "the padding took part in choosing the threshold, so the rows no longer sum "
                "to 1. Keep the padding out of the support before sorting",
                zeroed_after,
            ),
        )
        reject_mistakes(
            got,
            Mistake(
                "these are softmax weights: sparsemax subtracts a threshold tau from the "
                "scores and clamps at 0, max(z_j - tau, 0)",
                lambda: masked_softmax(scores.double(), mask.expand(scores.shape)),
            ),
        )
        expect_close(
            got,
            reference_masked_sparsemax(scores, mask),
            name="weights",
            hint=hint
            or "sort each row's scores in decreasing order; the support is the largest k "
            "with 1 + k z_(k) > z_(1) + ... + z_(k), and tau = (z_(1) + ... + z_(k) - 1) / k",
        )

    return judge


@lab.check(points=3, forbid=SPARSEMAX_SHORTCUTS)
def check_masked_sparsemax():
    g = seeded_generator(1)
    scores = 2 * torch.randn(4, 7, generator=g) + torch.tensor([[0.0], [30.0], [-10.0], [5.0]])
    mask = length_mask(torch.tensor([7, 4, 1, 5]), 7)
    plain = calls(scores, mask)

    spread = torch.tensor([[3.0, 1.0, 0.2, -2.0, 0.5]])
    everywhere = torch.ones(1, 5, dtype=torch.bool)

    loud_padding = torch.randn(2, 5, generator=g)
    padding_mask = length_mask(torch.tensor([3, 5]), 5)
    loud_padding = loud_padding.masked_fill(~padding_mask, 50.0)

    very_negative = torch.tensor([[-5000.0, -5000.5, -5003.0, 0.0, 0.0]])
    three_real = length_mask(torch.tensor([3]), 5)

    empty = torch.tensor([[True, True, True, False], [False, False, False, False]])
    empty_scores = torch.randn(2, 4, generator=g)

    huge = torch.tensor([[1000.0, 999.5, 998.0, -1000.0], [-1000.0, -999.5, -1003.0, -1001.0]])
    all_real = torch.ones(2, 4, dtype=torch.bool)

    shared = torch.tensor([True, True, True, True, False])  # (n,): one mask for every row
    shared_scores = 2 * torch.randn(3, 5, generator=g)
    per_source = length_mask(torch.tensor([5, 2]), 5)[:, None, :]  # (batch, 1, n)
    many_queries = 2 * torch.randn(2, 3, 5, generator=g)
    one_row = torch.tensor([[0.5, 0.0, -1.0, 2.0]], dtype=torch.float64)
    one_mask = torch.tensor([[True, True, True, False]])

    def shaped(result):
        expect_weights(result, (4, 7))

    def rows_sum_to_one(result):
        sums = expect_weights(result, (4, 7)).sum(dim=-1)
        worst = int((sums - 1).abs().argmax())
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
            f"each row's weights must sum to 1, row {worst} sums to {sums[worst].item():.4g}: "
            "the threshold tau = (z_(1) + ... + z_(k) - 1) / k makes them",
        )

    def zero_on_padding(result):
        leaked = expect_weights(result, (4, 7))[~mask].abs().max().item()
        expect_true(leaked == 0, f"padded positions got weight up to {leaked:.3g}; it must be 0")

    def exact_zeros(result):
        got = expect_weights(result, (1, 5))
        shown = [round(w, 3) for w in got[0].tolist()]
        expect_true(
            bool((got[0, 1:] == 0).all()),
            f"for scores (3, 1, 0.2, -2, 0.5) sparsemax is (1, 0, 0, 0, 0), got {shown}"
            + (": a softmax is never exactly 0" if bool((got > 0).all()) else ""),
        )

    def loud(result):
        got = expect_weights(
            result, (2, 5), "a padded score of 50 made the weights NaN or infinite"
        )
        expect_true(
            bool((got[0, 3:] == 0).all()) and abs(got[0].sum().item() - 1) < 1e-5,
            f"with padded scores of 50 the first row is {got[0].numpy().round(3).tolist()}: "
            "the padding must be out of the support before the threshold is chosen, "
            "whatever its scores",
        )
        expect_close(got, reference_masked_sparsemax(loud_padding, padding_mask), name="weights")

    def very_negative_row(result):
        got = expect_weights(
            result, (1, 5), "real scores near -5000 made the weights NaN or infinite"
        )
        total = got.sum().item()
        expect_true(
            abs(total - 1) < 1e-5,
            f"real scores near -5000 (padded scores 0) give weights summing to {total:.3g}: "
            "a padded position must never enter the support, even when the real scores "
            "are far below its score, or below a fill value such as -1000 (zeroing the "
            "padded scores puts them above every real one here)",
        )
        expect_close(got, reference_masked_sparsemax(very_negative, three_real), name="weights")

    def all_padding_row(result):
        got = expect_weights(
            result,
            (2, 4),
            "a row that is all padding gave NaN or infinity: -inf in the sorted scores "
            "makes the cumulative sums -inf, and the threshold inf - inf. Give such a row "
            "zeros",
        )
        expect_true(
            bool((got[1] == 0).all()),
            f"a row that is all padding should be all zeros, got {got[1].tolist()}",
        )
        expect_close(got, reference_masked_sparsemax(empty_scores, empty), name="weights")

    def large(result):
        got = expect_weights(result, (2, 4), "scores of ±1000 gave NaN or infinity")
        expect_close(got, reference_masked_sparsemax(huge, all_real), name="weights", atol=1e-4)

    return [
        Case("returns weights of the scores' shape", plain, shaped),
        Case("each row's weights sum to 1", plain, rows_sum_to_one),
        Case("padded positions get exactly 0", plain, zero_on_padding),
        Case(
            "equals entmax.sparsemax over each row's real positions",
            plain,
            _like_sparsemax(scores, mask),
        ),
        Case(
            "spread-out scores give weights exactly 0",
            calls(spread, everywhere),
            exact_zeros,
        ),
        Case(
            "padded scores of 50 change nothing",
            calls(loud_padding, padding_mask),
            loud,
        ),
        Case(
            "a row whose real scores are all near -5000",
            calls(very_negative, three_real),
            very_negative_row,
        ),
        Case(
            "a row that is all padding gives zeros, not NaN",
            calls(empty_scores, empty),
            all_padding_row,
        ),
        Case("scores of ±1000", calls(huge, all_real), large),
        Case(
            "a mask of shape (n,) applies to every row",
            calls(shared_scores, shared),
            _like_sparsemax(shared_scores, shared),
        ),
        Case(
            "a mask of shape (batch, 1, n) applies to every query of its row",
            calls(many_queries, per_source),
            _like_sparsemax(many_queries, per_source),
        ),
        Case(
            "a batch of one row in float64",
            calls(one_row, one_mask),
            _like_sparsemax(one_row, one_mask),
        ),
    ]


# --------------------------------------------------------------------- Experiment 1

TEMPERATURES = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]


def support_inputs():
    """The rows of scores the temperature experiment measures, and their mask."""
    g = seeded_generator(2)
    scores = torch.randn(300, 12, generator=g)
    lengths = torch.randint(3, 13, (300,), generator=g)
    return scores, length_mask(lengths, 12)


def reference_support(scores, mask, temperatures, denominator="real", pooled=False):
    """Mean share of each row's real positions that sparsemax(scores / T) keeps."""
    shares = []
    for temperature in temperatures:
        kept = (reference_masked_sparsemax(scores / temperature, mask) > 0).sum(dim=-1)
        real = mask.sum(dim=-1) if denominator == "real" else torch.full_like(kept, mask.shape[-1])
        share = kept.sum() / real.sum() if pooled else (kept / real).mean()
        shares.append(share.item())
    return torch.tensor(shares, dtype=torch.float64)


def _shares(result):
    shares = expect_array(result, shape=(len(TEMPERATURES),), name="the list of shares")
    return torch.from_numpy(shares)


@lab.check(points=2)
def check_support_by_temperature():
    scores, mask = support_inputs()

    def run(support_by_temperature):
        result = support_by_temperature(scores, mask, list(TEMPERATURES))
        try:
            lab.keep("support_by_temperature", [float(x) for x in result])
        except Exception:
            lab.keep("support_by_temperature", None)
        return result

    def shaped(result):
        _shares(result)

    def rises(result):
        shares = _shares(result)
        expect_true(
            bool(((shares > 0) & (shares <= 1)).all()),
            f"a share of the real positions lies in (0, 1], got {shares.numpy().round(3).tolist()}",
        )
        expect_true(
            bool((shares.diff() >= -1e-9).all()),
            f"the shares {shares.numpy().round(3).tolist()} fall as the temperature rises: "
            "divide the scores by T (a higher T brings the scores closer together)",
        )

    def measured(result):
        shares = _shares(result)
        mistakes = [
            Mistake(
                "these are shares of all 12 positions: divide each row's count by its "
                "number of *real* positions",
                lambda: reference_support(scores, mask, TEMPERATURES, denominator="all"),
            ),
            Mistake(
                "these are the kept positions of all rows over the real positions of all "
                "rows: take each row's share, then the mean of the shares",
                lambda: reference_support(scores, mask, TEMPERATURES, pooled=True),
            ),
            Mistake(
                "these shares come from scores multiplied by T: sparsemax(scores / T)",
                lambda: reference_support(scores, mask, [1 / t for t in TEMPERATURES]),
            ),
        ]
        # A flip of a position whose weight is a rounding error away from 0 moves a mean
        # share by about 0.001; the mistakes move it by far more.
        expect_close(
            shares,
            reference_support(scores, mask, TEMPERATURES),
            name="the list of shares",
            atol=0.005,
            mistakes=mistakes,
            hint="count the real positions with a weight > 0 in each row of "
            "masked_sparsemax(scores / T, mask), divide by the row's real positions, and "
            "average over the rows",
        )

    return [
        Case("returns one share per temperature", run, shaped),
        Case("shares lie in (0, 1] and never fall as T rises", run, rises),
        Case("equals the shares a reference sparsemax keeps", run, measured),
    ]


@lab.check(points=1)
def check_half_support_temperature():
    scores, mask = support_inputs()

    def both(answer, support_by_temperature):
        return answer(), support_by_temperature(scores, mask, list(TEMPERATURES))

    def judge(result):
        answer, shares = expect_parts(result, "answer", "shares")
        temperature = expect_number(answer, name="your answer")
        try:
            shares = _shares(shares)
        except CaseFailed as failure:
            raise CaseFailed(f"support_by_temperature must work first: {failure}") from None
        reaching = [t for t, share in zip(TEMPERATURES, shares.tolist()) if share >= 0.5]
        expect_true(
            bool(reaching),
            "your support_by_temperature never reaches a share of 0.5: fix it first",
        )
        expect_true(
            temperature in TEMPERATURES,
            f"answer with one of the temperatures measured, {TEMPERATURES}, got {temperature:g}",
        )
        expect_true(
            math.isclose(temperature, reaching[0]),
            f"at T = {temperature:g} your measured share is "
            f"{shares[TEMPERATURES.index(temperature)].item():.2f}: read your table again "
            "for the lowest temperature whose share is at least 0.5",
        )

    return [
        Case(
            "the lowest temperature at which your sparsemax keeps half the positions",
            both,
            judge,
        )
    ]


# --------------------------------------------------------------------- Exercise 3


def _sample(result, shape):
    """The (weights, positions) of a sample from scores of this shape, checked for shape.

    Weights may be float, int or bool: a one-hot row is a one-hot row."""
    weights, positions = expect_parts(result, "weights", "positions")
    weights = expect_tensor(weights, shape=shape, name="weights")
    positions = expect_tensor(positions, shape=shape[:1], name="positions")
    expect_true(
        not positions.is_floating_point(),
        f"positions should be integer indices, got {positions.dtype}",
    )
    return weights.double(), positions.long()


@lab.check(points=2)
def check_sample_hard_attention():
    scores = seeded_randn(5, 6, seed=10)
    mask = length_mask(torch.tensor([6, 4, 1, 5, 2]), 6)
    # Each recipe gets a generator of its own: the body runs afresh for every check
    # call, and each recipe runs once.
    plain = calls(scores, mask, seeded_generator(11))
    loud = scores.masked_fill(~mask, 50.0)
    seeds = range(5)

    def padding(sample):  # the recipe: five samples, a generator each
        return tuple(sample(loud, mask, seeded_generator(seed)) for seed in seeds)

    many = scores[:1].expand(4000, -1)
    full = torch.ones_like(many, dtype=torch.bool)
    draws = calls(many, full, seeded_generator(12))
    low = torch.tensor([[-10000.0, -10001.0, -10000.5, 0.0]], dtype=torch.float64)
    low_mask = torch.tensor([[True, True, True, False]])

    def one_hot(result):
        weights, positions = _sample(result, (5, 6))
        expect_true(
            bool(((weights == 0) | (weights == 1)).all()) and bool((weights.sum(-1) == 1).all()),
            "each row of weights must hold a single 1 and zeros elsewhere",
        )
        expect_true(
            torch.equal(weights.argmax(-1), positions),
            "the 1 of each row must sit at the returned position",
        )

    def never_padding(results):
        expect_true(
            isinstance(results, tuple) and len(results) == len(seeds),
            f"expected one result per call, got {describe(results)}",
        )
        for result in results:
            _, positions = _sample(result, (5, 6))
            picked = mask.gather(1, positions.clamp(0, 5)[:, None]).squeeze(1)
            expect_true(
                bool(picked.all()),
                "a padded position was chosen: use a masked softmax (padding probability "
                "0) before sampling",
            )

    def as_often_as_softmax(result):
        weights, _ = _sample(result, (4000, 6))
        frequency = weights.mean(0)
        expected = torch.softmax(scores[0], -1).double()
        worst = (frequency - expected).abs().max().item()
        expect_true(
            worst < 0.04,
            f"chosen frequencies {[round(f, 2) for f in frequency.tolist()]} should be "
            f"close to softmax {[round(p, 2) for p in expected.tolist()]}: draw with "
            "torch.multinomial from the softmax probabilities (not the argmax)",
        )

    def seeded_sample(result):
        _, positions = _sample(result, (5, 6))
        probabilities = masked_softmax(scores, mask)
        expected = torch.multinomial(probabilities, 1, generator=seeded_generator(11)).squeeze(-1)
        expect_true(
            torch.equal(positions, expected),
            f"expected positions {expected.tolist()}, got "
            f"{positions.tolist()}: call torch.multinomial(probabilities, 1, "
            "generator=generator) once, on the masked softmax of the scores",
        )

    def one_low_row(result):
        weights, positions = _sample(result, (1, 4))
        expect_true(
            bool(positions[0] < 3) and weights[0, :3].sum().item() == 1,
            f"a row of real scores near -10000 (padding 0) chose position "
            f"{positions.tolist()}: the padding must never be chosen",
        )

    return [
        Case("weights are one-hot rows with the 1 at the returned position", plain, one_hot),
        Case("padding is never chosen, even when its score is the largest", padding, never_padding),
        Case(
            "over many draws, each position is chosen as often as its softmax weight",
            draws,
            as_often_as_softmax,
        ),
        Case("with the given generator, picks what torch.multinomial picks", plain, seeded_sample),
        Case(
            "one row in float64 whose real scores are all near -10000",
            calls(low, low_mask, seeded_generator(13)),
            one_low_row,
        ),
    ]


# --------------------------------------------------------------------- Exercise 4


def reference_gradients(scores, values, target, positions, baseline):
    """REINFORCE's and straight-through's estimates of d E[L] / d scores, in float64.

    L_j = |values_j - target|^2 is the loss when position j is chosen; a = softmax(scores).
    REINFORCE: (L_chosen - baseline) (onehot - a). Straight-through: the gradient through
    the softmax of L(c) = |c - target|^2 at c = values_chosen, a * (u - a . u) with
    u_k = 2 values_k . (values_chosen - target).
    """
    scores, values, target = scores.double(), values.double(), target.double()
    baseline = torch.as_tensor(baseline, dtype=torch.float64)
    a = torch.softmax(scores, dim=-1)
    rows = torch.arange(len(scores))
    chosen = values[rows, positions]  # (B, d)
    losses = ((chosen - target) ** 2).sum(-1)  # (B,)
    one_hot = torch.zeros_like(a)
    one_hot[rows, positions] = 1.0
    reinforce = (losses - baseline)[:, None] * (one_hot - a)
    u = 2 * (values @ (chosen - target)[:, :, None]).squeeze(-1)  # (B, n)
    straight = a * (u - (a * u).sum(-1, keepdim=True))
    return reinforce, straight


def _soft_gradient(scores, values, target):
    """The gradient of L(sum_j a_j values_j): soft attention's, a plausible slip."""
    scores, values, target = scores.double(), values.double(), target.double()
    a = torch.softmax(scores, dim=-1)
    context = (a[:, :, None] * values).sum(1)
    u = 2 * (values @ (context - target)[:, :, None]).squeeze(-1)
    return a * (u - (a * u).sum(-1, keepdim=True))


def _gradient_problem(batch, n, d, seed):
    g = seeded_generator(seed)
    return dict(
        scores=torch.randn(batch, n, generator=g),
        values=torch.randn(batch, n, d, generator=g),
        target=torch.randn(batch, d, generator=g),
        positions=torch.randint(0, n, (batch,), generator=g),
    )


def _estimates(result, shape):
    reinforce, straight = expect_parts(result, "reinforce", "straight_through")
    return (
        expect_tensor(reinforce, shape=shape, name="reinforce").double(),
        expect_tensor(straight, shape=shape, name="straight_through").double(),
    )


def _estimator_judge(problem, baseline, which):
    index = ("reinforce", "straight-through").index(which)

    def judge(result):
        got = _estimates(result, problem["scores"].shape)[index]
        expected = reference_gradients(**problem, baseline=baseline)[index]
        if which == "reinforce":
            mistakes = [
                Mistake(
                    "the sign is flipped: the estimate is (L - b) times the gradient of "
                    "log a_chosen, which is onehot - a",
                    -expected,
                ),
                Mistake(
                    "this leaves out the baseline: subtract it from the loss, (L - b)",
                    lambda: reference_gradients(**problem, baseline=0.0)[0],
                ),
                Mistake(
                    "the gradient of log a_chosen with respect to the scores is onehot - a "
                    "(the softmax's normaliser depends on every score), not onehot alone",
                    lambda: expected + _loss_times_a(problem, baseline),
                ),
            ]
            hint = "REINFORCE: (L_chosen - baseline) (onehot(chosen) - a), a = softmax(scores)"
        else:
            mistakes = [
                Mistake(
                    "this is soft attention's gradient: the forward pass must use the "
                    "chosen value (the one-hot weights), and only the backward pass the "
                    "softmax",
                    lambda: _soft_gradient(problem["scores"], problem["values"], problem["target"]),
                ),
            ]
            hint = (
                "straight-through: forward with the one-hot weights (c = values_chosen), "
                "backward as if the weights were a = softmax(scores)"
            )
        expect_close(got, expected, name=which.replace("-", "_"), hint=hint, mistakes=mistakes)

    return judge


def _loss_times_a(problem, baseline):
    scores, values, target = (problem[k].double() for k in ("scores", "values", "target"))
    rows = torch.arange(len(scores))
    losses = ((values[rows, problem["positions"]] - target) ** 2).sum(-1)
    return (losses - torch.as_tensor(baseline, dtype=torch.float64))[:, None] * torch.softmax(
        scores, dim=-1
    )


def _gradient_call(problem, baseline):
    return calls(
        problem["scores"], problem["values"], problem["target"], problem["positions"], baseline
    )


@lab.check(points=3)
def check_hard_attention_gradients():
    plain = _gradient_problem(5, 6, 3, seed=20)
    per_row = seeded_randn(5, seed=21).abs() * 3  # a baseline for each row
    single = {
        name: (value.double() if value.is_floating_point() else value)
        for name, value in _gradient_problem(1, 4, 2, seed=22).items()
    }
    zero = _gradient_call(plain, 0.0)

    def shapes(result):
        _estimates(result, (5, 6))

    def sums_to_zero(result):
        reinforce, _ = _estimates(result, (5, 6))
        sums = reinforce.sum(-1).abs().max().item()
        expect_true(
            sums < 1e-4,
            f"each row of the REINFORCE estimate should sum to 0 (onehot and a both sum "
            f"to 1), one sums to {sums:.3g}",
        )

    return [
        Case("returns (reinforce, straight_through), each (batch, n)", zero, shapes),
        Case(
            "REINFORCE: (L_chosen - b) (onehot - a), with b = 0",
            zero,
            _estimator_judge(plain, 0.0, "reinforce"),
        ),
        Case("each REINFORCE row sums to 0", zero, sums_to_zero),
        Case(
            "straight-through: one-hot forward, softmax backward",
            zero,
            _estimator_judge(plain, 0.0, "straight-through"),
        ),
        Case(
            "a baseline for each row (a tensor of shape (batch,))",
            _gradient_call(plain, per_row),
            _estimator_judge(plain, per_row, "reinforce"),
        ),
        Case(
            "one row in float64, baseline 0.5: REINFORCE",
            _gradient_call(single, 0.5),
            _estimator_judge(single, 0.5, "reinforce"),
        ),
        Case(
            "one row in float64, baseline 0.5: straight-through",
            _gradient_call(single, 0.5),
            _estimator_judge(single, 0.5, "straight-through"),
        ),
    ]


# --------------------------------------------------------------------- Experiment 2

ESTIMATORS = ("reinforce", "reinforce with baseline", "straight-through")
SAMPLES = 100_000


def estimator_problem():
    """The hard-attention problem of the experiment: scores, values and target."""
    g = seeded_generator(6)
    scores = torch.randn(8, generator=g)
    values = torch.randn(8, 4, generator=g)
    target = torch.randn(4, generator=g) + 2
    return scores, values, target


def exact_estimator_statistics(scores, values, target) -> dict:
    """Each estimator's exact relative bias and noise, summed over every position."""
    scores, values, target = scores.double(), values.double(), target.double()
    n = len(scores)
    a = torch.softmax(scores, dim=-1)
    losses = ((values - target) ** 2).sum(-1)
    exact = a * (losses - (a * losses).sum())
    every = dict(
        scores=scores.expand(n, n),
        values=values.expand(n, *values.shape),
        target=target.expand(n, -1),
        positions=torch.arange(n),
    )
    estimates = {
        "reinforce": reference_gradients(**every, baseline=0.0)[0],
        "reinforce with baseline": reference_gradients(**every, baseline=(a * losses).sum())[0],
        "straight-through": reference_gradients(**every, baseline=0.0)[1],
    }
    statistics = {}
    for name, estimate in estimates.items():  # row j: the estimate when j is chosen
        mean = (a[:, None] * estimate).sum(0)
        noise = (a * ((estimate - mean) ** 2).sum(-1)).sum() / (exact**2).sum()
        statistics[name] = ((mean - exact).norm() / exact.norm()).item(), noise.item()
    return statistics


def _measured(result) -> dict:
    expect_true(
        isinstance(result, dict),
        f"return a dict with the keys {list(ESTIMATORS)}, got {describe(result)}",
    )
    missing = [name for name in ESTIMATORS if name not in result]
    expect_true(not missing, f"the dict has no key {missing[0]!r}" if missing else "")
    measured = {}
    for name in ESTIMATORS:
        pair = expect_array(result[name], shape=(2,), name=f"result[{name!r}]")
        expect_true(
            bool((pair >= 0).all()),
            f"result[{name!r}] holds (bias, noise), both >= 0, got {pair.round(4).tolist()}",
        )
        measured[name] = (float(pair[0]), float(pair[1]))
    return measured


@lab.check(points=3, time_limit=60)
def check_estimator_experiment():
    scores, values, target = estimator_problem()

    def run(estimator_experiment):
        result = estimator_experiment(scores, values, target, SAMPLES, seeded_generator(7))
        if isinstance(result, dict):
            try:
                lab.keep(
                    "estimator_experiment",
                    {name: tuple(float(x) for x in result[name]) for name in ESTIMATORS},
                )
            except Exception:
                lab.keep("estimator_experiment", None)
        return result

    def shaped(result):
        _measured(result)

    def unbiased(result):
        measured = _measured(result)
        exact = exact_estimator_statistics(scores, values, target)
        for name in ESTIMATORS[:2]:
            bias, _ = measured[name]
            # The mean of SAMPLES estimates misses the expectation by about
            # sqrt(noise / SAMPLES) (relative to the exact gradient's size).
            allowed = 4 * math.sqrt(exact[name][1] / SAMPLES)
            expect_true(
                bias <= allowed,
                f"the {name} estimates' mean is {bias:.3f} (relative) away from the exact "
                f"gradient; REINFORCE is unbiased, so with {SAMPLES:,} samples it should "
                f"be within about {allowed:.3f}. Is the exact gradient a * (L - sum_k a_k "
                "L_k), and are the positions drawn from the softmax of the scores?",
            )

    def biased(result):
        measured = _measured(result)
        exact = exact_estimator_statistics(scores, values, target)["straight-through"][0]
        bias = measured["straight-through"][0]
        expect_true(
            abs(bias - exact) <= 0.03,
            f"your straight-through bias is {bias:.3f}; on this problem it is {exact:.3f} "
            "(|mean of the estimates - exact gradient| / |exact gradient|)",
        )

    def noise(result):
        measured = _measured(result)
        exact = exact_estimator_statistics(scores, values, target)
        for name in ESTIMATORS:
            got, expected = measured[name][1], exact[name][1]
            expect_true(
                abs(got - expected) <= 0.1 * expected,
                f"your noise for {name} is {got:.3g}; on this problem it is {expected:.3g} "
                "(mean of |estimate - mean of the estimates|^2, divided by "
                "|exact gradient|^2)",
            )

    return [
        Case("returns (bias, noise) for each of the three estimators", run, shaped),
        Case("REINFORCE, with or without the baseline, is unbiased", run, unbiased),
        Case("straight-through's bias is this problem's", run, biased),
        Case("each estimator's noise is this problem's (within 10%)", run, noise),
    ]


# --------------------------------------------------------------------- Question

_ESTIMATOR_ANSWERS = {
    "a": "your own table measured a bias for straight-through far beyond the sampling error",
    "c": "your table shows REINFORCE with the baseline as unbiased as without it: the "
    "baseline's term has expectation 0, since the gradients of log a_j, weighted by a_j, "
    "sum to 0",
    "d": "straight-through's mean missed the exact gradient by far more than the sampling "
    "error allows: it is biased",
    "e": "noise and bias are different things: REINFORCE without a baseline is the noisiest "
    "of the three and yet unbiased",
}


@lab.check(points=1)
def check_reading_the_estimators():
    def judge(result):
        expect_answer(result, "b", _ESTIMATOR_ANSWERS)

    return [Case("the reading your table supports", calls(), judge)]
