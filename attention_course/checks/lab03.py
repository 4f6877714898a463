"""Checks for Lab 3: Bahdanau attention, one piece at a time.

The student's functions are compared with the course's model of Chapter 3
(:mod:`attention_course.models.additive_attention` and
:class:`~attention_course.models.seq2seq.AttentionSeq2Seq`) with the same weights, which
the judges run themselves. Where a plausible mistake can be told apart (softmax over the
batch, the mask applied after the softmax, tanh left out, the new decoder state used where
the previous one is meant), the message says which it looks like.
"""

from types import SimpleNamespace

import torch

from ..data.sequences import length_mask
from ..models.additive_attention import AdditiveScore, masked_softmax
from ..models.seq2seq import AttentionSeq2Seq
from .calling import CaseFailed
from .expect import (
    Mistake,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("03", "Attention, one step at a time")
score = lab.score


def _fail_on(got, mistake: Mistake) -> None:
    """Fail with the mistake's description when ``got`` is that mistake's output."""
    if mistake.matches(got):
        raise CaseFailed(mistake.description)


def _as_float64(answer: torch.Tensor) -> torch.Tensor:
    """An answer as float64, whatever its dtype, for the judges' own arithmetic: a float64
    or bool answer must not break torch.allclose (one dtype on both sides) or abs()."""
    return answer.to(torch.float64)


def _score_weights(seed, query_size=6, key_size=4, attention_size=5):
    torch.manual_seed(seed)
    score = AdditiveScore(query_size, key_size, attention_size)
    return score, (
        score.key.weight.detach(),
        score.query.weight.detach(),
        score.v.weight.detach()[0],
    )


@lab.check(points=2)
def check_additive_score():
    score, (W_1, W_2, v) = _score_weights(seed=0)
    g = seeded_generator(1)
    query, keys = torch.randn(3, 6, generator=g), torch.randn(3, 7, 4, generator=g)
    changed = query.clone()
    changed[0] = -changed[0]
    plain = calls(query, keys, W_1, W_2, v)
    large = calls(100 * query, 100 * keys, W_1, W_2, v)

    def before_and_after(additive_score):
        return additive_score(query, keys, W_1, W_2, v), additive_score(changed, keys, W_1, W_2, v)

    def scores(result):
        return _as_float64(expect_tensor(result, shape=(3, 7), name="scores"))

    def formula(result):
        got = scores(result)
        _fail_on(
            got,
            Mistake(
                "these are v^T (W_1 h_j + W_2 s) without the tanh: squash the "
                "sum with torch.tanh before multiplying by v",
                lambda: (keys @ W_1.T + (query @ W_2.T)[:, None, :]) @ v,
            ),
        )
        with torch.no_grad():
            expected = score(query, score.project_keys(keys))
        expect_close(
            got,
            expected,
            name="scores",
            hint="W_1 (attention, key) maps each key, W_2 (attention, query) maps the "
            "query; rows are examples, so multiply by the transposed matrices, "
            "and add the query's projection to every position of its own row",
        )

    def bounded(result):
        got = scores(result)
        bound = v.abs().sum().item()
        expect_true(
            bool((got.abs() <= bound + 1e-4).all()),
            f"with inputs scaled by 100 the scores reach {got.abs().max().item():.3g}, "
            f"but tanh keeps each one within sum |v| = {bound:.3g}: is tanh applied "
            "to W_1 h_j + W_2 s?",
        )

    def own_query(result):
        before, after = (scores(part) for part in expect_parts(result, "before", "after"))
        expect_close(
            after[1:],
            before[1:],
            name="scores of the unchanged examples",
            hint="changing the query of example 0 changed the scores of other "
            "examples: broadcast each query over its own positions "
            "([:, None, :]), not over the batch",
        )

    return [
        Case("returns one score per source position: shape (batch, length)", plain, scores),
        Case("equals v^T tanh(W_1 h_j + W_2 s) for every row and position", plain, formula),
        Case("is bounded by sum |v| however large the inputs (the tanh squashes)", large, bounded),
        Case("each example's scores depend on its own query only", before_and_after, own_query),
    ]


@lab.check(points=3)
def check_masked_softmax():
    scores = seeded_randn(3, 5, seed=2)
    mask = length_mask(torch.tensor([5, 3, 1]), 5)
    empty = torch.zeros(2, 4, dtype=torch.bool)
    empty[0] = True
    big = torch.tensor([[1000.0, -1000.0, 999.0, 5.0]])
    plain = calls(scores, mask)
    all_padding = calls(seeded_randn(2, 4, seed=3), empty)
    large = calls(big, length_mask(torch.tensor([3]), 4))

    def weights(result):
        return _as_float64(expect_tensor(result, shape=(3, 5), name="weights"))

    def rows_sum_to_one(result):
        got = weights(result)
        sums = got.sum(dim=1)
        columns = got.sum(dim=0)[mask.all(dim=0)]
        if torch.allclose(columns, torch.ones_like(columns), atol=1e-4) and not torch.allclose(
            sums, torch.ones_like(sums), atol=1e-4
        ):
            raise CaseFailed(
                "the columns sum to 1, not the rows: normalise over the source "
                "positions (the last axis, dim=-1), not over the batch"
            )
        worst = int((sums - 1).abs().argmax())
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)),
            f"rows must sum to 1, row {worst} sums to {sums[worst].item():.3g}",
        )

    def zero_on_padding(result):
        leaked = weights(result)[~mask].abs().max().item()
        expect_true(leaked == 0, f"padding got weight up to {leaked:.3g}; it must be 0")

    def masked_first(result):
        got = weights(result)
        after = torch.softmax(scores, dim=-1) * mask
        _fail_on(
            got,
            Mistake(
                "this is softmax(scores) with the padding zeroed afterwards: the "
                "padding took its share of the weight first, so rows sum to "
                f"{after.sum(1).min().item():.2f}, not 1. Mask the scores before "
                "the softmax",
                after,
            ),
        )
        expect_close(
            got,
            masked_softmax(scores, mask),
            name="weights",
            hint="set the padded scores to a very negative number, then softmax over the last axis",
        )

    def zeros_not_nan(result):
        if isinstance(result, torch.Tensor) and result.is_floating_point() and result.isnan().any():
            raise CaseFailed(
                "an all-padding row gave NaN (a softmax of only -inf is 0/0): "
                "fill with a very negative finite number such as "
                "torch.finfo(scores.dtype).min, or zero such rows afterwards"
            )
        got = expect_tensor(result, shape=(2, 4), name="weights")
        expect_true(
            bool((got[1] == 0).all()),
            f"the all-padding row should be all zeros, got {got[1].tolist()}",
        )

    def finite(result):
        if (
            isinstance(result, torch.Tensor)
            and result.is_floating_point()
            and not torch.isfinite(result).all()
        ):
            raise CaseFailed(
                f"scores of ±1000 gave {result.tolist()}: exp(1000) overflows to "
                "inf; use torch.softmax, or subtract each row's maximum first"
            )
        got = expect_tensor(result, shape=(1, 4), name="weights")
        expect_close(
            got, masked_softmax(big, length_mask(torch.tensor([3]), 4)), name="weights", atol=1e-4
        )

    return [
        Case("returns weights of the same shape as the scores", plain, weights),
        Case("each row's weights sum to 1 over the source positions", plain, rows_sum_to_one),
        Case("padded positions get exactly zero weight", plain, zero_on_padding),
        Case("equals a softmax over each row's real positions only", plain, masked_first),
        Case("a row that is all padding gives zeros, not NaN", all_padding, zeros_not_nan),
        Case("large scores (±1000) give finite weights", large, finite),
    ]


@lab.check(points=1)
def check_context_vector():
    g = seeded_generator(4)
    weights = torch.softmax(torch.randn(2, 5, generator=g), dim=-1)
    values = torch.randn(2, 5, 3, generator=g)
    one_hot = torch.zeros(2, 5)
    one_hot[0, 3] = one_hot[1, 0] = 1
    plain = calls(weights, values)

    def context(result):
        return expect_tensor(result, shape=(2, 3), name="context")

    def weighted_sum(result):
        expect_close(
            result,
            torch.einsum("bj,bjd->bd", weights, values),
            name="context",
            hint="multiply each state h_j by its weight a_j and sum over the source "
            "positions (dim=1)",
        )

    def picks_one_state(result):
        expect_close(result, torch.stack([values[0, 3], values[1, 0]]), name="context")

    return [
        Case("returns one context per example: shape (batch, value size)", plain, context),
        Case("equals sum_j a_j h_j for every example", plain, weighted_sum),
        Case("weight 1 on position j returns exactly h_j", calls(one_hot, values), picks_one_state),
    ]


def _greedy(step, state, steps=10):
    """Ten greedy steps from BOS with ``step(token, state) -> (state, logits)``."""
    token = torch.full((state.shape[0],), 1)
    produced = []
    for _ in range(steps):
        state, logits = step(token, state)
        token = logits.argmax(-1)
        produced.append(token)
    return torch.stack(produced, dim=1)


def _decoder_inputs():
    """The chapter's model (seeded) and one decoder step's inputs: what the check passes."""
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
    g = seeded_generator(6)
    source = torch.randint(3, 9, (3, 6), generator=g)
    lengths = torch.tensor([6, 4, 2])
    source[1, 4:] = 0
    source[2, 2:] = 0
    with torch.no_grad():
        encoded, _ = model.encode(source, lengths)
        first_state = torch.tanh(model.first_state(encoded.summary))
    return SimpleNamespace(
        model=model,
        layers=layers,
        encoded=encoded,
        previous_state=torch.randn(3, 5, generator=g),
        previous_token=torch.tensor([1, 4, 6]),
        first_state=first_state,
    )


def _decoder_reference(s):
    """The model's step on the check's inputs: (state, logits, weights)."""
    with torch.no_grad():
        return s.model.decoder_step(s.previous_token, s.previous_state, s.encoded)


def _step_parts(result):
    state, logits, weights = expect_parts(result, "state", "logits", "weights")
    return (
        expect_tensor(state, shape=(3, 5), name="state"),
        expect_tensor(logits, shape=(3, 7), name="logits"),
        expect_tensor(weights, shape=(3, 6), name="weights"),
    )


def _like_the_model(s, part, hint):
    """The judge of one part of the step's result ("state", "logits" or "weights"): it
    must equal the model's."""
    index = ("state", "logits", "weights").index(part)

    def judge(result):
        got, expected = _step_parts(result)[index], _decoder_reference(s)[index]
        expect_close(got, expected, name=part, hint=hint)

    return judge


@lab.check(points=4)
def check_decoder_step():
    s = _decoder_inputs()
    encoded, layers = s.encoded, s.layers

    def one_step(decoder_step):
        with torch.no_grad():
            return decoder_step(
                s.previous_token, s.previous_state, encoded.states, encoded.mask, layers
            )

    def greedy_decoding(decoder_step):
        def step(token, state):
            # The next call needs this step's state and the argmax of its logits.
            result = decoder_step(token, state, encoded.states, encoded.mask, layers)
            state, logits, _ = expect_parts(result, "state", "logits", "weights")
            return (
                expect_tensor(state, shape=(3, 5), name="state"),
                expect_tensor(logits, shape=(3, 7), name="logits"),
            )

        with torch.no_grad():
            return _greedy(step, s.first_state)

    def a_distribution(result):
        weights = _as_float64(_step_parts(result)[2])
        sums = weights.sum(dim=1)
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)),
            f"the weights must sum to 1 in each row, got {sums.numpy().round(3)}: "
            "return the softmax of the scores, not the scores",
        )
        expect_true(
            bool((weights[~encoded.mask] == 0).all()), "padded source positions must get weight 0"
        )

    def previous_state_scored(result):
        weights = _step_parts(result)[2]

        def new_state_weights():  # the plausible slip: scoring the new state s_i
            state = _decoder_reference(s)[0]
            with torch.no_grad():
                return masked_softmax(s.model.attention.score(state, encoded.keys), encoded.mask)

        _fail_on(
            weights,
            Mistake(
                "these weights score the new state s_i; the context c_i is an "
                "input of the step that makes s_i, so the scores use s_(i-1), "
                "the previous state",
                new_state_weights,
            ),
        )
        _like_the_model(
            s, "weights", "a_i = masked_softmax(additive_score(s_(i-1), h, W_1, W_2, v), mask)"
        )(result)

    new_state = _like_the_model(
        s,
        "state",
        "the cell's input is the embedding of the previous token followed by the context, "
        "concatenated along the last axis; its state is s_(i-1)",
    )
    logits = _like_the_model(
        s,
        "logits",
        "the output layer reads the new state s_i, the context c_i and the "
        "embedding of y_(i-1), concatenated in that order",
    )

    def chapter_output(result):
        got = expect_tensor(result, shape=(3, 10), name="the decoded tokens")
        with torch.no_grad():
            expected = _greedy(
                lambda token, state: s.model.decoder_step(token, state, encoded)[:2],
                s.first_state,
            )
        differs = (got != expected).any(dim=1).nonzero().flatten().tolist()
        expect_true(
            not differs,
            f"for example {differs[0] if differs else 0} your decoder wrote "
            f"{got[differs[0] if differs else 0].tolist()}, the chapter's model "
            f"{expected[differs[0] if differs else 0].tolist()}",
        )

    return [
        Case("returns (state, logits, weights) with the right shapes", one_step, _step_parts),
        Case(
            "the weights are a distribution: rows sum to 1, padding gets 0",
            one_step,
            a_distribution,
        ),
        Case(
            "the weights score s_(i-1), the state before this step",
            one_step,
            previous_state_scored,
        ),
        Case("s_i = GRUCell([E y_(i-1) ; c_i], s_(i-1))", one_step, new_state),
        Case("logits = W_o [s_i ; c_i ; E y_(i-1)]", one_step, logits),
        Case(
            "ten greedy steps with your function give the chapter model's output",
            greedy_decoding,
            chapter_output,
        ),
    ]
