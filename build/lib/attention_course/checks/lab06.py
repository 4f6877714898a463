"""Checks for Lab 6: multi-head attention, position encodings and chunked attention.

References: ``torch.nn.MultiheadAttention`` with copied weights for multi-head attention
(its ``key_padding_mask`` says True = *blocked*, so it gets ``~mask``),
``torch.nn.functional.scaled_dot_product_attention`` for chunked attention, and the
formula of Vaswani et al. (2017) for the encodings. Inputs are built so that the common
mistakes change the result: tokens, heads and features all differ in number (a reshape
without the transpose keeps the shape but scrambles tokens; with one token or one head it
would be harmless), and where a wrong answer matches a known mistake the hint names it.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..measure import peak_memory
from . import core
from .core import call, lab_check
from .expect import expect_close, expect_parts, expect_tensor, expect_true, seeded_randn

LAB = "06"


def _named_tokens(batch, n, d_model):
    """Entry [b, t, f] = 1000 b + 100 t + f: every number says where it came from."""
    return (
        1000 * torch.arange(batch)[:, None, None]
        + 100 * torch.arange(n)[None, :, None]
        + torch.arange(d_model)[None, None, :]
    ).float()


def _matches(got, candidate):
    return (
        isinstance(got, torch.Tensor)
        and got.shape == candidate.shape
        and torch.allclose(got.detach().float(), candidate.float(), atol=1e-5)
    )


# ---------------------------------------------------------------- exercise 1


def _split(x, n_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n, n_heads, d_model // n_heads).transpose(1, 2)


def _split_hint(got, x, n_heads):
    batch, n, d_model = x.shape
    d_head = d_model // n_heads
    if _matches(got, x.reshape(batch, n_heads, n, d_head)):
        return (
            "you reshaped straight to (batch, heads, tokens, d_head): the shape is right but "
            "each 'head' now holds pieces of several tokens. Reshape to (batch, tokens, heads, "
            "d_head) first, then swap the heads and tokens axes with transpose(1, 2)"
        )
    if _matches(got, x.reshape(batch, n, d_head, n_heads).permute(0, 3, 1, 2)):
        return (
            "head i took every n_heads-th feature; it must take the contiguous slice "
            "i*d_head .. (i+1)*d_head - 1, as nn.MultiheadAttention does"
        )
    return (
        "head i must hold features i*d_head .. (i+1)*d_head - 1 of every token, "
        "with the tokens in order"
    )


@lab_check(LAB, points=2)
def check_split_heads(split_heads):
    x = _named_tokens(2, 5, 12)  # 5 tokens, 3 heads of 4: all sizes differ
    expected = _split(x, 3)

    def returns_batch_heads_tokens_d_head():
        """returns a (batch, heads, tokens, d_head) tensor"""
        expect_tensor(call(split_heads, x, 3), shape=(2, 3, 5, 4), name="split_heads(x, 3)")

    def each_head_holds_its_slice_of_every_token():
        """head i holds features i·d_head … (i+1)·d_head − 1 of every token, in order"""
        got = expect_tensor(call(split_heads, x, 3), shape=(2, 3, 5, 4), name="split_heads(x, 3)")
        expect_close(
            got,
            expected,
            name="split_heads(x, 3)",
            hint=_split_hint(got, x, 3)
            + ". (Entry [b, t, f] of this input is 1000 b + 100 t + f.)",
        )

    def other_sizes():
        """works for other sizes: 4 heads of 2, and a single head"""
        y = _named_tokens(1, 7, 8)
        for n_heads, shape in ((4, (1, 4, 7, 2)), (1, (1, 1, 7, 8))):
            got = expect_tensor(
                call(split_heads, y, n_heads), shape=shape, name=f"split_heads(x, {n_heads})"
            )
            expect_close(
                got,
                _split(y, n_heads),
                name=f"split_heads(x, {n_heads})",
                hint=_split_hint(got, y, n_heads),
            )

    def the_input_is_left_unchanged():
        """does not change its input"""
        y = x.clone()
        call(split_heads, y, 3)
        expect_true(torch.equal(y, x), "split_heads changed the tensor it was given")

    return [
        returns_batch_heads_tokens_d_head,
        each_head_holds_its_slice_of_every_token,
        other_sizes,
        the_input_is_left_unchanged,
    ]


# ---------------------------------------------------------------- exercise 2


@lab_check(LAB, points=2)
def check_merge_heads(merge_heads):
    x = _named_tokens(2, 5, 12)
    heads = _split(x, 3)  # (2, 3, 5, 4), made the right way

    def hint_for(got, heads):
        batch, n_heads, n, d_head = heads.shape
        if _matches(got, heads.reshape(batch, n, n_heads * d_head)):
            return (
                "you reshaped without moving the heads axis back: transpose(1, 2) to "
                "(batch, tokens, heads, d_head) first, then reshape"
            )
        return "token t's output is head 0's row t, then head 1's row t, ... side by side"

    def returns_batch_tokens_d_model():
        """returns a (batch, tokens, heads · d_head) tensor"""
        expect_tensor(call(merge_heads, heads), shape=(2, 5, 12), name="merge_heads(heads)")

    def undoes_split_heads():
        """merge_heads(split_heads(x)) gives back x"""
        got = expect_tensor(call(merge_heads, heads), shape=(2, 5, 12), name="merge_heads(heads)")
        expect_close(
            got,
            x,
            name="merge_heads(heads)",
            hint=hint_for(got, heads)
            + ". (Entry [b, t, f] of the expected result is 1000 b + 100 t + f.)",
        )

    def other_sizes():
        """works for other sizes: 4 heads of 2, and a single head"""
        y = _named_tokens(1, 7, 8)
        for n_heads in (4, 1):
            split = _split(y, n_heads)
            got = expect_tensor(
                call(merge_heads, split), shape=(1, 7, 8), name=f"merge_heads of {n_heads} heads"
            )
            expect_close(got, y, name=f"merge_heads of {n_heads} heads", hint=hint_for(got, split))

    return [returns_batch_tokens_d_model, undoes_split_heads, other_sizes]


# ---------------------------------------------------------------- exercise 3


def _torch_attention(d_model, n_heads, seed):
    torch.manual_seed(seed)
    reference = nn.MultiheadAttention(d_model, n_heads, bias=False, batch_first=True)
    d = d_model
    weights = reference.in_proj_weight.detach()
    return reference, (
        weights[:d],
        weights[d : 2 * d],
        weights[2 * d :],
        reference.out_proj.weight.detach(),
    )


def _attention_hint(student, query, key, value, weights, n_heads, mask=None):
    """Name the mistake a wrong output matches, trying the usual suspects."""
    W_q, W_k, W_v, W_o = weights
    d_model = query.shape[-1]
    d_head = d_model // n_heads

    def variant(scale=d_head, output_map=True, transpose_weights=True, heads=n_heads):
        def project(x, W):
            return _split(x @ (W.T if transpose_weights else W), heads)

        q, k, v = project(query, W_q), project(key, W_k), project(value, W_v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(scale)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        merged = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(query.shape)
        return merged @ W_o.T if output_map else merged

    candidates = [
        (
            variant(output_map=False),
            "the output projection W_o is missing: multiply the merged heads by W_o.T",
        ),
        (
            variant(scale=d_model),
            "scale the scores by √d_head (the size of one head's queries), not √d_model",
        ),
        (
            variant(transpose_weights=False),
            "the projections need the transposed weights, x @ W.T, as nn.Linear computes",
        ),
        (
            variant(heads=1, scale=d_model),
            "that is one head of full width: split the queries, keys and values into n_heads heads",
        ),
    ]
    for candidate, hint in candidates:
        if _matches(student, candidate):
            return hint
    return (
        "Q = query @ W_q.T (same for K, V); split each into heads; softmax(QKᵀ/√d_head) V "
        "per head; merge the heads; multiply by W_o.T"
    )


@lab_check(LAB, points=4)
def check_multi_head_attention(multi_head_attention):
    reference, weights = _torch_attention(12, 3, seed=0)
    x = seeded_randn(2, 5, 12, seed=1)
    with torch.no_grad():
        expected, expected_weights = reference(x, x, x, average_attn_weights=False)

    def run(query, key, value, mask=None, weights=weights, n_heads=3):
        result = call(multi_head_attention, query, key, value, *weights, n_heads, mask)
        output, attention = expect_parts(result, "output", "weights")
        batch, n_queries, d_model = query.shape
        output = expect_tensor(output, shape=(batch, n_queries, d_model), name="output")
        attention = expect_tensor(
            attention, shape=(batch, n_heads, n_queries, key.shape[1]), name="weights"
        )
        return output, attention

    def returns_output_and_every_heads_weights():
        """returns (output, weights): (batch, queries, d_model), (batch, heads, queries, keys)"""
        run(x, x, x)

    def output_matches_nn_multihead_attention():
        """self-attention output equals nn.MultiheadAttention with the same weights"""
        output, _ = run(x, x, x)
        expect_close(
            output, expected, name="output", hint=_attention_hint(output, x, x, x, weights, 3)
        )

    def each_heads_weights_match():
        """each head's weights equal PyTorch's (average_attn_weights=False) and sum to 1"""
        _, attention = run(x, x, x)
        expect_close(
            attention,
            expected_weights,
            name="weights",
            hint="weights[b, i] = softmax(Q_i K_iᵀ / √d_head) over the keys, for head i",
        )

    def cross_attention_with_other_lengths():
        """cross-attention: 4 queries reading 7 keys and values"""
        query, memory = seeded_randn(2, 4, 12, seed=2), seeded_randn(2, 7, 12, seed=3)
        output, _ = run(query, memory, memory)
        with torch.no_grad():
            wanted, _ = reference(query, memory, memory)
        expect_close(
            output,
            wanted,
            name="output",
            hint=_attention_hint(output, query, memory, memory, weights, 3),
        )

    def a_padding_mask_hides_keys_from_every_head():
        """a (batch, 1, keys) mask, True = may attend, hides padded keys from every head"""
        query, memory = seeded_randn(2, 4, 12, seed=4), seeded_randn(2, 6, 12, seed=5)
        mask = (torch.arange(6) < torch.tensor([6, 2])[:, None])[:, None, :]  # (2, 1, 6)
        raw = expect_parts(
            call(multi_head_attention, query, memory, memory, *weights, 3, mask),
            "output",
            "weights",
        )
        expect_true(
            not any(isinstance(t, torch.Tensor) and t.isnan().any() for t in raw),
            "the result contains NaN: some query had every key masked. The mask is True "
            "where a query MAY attend (the opposite of nn.MultiheadAttention's "
            "key_padding_mask): fill the scores where ~mask",
        )
        output, attention = run(query, memory, memory, mask)
        expect_true(
            bool((attention[1, :, :, 2:] == 0).all()),
            "keys the mask forbids (False) must get weight 0 in every head: add a head "
            "axis to the mask (mask.unsqueeze(1)) and use masked_fill(~mask, -inf) on the "
            "scores",
        )
        with torch.no_grad():  # PyTorch's key_padding_mask: True = blocked, the opposite
            wanted, _ = reference(query, memory, memory, key_padding_mask=~mask[:, 0])
        expect_close(
            output,
            wanted,
            name="output with the mask",
            hint=_attention_hint(output, query, memory, memory, weights, 3, mask),
        )

    def other_sizes():
        """another model: d_model 8 with 2 heads"""
        small_reference, small_weights = _torch_attention(8, 2, seed=6)
        y = seeded_randn(3, 4, 8, seed=7)
        output, _ = run(y, y, y, weights=small_weights, n_heads=2)
        with torch.no_grad():
            wanted, _ = small_reference(y, y, y)
        expect_close(
            output, wanted, name="output", hint=_attention_hint(output, y, y, y, small_weights, 2)
        )

    return [
        returns_output_and_every_heads_weights,
        output_matches_nn_multihead_attention,
        each_heads_weights_match,
        cross_attention_with_other_lengths,
        a_padding_mask_hides_keys_from_every_head,
        other_sizes,
    ]


# ---------------------------------------------------------------- exercise 4


def _encoding(length, d_model, positions_from=0, exponent_step=2, interleave=True, sine_first=True):
    positions = torch.arange(positions_from, positions_from + length, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angles = positions / 10000 ** (exponent_step * i / d_model)
    first, second = (torch.sin(angles), torch.cos(angles))
    if not sine_first:
        first, second = second, first
    if interleave:
        return torch.stack([first, second], dim=-1).reshape(length, d_model)
    return torch.cat([first, second], dim=-1)


def _encoding_hint(got, length, d_model):
    candidates = [
        (
            _encoding(length, d_model, sine_first=False),
            "sine and cosine are swapped: even features (0, 2, ...) are sines, odd ones cosines",
        ),
        (
            _encoding(length, d_model, exponent_step=1),
            "the exponent of 10000 is 2i/d_model, where i numbers the sine–cosine pairs "
            "(features 2i and 2i+1)",
        ),
        (
            _encoding(length, d_model, interleave=False),
            "the sines and cosines alternate: feature 2i is a sine, feature 2i+1 the cosine of the "
            "same angle (not all sines, then all cosines)",
        ),
        (_encoding(length, d_model, positions_from=1), "positions start at 0, not 1"),
    ]
    for candidate, hint in candidates:
        if _matches(got, candidate):
            return hint
    return "PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(p / 10000^(2i/d_model))"


@lab_check(LAB, points=2)
def check_sinusoidal_encoding(sinusoidal_encoding):
    def encoding_of(length, d_model):
        return expect_tensor(
            call(sinusoidal_encoding, length, d_model),
            shape=(length, d_model),
            name=f"sinusoidal_encoding({length}, {d_model})",
        )

    def returns_positions_by_features():
        """returns a (length, d_model) tensor"""
        encoding_of(50, 16)

    def position_zero_is_sin_0_and_cos_0():
        """position 0 is [0, 1, 0, 1, ...] (sin 0, cos 0 in every pair)"""
        got = encoding_of(3, 8)
        expect_close(
            got[0],
            torch.tensor([0.0, 1.0] * 4),
            name="the encoding of position 0",
            hint=_encoding_hint(got, 3, 8),
        )

    def matches_the_formula():
        """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(the same)"""
        got = encoding_of(50, 16)
        expect_close(
            got,
            _encoding(50, 16),
            name="sinusoidal_encoding(50, 16)",
            hint=_encoding_hint(got, 50, 16),
        )

    def other_sizes():
        """other sizes: one pair of features, and a wide encoding"""
        for length, d_model in ((7, 2), (30, 64)):
            got = encoding_of(length, d_model)
            expect_close(
                got,
                _encoding(length, d_model),
                name=f"sinusoidal_encoding({length}, {d_model})",
                hint=_encoding_hint(got, length, d_model),
            )

    return [
        returns_positions_by_features,
        position_zero_is_sin_0_and_cos_0,
        matches_the_formula,
        other_sizes,
    ]


# ---------------------------------------------------------------- exercise 5


_ONLINE_HINT = (
    "when a chunk raises the running maximum from m to m', multiply the running "
    "sum AND the weighted sum of values by exp(m - m') before adding the chunk"
)


def _chunked_hint(got, q, k, v, chunk_size):
    """Name the mistake a wrong chunked result matches, if it matches a known one."""
    read = (k.shape[-2] // chunk_size) * chunk_size  # keys in whole chunks only
    candidates = [
        (
            F.scaled_dot_product_attention(q, k, v, scale=1.0),
            "divide the scores by √d, the length of the queries and keys",
        ),
    ]
    if 0 < read < k.shape[-2]:
        candidates.append(
            (
                F.scaled_dot_product_attention(q, k[..., :read, :], v[..., :read, :]),
                "the last chunk, shorter than the others, was left out: loop with "
                "range(0, n_keys, chunk_size) and slice k[..., start:start + chunk_size, :]",
            )
        )
    for candidate, hint in candidates:
        if _matches(got, candidate):
            return hint
    return _ONLINE_HINT


@lab_check(LAB, points=4, time_limit=20)
def check_chunked_attention(chunked_attention):
    q, k, v = (
        seeded_randn(2, 37, 8, seed=10),
        seeded_randn(2, 45, 8, seed=11),
        seeded_randn(2, 45, 5, seed=12),
    )
    expected = F.scaled_dot_product_attention(q, k, v)

    def attend(q, k, v, chunk_size, name):
        return expect_tensor(
            call(chunked_attention, q, k, v, chunk_size),
            shape=(*q.shape[:-1], v.shape[-1]),
            name=name,
        )

    def returns_one_output_per_query():
        """returns a (..., queries, d_v) tensor"""
        attend(q, k, v, 16, "chunked_attention(q, k, v, 16)")

    def equals_exact_attention():
        """equals softmax(QKᵀ/√d) V (PyTorch's function) with chunks of 16"""
        got = attend(q, k, v, 16, "output")
        expect_close(
            got, expected, name="output with chunks of 16", hint=_chunked_hint(got, q, k, v, 16)
        )

    def any_chunk_size_gives_the_same_answer():
        """the same answer with chunks of 1, 7 (not dividing 45), 45 and 100 keys"""
        for chunk_size in (1, 7, 45, 100):
            got = attend(q, k, v, chunk_size, f"output with chunks of {chunk_size}")
            expect_close(
                got,
                expected,
                name=f"output with chunks of {chunk_size}",
                hint=_chunked_hint(got, q, k, v, chunk_size),
            )

    def keeps_up_when_the_maximum_keeps_rising():
        """keys whose scores rise chunk after chunk (each chunk raises the maximum)"""
        direction = torch.ones(1, 1, 8)
        rising_keys = torch.linspace(-2, 2, 45)[None, :, None] * direction  # scores rise with j
        got = attend(direction, rising_keys, v[:1], 5, "output")
        expect_close(
            got,
            F.scaled_dot_product_attention(direction, rising_keys, v[:1]),
            name="output",
            hint=_chunked_hint(got, direction, rising_keys, v[:1], 5),
        )

    def large_scores_do_not_overflow():
        """scores in the hundreds: no overflow (subtract the running maximum)"""
        big_q, big_k = 30 * q, 30 * k  # scores up to about ±1000: exp would overflow
        raw = call(chunked_attention, big_q, big_k, v, 16)
        expect_true(
            not (isinstance(raw, torch.Tensor) and raw.isnan().any()),
            "the output contains NaN: exp of a score in the hundreds overflows to inf. "
            "Exponentiate each score minus the running maximum, so every exponential is "
            "at most 1",
        )
        got = attend(big_q, big_k, v, 16, "output for large scores")
        expect_close(
            got,
            F.scaled_dot_product_attention(big_q, big_k, v),
            name="output for large scores",
            hint=_chunked_hint(got, big_q, big_k, v, 16),
        )

    def never_holds_all_scores_at_once():
        """memory: never holds the whole 2048 × 2048 score matrix at once (chunks of 64)"""
        many_q, many_k, many_v = (seeded_randn(2048, 16, seed=seed) for seed in (13, 14, 15))
        full_matrix = 2048 * 2048 * 4  # bytes of float32 scores
        peak = peak_memory(lambda: call(chunked_attention, many_q, many_k, many_v, 64))
        expect_true(
            peak < full_matrix / 4,
            f"your function held {peak / 2**20:.1f} MB of tensors at its peak; the full "
            f"score matrix is {full_matrix / 2**20:.0f} MB and one chunk of 64 keys "
            f"{2048 * 64 * 4 / 2**20:.1f} MB: compute the scores of one chunk at a time",
        )

    return [
        returns_one_output_per_query,
        equals_exact_attention,
        any_chunk_size_gives_the_same_answer,
        keeps_up_when_the_maximum_keeps_rising,
        large_scores_do_not_overflow,
        never_holds_all_scores_at_once,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
