"""Checks for Lab 5: self-attention.

Each check builds its own inputs and compares the student's function with PyTorch's
``torch.nn.functional.scaled_dot_product_attention`` where it applies (with ``scale=1``
for parameter-free attention, ``attn_mask`` for masks, ``is_causal`` for the causal mask)
and with ``nn.Linear`` for the projections. Where a weight matrix is wrong, the hint says
which common mistake it matches (no scaling, the wrong axis, ...).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import core
from .core import call, lab_check
from .expect import expect_close, expect_parts, expect_tensor, expect_true, seeded_randn

LAB = "05"


# ---------------------------------------------------------------- exercise 1


@lab_check(LAB, points=2)
def check_self_attention(self_attention):
    x = seeded_randn(2, 5, 4, seed=0) * 0.8  # (batch, words, d)
    expected = F.scaled_dot_product_attention(x, x, x, scale=1.0)  # softmax(x xᵀ) x

    def returns_one_vector_per_word():
        """returns a (batch, words, d) tensor"""
        expect_tensor(call(self_attention, x), shape=(2, 5, 4), name="y")

    def matches_softmax_of_dot_products():
        """equals softmax(x_i · x_j) weighted sums (PyTorch's function with scale=1)"""
        expect_close(
            call(self_attention, x),
            expected,
            name="y",
            hint="w'_ij = x_i . x_j with no scaling; softmax over j (the last axis); "
            "y_i = sum_j w_ij x_j",
        )

    def identical_words_give_back_the_same_vector():
        """a weighted average of identical vectors is that vector"""
        same = torch.tensor([0.3, -0.5, 0.2]).expand(1, 4, 3).clone()
        expect_close(
            call(self_attention, same),
            same,
            name="y",
            hint="each output must be a weighted *average* of the inputs: "
            "the weights of each row must be positive and sum to 1",
        )

    def sequences_in_a_batch_stay_apart():
        """sequences of a batch do not mix"""
        single = call(self_attention, x[1:2])
        expect_close(
            single,
            expected[1:2],
            name="y for the second sequence alone",
            hint="compute dot products within each sequence only "
            "(x @ x.transpose(-2, -1), not x.T)",
        )

    return [
        returns_one_vector_per_word,
        matches_softmax_of_dot_products,
        identical_words_give_back_the_same_vector,
        sequences_in_a_batch_stay_apart,
    ]


# ---------------------------------------------------------------- exercise 2


def _linear(d_in, d_out, seed):
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out, bias=False)


@lab_check(LAB, points=2)
def check_project_qkv(project_qkv):
    d_model, d_k, d_v = 6, 4, 3
    x = seeded_randn(2, 5, d_model, seed=1)
    maps = [_linear(d_model, d, seed) for d, seed in ((d_k, 2), (d_k, 3), (d_v, 4))]
    weights = [m.weight.detach() for m in maps]
    with torch.no_grad():
        expected = [m(x) for m in maps]

    def returns_three_tensors_of_the_right_shapes():
        """returns (Q, K, V) with shapes (batch, words, d_k), (..., d_k), (..., d_v)"""
        result = call(project_qkv, x, *weights)
        expect_parts(result, "Q", "K", "V")
        for name, tensor, d in zip("QKV", result, (d_k, d_k, d_v)):
            expect_tensor(tensor, shape=(2, 5, d), name=name)

    def each_matches_nn_linear():
        """Q, K and V equal nn.Linear with the same weights"""
        result = call(project_qkv, x, *weights)
        expect_parts(result, "Q", "K", "V")
        for name, got, want in zip("QKV", result, expected):
            expect_close(
                got,
                want,
                name=name,
                hint=f"{name} = x @ W_{name.lower()}.T: rows of x are words and the "
                "weights have nn.Linear's layout (out, in)",
            )

    def square_weights_are_not_transposed():
        """with square weights too (d_model = d_k = d_v)"""
        square = [_linear(5, 5, seed) for seed in (5, 6, 7)]
        xs = seeded_randn(1, 3, 5, seed=8)
        result = call(project_qkv, xs, *[m.weight.detach() for m in square])
        expect_parts(result, "Q", "K", "V")
        for name, got, m in zip("QKV", result, square):
            expect_close(
                got,
                m(xs).detach(),
                name=name,
                hint="multiply by the transposed weight, x @ W.T, as nn.Linear does",
            )

    return [
        returns_three_tensors_of_the_right_shapes,
        each_matches_nn_linear,
        square_weights_are_not_transposed,
    ]


# ---------------------------------------------------------------- exercise 3


def _weights_hint(got, q, k, mask=None):
    """Name the common mistake a wrong weight matrix matches, if any."""
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    d_k = q.shape[-1]
    candidates = [
        (torch.softmax(scores, dim=-1), "the scores were not divided by √d_k"),
        (torch.softmax(scores / d_k, dim=-1), "divide the scores by √d_k, not by d_k"),
        (
            torch.softmax(scores / math.sqrt(d_k), dim=-2),
            "the softmax ran over the queries (axis -2): each query's weights over the keys "
            "(the last axis) must sum to 1",
        ),
    ]
    for candidate, hint in candidates:
        if got.shape == candidate.shape and torch.allclose(
            torch.nan_to_num(got), torch.nan_to_num(candidate), atol=1e-5
        ):
            return hint
    return "weights = softmax(q @ k.transpose(-2, -1) / √d_k) over the last axis"


@lab_check(LAB, points=4)
def check_scaled_dot_product_attention(attention):
    # (batch, heads, queries, d_k) with queries, keys and d_k all different, so that a
    # transposition mistake shows as a shape error or wrong values, never a silent pass.
    q, k, v = (
        seeded_randn(2, 3, 5, 8, seed=10),
        seeded_randn(2, 3, 6, 8, seed=11),
        seeded_randn(2, 3, 6, 4, seed=12),
    )
    scaled = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), dim=-1)

    def run(*args, n_queries=5, n_keys=6, d_v=4, batch=(2, 3)):
        output, weights = expect_parts(call(attention, *args), "output", "weights")
        output = expect_tensor(output, shape=(*batch, n_queries, d_v), name="output")
        weights = expect_tensor(weights, shape=(*batch, n_queries, n_keys), name="weights")
        return output, weights

    def returns_output_and_weights():
        """returns (output, weights) of shapes (..., queries, d_v) and (..., queries, keys)"""
        run(q, k, v)

    def weights_are_softmax_of_scaled_scores():
        """weights = softmax(QKᵀ/√d_k), each row summing to 1"""
        _, weights = run(q, k, v)
        expect_close(weights, scaled, name="weights", hint=_weights_hint(weights, q, k))

    def output_matches_torch():
        """output equals torch.nn.functional.scaled_dot_product_attention"""
        output, weights = run(q, k, v)
        expect_close(
            output,
            F.scaled_dot_product_attention(q, k, v),
            name="output",
            hint=_weights_hint(weights, q, k)
            if not torch.allclose(weights, scaled, atol=1e-5)
            else "output = weights @ v",
        )

    def square_inputs_need_k_transposed():
        """with as many queries and keys as d_k (K must be transposed)"""
        qs, ks, vs = (
            seeded_randn(1, 4, 4, seed=13),
            seeded_randn(1, 4, 4, seed=14),
            seeded_randn(1, 4, 2, seed=15),
        )
        output, _ = run(qs, ks, vs, n_queries=4, n_keys=4, d_v=2, batch=(1,))
        expect_close(
            output,
            F.scaled_dot_product_attention(qs, ks, vs),
            name="output",
            hint="the scores are q @ k.transpose(-2, -1): every query against every key",
        )

    mask = seeded_randn(2, 3, 5, 6, seed=16) > 0
    mask[..., 0] = True  # every query may see at least one key

    def masked_keys_get_zero_weight():
        """a mask gives masked keys exactly zero weight, and rows still sum to 1"""
        _, weights = run(q, k, v, mask)
        expect_true(
            bool((weights[~mask] == 0).all()),
            "a key the mask forbids (False) must get weight 0: is the mask applied, "
            "and True read as 'may attend'?",
        )
        sums = weights.sum(dim=-1)
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
            f"with a mask, each row must still sum to 1, got sums as low as "
            f"{sums.min().item():.3f}: set masked scores to -inf *before* the softmax",
        )

    def masked_output_matches_torch():
        """with a mask, output equals PyTorch's function with attn_mask"""
        output, _ = run(q, k, v, mask)
        expect_close(
            output,
            F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
            name="output",
            hint="masked scores become -inf before the softmax",
        )

    def a_padding_mask_broadcasts_over_queries():
        """a (batch, 1, 1, keys) padding mask broadcasts over heads and queries"""
        padding = (torch.arange(6) < torch.tensor([6, 3])[:, None])[:, None, None, :]
        output, _ = run(q, k, v, padding)
        expect_close(
            output,
            F.scaled_dot_product_attention(q, k, v, attn_mask=padding),
            name="output",
            hint="use masked_fill(~mask, ...), which broadcasts the mask",
        )

    def causal_mask_matches_is_causal():
        """with a lower-triangular mask, output equals PyTorch's is_causal=True"""
        qs, ks, vs = (
            seeded_randn(2, 6, 8, seed=17),
            seeded_randn(2, 6, 8, seed=18),
            seeded_randn(2, 6, 3, seed=19),
        )
        lower = torch.ones(6, 6, dtype=torch.bool).tril()
        output, _ = run(qs, ks, vs, lower, n_queries=6, n_keys=6, d_v=3, batch=(2,))
        expect_close(
            output, F.scaled_dot_product_attention(qs, ks, vs, is_causal=True), name="output"
        )

    def a_query_that_may_see_nothing_gets_zeros():
        """a query whose keys are all masked gets zero weights and output, not NaN"""
        qs, ks, vs = (
            seeded_randn(3, 8, seed=20),
            seeded_randn(4, 8, seed=21),
            seeded_randn(4, 2, seed=22),
        )
        blocked = torch.tensor(
            [[True, True, False, False], [False, False, False, False], [True, True, True, True]]
        )
        result = expect_parts(call(attention, qs, ks, vs, blocked), "output", "weights")
        for name, tensor in zip(("output", "weights"), result):
            expect_true(
                not (isinstance(tensor, torch.Tensor) and tensor.isnan().any()),
                f"{name} contains NaN: a row of only -inf scores makes the softmax "
                "divide 0 by 0; set such rows of the weights to zero",
            )
        output, weights = run(qs, ks, vs, blocked, n_queries=3, n_keys=4, d_v=2, batch=())
        expect_close(weights[1], torch.zeros(4), name="weights of the blocked query")
        expect_close(output[1], torch.zeros(2), name="output of the blocked query")
        expected = torch.softmax(
            (qs @ ks.T / math.sqrt(8)).masked_fill(~blocked, float("-inf")), dim=-1
        )
        expect_close(weights[[0, 2]], expected[[0, 2]], name="weights of the other queries")

    return [
        returns_output_and_weights,
        weights_are_softmax_of_scaled_scores,
        output_matches_torch,
        square_inputs_need_k_transposed,
        masked_keys_get_zero_weight,
        masked_output_matches_torch,
        a_padding_mask_broadcasts_over_queries,
        causal_mask_matches_is_causal,
        a_query_that_may_see_nothing_gets_zeros,
    ]


# ---------------------------------------------------------------- exercise 4


@lab_check(LAB, points=2)
def check_causal_mask(causal_mask):
    def mask_of(n):
        got = expect_tensor(call(causal_mask, n), shape=(n, n), name=f"causal_mask({n})")
        expect_true(
            got.dtype == torch.bool,
            f"the mask must be boolean (torch.bool), got {got.dtype}: PyTorch's "
            "attention would *add* a float mask to the scores",
        )
        return got

    def returns_a_boolean_square_matrix():
        """returns an (n, n) boolean tensor"""
        mask_of(5)

    def each_position_sees_itself_and_the_past():
        """position i may attend to every j <= i"""
        got = mask_of(5)
        for i in range(5):
            for j in range(i + 1):
                expect_true(
                    bool(got[i, j]),
                    f"position {i} must be allowed to see position {j}"
                    + (" (itself)" if i == j else " (an earlier one)"),
                )

    def no_position_sees_the_future():
        """position i may not attend to any j > i"""
        got = mask_of(5)
        for i in range(5):
            for j in range(i + 1, 5):
                expect_true(
                    not bool(got[i, j]),
                    f"position {i} may see position {j}"
                    + (" (the next one)" if j == i + 1 else " (a later one)")
                    + ": a causal mask allows only j <= i",
                )

    def works_with_torch_attention():
        """used as attn_mask, equals PyTorch's is_causal=True"""
        got = mask_of(7)
        q, k, v = (
            seeded_randn(7, 4, seed=30),
            seeded_randn(7, 4, seed=31),
            seeded_randn(7, 2, seed=32),
        )
        expect_close(
            F.scaled_dot_product_attention(q, k, v, attn_mask=got),
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            name="attention with your mask",
        )

    def a_single_position_sees_itself():
        """causal_mask(1) is [[True]]"""
        got = mask_of(1)
        expect_true(bool(got[0, 0]), "with one position, it must see itself")

    return [
        returns_a_boolean_square_matrix,
        each_position_sees_itself_and_the_past,
        no_position_sees_the_future,
        works_with_torch_attention,
        a_single_position_sees_itself,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
