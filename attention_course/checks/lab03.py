"""Checks for Lab 3: a masked softmax by hand, attention for many queries at once, greedy
decoding, and the length experiment of Bahdanau et al.'s Figure 2.

Every expected value is computed inside a judge: a softmax in float64 for the weights, the
additive score's formula for many queries, and the package's own ``greedy_decode`` for the
decoder, run on models rebuilt from the same seeds. The experiment is judged on the
student's own run: the two curves must have the shape the bottleneck predicts, with a
margin that survives another CPU's arithmetic.

Exercise functions are called only by the checks. ``returned(exercise)`` gives the cells
that draw a figure or a table what the student's function returned in the last run of its
check, in this kernel.
"""

from __future__ import annotations

import math

import torch

from ..data.sequences import BOS, length_mask
from ..models.seq2seq import AttentionSeq2Seq, FixedContextSeq2Seq
from .calling import SOFTMAX_FUNCTIONS, CaseFailed
from .encoding import describe
from .expect import (
    Mistake,
    expect_answer,
    expect_array,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    expect_weights,
    reject_mistakes,
    seeded_generator,
)
from .framework import Case, Lab, calls

lab = Lab("03", "Attention, one step at a time")
score = lab.score

returned = lab.returned  # what an exercise returned in its check's last run


# --------------------------------------------------------------------- Exercise 1


SOFTMAX_SHORTCUTS = SOFTMAX_FUNCTIONS + (
    "attention_course.models.additive_attention.masked_softmax",
    "attention_course.models.attention_zoo.masked_softmax",
)


def reference_masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The weights a masked softmax must give, in float64 (for the judges)."""
    scores = scores.double()
    mask = mask.expand(scores.shape)
    weights = torch.softmax(scores.masked_fill(~mask, -math.inf), dim=-1)
    return torch.nan_to_num(weights, nan=0.0) * mask  # a row of padding only: 0, not 0/0


def _like_softmax(scores, mask, hint: str = ""):
    """A judge: the weights equal a softmax over each row's real positions."""

    def judge(result):
        got = expect_weights(result, scores.shape)
        zeroed_after = torch.softmax(scores.double(), dim=-1) * mask.expand(scores.shape)
        reject_mistakes(
            got,
            Mistake(
                "this is a softmax over every position with the padding zeroed afterwards: "
                "the padding took its share first, so the rows no longer sum to 1. Leave "
                "the padded positions out of the exponentials and of the sum",
                zeroed_after,
            ),
        )
        expect_close(got, reference_masked_softmax(scores, mask), name="weights", hint=hint)

    return judge


@lab.check(points=3, forbid=SOFTMAX_SHORTCUTS)
def check_masked_softmax():
    g = seeded_generator(1)
    # Rows with very different maxima, and three different source lengths.
    scores = torch.randn(3, 6, generator=g) + torch.tensor([[0.0], [20.0], [-7.0]])
    mask = length_mask(torch.tensor([6, 4, 1]), 6)
    plain = calls(scores, mask)

    huge = torch.tensor([[1000.0, -1000.0, 999.0, 998.0], [-1000.0, -1002.0, -1001.0, -999.0]])
    all_real = torch.ones(2, 4, dtype=torch.bool)

    loud_padding = torch.randn(2, 5, generator=g)
    padding_mask = length_mask(torch.tensor([3, 5]), 5)
    loud_padding = loud_padding.masked_fill(~padding_mask, 5000.0)

    very_negative = torch.tensor([[-30000.0, -29999.0, -29998.0, 0.0, 0.0]])
    three_real = length_mask(torch.tensor([3]), 5)

    empty = torch.tensor([[True, True, False, False], [False, False, False, False]])
    empty_scores = torch.randn(2, 4, generator=g)

    shared = torch.tensor([True, True, True, False, False])  # (n,): one mask for every row
    shared_scores = torch.randn(3, 5, generator=g)
    per_source = length_mask(torch.tensor([5, 2]), 5)[:, None, :]  # (batch, 1, n)
    many_queries = torch.randn(2, 3, 5, generator=g)
    per_query = torch.rand(2, 3, 4, generator=g) > 0.4  # (batch, n_q, n), some rows empty
    per_query[0, 0] = False
    per_query[1, 2] = True
    query_scores = torch.randn(2, 3, 4, generator=g)
    one_row = torch.tensor([[0.5, 0.25, -1.0, 3.0]], dtype=torch.float64)
    one_mask = torch.tensor([[True, True, True, False]])

    def shaped(result):
        expect_weights(result, (3, 6))

    def rows_sum_to_one(result):
        got = expect_weights(result, (3, 6))
        sums = got.sum(dim=-1)
        columns = got.sum(dim=0)[mask.all(dim=0)]
        expect_true(
            not torch.allclose(columns, torch.ones_like(columns), atol=1e-5),
            "the columns sum to 1, not the rows: normalise over the last axis (the "
            "positions of one row), not over the batch",
        )
        worst = int((sums - 1).abs().argmax())
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
            f"each row's weights must sum to 1, row {worst} sums to {sums[worst].item():.4g}",
        )

    def zero_on_padding(result):
        leaked = expect_weights(result, (3, 6))[~mask].abs().max().item()
        expect_true(leaked == 0, f"padded positions got weight up to {leaked:.3g}; it must be 0")

    def large_scores(result):
        got = expect_weights(
            result,
            (2, 4),
            "scores of ±1000 gave NaN or inf: exp(1000) overflows. Subtract each row's "
            "largest real score before exp; the softmax does not change, and no "
            "exponential exceeds 1",
        )
        sums = got.sum(dim=-1)
        expect_true(
            not (abs(sums[0].item() - 1) < 1e-5 and sums[1].item() < 1e-3),
            f"the second row (scores near -1000) sums to {sums[1].item():.3g}: subtract "
            "each row's own maximum, not the largest score of the whole tensor (exp(-2000) "
            "is 0 in floating point)",
        )
        expect_close(got, reference_masked_softmax(huge, all_real), name="weights")

    def padding_left_out_of_the_maximum(result):
        got = expect_weights(
            result,
            (2, 5),
            "a padded score of 5000 made the weights NaN: take each row's maximum over "
            "its real positions only (with 5000 in the maximum, every real exp(score - "
            "max) underflows to 0, and 0 / 0 is NaN)",
        )
        sums = got.sum(dim=-1)
        expect_true(
            not (sums[0].item() < 1e-3 and abs(sums[1].item() - 1) < 1e-5),
            f"the row with a padded score of 5000 sums to {sums[0].item():.3g}: take each "
            "row's maximum over its real positions only (with 5000 in the maximum, every "
            "real exp(score - max) underflows to 0)",
        )
        expect_close(got, reference_masked_softmax(loud_padding, padding_mask), name="weights")

    def very_negative_row(result):
        got = expect_weights(
            result,
            (1, 5),
            "real scores near -30000 gave NaN: every exp(score) underflows to 0 unless "
            "the row's largest real score is subtracted first",
        )
        total = got.sum().item()
        expect_true(
            total > 1e-3,
            f"real scores near -30000 (padded scores 0) give weights summing to {total:.3g}: "
            "exp(-30000) is 0, so subtract the row's largest *real* score first (not a "
            "padded score, a fill value or a zeroed score: each is larger than every real "
            "score here)",
        )
        expect_close(got, reference_masked_softmax(very_negative, three_real), name="weights")

    def all_padding_row(result):
        got = expect_weights(
            result,
            (2, 4),
            "a row that is all padding gave NaN (0 / 0): return zeros for such a row",
        )
        expect_true(
            bool((got[1] == 0).all()),
            f"a row that is all padding should be all zeros, got {got[1].tolist()}",
        )
        expect_close(got, reference_masked_softmax(empty_scores, empty), name="weights")

    return [
        Case("returns weights of the scores' shape", plain, shaped),
        Case("each row's weights sum to 1", plain, rows_sum_to_one),
        Case("padded positions get exactly 0", plain, zero_on_padding),
        Case(
            "equals a softmax over each row's real positions (rows with different maxima)",
            plain,
            _like_softmax(scores, mask),
        ),
        Case("scores of ±1000 give finite, correct weights", calls(huge, all_real), large_scores),
        Case(
            "a padded score of 5000 changes nothing",
            calls(loud_padding, padding_mask),
            padding_left_out_of_the_maximum,
        ),
        Case(
            "a row whose real scores are all near -30000",
            calls(very_negative, three_real),
            very_negative_row,
        ),
        Case(
            "a row that is all padding gives zeros, not NaN",
            calls(empty_scores, empty),
            all_padding_row,
        ),
        Case(
            "a mask of shape (n,) applies to every row",
            calls(shared_scores, shared),
            _like_softmax(shared_scores, shared, "broadcast the mask against the scores"),
        ),
        Case(
            "a mask of shape (batch, 1, n) applies to every query of its row",
            calls(many_queries, per_source),
            _like_softmax(many_queries, per_source, "broadcast the mask against the scores"),
        ),
        Case(
            "a mask of shape (batch, n_q, n): one per query",
            calls(query_scores, per_query),
            _like_softmax(query_scores, per_query),
        ),
        Case(
            "a batch of one row in float64",
            calls(one_row, one_mask),
            _like_softmax(one_row, one_mask),
        ),
    ]


# --------------------------------------------------------------------- Exercise 2


def reference_additive_attention(queries, keys, values, mask, W_1, W_2, v):
    """Context (B, T, d_v) and weights (B, T, n) of the additive score, in float64."""
    queries, keys, values, W_1, W_2, v = (x.double() for x in (queries, keys, values, W_1, W_2, v))
    hidden = torch.tanh((keys @ W_1.T)[:, None, :, :] + (queries @ W_2.T)[:, :, None, :])
    scores = hidden @ v
    mask = mask[:, None, :] if mask.dim() == 2 else mask
    weights = reference_masked_softmax(scores, mask)
    return weights @ values, weights


def _attention_inputs(batch, n_queries, n_keys, query_size, key_size, value_size, seed):
    g = seeded_generator(seed)
    attention_size = 5
    return dict(
        queries=torch.randn(batch, n_queries, query_size, generator=g),
        keys=torch.randn(batch, n_keys, key_size, generator=g),
        values=torch.randn(batch, n_keys, value_size, generator=g),
        W_1=torch.randn(attention_size, key_size, generator=g) / math.sqrt(key_size),
        W_2=torch.randn(attention_size, query_size, generator=g) / math.sqrt(query_size),
        v=torch.randn(attention_size, generator=g),
    )


def _attention_call(inputs, mask):
    return calls(
        inputs["queries"],
        inputs["keys"],
        inputs["values"],
        mask,
        inputs["W_1"],
        inputs["W_2"],
        inputs["v"],
    )


def _attention_parts(result, inputs):
    batch, n_queries, _ = inputs["queries"].shape
    n_keys, value_size = inputs["values"].shape[1:]
    context, weights = expect_parts(result, "context", "weights")
    return (
        expect_tensor(context, shape=(batch, n_queries, value_size), name="context").double(),
        expect_tensor(weights, shape=(batch, n_queries, n_keys), name="weights").double(),
    )


def _attention_judge(inputs, mask, part):
    """A judge of the context or the weights, against the formula."""

    def judge(result):
        context, weights = _attention_parts(result, inputs)
        expected_context, expected_weights = reference_additive_attention(**inputs, mask=mask)
        if part == "weights":
            hidden = ~(mask[:, None, :] if mask.dim() == 2 else mask).expand(weights.shape)
            leaked = weights[hidden].abs().max().item() if hidden.any() else 0.0
            expect_true(
                leaked == 0,
                f"keys the mask hides got weight up to {leaked:.3g}: pass the mask to your "
                "masked_softmax (a (batch, n) mask needs a query axis to line up with the "
                "scores)",
            )
            without_tanh = dict(inputs)
            reject_mistakes(
                weights,
                Mistake(
                    "these weights come from v^T (W_1 k_j + W_2 q_t) without the tanh: "
                    "squash the sum with torch.tanh before the dot product with v",
                    lambda: _without_tanh(**without_tanh, mask=mask),
                ),
            )
            expect_close(
                weights,
                expected_weights,
                name="weights",
                hint="e_tj = v^T tanh(W_1 k_j + W_2 q_t): every query t against every key j "
                "of its own batch row, so the projected keys need a query axis and the "
                "projected queries a key axis before they are added. W_1 is (a, d_k) and "
                "W_2 (a, d_q): rows of keys or queries are multiplied by them transposed",
            )
        else:
            keys, values = inputs["keys"].double(), inputs["values"].double()
            if keys.shape == values.shape:
                reject_mistakes(
                    context,
                    Mistake(
                        "this context averages the keys: the weights say how much of each "
                        "*value* to take (here the keys and the values differ)",
                        lambda: expected_weights @ keys,
                    ),
                )
            expect_close(
                context,
                expected_context,
                name="context",
                hint="c_t = sum_j a_tj value_j for each query t",
            )

    return judge


def _without_tanh(queries, keys, values, mask, W_1, W_2, v):
    queries, keys, W_1, W_2, v = (x.double() for x in (queries, keys, W_1, W_2, v))
    scores = ((keys @ W_1.T)[:, None, :, :] + (queries @ W_2.T)[:, :, None, :]) @ v
    return reference_masked_softmax(scores, mask[:, None, :] if mask.dim() == 2 else mask)


@lab.check(
    points=3,
    forbid=[
        "torch.nn.functional.scaled_dot_product_attention",
        "torch.nn.MultiheadAttention.forward",
        "attention_course.models.additive_attention.Attention.forward",
        "attention_course.models.additive_attention.AdditiveScore.forward",
        "attention_course.models.additive_attention.masked_softmax",
    ],
)
def check_additive_attention():
    # Keys and values of one size but different content; queries of another size.
    plain = _attention_inputs(2, 3, 5, 6, 4, 4, seed=2)
    source_mask = length_mask(torch.tensor([5, 2]), 5)  # (batch, n)
    narrow = _attention_inputs(2, 3, 5, 6, 4, 3, seed=3)  # values of size 3, keys of size 4
    per_query = torch.tensor(
        [
            [[True, True, True, True, True], [True, True, False, False, False], [False] * 5],
            [[True, False, False, False, False], [True, True, True, False, False], [True] * 5],
        ]
    )  # (batch, n_q, n): one query sees nothing
    single = _attention_inputs(1, 1, 3, 6, 4, 2, seed=4)
    single_mask = torch.ones(1, 3, dtype=torch.bool)
    wide = {
        name: (100 * value if name in ("queries", "keys") else value).double()
        for name, value in _attention_inputs(2, 4, 6, 3, 5, 2, seed=5).items()
    }
    wide_mask = length_mask(torch.tensor([6, 3]), 6)

    call = _attention_call(plain, source_mask)

    def shapes(result):
        _attention_parts(result, plain)

    def nothing_to_see(result):
        context, weights = _attention_parts(result, plain)
        expect_true(
            bool((weights[0, 2] == 0).all()) and bool((context[0, 2] == 0).all()),
            "a query whose mask row is all False must get zero weights and a zero context, "
            f"got weights {weights[0, 2].numpy().round(3).tolist()}",
        )
        _attention_judge(plain, per_query, "weights")(result)

    return [
        Case(
            "returns (context, weights) of shapes (batch, n_q, d_v) and (batch, n_q, n)",
            call,
            shapes,
        ),
        Case(
            "weights: a masked softmax of v^T tanh(W_1 k_j + W_2 q_t) over the keys",
            call,
            _attention_judge(plain, source_mask, "weights"),
        ),
        Case(
            "context: the weighted sum of the values (which differ from the keys)",
            call,
            _attention_judge(plain, source_mask, "context"),
        ),
        Case(
            "values of another size than the keys: the context has the values' size",
            _attention_call(narrow, source_mask),
            _attention_judge(narrow, source_mask, "context"),
        ),
        Case(
            "a mask of shape (batch, n_q, n): one per query, one of them all False",
            _attention_call(plain, per_query),
            nothing_to_see,
        ),
        Case(
            "one example with one query (batch 1, n_q 1)",
            _attention_call(single, single_mask),
            _attention_judge(single, single_mask, "weights"),
        ),
        Case(
            "float64 inputs, a hundred times larger (the tanh saturates)",
            _attention_call(wide, wide_mask),
            _attention_judge(wide, wide_mask, "weights"),
        ),
    ]


# --------------------------------------------------------------------- Exercise 3


def _decoding_models():
    """Two small untrained models, rebuilt identically wherever the check runs.

    Their embeddings are scaled up so that what each step writes depends clearly on the
    symbol it was fed. Built on a forked random stream: the student's own seeds and
    draws are left as they were.
    """
    with torch.random.fork_rng():
        torch.manual_seed(31)
        attention = AttentionSeq2Seq(
            10, 10, embed_dim=8, encoder_size=8, decoder_size=16, attention_size=8
        )
        torch.manual_seed(32)
        fixed = FixedContextSeq2Seq(10, 10, embed_dim=8, encoder_size=8, decoder_size=16)
    for model in (attention, fixed):
        with torch.no_grad():
            model.embed.weight.mul_(4)
            model.encoder.embed.weight.mul_(4)
        model.eval()
    return attention, fixed


def _sources(lengths, seed):
    lengths = torch.tensor(lengths)
    g = seeded_generator(seed)
    source = torch.randint(2, 10, (len(lengths), int(lengths.max())), generator=g)
    return source.masked_fill(~length_mask(lengths), 0), lengths


def _fed_back(model, source, lengths, steps, first_token=BOS, always=None, zero_state=False):
    """Tokens of a greedy loop with one thing changed: a plausible mistake's output."""
    with torch.no_grad():
        encoded, state = model.encode(source, lengths)
        if zero_state:
            state = torch.zeros_like(state)
        token = torch.full((len(source),), first_token)
        produced = []
        for _ in range(steps):
            state, logits, _ = model.decoder_step(token, state, encoded)
            token = logits.argmax(-1) if always is None else torch.full_like(token, always)
            produced.append(logits.argmax(-1))
        return torch.stack(produced, dim=1)


def _decoded(result, batch, steps, n_keys, with_weights=True):
    tokens, weights = expect_parts(result, "tokens", "weights")
    tokens = expect_tensor(tokens, shape=(batch, steps), name="tokens")
    expect_true(
        not tokens.is_floating_point(),
        f"tokens should be integer symbol ids (the argmax of the logits), got {tokens.dtype}",
    )
    if not with_weights:
        return tokens, weights
    weights = expect_tensor(weights, shape=(batch, steps, n_keys), name="weights").double()
    return tokens, weights


def _tokens_judge(model, source, lengths, steps):
    def judge(result):
        tokens, _ = _decoded(result, len(source), steps, source.shape[1], with_weights=False)
        expected = model.greedy_decode(source, lengths, steps=steps)
        if torch.equal(tokens.long(), expected):
            return
        mistakes = [
            (
                _fed_back(model, source, lengths, steps, always=BOS),
                "every step was fed BOS: feed each step the symbol the previous step wrote "
                "(the argmax of its logits)",
            ),
            (
                _fed_back(model, source, lengths, steps, zero_state=True),
                "the decoder started from a zero state: start from s_0, the state that "
                "model.encode returns with the encoded source",
            ),
            (
                _fed_back(model, source, lengths, steps, first_token=0),
                "the first step was fed padding (0): the decoder starts from BOS (1)",
            ),
        ]
        for wrong, message in mistakes:
            if torch.equal(tokens.long(), wrong):
                raise CaseFailed(message)
        row = int((tokens.long() != expected).any(dim=1).nonzero()[0, 0])
        raise CaseFailed(
            f"source {row} decoded as {tokens[row].tolist()}, the model's greedy decoding "
            f"writes {expected[row].tolist()}"
        )

    return judge


def _weights_judge(model, source, lengths, steps):
    def judge(result):
        _, weights = _decoded(result, len(source), steps, source.shape[1])
        _, expected = model.greedy_decode(source, lengths, steps=steps, return_weights=True)
        expect_close(
            weights,
            expected,
            name="weights",
            hint="row i of each example holds the weights a_i that step i returned",
        )

    return judge


@lab.check(
    points=3,
    forbid=[
        "attention_course.models.seq2seq.AttentionSeq2Seq.greedy_decode",
        "attention_course.models.seq2seq.Seq2Seq.greedy_decode",
        "attention_course.models.seq2seq.exact_match",
    ],
)
def check_greedy_decode():
    attention, fixed = _decoding_models()
    source, lengths = _sources([6, 3, 5, 1], seed=6)
    one, one_length = _sources([3], seed=7)
    plain = calls(attention, source, lengths, 7)
    single = calls(attention, one, one_length, 1)

    def shapes(result):
        _decoded(result, 4, 7, 6)

    def no_weights(result):
        tokens, weights = _decoded(result, 4, 7, 6, with_weights=False)
        expect_true(
            weights is None,
            f"a model without attention returns None as each step's weights, so "
            f"greedy_decode should return None for them, got {describe(weights)}",
        )
        _tokens_judge(fixed, source, lengths, 7)(result)

    return [
        Case("returns (tokens, weights) of shapes (4, 7) and (4, 7, 6)", plain, shapes),
        Case(
            "tokens: each step is fed the previous step's argmax, from BOS and s_0",
            plain,
            _tokens_judge(attention, source, lengths, 7),
        ),
        Case(
            "weights: row i holds the weights a_i of step i",
            plain,
            _weights_judge(attention, source, lengths, 7),
        ),
        Case(
            "one source, one step: shapes (1, 1) and (1, 1, 3)",
            single,
            _weights_judge(attention, one, one_length, 1),
        ),
        Case(
            "a model without attention: the same tokens as its greedy decoding, weights None",
            calls(fixed, source, lengths, 7),
            no_weights,
        ),
    ]


# --------------------------------------------------------------------- Exercise 4

EXPERIMENT_STEPS, EXPERIMENT_SEED = 150, 0
LENGTHS = list(range(2, 11))  # the lengths the experiment measures, as in the lab
MODELS = ("attention", "no attention")


def _plain_curves(result):
    """The two curves as lists of floats, or None when the result is not two curves."""
    if not isinstance(result, dict):
        return None
    try:
        return {name: [float(x) for x in result[name]][: len(LENGTHS)] for name in MODELS}
    except Exception:
        return None


def _curves(result) -> dict:
    expect_true(
        isinstance(result, dict),
        f"return a dict with the keys 'attention' and 'no attention', got {describe(result)}",
    )
    missing = [name for name in MODELS if name not in result]
    expect_true(not missing, f"the dict has no key {missing[0]!r}" if missing else "")
    curves = {}
    for name in MODELS:
        curve = expect_array(result[name], shape=(len(LENGTHS),), name=f"result[{name!r}]")
        expect_true(
            bool(((curve >= 0) & (curve <= 1)).all()),
            f"result[{name!r}] should hold shares of sequences right, between 0 and 1, "
            f"got {curve.round(3).tolist()}",
        )
        curves[name] = curve
    return curves


@lab.check(points=4, time_limit=180)
def check_length_experiment():
    def run(length_experiment):
        result = length_experiment(EXPERIMENT_STEPS, EXPERIMENT_SEED)
        lab.keep("length_experiment", _plain_curves(result))
        return result

    def shaped(result):
        _curves(result)

    def both_learned(result):
        curves = _curves(result)
        for name in MODELS:
            short = curves[name][:2]
            expect_true(
                bool((short >= 0.9).all()),
                f"the model with {name.replace('no ', 'out ')} gets "
                f"{short.round(2).tolist()} of the sequences of lengths 2 and 3 right: "
                "after training, both models should reverse almost every short sequence. "
                "Is it trained (steps of teacher_forcing_loss on reversal batches), and "
                "measured with the exact match of its greedy output?",
            )

    def falls_without_attention(result):
        curve = _curves(result)["no attention"]
        expect_true(
            curve[-1] <= curve[0] - 0.5,
            f"without attention the exact match goes from {curve[0]:.2f} at length 2 to "
            f"{curve[-1]:.2f} at length 10: one context vector should hold short "
            "sequences and lose long ones",
        )

    def attention_wins(result):
        curves = _curves(result)
        with_attention, without = curves["attention"][-1], curves["no attention"][-1]
        expect_true(
            without < with_attention + 0.3,
            f"at length 10 the model without attention ({without:.2f}) beats the one with "
            f"it ({with_attention:.2f}) by far: are the two curves swapped?",
        )
        expect_true(
            with_attention >= without + 0.3,
            f"at length 10 your model with attention gets {with_attention:.2f} of the "
            f"sequences right and the one without {without:.2f}: attention should win by "
            "at least 0.3. Does the attention model use your masked_softmax, and do both "
            "train with the same steps, seed and batches?",
        )

    return [
        Case("returns the exact match at lengths 2 to 10 of both models", run, shaped),
        Case("both models reverse short sequences (lengths 2 and 3)", run, both_learned),
        Case(
            "without attention, long sequences fail: length 10 falls by 0.5+",
            run,
            falls_without_attention,
        ),
        Case("at length 10, attention wins by at least 0.3", run, attention_wins),
    ]


# --------------------------------------------------------------------- Question

_CURVE_ANSWERS = {
    "a": "the two models differ only by the score's W_1, W_2 and v, a few thousand "
    "numbers, and both are perfect on short sequences: size is not what fails",
    "b": "every length from 2 to 10 is equally common in training, and the model with "
    "attention, trained on the very same batches, gets the long ones right",
    "d": "the metric is the same for both models, yet one stays high and the other "
    "drops to zero: a harsher metric for long sequences cannot explain the gap",
    "e": "both models took the same number of training steps, and a step with attention "
    "costs more, not less: it scores every source position at every output step",
}


@lab.check(points=1)
def check_reading_the_curve():
    def judge(result):
        expect_answer(result, "c", _CURVE_ANSWERS)

    return [Case("the explanation your curves support", calls(), judge)]
