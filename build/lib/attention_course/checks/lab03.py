"""Checks for Lab 3: Bahdanau attention, one piece at a time.

Each check builds its own inputs, runs the student's function, and compares with the
course's model of Chapter 3 (:mod:`attention_course.models.attention` and
:class:`~attention_course.models.seq2seq.AttentionSeq2Seq`) with the same weights.
Where a plausible mistake can be told apart (softmax over the batch, the mask applied
after the softmax, tanh left out, the new decoder state used where the previous one is
meant), the message says which it looks like.
"""

from types import SimpleNamespace

import torch

from ..models.attention import AdditiveScore, masked_softmax
from ..models.seq2seq import AttentionSeq2Seq
from . import core
from .core import CaseFailed, call, lab_check
from .expect import expect_close, expect_parts, expect_tensor, expect_true

LAB = "03"


def _generator(seed):
    return torch.Generator().manual_seed(seed)


def _same(got, expected, atol=1e-5) -> bool:
    return (
        isinstance(got, torch.Tensor)
        and got.shape == expected.shape
        and torch.allclose(got.detach().float(), expected, atol=atol, rtol=1e-4)
    )


def _score_weights(seed, query_size=6, key_size=4, attention_size=5):
    torch.manual_seed(seed)
    score = AdditiveScore(query_size, key_size, attention_size)
    return score, (
        score.key.weight.detach(),
        score.query.weight.detach(),
        score.v.weight.detach()[0],
    )


def _mask(lengths, width):
    return torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]


@lab_check(LAB, points=2)
def check_additive_score(additive_score):
    score, (W_1, W_2, v) = _score_weights(seed=0)
    g = _generator(1)
    query, keys = torch.randn(3, 6, generator=g), torch.randn(3, 7, 4, generator=g)
    with torch.no_grad():
        expected = score(query, score.project_keys(keys))

    def returns_batch_by_length():
        """returns one score per source position: shape (batch, length)"""
        expect_tensor(call(additive_score, query, keys, W_1, W_2, v), shape=(3, 7), name="scores")

    def matches_the_formula():
        """equals v^T tanh(W_1 h_j + W_2 s) for every row and position"""
        got = expect_tensor(
            call(additive_score, query, keys, W_1, W_2, v), shape=(3, 7), name="scores"
        )
        without_tanh = (keys @ W_1.T + (query @ W_2.T)[:, None, :]) @ v
        if _same(got, without_tanh):
            raise CaseFailed(
                "these are v^T (W_1 h_j + W_2 s) without the tanh: squash the "
                "sum with torch.tanh before multiplying by v"
            )
        expect_close(
            got,
            expected,
            name="scores",
            hint="W_1 (attention, key) maps each key, W_2 (attention, query) maps the "
            "query; rows are examples, so multiply by the transposed matrices, "
            "and add the query's projection to every position of its own row",
        )

    def stays_bounded_by_the_tanh():
        """is bounded by sum |v| however large the inputs (the tanh squashes)"""
        got = expect_tensor(
            call(additive_score, 100 * query, 100 * keys, W_1, W_2, v), shape=(3, 7), name="scores"
        )
        bound = v.abs().sum().item()
        expect_true(
            bool((got.abs() <= bound + 1e-4).all()),
            f"with inputs scaled by 100 the scores reach {got.abs().max().item():.3g}, "
            f"but tanh keeps each one within sum |v| = {bound:.3g}: is tanh applied "
            "to W_1 h_j + W_2 s?",
        )

    def scores_each_row_with_its_own_query():
        """each example's scores depend on its own query only"""
        changed = query.clone()
        changed[0] = -changed[0]
        before = expect_tensor(
            call(additive_score, query, keys, W_1, W_2, v), shape=(3, 7), name="scores"
        )
        after = expect_tensor(
            call(additive_score, changed, keys, W_1, W_2, v), shape=(3, 7), name="scores"
        )
        expect_close(
            after[1:],
            before[1:],
            name="scores of the unchanged examples",
            hint="changing the query of example 0 changed the scores of other "
            "examples: broadcast each query over its own positions "
            "([:, None, :]), not over the batch",
        )

    return [
        returns_batch_by_length,
        matches_the_formula,
        stays_bounded_by_the_tanh,
        scores_each_row_with_its_own_query,
    ]


@lab_check(LAB, points=3)
def check_masked_softmax(masked_softmax_fn):
    scores = torch.randn(3, 5, generator=_generator(2))
    mask = _mask([5, 3, 1], 5)
    expected = masked_softmax(scores, mask)

    def keeps_the_shape():
        """returns weights of the same shape as the scores"""
        expect_tensor(call(masked_softmax_fn, scores, mask), shape=(3, 5), name="weights")

    def rows_sum_to_one():
        """each row's weights sum to 1 over the source positions"""
        got = expect_tensor(call(masked_softmax_fn, scores, mask), shape=(3, 5), name="weights")
        sums = got.sum(dim=1)
        if torch.allclose(
            got.sum(dim=0)[mask.all(dim=0)], torch.ones(int(mask.all(0).sum())), atol=1e-4
        ) and not torch.allclose(sums, torch.ones(3), atol=1e-4):
            raise CaseFailed(
                "the columns sum to 1, not the rows: normalise over the source "
                "positions (the last axis, dim=-1), not over the batch"
            )
        worst = int((sums - 1).abs().argmax())
        expect_true(
            bool(torch.allclose(sums, torch.ones(3), atol=1e-4)),
            f"rows must sum to 1, row {worst} sums to {sums[worst].item():.3g}",
        )

    def gives_padding_zero_weight():
        """padded positions get exactly zero weight"""
        got = expect_tensor(call(masked_softmax_fn, scores, mask), shape=(3, 5), name="weights")
        leaked = got[~mask].abs().max().item()
        expect_true(leaked == 0, f"padding got weight up to {leaked:.3g}; it must be 0")

    def masks_before_the_softmax():
        """equals a softmax over each row's real positions only"""
        got = expect_tensor(call(masked_softmax_fn, scores, mask), shape=(3, 5), name="weights")
        after = torch.softmax(scores, dim=-1) * mask
        if _same(got, after):
            raise CaseFailed(
                "this is softmax(scores) with the padding zeroed afterwards: the "
                "padding took its share of the weight first, so rows sum to "
                f"{after.sum(1).min().item():.2f}, not 1. Mask the scores before "
                "the softmax"
            )
        expect_close(
            got,
            expected,
            name="weights",
            hint="set the padded scores to a very negative number, then softmax over the last axis",
        )

    def all_padding_row_gives_zeros_not_nan():
        """a row that is all padding gives zeros, not NaN"""
        empty = torch.zeros(2, 4, dtype=torch.bool)
        empty[0] = True
        got = call(masked_softmax_fn, torch.randn(2, 4, generator=_generator(3)), empty)
        if isinstance(got, torch.Tensor) and got.is_floating_point() and got.isnan().any():
            raise CaseFailed(
                "an all-padding row gave NaN (a softmax of only -inf is 0/0): "
                "fill with a very negative finite number such as "
                "torch.finfo(scores.dtype).min, or zero such rows afterwards"
            )
        got = expect_tensor(got, shape=(2, 4), name="weights")
        expect_true(
            bool((got[1] == 0).all()),
            f"the all-padding row should be all zeros, got {got[1].tolist()}",
        )

    def large_scores_stay_finite():
        """large scores (±1000) give finite weights"""
        big = torch.tensor([[1000.0, -1000.0, 999.0, 5.0]])
        got = call(masked_softmax_fn, big, _mask([3], 4))
        if (
            isinstance(got, torch.Tensor)
            and got.is_floating_point()
            and not torch.isfinite(got).all()
        ):
            raise CaseFailed(
                f"scores of ±1000 gave {got.tolist()}: exp(1000) overflows to "
                "inf; use torch.softmax, or subtract each row's maximum first"
            )
        got = expect_tensor(got, shape=(1, 4), name="weights")
        expect_close(got, masked_softmax(big, _mask([3], 4)), name="weights", atol=1e-4)

    return [
        keeps_the_shape,
        rows_sum_to_one,
        gives_padding_zero_weight,
        masks_before_the_softmax,
        all_padding_row_gives_zeros_not_nan,
        large_scores_stay_finite,
    ]


@lab_check(LAB, points=1)
def check_context_vector(context_vector):
    g = _generator(4)
    weights = torch.softmax(torch.randn(2, 5, generator=g), dim=-1)
    values = torch.randn(2, 5, 3, generator=g)
    expected = torch.einsum("bj,bjd->bd", weights, values)

    def returns_batch_by_value_size():
        """returns one context per example: shape (batch, value size)"""
        expect_tensor(call(context_vector, weights, values), shape=(2, 3), name="context")

    def is_the_weighted_sum():
        """equals sum_j a_j h_j for every example"""
        expect_close(
            call(context_vector, weights, values),
            expected,
            name="context",
            hint="multiply each state h_j by its weight a_j and sum over the source "
            "positions (dim=1)",
        )

    def one_hot_weights_pick_one_state():
        """weight 1 on position j returns exactly h_j"""
        one_hot = torch.zeros(2, 5)
        one_hot[0, 3] = one_hot[1, 0] = 1
        expect_close(
            call(context_vector, one_hot, values),
            torch.stack([values[0, 3], values[1, 0]]),
            name="context",
        )

    return [returns_batch_by_value_size, is_the_weighted_sum, one_hot_weights_pick_one_state]


def _greedy(step, state, steps=10):
    """Ten greedy steps from BOS with ``step(token, state) -> (state, logits)``."""
    token = torch.full((state.shape[0],), 1)
    produced = []
    for _ in range(steps):
        state, logits = step(token, state)
        token = logits.argmax(-1)
        produced.append(token)
    return torch.stack(produced, dim=1)


def _decoder_setup():
    torch.manual_seed(5)
    model = AttentionSeq2Seq(
        source_vocab_size=9,
        target_vocab_size=7,
        embed_dim=4,
        encoder_size=3,
        decoder_size=5,
        attention_size=4,
    ).eval()
    score = model.attention.score
    layers = SimpleNamespace(
        embed=model.embed,
        W_1=score.key.weight.detach(),
        W_2=score.query.weight.detach(),
        v=score.v.weight.detach()[0],
        cell=model.cell,
        output=model.output,
    )
    g = _generator(6)
    source = torch.randint(3, 9, (3, 6), generator=g)
    lengths = torch.tensor([6, 4, 2])
    source[1, 4:] = 0
    source[2, 2:] = 0
    with torch.no_grad():
        encoded, _ = model.encode(source, lengths)
    previous_state = torch.randn(3, 5, generator=g)
    previous_token = torch.tensor([1, 4, 6])
    with torch.no_grad():
        state, logits, weights = model.decoder_step(previous_token, previous_state, encoded)
        # The plausible slip: scoring with the new state s_i instead of s_(i-1).
        new_state_weights = masked_softmax(score(state, encoded.keys), encoded.mask)
    return SimpleNamespace(
        model=model,
        layers=layers,
        encoded=encoded,
        previous_state=previous_state,
        previous_token=previous_token,
        state=state,
        logits=logits,
        weights=weights,
        new_state_weights=new_state_weights,
    )


@lab_check(LAB, points=4)
def check_decoder_step(decoder_step):
    s = _decoder_setup()
    arguments = (s.previous_token, s.previous_state, s.encoded.states, s.encoded.mask, s.layers)

    def run():
        with torch.no_grad():
            result = call(decoder_step, *arguments)
        expect_parts(result, "state", "logits", "weights")
        state = expect_tensor(result[0], shape=(3, 5), name="state")
        logits = expect_tensor(result[1], shape=(3, 7), name="logits")
        weights = expect_tensor(result[2], shape=(3, 6), name="weights")
        return state, logits, weights

    def returns_state_logits_and_weights():
        """returns (state, logits, weights) with the right shapes"""
        run()

    def weights_are_normalised_over_real_positions():
        """the weights are a distribution: rows sum to 1, padding gets 0"""
        _, _, weights = run()
        sums = weights.sum(dim=1)
        expect_true(
            bool(torch.allclose(sums, torch.ones(3), atol=1e-4)),
            f"the weights must sum to 1 in each row, got {sums.numpy().round(3)}: "
            "return the softmax of the scores, not the scores",
        )
        expect_true(
            bool((weights[~s.encoded.mask] == 0).all()), "padded source positions must get weight 0"
        )

    def weights_score_the_previous_state():
        """the weights score s_(i-1), the state before this step"""
        _, _, weights = run()
        if _same(weights, s.new_state_weights, atol=1e-5):
            raise CaseFailed(
                "these weights score the new state s_i; the context c_i is an "
                "input of the step that makes s_i, so the scores use s_(i-1), "
                "the previous state"
            )
        expect_close(
            weights,
            s.weights,
            name="weights",
            hint="a_i = masked_softmax(additive_score(s_(i-1), h, W_1, W_2, v), mask)",
        )

    def new_state_matches_the_model():
        """s_i = GRUCell([E y_(i-1) ; c_i], s_(i-1))"""
        state, _, _ = run()
        expect_close(
            state,
            s.state,
            name="state",
            hint="the cell's input is the embedding of the previous token followed "
            "by the context, concatenated along the last axis; its state is "
            "s_(i-1)",
        )

    def logits_match_the_model():
        """logits = W_o [s_i ; c_i ; E y_(i-1)]"""
        _, logits, _ = run()
        expect_close(
            logits,
            s.logits,
            name="logits",
            hint="the output layer reads the new state s_i, the context c_i and the "
            "embedding of y_(i-1), concatenated in that order",
        )

    def run_step(token, state):
        result = call(decoder_step, token, state, s.encoded.states, s.encoded.mask, s.layers)
        expect_parts(result, "state", "logits", "weights")
        return (
            expect_tensor(result[0], shape=(3, 5), name="state"),
            expect_tensor(result[1], shape=(3, 7), name="logits"),
        )

    def greedy_decoding_with_it_matches_the_chapter_model():
        """ten greedy steps with your function give the chapter model's output"""
        with torch.no_grad():
            first_state = torch.tanh(s.model.first_state(s.encoded.summary))
            got = _greedy(lambda token, state: run_step(token, state), first_state)
            expected = _greedy(
                lambda token, state: s.model.decoder_step(token, state, s.encoded)[:2], first_state
            )
        differs = (got != expected).any(dim=1).nonzero().flatten().tolist()
        expect_true(
            not differs,
            f"for example {differs[0] if differs else 0} your decoder wrote "
            f"{got[differs[0] if differs else 0].tolist()}, the chapter's model "
            f"{expected[differs[0] if differs else 0].tolist()}",
        )

    return [
        returns_state_logits_and_weights,
        weights_are_normalised_over_real_positions,
        weights_score_the_previous_state,
        new_state_matches_the_model,
        logits_match_the_model,
        greedy_decoding_with_it_matches_the_chapter_model,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
