"""Checks for Lab 6: multi-head attention, position encodings and chunked attention.

References, computed by the judges: ``torch.nn.MultiheadAttention`` with copied weights for
multi-head attention (its ``key_padding_mask`` says True = *blocked*, so it gets ``~mask``),
``torch.nn.functional.scaled_dot_product_attention`` for chunked attention, and the
formula of Vaswani et al. (2017) for the encodings. Inputs are built so that the common
mistakes change the result: tokens, heads and features all differ in number (a reshape
without the transpose keeps the shape but scrambles tokens; with one token or one head it
would be harmless), and where a wrong answer matches a known mistake the message names it.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..data.sequences import length_mask
from ..measure import peak_memory
from .expect import Mistake, expect_close, expect_parts, expect_tensor, expect_true, seeded_randn
from .framework import Case, Lab, calls

lab = Lab("06", "Multi-head attention, positions and chunked attention")
score = lab.score


def _named_tokens(batch, n, d_model):
    """Entry [b, t, f] = 1000 b + 100 t + f: every number says where it came from."""
    return (
        1000 * torch.arange(batch)[:, None, None]
        + 100 * torch.arange(n)[None, :, None]
        + torch.arange(d_model)[None, None, :]
    ).float()


def changed_inputs_after(*args):
    """The recipe that calls the student's function, then returns its result and the names
    of the inputs it changed in place. The function works on copies of its inputs, so the
    originals never show a change: the guards' log of the check's calls does."""

    def recipe(function):
        return function(*args), list(function.log.changed_inputs)

    return recipe


def expect_unchanged(result, message):
    """Judge a :func:`changed_inputs_after` call: no input was changed in place."""
    changed = result[1] if isinstance(result, tuple) and len(result) == 2 else ["?"]
    expect_true(not changed, message)


# ---------------------------------------------------------------- exercise 1


def _split(x, n_heads):
    batch, n, d_model = x.shape
    return x.reshape(batch, n, n_heads, d_model // n_heads).transpose(1, 2)


_SPLIT_HINT = (
    "head i must hold features i*d_head .. (i+1)*d_head - 1 of every token, "
    "with the tokens in order"
)


def _split_mistakes(x, n_heads, note=""):
    batch, n, d_model = x.shape
    d_head = d_model // n_heads
    return [
        Mistake(
            "you reshaped straight to (batch, heads, tokens, d_head): the shape is right but "
            "each 'head' now holds pieces of several tokens. Reshape to (batch, tokens, heads, "
            "d_head) first, then swap the heads and tokens axes with transpose(1, 2)" + note,
            lambda: x.reshape(batch, n_heads, n, d_head),
        ),
        Mistake(
            "head i took every n_heads-th feature; it must take the contiguous slice "
            "i*d_head .. (i+1)*d_head - 1, as nn.MultiheadAttention does" + note,
            lambda: x.reshape(batch, n, d_head, n_heads).permute(0, 3, 1, 2),
        ),
    ]


@lab.check(points=2)
def check_split_heads():
    x = _named_tokens(2, 5, 12)  # 5 tokens, 3 heads of 4: all sizes differ
    y = _named_tokens(1, 7, 8)
    plain = calls(x, 3)

    def split(result):
        return expect_tensor(result, shape=(2, 3, 5, 4), name="split_heads(x, 3)")

    def each_head_holds_its_slice(result):
        note = ". (Entry [b, t, f] of this input is 1000 b + 100 t + f.)"
        expect_close(
            split(result),
            _split(x, 3),
            name="split_heads(x, 3)",
            hint=_SPLIT_HINT + note,
            mistakes=_split_mistakes(x, 3, note),
        )

    def works_for_other_sizes(result):
        for got, n_heads, shape in zip(result, (4, 1), ((1, 4, 7, 2), (1, 1, 7, 8))):
            name = f"split_heads(x, {n_heads})"
            expect_close(
                expect_tensor(got, shape=shape, name=name),
                _split(y, n_heads),
                name=name,
                hint=_SPLIT_HINT,
                mistakes=_split_mistakes(y, n_heads),
            )

    def leaves_the_input_alone(result):
        expect_unchanged(result, "split_heads changed the tensor it was given")

    return [
        Case("returns a (batch, heads, tokens, d_head) tensor", plain, split),
        Case(
            "head i holds features i·d_head … (i+1)·d_head − 1 of every token, in order",
            plain,
            each_head_holds_its_slice,
        ),
        Case(
            "works for other sizes: 4 heads of 2, and a single head",
            lambda f: (f(y, 4), f(y, 1)),
            works_for_other_sizes,
        ),
        Case("does not change its input", changed_inputs_after(x, 3), leaves_the_input_alone),
    ]


# ---------------------------------------------------------------- exercise 2


_MERGE_HINT = "token t's output is head 0's row t, then head 1's row t, ... side by side"


def _merge_mistakes(heads, note=""):
    batch, n_heads, n, d_head = heads.shape
    return [
        Mistake(
            "you reshaped without moving the heads axis back: transpose(1, 2) to "
            "(batch, tokens, heads, d_head) first, then reshape" + note,
            lambda: heads.reshape(batch, n, n_heads * d_head),
        )
    ]


@lab.check(points=2)
def check_merge_heads():
    x = _named_tokens(2, 5, 12)
    heads = _split(x, 3)  # (2, 3, 5, 4), made the right way
    y = _named_tokens(1, 7, 8)
    splits = [_split(y, n_heads) for n_heads in (4, 1)]
    plain = calls(heads)

    def merged(result):
        return expect_tensor(result, shape=(2, 5, 12), name="merge_heads(heads)")

    def undoes_split_heads(result):
        note = ". (Entry [b, t, f] of the expected result is 1000 b + 100 t + f.)"
        expect_close(
            merged(result),
            x,
            name="merge_heads(heads)",
            hint=_MERGE_HINT + note,
            mistakes=_merge_mistakes(heads, note),
        )

    def works_for_other_sizes(result):
        for got, split, n_heads in zip(result, splits, (4, 1)):
            name = f"merge_heads of {n_heads} heads"
            expect_close(
                expect_tensor(got, shape=(1, 7, 8), name=name),
                y,
                name=name,
                hint=_MERGE_HINT,
                mistakes=_merge_mistakes(split),
            )

    return [
        Case("returns a (batch, tokens, heads · d_head) tensor", plain, merged),
        Case("merge_heads(split_heads(x)) gives back x", plain, undoes_split_heads),
        Case(
            "works for other sizes: 4 heads of 2, and a single head",
            lambda f: tuple(f(split) for split in splits),
            works_for_other_sizes,
        ),
    ]


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


_ATTENTION_HINT = (
    "Q = query @ W_q.T (same for K, V); split each into heads; softmax(QKᵀ/√d_head) V "
    "per head; merge the heads; multiply by W_o.T"
)


def _attention_mistakes(query, key, value, weights, n_heads, mask=None):
    """The usual suspects, each computed only when a wrong output is compared with it."""
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

    return [
        Mistake(
            "the output projection W_o is missing: multiply the merged heads by W_o.T",
            lambda: variant(output_map=False),
        ),
        Mistake(
            "scale the scores by √d_head (the size of one head's queries), not √d_model",
            lambda: variant(scale=d_model),
        ),
        Mistake(
            "the projections need the transposed weights, x @ W.T, as nn.Linear computes",
            lambda: variant(transpose_weights=False),
        ),
        Mistake(
            "that is one head of full width: split the queries, keys and values into n_heads heads",
            lambda: variant(heads=1, scale=d_model),
        ),
    ]


def _attention_parts(result, n_queries, n_keys, batch=2, d_model=12, n_heads=3):
    output, attention = expect_parts(result, "output", "weights")
    return (
        expect_tensor(output, shape=(batch, n_queries, d_model), name="output"),
        expect_tensor(attention, shape=(batch, n_heads, n_queries, n_keys), name="weights"),
    )


def _expect_like_pytorch(output, reference, inputs, weights, n_heads, mask=None, name="output"):
    """The output equals PyTorch's module on the same inputs (mask: True = may attend)."""
    with torch.no_grad():  # PyTorch's key_padding_mask: True = blocked, the opposite
        blocked = None if mask is None else ~mask[:, 0]
        wanted, _ = reference(*inputs, key_padding_mask=blocked)
    expect_close(
        output,
        wanted,
        name=name,
        hint=_ATTENTION_HINT,
        mistakes=_attention_mistakes(*inputs, weights, n_heads, mask),
    )


@lab.check(points=4)
def check_multi_head_attention():
    reference, weights = _torch_attention(12, 3, seed=0)
    x = seeded_randn(2, 5, 12, seed=1)
    cross_query, cross_memory = seeded_randn(2, 4, 12, seed=2), seeded_randn(2, 7, 12, seed=3)
    masked_query, masked_memory = seeded_randn(2, 4, 12, seed=4), seeded_randn(2, 6, 12, seed=5)
    mask = length_mask(torch.tensor([6, 2]), 6)[:, None, :]  # (2, 1, 6)
    small_reference, small_weights = _torch_attention(8, 2, seed=6)
    y = seeded_randn(3, 4, 8, seed=7)
    self_attention = calls(x, x, x, *weights, 3, None)
    cross = calls(cross_query, cross_memory, cross_memory, *weights, 3, None)
    masked = calls(masked_query, masked_memory, masked_memory, *weights, 3, mask)
    small = calls(y, y, y, *small_weights, 2, None)

    def parts(result):
        return _attention_parts(result, 5, 5)

    def output_matches(result):
        _expect_like_pytorch(parts(result)[0], reference, (x, x, x), weights, 3)

    def each_heads_weights_match(result):
        with torch.no_grad():
            _, expected = reference(x, x, x, average_attn_weights=False)
        expect_close(
            parts(result)[1],
            expected,
            name="weights",
            hint="weights[b, i] = softmax(Q_i K_iᵀ / √d_head) over the keys, for head i",
        )

    def cross_attention(result):
        output, _ = _attention_parts(result, 4, 7)
        inputs = (cross_query, cross_memory, cross_memory)
        _expect_like_pytorch(output, reference, inputs, weights, 3)

    def mask_hides_keys(result):
        raw = expect_parts(result, "output", "weights")
        expect_true(
            not any(isinstance(t, torch.Tensor) and t.isnan().any() for t in raw),
            "the result contains NaN: some query had every key masked. The mask is True "
            "where a query MAY attend (the opposite of nn.MultiheadAttention's "
            "key_padding_mask): fill the scores where ~mask",
        )
        output, attention = _attention_parts(result, 4, 6)
        expect_true(
            bool((attention[1, :, :, 2:] == 0).all()),
            "keys the mask forbids (False) must get weight 0 in every head: add a head "
            "axis to the mask (mask.unsqueeze(1)) and use masked_fill(~mask, -inf) on the "
            "scores",
        )
        inputs = (masked_query, masked_memory, masked_memory)
        _expect_like_pytorch(output, reference, inputs, weights, 3, mask, "output with the mask")

    def another_model(result):
        output, _ = _attention_parts(result, 4, 4, batch=3, d_model=8, n_heads=2)
        _expect_like_pytorch(output, small_reference, (y, y, y), small_weights, 2)

    return [
        Case(
            "returns (output, weights): (batch, queries, d_model), (batch, heads, queries, keys)",
            self_attention,
            parts,
        ),
        Case(
            "self-attention output equals nn.MultiheadAttention with the same weights",
            self_attention,
            output_matches,
        ),
        Case(
            "each head's weights equal PyTorch's (average_attn_weights=False) and sum to 1",
            self_attention,
            each_heads_weights_match,
        ),
        Case("cross-attention: 4 queries reading 7 keys and values", cross, cross_attention),
        Case(
            "a (batch, 1, keys) mask, True = may attend, hides padded keys from every head",
            masked,
            mask_hides_keys,
        ),
        Case("another model: d_model 8 with 2 heads", small, another_model),
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


_ENCODING_HINT = (
    "PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(p / 10000^(2i/d_model))"
)


def _encoding_mistakes(length, d_model, rows=slice(None)):
    """Known wrong encodings; ``rows`` picks the positions the judged answer holds."""

    def wrong(**mistake):
        return lambda: _encoding(length, d_model, **mistake)[rows]

    return [
        Mistake(
            "sine and cosine are swapped: even features (0, 2, ...) are sines, odd ones cosines",
            wrong(sine_first=False),
        ),
        Mistake(
            "the exponent of 10000 is 2i/d_model, where i numbers the sine–cosine pairs "
            "(features 2i and 2i+1)",
            wrong(exponent_step=1),
        ),
        Mistake(
            "the sines and cosines alternate: feature 2i is a sine, feature 2i+1 the cosine of the "
            "same angle (not all sines, then all cosines)",
            wrong(interleave=False),
        ),
        Mistake("positions start at 0, not 1", wrong(positions_from=1)),
    ]


def _encoding_of(result, length, d_model):
    name = f"sinusoidal_encoding({length}, {d_model})"
    return expect_tensor(result, shape=(length, d_model), name=name)


def _expect_the_formula(result, length, d_model):
    expect_close(
        _encoding_of(result, length, d_model),
        _encoding(length, d_model),
        name=f"sinusoidal_encoding({length}, {d_model})",
        hint=_ENCODING_HINT,
        mistakes=_encoding_mistakes(length, d_model),
    )


@lab.check(points=2)
def check_sinusoidal_encoding():
    plain = calls(50, 16)
    small = calls(3, 8)

    def position_zero(result):
        expect_close(
            _encoding_of(result, 3, 8)[0],
            torch.tensor([0.0, 1.0] * 4),
            name="the encoding of position 0",
            hint=_ENCODING_HINT,
            mistakes=_encoding_mistakes(3, 8, rows=0),
        )

    def works_for_other_sizes(result):
        for got, (length, d_model) in zip(result, ((7, 2), (30, 64))):
            _expect_the_formula(got, length, d_model)

    return [
        Case("returns a (length, d_model) tensor", plain, lambda r: _encoding_of(r, 50, 16)),
        Case("position 0 is [0, 1, 0, 1, ...] (sin 0, cos 0 in every pair)", small, position_zero),
        Case(
            "PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(the same)",
            plain,
            lambda r: _expect_the_formula(r, 50, 16),
        ),
        Case(
            "other sizes: one pair of features, and a wide encoding",
            lambda f: (f(7, 2), f(30, 64)),
            works_for_other_sizes,
        ),
    ]


# ---------------------------------------------------------------- exercise 5


_ONLINE_HINT = (
    "when a chunk raises the running maximum from m to m', multiply the running "
    "sum AND the weighted sum of values by exp(m - m') before adding the chunk"
)
_CHUNK_SIZES = (1, 7, 45, 100)


def _expect_exact_attention(result, q, k, v, chunk_size, name):
    """The output of chunks of ``chunk_size`` equals exact attention."""
    got = expect_tensor(result, shape=(*q.shape[:-1], v.shape[-1]), name=name)
    read = (k.shape[-2] // chunk_size) * chunk_size  # keys in whole chunks only
    mistakes = [
        Mistake(
            "divide the scores by √d, the length of the queries and keys",
            lambda: F.scaled_dot_product_attention(q, k, v, scale=1.0),
        ),
    ]
    if 0 < read < k.shape[-2]:
        mistakes.append(
            Mistake(
                "the last chunk, shorter than the others, was left out: loop with "
                "range(0, n_keys, chunk_size) and slice k[..., start:start + chunk_size, :]",
                lambda: F.scaled_dot_product_attention(q, k[..., :read, :], v[..., :read, :]),
            )
        )
    expect_close(
        got,
        F.scaled_dot_product_attention(q, k, v),
        name=name,
        hint=_ONLINE_HINT,
        mistakes=mistakes,
    )


@lab.check(points=4, time_limit=20)
def check_chunked_attention():
    q, k, v = (
        seeded_randn(2, 37, 8, seed=10),
        seeded_randn(2, 45, 8, seed=11),
        seeded_randn(2, 45, 5, seed=12),
    )
    direction = torch.ones(1, 1, 8)
    rising_keys = torch.linspace(-2, 2, 45)[None, :, None] * direction  # scores rise with j
    big_q, big_k = 30 * q, 30 * k  # scores up to about ±1000: exp would overflow
    many = [seeded_randn(2048, 16, seed=seed) for seed in (13, 14, 15)]
    plain = calls(q, k, v, 16)
    rising = calls(direction, rising_keys, v[:1], 5)
    large = calls(big_q, big_k, v, 16)

    def one_output_per_query(result):
        shape = (*q.shape[:-1], v.shape[-1])
        expect_tensor(result, shape=shape, name="chunked_attention(q, k, v, 16)")

    def equals_exact_attention(result):
        expect_tensor(result, shape=(*q.shape[:-1], v.shape[-1]), name="output")
        _expect_exact_attention(result, q, k, v, 16, "output with chunks of 16")

    def any_chunk_size(result):
        for got, size in zip(result, _CHUNK_SIZES):
            _expect_exact_attention(got, q, k, v, size, f"output with chunks of {size}")

    def rising_maximum(result):
        _expect_exact_attention(result, direction, rising_keys, v[:1], 5, "output")

    def no_overflow(result):
        expect_true(
            not (isinstance(result, torch.Tensor) and result.isnan().any()),
            "the output contains NaN: exp of a score in the hundreds overflows to inf. "
            "Exponentiate each score minus the running maximum, so every exponential is "
            "at most 1",
        )
        _expect_exact_attention(result, big_q, big_k, v, 16, "output for large scores")

    def small_memory(result):
        expect_true(isinstance(result, int), f"no memory measurement, got {result!r}"[:100])
        peak = result - sum(t.numel() * t.element_size() for t in many)  # less the copies
        full_matrix = 2048 * 2048 * 4  # bytes of float32 scores
        expect_true(
            peak < full_matrix / 4,
            f"your function held {peak / 2**20:.1f} MB of tensors at its peak; the full "
            f"score matrix is {full_matrix / 2**20:.0f} MB and one chunk of 64 keys "
            f"{2048 * 64 * 4 / 2**20:.1f} MB: compute the scores of one chunk at a time",
        )

    return [
        Case("returns a (..., queries, d_v) tensor", plain, one_output_per_query),
        Case(
            "equals softmax(QKᵀ/√d) V (PyTorch's function) with chunks of 16",
            plain,
            equals_exact_attention,
        ),
        Case(
            "the same answer with chunks of 1, 7 (not dividing 45), 45 and 100 keys",
            lambda f: tuple(f(q, k, v, size) for size in _CHUNK_SIZES),
            any_chunk_size,
        ),
        Case(
            "keys whose scores rise chunk after chunk (each chunk raises the maximum)",
            rising,
            rising_maximum,
        ),
        Case(
            "scores in the hundreds: no overflow (subtract the running maximum)", large, no_overflow
        ),
        Case(
            "memory: never holds the whole 2048 × 2048 score matrix at once (chunks of 64)",
            # Measured where the student's function runs, which gets copies of its inputs
            # made inside the measured call: the judge takes their bytes off.
            lambda f: peak_memory(f, *many, 64),
            small_memory,
        ),
    ]
