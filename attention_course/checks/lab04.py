"""Checks for Lab 4: scores, sparsemax, windows and samples.

The student's functions are compared with the package's score modules (with copied
weights), the ``entmax`` package's sparsemax (by the method's authors), and
``torch.multinomial`` for the seeded hard-attention sample, all run by the judges.
"""

import torch

from ..data.sequences import length_mask
from ..models.additive_attention import AdditiveScore, masked_softmax
from ..models.attention_zoo import DotScore, GeneralScore, ScaledDotScore
from .calling import CaseFailed
from .encoding import describe
from .expect import (
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("04", "Scores, sparsemax, windows and samples")
score = lab.score


def _query_and_keys(batch, length, query_size, key_size, seed):
    g = seeded_generator(seed)
    return torch.randn(batch, query_size, generator=g), torch.randn(
        batch, length, key_size, generator=g
    )


def _scores(result, shape):
    return expect_tensor(result, shape=shape, name="scores")


def _shaped(*shape):
    """A judge: (batch, source length) scores of this shape."""
    return lambda result: _scores(result, shape)


def _scores_like(reference, hint=""):
    """A judge: the scores equal ``reference()``, computed when judging."""

    def judge(result):
        with torch.no_grad():
            expected = reference()
        expect_close(_scores(result, expected.shape), expected, name="scores", hint=hint)

    return judge


@lab.check(points=1)
def check_dot_score():
    query, keys = _query_and_keys(3, 5, 4, 4, seed=0)
    plain = calls(query, keys)
    one_pair = calls(torch.tensor([[1.0, 2.0, 0.0]]), torch.tensor([[[3.0, -1.0, 5.0]]]))
    own_row = "each query is compared only with the keys of its own row"
    dot_products = _scores_like(lambda: DotScore()(query, keys), own_row)

    return [
        Case(
            "returns (batch, source length) scores for a batch of 3 queries and 5 keys each",
            plain,
            _shaped(3, 5),
        ),
        Case("score[b, j] = query[b] . keys[b, j]", plain, dot_products),
        Case(
            "a batch of one query and one key: 1*3 + 2*(-1) + 0*5 = 1",
            one_pair,
            _scores_like(lambda: torch.tensor([[1.0]])),
        ),
    ]


@lab.check(points=1)
def check_scaled_dot_score():
    # Key size 16 (sqrt 4) and 3 positions: dividing by d, by sqrt(length) or not at all
    # each gives a different answer.
    query, keys = _query_and_keys(2, 3, 16, 16, seed=1)
    q, k = _query_and_keys(2, 3, 64, 64, seed=2)
    plain = calls(query, keys)
    key_size = "use the size of the last axis of the keys, not a fixed number"

    def divides_by_sqrt_d(result):
        got = _scores(result, (2, 3))
        ratio = (got / DotScore()(query, keys)).median().item()
        expect_true(
            abs(ratio - 0.25) < 1e-3,
            f"for d = 16 the scores should be the dot products times 1/sqrt(16) = "
            f"0.25, yours are {ratio:.4g} times the dot products",
        )
        expect_close(got, ScaledDotScore()(query, keys), name="scores")

    return [
        Case("returns (batch, source length) scores", plain, _shaped(2, 3)),
        Case("score[b, j] = query[b] . keys[b, j] / sqrt(d), d = 16", plain, divides_by_sqrt_d),
        Case(
            "with d = 64 the division is by 8",
            calls(q, k),
            _scores_like(lambda: ScaledDotScore()(q, k), key_size),
        ),
    ]


def _general(query_size, key_size, seed):
    torch.manual_seed(seed)
    return GeneralScore(query_size, key_size)


def _module_like(score, query, keys, hint):
    """A judge: the scores equal those of the package's score module (with its weights)."""
    return _scores_like(lambda: score(query, score.project_keys(keys)), hint)


@lab.check(points=2)
def check_general_score():
    score = _general(6, 4, seed=3)
    W = score.W.detach()  # (query_size, key_size) = (6, 4)
    query, keys = _query_and_keys(2, 5, 6, 4, seed=4)
    square = _general(5, 5, seed=5)
    q, k = _query_and_keys(3, 4, 5, 5, seed=6)
    plain = calls(query, keys, W)
    shape_of_W = "W has shape (query size, key size): W h_j is keys @ W.T"
    right_of_W = "s^T W h multiplies W by the key on its right: W h_j, i.e. keys @ W.T"

    return [
        Case(
            "returns (batch, source length) scores for queries of size 6 and keys of size 4",
            plain,
            _shaped(2, 5),
        ),
        Case(
            "score[b, j] = query[b]^T W keys[b, j] with W of shape (query size, key size)",
            plain,
            _module_like(score, query, keys, shape_of_W),
        ),
        Case(
            "with a square W, s^T W h is not s^T W^T h",
            calls(q, k, square.W.detach()),
            _module_like(square, q, k, right_of_W),
        ),
    ]


@lab.check(points=2)
def check_additive_score():
    torch.manual_seed(7)
    score = AdditiveScore(query_size=6, key_size=4, attention_size=3)
    W_1, W_2 = score.key.weight.detach(), score.query.weight.detach()  # (3, 4), (3, 6)
    v = score.v.weight.detach()[0]  # (3,)
    query, keys = _query_and_keys(2, 5, 6, 4, seed=8)
    plain = calls(query, keys, W_1, W_2, v)
    additive = _module_like(
        score,
        query,
        keys,
        "W_1 (attention, key size) maps the keys, W_2 (attention, query size) "
        "the query; add them (broadcast over positions), tanh, then dot with v",
    )

    def bounded_by_v(result):
        got = _scores(result, (2, 5)).double()  # abs() of a bool tensor would raise
        bound = v.abs().sum().item()
        expect_true(
            bool((got.abs() <= bound + 1e-4).all()),
            f"|score| can be at most sum(|v|) = {bound:.3g}, got "
            f"{got.abs().max().item():.3g}: is the tanh applied before v?",
        )

    return [
        Case("returns (batch, source length) scores", plain, _shaped(2, 5)),
        Case("score[b, j] = v^T tanh(W_1 keys[b, j] + W_2 query[b])", plain, additive),
        Case(
            "huge inputs give scores bounded by sum(|v|) (the tanh squashes)",
            calls(100 * query, 100 * keys, W_1, W_2, v),
            bounded_by_v,
        ),
    ]


def _reference_sparsemax(scores):
    import entmax  # the method's authors' implementation, a dependency of the course

    return entmax.sparsemax(scores, dim=-1)


def _weights(result, shape=(6, 7)):
    return expect_tensor(result, shape=shape, name="weights")


@lab.check(points=3)
def check_sparsemax():
    scores = seeded_randn(6, 7, seed=9, scale=2)
    plain = calls(scores)

    def rows_sum_to_one(result):
        sums = _weights(result).sum(-1)
        worst = (sums - 1).abs().argmax()
        expect_true(
            bool(((sums - 1).abs() < 1e-5).all()),
            f"rows must sum to 1, row {int(worst)} sums to {sums[worst].item():.4g}: "
            "the threshold tau = (sum of the k largest scores - 1) / k uses the "
            "cumulative sum of the sorted scores",
        )

    def non_negative(result):
        weights = _weights(result)
        expect_true(
            bool((weights >= 0).all()),
            f"weights must be >= 0, got {weights.min().item():.4g}: clamp z - tau at 0",
        )

    def exactly_zero(result):
        weights = _weights(result, shape=(1, 4))
        shown = [round(w, 3) for w in weights[0].tolist()]
        why = (
            ": a softmax is never exactly 0; sparsemax clamps z - tau at 0"
            if bool((weights > 0).all())
            else ""
        )
        expect_true(
            bool((weights[0, 1:] == 0).all()),
            f"for scores (3, 1, 0.2, -2) sparsemax is (1, 0, 0, 0), got {shown}{why}",
        )

    def in_softmax_order(result):
        order = torch.softmax(scores, -1).argsort(-1, descending=True)
        ordered = _weights(result).double().gather(-1, order)
        expect_true(
            bool((ordered.diff(dim=-1) <= 1e-6).all()),
            "weights sorted by softmax's order must not increase: each weight is "
            "max(z_j - tau, 0), one tau per row",
        )

    def equals_entmax(result):
        expect_close(
            _weights(result),
            _reference_sparsemax(scores),
            name="weights",
            hint="support: the largest k with 1 + k z_(k) > z_(1) + ... + z_(k) "
            "(scores sorted in decreasing order)",
        )

    def dense_answer(result):
        expect_close(
            _weights(result, shape=(1, 3)), torch.tensor([[0.75, 0.25, 0.0]]), name="weights"
        )

    return [
        Case("every row sums to 1", plain, rows_sum_to_one),
        Case("no weight is negative", plain, non_negative),
        Case(
            "spread-out scores give weights that are exactly 0",
            calls(torch.tensor([[3.0, 1.0, 0.2, -2.0]])),
            exactly_zero,
        ),
        Case(
            "a larger score never gets a smaller weight (softmax's ranking)",
            plain,
            in_softmax_order,
        ),
        Case("equals entmax.sparsemax, by the method's authors", plain, equals_entmax),
        Case(
            "scores (0.5, 0, -1) give (0.75, 0.25, 0)",
            calls(torch.tensor([[0.5, 0.0, -1.0]])),
            dense_answer,
        ),
    ]


def _reference_window(centres, half_width, lengths, max_length):
    positions = torch.arange(max_length)[None, :]
    near = (positions - centres[:, None]).abs() <= half_width
    return near & (positions < lengths[:, None])


def _describe_mask(row):
    return "".join("1" if value else "0" for value in row.tolist())


@lab.check(points=2)
def check_window_mask():
    centres = torch.tensor([4, 0, 7, 2])
    lengths = torch.tensor([9, 6, 8, 3])

    def window(half_width):
        """A case's recipe and judge for the window of this half-width."""

        def judge(got):
            expected = _reference_window(centres, half_width, lengths, 10)
            expect_true(
                isinstance(got, torch.Tensor) and got.dtype == torch.bool,
                f"return a bool tensor, got {describe(got)}"
                + (f" of {got.dtype}" if isinstance(got, torch.Tensor) else ""),
            )
            expect_tensor(got, shape=(4, 10), name="mask")
            for row in range(4):
                if not torch.equal(got[row], expected[row]):
                    raise CaseFailed(
                        f"row {row} (centre {int(centres[row])}, length {int(lengths[row])}, "
                        f"D = {half_width}): expected {_describe_mask(expected[row])}, got "
                        f"{_describe_mask(got[row])}. The window is the 2D + 1 positions "
                        "centre - D .. centre + D, both ends included, and only j < length"
                    )

        return calls(centres, half_width, lengths, 10), judge

    return [
        Case("D = 2: positions centre - 2 .. centre + 2, inside the source", *window(2)),
        Case("D = 0: the centre alone", *window(0)),
        Case("D = 20: the whole source, and no padding", *window(20)),
    ]


def _sample(result, shape):
    """The (weights, positions) of a sample from scores of this shape, checked for shape."""
    weights, positions = expect_parts(result, "weights", "positions")
    weights = expect_tensor(weights, shape=shape, name="weights")
    positions = expect_tensor(positions, shape=shape[:1], name="positions")
    return weights.double(), positions.long()


@lab.check(points=2)
def check_sample_hard_attention():
    scores = seeded_randn(5, 6, seed=10)
    mask = length_mask(torch.tensor([6, 4, 1, 5, 2]), 6)
    # Each call gets a generator of its own: the body runs afresh for every check call,
    # and each recipe runs once.
    plain = calls(scores, mask, seeded_generator(11))
    loud = scores.masked_fill(~mask, 50.0)
    seeds = range(5)

    def padding(sample):  # the recipe: five samples, a generator each
        return tuple(sample(loud, mask, seeded_generator(seed)) for seed in seeds)

    many = scores[:1].expand(4000, -1)
    full = torch.ones_like(many, dtype=torch.bool)
    draws = calls(many, full, seeded_generator(12))

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
                "a padded position was chosen: use the masked softmax "
                "(padding probability 0) before sampling",
            )

    def as_often_as_softmax(result):
        weights, _ = _sample(result, (4000, 6))
        frequency = weights.mean(0)
        expected = torch.softmax(scores[0], -1)
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

    return [
        Case("weights are one-hot rows with the 1 at the returned position", plain, one_hot),
        Case("padding is never chosen, even when its score is the largest", padding, never_padding),
        Case(
            "over many draws, each position is chosen as often as its softmax weight",
            draws,
            as_often_as_softmax,
        ),
        Case("with the given generator, picks what torch.multinomial picks", plain, seeded_sample),
    ]
