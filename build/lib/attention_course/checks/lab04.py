"""Checks for Lab 4: the attention zoo.

Each check builds its own inputs, runs the student's function, and compares with the
package's score modules (with copied weights), the ``entmax`` package's sparsemax (by the
method's authors), and ``torch.multinomial`` for the seeded hard-attention sample.
"""

import torch

from ..models.attention import AdditiveScore, masked_softmax
from ..models.attention_zoo import DotScore, GeneralScore, ScaledDotScore
from . import core
from .core import call, lab_check
from .expect import expect_close, expect_parts, expect_tensor, expect_true

LAB = "04"


def _generator(seed):
    return torch.Generator().manual_seed(seed)


def _query_and_keys(batch, length, query_size, key_size, seed):
    g = _generator(seed)
    return torch.randn(batch, query_size, generator=g), torch.randn(
        batch, length, key_size, generator=g
    )


def _scores_case(student_fn, args, expected, name, hint):
    """A case function comparing the student's scores with ``expected``."""
    batch, length = expected.shape

    def case():
        got = expect_tensor(call(student_fn, *args), shape=(batch, length), name=name)
        expect_close(got, expected, name=name, hint=hint)

    return case


@lab_check(LAB, points=1)
def check_dot_score(dot_score):
    query, keys = _query_and_keys(3, 5, 4, 4, seed=0)
    expected = DotScore()(query, keys)

    def returns_batch_by_length():
        """returns (batch, source length) scores for a batch of 3 queries and 5 keys each"""
        expect_tensor(call(dot_score, query, keys), shape=(3, 5), name="scores")

    def matches_the_dot_product():
        """score[b, j] = query[b] . keys[b, j]"""
        _scores_case(
            dot_score,
            (query, keys),
            expected,
            "scores",
            "each query is compared only with the keys of its own row",
        )()

    def works_for_one_query_and_one_key():
        """a batch of one query and one key: 1*3 + 2*(-1) + 0*5 = 1"""
        got = expect_tensor(
            call(dot_score, torch.tensor([[1.0, 2.0, 0.0]]), torch.tensor([[[3.0, -1.0, 5.0]]])),
            shape=(1, 1),
            name="scores",
        )
        expect_close(got, torch.tensor([[1.0]]), name="scores")

    return [returns_batch_by_length, matches_the_dot_product, works_for_one_query_and_one_key]


@lab_check(LAB, points=1)
def check_scaled_dot_score(scaled_dot_score):
    # Key size 16 (sqrt 4) and 3 positions: dividing by d, by sqrt(length) or not at all
    # each gives a different answer.
    query, keys = _query_and_keys(2, 3, 16, 16, seed=1)
    expected = ScaledDotScore()(query, keys)

    def returns_batch_by_length():
        """returns (batch, source length) scores"""
        expect_tensor(call(scaled_dot_score, query, keys), shape=(2, 3), name="scores")

    def divides_the_dot_product_by_sqrt_d():
        """score[b, j] = query[b] . keys[b, j] / sqrt(d), d = 16"""
        got = expect_tensor(call(scaled_dot_score, query, keys), shape=(2, 3), name="scores")
        ratio = (got / DotScore()(query, keys)).median().item()
        expect_true(
            abs(ratio - 0.25) < 1e-3,
            f"for d = 16 the scores should be the dot products times 1/sqrt(16) = "
            f"0.25, yours are {ratio:.4g} times the dot products",
        )
        expect_close(got, expected, name="scores")

    def scale_follows_the_key_size():
        """with d = 64 the division is by 8"""
        q, k = _query_and_keys(2, 3, 64, 64, seed=2)
        _scores_case(
            scaled_dot_score,
            (q, k),
            ScaledDotScore()(q, k),
            "scores",
            "use the size of the last axis of the keys, not a fixed number",
        )()

    return [returns_batch_by_length, divides_the_dot_product_by_sqrt_d, scale_follows_the_key_size]


def _general(query_size, key_size, seed):
    torch.manual_seed(seed)
    return GeneralScore(query_size, key_size)


@lab_check(LAB, points=2)
def check_general_score(general_score):
    score = _general(6, 4, seed=3)
    W = score.W.detach()  # (query_size, key_size) = (6, 4)
    query, keys = _query_and_keys(2, 5, 6, 4, seed=4)
    with torch.no_grad():
        expected = score(query, score.project_keys(keys))

    def returns_batch_by_length():
        """returns (batch, source length) scores for queries of size 6 and keys of size 4"""
        expect_tensor(call(general_score, query, keys, W), shape=(2, 5), name="scores")

    def matches_s_transpose_w_h():
        """score[b, j] = query[b]^T W keys[b, j] with W of shape (query size, key size)"""
        _scores_case(
            general_score,
            (query, keys, W),
            expected,
            "scores",
            "W has shape (query size, key size): W h_j is keys @ W.T",
        )()

    def square_w_is_not_transposed():
        """with a square W, s^T W h is not s^T W^T h"""
        square = _general(5, 5, seed=5)
        W5 = square.W.detach()
        q, k = _query_and_keys(3, 4, 5, 5, seed=6)
        with torch.no_grad():
            expected5 = square(q, square.project_keys(k))
        _scores_case(
            general_score,
            (q, k, W5),
            expected5,
            "scores",
            "s^T W h multiplies W by the key on its right: W h_j, i.e. keys @ W.T",
        )()

    return [returns_batch_by_length, matches_s_transpose_w_h, square_w_is_not_transposed]


@lab_check(LAB, points=2)
def check_additive_score(additive_score):
    torch.manual_seed(7)
    score = AdditiveScore(query_size=6, key_size=4, attention_size=3)
    W_1, W_2 = score.key.weight.detach(), score.query.weight.detach()  # (3, 4), (3, 6)
    v = score.v.weight.detach()[0]  # (3,)
    query, keys = _query_and_keys(2, 5, 6, 4, seed=8)
    with torch.no_grad():
        expected = score(query, score.project_keys(keys))

    def returns_batch_by_length():
        """returns (batch, source length) scores"""
        expect_tensor(call(additive_score, query, keys, W_1, W_2, v), shape=(2, 5), name="scores")

    def matches_v_tanh_w1_h_plus_w2_s():
        """score[b, j] = v^T tanh(W_1 keys[b, j] + W_2 query[b])"""
        _scores_case(
            additive_score,
            (query, keys, W_1, W_2, v),
            expected,
            "scores",
            "W_1 (attention, key size) maps the keys, W_2 (attention, query size) "
            "the query; add them (broadcast over positions), tanh, then dot with v",
        )()

    def saturates_like_tanh():
        """huge inputs give scores bounded by sum(|v|) (the tanh squashes)"""
        got = expect_tensor(
            call(additive_score, 100 * query, 100 * keys, W_1, W_2, v), shape=(2, 5), name="scores"
        )
        bound = v.abs().sum().item()
        expect_true(
            bool((got.abs() <= bound + 1e-4).all()),
            f"|score| can be at most sum(|v|) = {bound:.3g}, got "
            f"{got.abs().max().item():.3g}: is the tanh applied before v?",
        )

    return [returns_batch_by_length, matches_v_tanh_w1_h_plus_w2_s, saturates_like_tanh]


def _reference_sparsemax(scores):
    import entmax  # the method's authors' implementation, a dependency of the course

    return entmax.sparsemax(scores, dim=-1)


@lab_check(LAB, points=3)
def check_sparsemax(sparsemax):
    g = _generator(9)
    scores = torch.randn(6, 7, generator=g) * 2

    def result():
        return expect_tensor(call(sparsemax, scores.clone()), shape=(6, 7), name="weights")

    def rows_sum_to_one():
        """every row sums to 1"""
        sums = result().sum(-1)
        worst = (sums - 1).abs().argmax()
        expect_true(
            bool(((sums - 1).abs() < 1e-5).all()),
            f"rows must sum to 1, row {int(worst)} sums to {sums[worst].item():.4g}: "
            "the threshold tau = (sum of the k largest scores - 1) / k uses the "
            "cumulative sum of the sorted scores",
        )

    def weights_are_non_negative():
        """no weight is negative"""
        weights = result()
        expect_true(
            bool((weights >= 0).all()),
            f"weights must be >= 0, got {weights.min().item():.4g}: clamp z - tau at 0",
        )

    def some_weights_are_exactly_zero():
        """spread-out scores give weights that are exactly 0"""
        weights = expect_tensor(
            call(sparsemax, torch.tensor([[3.0, 1.0, 0.2, -2.0]])), shape=(1, 4), name="weights"
        )
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

    def keeps_the_order_of_softmax():
        """a larger score never gets a smaller weight (softmax's ranking)"""
        weights = result()
        order = torch.softmax(scores, -1).argsort(-1, descending=True)
        ordered = weights.gather(-1, order)
        expect_true(
            bool((ordered.diff(dim=-1) <= 1e-6).all()),
            "weights sorted by softmax's order must not increase: each weight is "
            "max(z_j - tau, 0), one tau per row",
        )

    def equals_entmax_sparsemax():
        """equals entmax.sparsemax, by the method's authors"""
        expect_close(
            result(),
            _reference_sparsemax(scores),
            name="weights",
            hint="support: the largest k with 1 + k z_(k) > z_(1) + ... + z_(k) "
            "(scores sorted in decreasing order)",
        )

    def close_scores_give_a_dense_answer():
        """scores (0.5, 0, -1) give (0.75, 0.25, 0)"""
        got = expect_tensor(
            call(sparsemax, torch.tensor([[0.5, 0.0, -1.0]])), shape=(1, 3), name="weights"
        )
        expect_close(got, torch.tensor([[0.75, 0.25, 0.0]]), name="weights")

    return [
        rows_sum_to_one,
        weights_are_non_negative,
        some_weights_are_exactly_zero,
        keeps_the_order_of_softmax,
        equals_entmax_sparsemax,
        close_scores_give_a_dense_answer,
    ]


def _reference_window(centres, half_width, lengths, max_length):
    positions = torch.arange(max_length)[None, :]
    near = (positions - centres[:, None]).abs() <= half_width
    return near & (positions < lengths[:, None])


def _describe_mask(row):
    return "".join("1" if value else "0" for value in row.tolist())


@lab_check(LAB, points=2)
def check_window_mask(window_mask):
    centres = torch.tensor([4, 0, 7, 2])
    lengths = torch.tensor([9, 6, 8, 3])

    def case_for(half_width):
        expected = _reference_window(centres, half_width, lengths, 10)
        got = call(window_mask, centres.clone(), half_width, lengths.clone(), 10)
        expect_true(
            isinstance(got, torch.Tensor) and got.dtype == torch.bool,
            f"return a bool tensor, got {core._describe(got)}"
            + (f" of {got.dtype}" if isinstance(got, torch.Tensor) else ""),
        )
        expect_tensor(got, shape=(4, 10), name="mask")
        for row in range(4):
            if not torch.equal(got[row], expected[row]):
                raise core.CaseFailed(
                    f"row {row} (centre {int(centres[row])}, length {int(lengths[row])}, "
                    f"D = {half_width}): expected {_describe_mask(expected[row])}, got "
                    f"{_describe_mask(got[row])}. The window is the 2D + 1 positions "
                    "centre - D .. centre + D, both ends included, and only j < length"
                )

    def window_of_half_width_two():
        """D = 2: positions centre - 2 .. centre + 2, inside the source"""
        case_for(2)

    def window_of_half_width_zero():
        """D = 0: the centre alone"""
        case_for(0)

    def window_wider_than_the_source():
        """D = 20: the whole source, and no padding"""
        case_for(20)

    return [window_of_half_width_two, window_of_half_width_zero, window_wider_than_the_source]


@lab_check(LAB, points=2)
def check_sample_hard_attention(sample_hard_attention):
    g = _generator(10)
    scores = torch.randn(5, 6, generator=g)
    mask = torch.arange(6)[None, :] < torch.tensor([6, 4, 1, 5, 2])[:, None]
    expected_positions = torch.multinomial(
        masked_softmax(scores, mask), 1, generator=_generator(11)
    ).squeeze(-1)

    def result(scores=scores, mask=mask, seed=11):
        out = call(sample_hard_attention, scores.clone(), mask.clone(), _generator(seed))
        out = expect_parts(out, "weights", "positions")
        weights = expect_tensor(out[0], shape=tuple(scores.shape), name="weights")
        positions = expect_tensor(out[1], shape=(scores.shape[0],), name="positions")
        return weights, positions

    def weights_are_one_hot_at_the_positions():
        """weights are one-hot rows with the 1 at the returned position"""
        weights, positions = result()
        expect_true(
            bool(((weights == 0) | (weights == 1)).all()) and bool((weights.sum(-1) == 1).all()),
            "each row of weights must hold a single 1 and zeros elsewhere",
        )
        expect_true(
            torch.equal(weights.argmax(-1), positions.long()),
            "the 1 of each row must sit at the returned position",
        )

    def never_picks_padding():
        """padding is never chosen, even when its score is the largest"""
        loud = scores.clone()
        loud[~mask] = 50.0
        for seed in range(5):
            _, positions = result(scores=loud, seed=seed)
            picked = mask.gather(1, positions.long().clamp(0, 5)[:, None]).squeeze(1)
            expect_true(
                bool(picked.all()),
                "a padded position was chosen: use the masked softmax "
                "(padding probability 0) before sampling",
            )

    def samples_from_the_softmax():
        """over many draws, each position is chosen as often as its softmax weight"""
        many = scores[:1].expand(4000, -1)
        full = torch.ones_like(many, dtype=torch.bool)
        weights, _ = result(scores=many, mask=full, seed=12)
        frequency = weights.mean(0)
        expected = torch.softmax(scores[0], -1)
        worst = (frequency - expected).abs().max().item()
        expect_true(
            worst < 0.04,
            f"chosen frequencies {[round(f, 2) for f in frequency.tolist()]} should be "
            f"close to softmax {[round(p, 2) for p in expected.tolist()]}: draw with "
            "torch.multinomial from the softmax probabilities (not the argmax)",
        )

    def matches_the_seeded_sample():
        """with the given generator, picks what torch.multinomial picks"""
        _, positions = result()
        expect_true(
            torch.equal(positions.long(), expected_positions),
            f"expected positions {expected_positions.tolist()}, got "
            f"{positions.long().tolist()}: call torch.multinomial(probabilities, 1, "
            "generator=generator) once, on the masked softmax of the scores",
        )

    return [
        weights_are_one_hot_at_the_positions,
        never_picks_padding,
        samples_from_the_softmax,
        matches_the_seeded_sample,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
