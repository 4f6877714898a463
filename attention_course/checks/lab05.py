"""Checks for Lab 5: self-attention from scratch.

The judges compare the student's functions with PyTorch's
``torch.nn.functional.scaled_dot_product_attention`` where it applies (with ``scale=1``
for parameter-free attention, ``attn_mask`` for masks, ``is_causal`` for the causal mask)
and with ``nn.Linear`` for the projections. Where a weight matrix is wrong, the hint says
which common mistake it matches (no scaling, the wrong axis, ...).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..data.sequences import length_mask
from .expect import (
    Mistake,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    named_mistake,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("05", "Self-attention from scratch")
score = lab.score


# ---------------------------------------------------------------- exercise 1


@lab.check(points=2)
def check_self_attention():
    x = seeded_randn(2, 5, 4, seed=0) * 0.8  # (batch, words, d)
    same = torch.tensor([0.3, -0.5, 0.2]).expand(1, 4, 3).clone()
    plain = calls(x)

    def attention_without_scale(x):  # softmax(x xᵀ) x
        return F.scaled_dot_product_attention(x, x, x, scale=1.0)

    def equals_torch(result):
        expect_close(
            result,
            attention_without_scale(x),
            name="y",
            hint="w'_ij = x_i . x_j with no scaling; softmax over j (the last axis); "
            "y_i = sum_j w_ij x_j",
        )

    def gives_back_the_vector(result):
        expect_close(
            result,
            same,
            name="y",
            hint="each output must be a weighted *average* of the inputs: "
            "the weights of each row must be positive and sum to 1",
        )

    def stays_apart(result):
        expect_close(
            result,
            attention_without_scale(x)[1:2],
            name="y for the second sequence alone",
            hint="compute dot products within each sequence only "
            "(x @ x.transpose(-2, -1), not x.T)",
        )

    return [
        Case(
            "returns a (batch, words, d) tensor",
            plain,
            lambda result: expect_tensor(result, shape=(2, 5, 4), name="y"),
        ),
        Case(
            "equals softmax(x_i · x_j) weighted sums (PyTorch's function with scale=1)",
            plain,
            equals_torch,
        ),
        Case(
            "a weighted average of identical vectors is that vector",
            calls(same),
            gives_back_the_vector,
        ),
        Case("sequences of a batch do not mix", calls(x[1:2]), stays_apart),
    ]


# ---------------------------------------------------------------- exercise 2


def _linear(d_in, d_out, seed):
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out, bias=False)


def _equal_linear_maps(maps, x, hint):
    """A judge: (Q, K, V) equal the three maps applied to ``x``; ``hint`` of "Q", "K", "V"."""

    def judge(result):
        for name, got, linear in zip("QKV", expect_parts(result, "Q", "K", "V"), maps):
            with torch.no_grad():
                expected = linear(x)
            expect_close(got, expected, name=name, hint=hint(name))

    return judge


@lab.check(points=2)
def check_project_qkv():
    d_model, d_k, d_v = 6, 4, 3
    x = seeded_randn(2, 5, d_model, seed=1)
    maps = [_linear(d_model, d, seed) for d, seed in ((d_k, 2), (d_k, 3), (d_v, 4))]
    square = [_linear(5, 5, seed) for seed in (5, 6, 7)]
    xs = seeded_randn(1, 3, 5, seed=8)
    plain = calls(x, *[m.weight.detach() for m in maps])

    def shapes(result):
        for name, tensor, d in zip("QKV", expect_parts(result, "Q", "K", "V"), (d_k, d_k, d_v)):
            expect_tensor(tensor, shape=(2, 5, d), name=name)

    return [
        Case(
            "returns (Q, K, V) with shapes (batch, words, d_k), (..., d_k), (..., d_v)",
            plain,
            shapes,
        ),
        Case(
            "Q, K and V equal nn.Linear with the same weights",
            plain,
            _equal_linear_maps(
                maps,
                x,
                lambda name: (
                    f"{name} = x @ W_{name.lower()}.T: rows of x are words and the "
                    "weights have nn.Linear's layout (out, in)"
                ),
            ),
        ),
        Case(
            "with square weights too (d_model = d_k = d_v)",
            calls(xs, *[m.weight.detach() for m in square]),
            _equal_linear_maps(
                square,
                xs,
                lambda name: "multiply by the transposed weight, x @ W.T, as nn.Linear does",
            ),
        ),
    ]


# ---------------------------------------------------------------- exercise 3


def _scaled_weights(q, k, mask=None):
    """softmax(q kᵀ / √d_k) over the keys, with the keys a mask forbids at -inf."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)


def _weight_mistakes(q, k) -> list[Mistake]:
    """The common mistakes in the weights of attention without a mask."""
    scores = q @ k.transpose(-2, -1)
    d_k = q.shape[-1]
    return [
        Mistake("the scores were not divided by √d_k", lambda: torch.softmax(scores, dim=-1)),
        Mistake(
            "divide the scores by √d_k, not by d_k", lambda: torch.softmax(scores / d_k, dim=-1)
        ),
        Mistake(
            "the softmax ran over the queries (axis -2): each query's weights over the keys "
            "(the last axis) must sum to 1",
            lambda: torch.softmax(scores / math.sqrt(d_k), dim=-2),
        ),
    ]


# The hint for wrong weights that match none of the mistakes
_WEIGHTS_FORMULA = "weights = softmax(q @ k.transpose(-2, -1) / √d_k) over the last axis"


def _attention_parts(result, q, k, v):
    """(output, weights) of attention over these inputs, checked for shape."""
    output, weights = expect_parts(result, "output", "weights")
    batch, queries, keys = q.shape[:-2], q.shape[-2], k.shape[-2]
    output = expect_tensor(output, shape=(*batch, queries, v.shape[-1]), name="output")
    weights = expect_tensor(weights, shape=(*batch, queries, keys), name="weights")
    return output, weights


def _output_like_torch(q, k, v, hint="", **options):
    """A judge: the output equals PyTorch's attention with these options."""

    def judge(result):
        output, _ = _attention_parts(result, q, k, v)
        expected = F.scaled_dot_product_attention(q, k, v, **options)
        expect_close(output, expected, name="output", hint=hint)

    return judge


@lab.check(points=4)
def check_scaled_dot_product_attention():
    # (batch, heads, queries, d_k) with queries, keys and d_k all different, so that a
    # transposition mistake shows as a shape error or wrong values, never a silent pass.
    q, k, v = (
        seeded_randn(2, 3, 5, 8, seed=10),
        seeded_randn(2, 3, 6, 8, seed=11),
        seeded_randn(2, 3, 6, 4, seed=12),
    )
    square = (
        seeded_randn(1, 4, 4, seed=13),
        seeded_randn(1, 4, 4, seed=14),
        seeded_randn(1, 4, 2, seed=15),
    )
    mask = seeded_randn(2, 3, 5, 6, seed=16) > 0
    mask[..., 0] = True  # every query may see at least one key
    padding = length_mask(torch.tensor([6, 3]), 6)[:, None, None, :]
    causal = (
        seeded_randn(2, 6, 8, seed=17),
        seeded_randn(2, 6, 8, seed=18),
        seeded_randn(2, 6, 3, seed=19),
    )
    lower = torch.ones(6, 6, dtype=torch.bool).tril()
    unbatched = (
        seeded_randn(3, 8, seed=20),
        seeded_randn(4, 8, seed=21),
        seeded_randn(4, 2, seed=22),
    )
    blocked = torch.tensor(
        [[True, True, False, False], [False, False, False, False], [True, True, True, True]]
    )
    plain = calls(q, k, v)
    masked = calls(q, k, v, mask)

    def weights_are_scaled(result):
        _, weights = _attention_parts(result, q, k, v)
        mistake = named_mistake(weights, _weight_mistakes(q, k))
        expect_close(
            weights, _scaled_weights(q, k), name="weights", hint=mistake or _WEIGHTS_FORMULA
        )

    def output_like_torch(result):
        output, weights = _attention_parts(result, q, k, v)
        if torch.allclose(weights.double(), _scaled_weights(q, k).double(), atol=1e-5):
            hint = "output = weights @ v"
        else:
            hint = named_mistake(weights, _weight_mistakes(q, k)) or _WEIGHTS_FORMULA
        expect_close(output, F.scaled_dot_product_attention(q, k, v), name="output", hint=hint)

    def masked_get_zero(result):
        _, weights = _attention_parts(result, q, k, v)
        expect_true(
            bool((weights[~mask] == 0).all()),
            "a key the mask forbids (False) must get weight 0: is the mask applied, "
            "and True read as 'may attend'?",
        )
        sums = weights.double().sum(dim=-1)
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
            f"with a mask, each row must still sum to 1, got sums as low as "
            f"{sums.min().item():.3f}: set masked scores to -inf *before* the softmax",
        )

    def blocked_query_gets_zeros(result):
        for name, tensor in zip(("output", "weights"), expect_parts(result, "output", "weights")):
            expect_true(
                not (isinstance(tensor, torch.Tensor) and tensor.isnan().any()),
                f"{name} contains NaN: a row of only -inf scores makes the softmax "
                "divide 0 by 0; set such rows of the weights to zero",
            )
        output, weights = _attention_parts(result, *unbatched)
        expect_close(weights[1], torch.zeros(4), name="weights of the blocked query")
        expect_close(output[1], torch.zeros(2), name="output of the blocked query")
        expected = _scaled_weights(*unbatched[:2], blocked)
        expect_close(weights[[0, 2]], expected[[0, 2]], name="weights of the other queries")

    return [
        Case(
            "returns (output, weights) of shapes (..., queries, d_v) and (..., queries, keys)",
            plain,
            lambda result: _attention_parts(result, q, k, v),
        ),
        Case("weights = softmax(QKᵀ/√d_k), each row summing to 1", plain, weights_are_scaled),
        Case(
            "output equals torch.nn.functional.scaled_dot_product_attention",
            plain,
            output_like_torch,
        ),
        Case(
            "with as many queries and keys as d_k (K must be transposed)",
            calls(*square),
            _output_like_torch(
                *square,
                hint="the scores are q @ k.transpose(-2, -1): every query against every key",
            ),
        ),
        Case(
            "a mask gives masked keys exactly zero weight, and rows still sum to 1",
            masked,
            masked_get_zero,
        ),
        Case(
            "with a mask, output equals PyTorch's function with attn_mask",
            masked,
            _output_like_torch(
                q, k, v, hint="masked scores become -inf before the softmax", attn_mask=mask
            ),
        ),
        Case(
            "a (batch, 1, 1, keys) padding mask broadcasts over heads and queries",
            calls(q, k, v, padding),
            _output_like_torch(
                q,
                k,
                v,
                hint="use masked_fill(~mask, ...), which broadcasts the mask",
                attn_mask=padding,
            ),
        ),
        Case(
            "with a lower-triangular mask, output equals PyTorch's is_causal=True",
            calls(*causal, lower),
            _output_like_torch(*causal, is_causal=True),
        ),
        Case(
            "a query whose keys are all masked gets zero weights and output, not NaN",
            calls(*unbatched, blocked),
            blocked_query_gets_zeros,
        ),
    ]


# ---------------------------------------------------------------- exercise 4


def _causal_mask(result, n):
    got = expect_tensor(result, shape=(n, n), name=f"causal_mask({n})")
    expect_true(
        got.dtype == torch.bool,
        f"the mask must be boolean (torch.bool), got {got.dtype}: PyTorch's "
        "attention would *add* a float mask to the scores",
    )
    return got


@lab.check(points=2)
def check_causal_mask():
    q, k, v = (
        seeded_randn(7, 4, seed=30),
        seeded_randn(7, 4, seed=31),
        seeded_randn(7, 2, seed=32),
    )
    five = calls(5)

    def sees_the_past(result):
        got = _causal_mask(result, 5)
        for i in range(5):
            for j in range(i + 1):
                expect_true(
                    bool(got[i, j]),
                    f"position {i} must be allowed to see position {j}"
                    + (" (itself)" if i == j else " (an earlier one)"),
                )

    def not_the_future(result):
        got = _causal_mask(result, 5)
        for i in range(5):
            for j in range(i + 1, 5):
                expect_true(
                    not bool(got[i, j]),
                    f"position {i} may see position {j}"
                    + (" (the next one)" if j == i + 1 else " (a later one)")
                    + ": a causal mask allows only j <= i",
                )

    def works_with_torch(result):
        expect_close(
            F.scaled_dot_product_attention(q, k, v, attn_mask=_causal_mask(result, 7)),
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            name="attention with your mask",
        )

    def one_position(result):
        got = _causal_mask(result, 1)
        expect_true(bool(got[0, 0]), "with one position, it must see itself")

    return [
        Case("returns an (n, n) boolean tensor", five, lambda result: _causal_mask(result, 5)),
        Case("position i may attend to every j <= i", five, sees_the_past),
        Case("position i may not attend to any j > i", five, not_the_future),
        Case("used as attn_mask, equals PyTorch's is_causal=True", calls(7), works_with_torch),
        Case("causal_mask(1) is [[True]]", calls(1), one_position),
    ]
