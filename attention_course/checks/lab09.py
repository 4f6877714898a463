"""Checks for Lab 9: rotary positions, the mask of a cached step, grouped-query attention,
attention with a KV cache, and how far a model reads past its training length.

The judges compare with independent references: rotary embeddings as complex
multiplication, grouped-query attention as PyTorch's fused kernel (``enable_gqa``), and a
cached step as the package's attention layer run over the whole sequence.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from ..models.language_model import (
    CausalSelfAttention,
    DecoderLanguageModel,
    next_token_loss,
)
from ..models.transformer import split_heads
from .calling import CaseFailed
from .expect import (
    Mistake,
    expect_array,
    expect_choice,
    expect_close,
    expect_parts,
    expect_tensor,
    expect_true,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("09", "Rotary positions, grouped queries and a KV cache")
score = lab.score

_PACKAGE = "attention_course.models.language_model"
_SHORTCUTS = (
    "torch.nn.functional.scaled_dot_product_attention",
    f"{_PACKAGE}.apply_rotary",
    f"{_PACKAGE}.causal_mask_for",
    f"{_PACKAGE}.expand_kv_heads",
    f"{_PACKAGE}.attend",
    f"{_PACKAGE}.tiled_attention",
)


# ---------------------------------------------------------------- rotary positions


def _rope_reference(x: torch.Tensor, positions, sign: float = 1.0, pairs="neighbours", step=2):
    """Rotary embedding as complex multiplication, computed in float64.

    The keyword arguments make the plausible mistakes: ``sign=-1`` turns the other way,
    ``pairs="halves"`` pairs feature i with i + d/2, ``step=1`` uses θ_i = 10000^(-i/d).
    """
    x = x.detach().double()
    d = x.shape[-1]
    theta = 10000.0 ** (-step * torch.arange(d // 2, dtype=torch.float64) / d)
    angle = sign * torch.as_tensor(positions, dtype=torch.float64)[:, None] * theta
    turn = torch.polar(torch.ones_like(angle), angle)
    if pairs == "halves":
        z = torch.complex(x[..., : d // 2], x[..., d // 2 :]) * turn
        return torch.cat([z.real, z.imag], dim=-1)
    z = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous()) * turn
    return torch.view_as_real(z).reshape(x.shape)


def _rope_mistakes(x, positions):
    return [
        Mistake(
            "it pairs feature i with feature i + d/2 (the two halves of the vector); here "
            "the pairs are neighbours, (2i, 2i+1)",
            lambda: _rope_reference(x, positions, pairs="halves"),
        ),
        Mistake(
            "the frequencies are 10000^(-i/d); they are θ_i = 10000^(-2i/d), where i counts pairs",
            lambda: _rope_reference(x, positions, step=1),
        ),
        Mistake(
            "the rotation turns the wrong way: the first feature of a pair becomes "
            "x·cos - y·sin, the second x·sin + y·cos",
            lambda: _rope_reference(x, positions, sign=-1.0),
        ),
        Mistake(
            "each row is rotated by its index 0, 1, 2, ... instead of the positions given",
            lambda: _rope_reference(x, torch.arange(x.shape[-2])),
        ),
    ]


@lab.check(points=3, forbid=_SHORTCUTS)
def check_rotate():
    x = seeded_randn(2, 3, 5, 8, seed=1)  # (batch, heads, n, d)
    positions = torch.arange(5)
    later_x = seeded_randn(1, 2, 3, 8, seed=2)  # batch of 1, at positions 7, 8, 9
    later_positions = torch.tensor([7, 8, 9])
    flat_x = seeded_randn(6, 4, seed=3).double()  # (n, d), float64
    flat_positions = torch.tensor([0, 1, 2, 3, 40, 41])
    q, k = seeded_randn(1, 16, seed=4), seeded_randn(1, 16, seed=5)
    offsets_q, offsets_k = q.expand(12, 16).clone(), k.expand(12, 16).clone()
    twelve = torch.arange(12)

    plain = calls(x, positions)
    later = calls(later_x, later_positions)
    flat = calls(flat_x, flat_positions)
    both = lambda rotate: (rotate(offsets_q, twelve), rotate(offsets_k, twelve))  # noqa: E731

    def rotated(shape, name="the rotated x"):
        return lambda result: expect_tensor(result, shape=shape, name=name)

    def equals(inputs, given):
        def judge(result):
            expect_close(
                rotated(tuple(inputs.shape))(result),
                _rope_reference(inputs, given),
                name="the rotated x",
                mistakes=_rope_mistakes(inputs, given),
            )

        return judge

    def keeps_lengths(result):
        got = rotated((2, 3, 5, 8))(result).double()
        expect_close(
            got.reshape(2, 3, 5, 4, 2).norm(dim=-1),
            x.double().reshape(2, 3, 5, 4, 2).norm(dim=-1),
            name="the length of each pair (2i, 2i+1)",
            hint="a rotation changes a pair's direction, never its length: "
            "each pair must be turned by its own angle, with cos and sin of the same angle",
        )

    def offsets_only(result):
        q_rotated, k_rotated = expect_parts(result, "rotated q", "rotated k")
        q_rotated = expect_tensor(q_rotated, shape=(12, 16), name="rotated q").double()
        k_rotated = expect_tensor(k_rotated, shape=(12, 16), name="rotated k").double()
        scores = q_rotated @ k_rotated.T  # scores[m, n]: query at m, key at n
        for offset in (0, 2, 5):
            diagonal = scores.diagonal(-offset)
            spread = (diagonal.max() - diagonal.min()).item()
            expect_true(
                spread < 1e-4,
                f"the score of the same q and k at positions m and n should depend on m - n "
                f"only; for m - n = {offset} it ranges over {spread:.3g}",
            )

    return [
        Case("returns a tensor of the shape of x", plain, rotated((2, 3, 5, 8))),
        Case("equals the rotary embedding at positions 0 to 4", plain, equals(x, positions)),
        Case(
            "uses the positions it is given (a batch of 1 at positions 7, 8, 9)",
            later,
            equals(later_x, later_positions),
        ),
        Case(
            "works for a 2-D x (n, d) in float64, positions 0-3 and 40-41",
            flat,
            equals(flat_x, flat_positions),
        ),
        Case("keeps the length of every pair (a rotation)", plain, keeps_lengths),
        Case("makes q·k depend only on the offset m - n", both, offsets_only),
    ]


# ---------------------------------------------------------------- the mask of a cached step


def _mask_reference(n_new, n_cached, window=None, offset=True, inclusive_window=False):
    n_keys = n_new + n_cached
    query = torch.arange(n_new)[:, None] + (n_cached if offset else 0)
    key = torch.arange(n_keys)[None, :]
    mask = key <= query
    if window is not None:
        mask &= key >= query - window if inclusive_window else key > query - window
    return mask


@lab.check(points=2)
def check_cached_causal_mask():
    def judge(n_new, n_cached, window=None):
        def check(result):
            mask = expect_tensor(result, shape=(n_new, n_new + n_cached), name="the mask")
            expect_true(mask.dtype == torch.bool, f"the mask should be boolean, got {mask.dtype}")
            mistakes = [
                Mistake(
                    "the new tokens were masked as if they were positions 0, 1, ...: new "
                    f"token i sits at position {n_cached} + i, after the cached ones",
                    lambda: _mask_reference(n_new, n_cached, window, offset=False),
                ),
            ]
            if window is not None:
                mistakes += [
                    Mistake(
                        f"each token sees {window + 1} positions: a window of {window} "
                        "includes the token itself",
                        lambda: _mask_reference(n_new, n_cached, window, inclusive_window=True),
                    ),
                    Mistake(
                        "the window is ignored",
                        lambda: _mask_reference(n_new, n_cached),
                    ),
                ]
            expect_close(
                mask.double(),
                _mask_reference(n_new, n_cached, window).double(),
                name="the mask",
                mistakes=mistakes,
            )

        return check

    return [
        Case("no cache: the causal mask (4 new, 0 cached)", calls(4, 0), judge(4, 0)),
        Case("one new token after 5 cached sees all 6", calls(1, 5), judge(1, 5)),
        Case("3 new tokens after 4 cached", calls(3, 4), judge(3, 4)),
        Case("window 3: 5 new after 2 cached", calls(5, 2, window=3), judge(5, 2, 3)),
        Case("window 1: each token sees only itself", calls(3, 3, window=1), judge(3, 3, 1)),
        Case(
            "a window longer than the text changes nothing",
            calls(2, 3, window=10),
            judge(2, 3, 10),
        ),
    ]


# ---------------------------------------------------------------- grouped-query attention


def _gqa_reference(
    q, k, v, mask=None, grouping="neighbours", scale=True, mask_after=False, mask_on_heads=False
):
    """Output and weights of grouped-query attention in float64 (PyTorch's kernel for the
    output); the keywords make the plausible mistakes."""
    q, k, v = q.double(), k.double(), v.double()
    group = q.shape[-3] // k.shape[-3]
    if grouping == "neighbours":
        k_all, v_all = k.repeat_interleave(group, dim=-3), v.repeat_interleave(group, dim=-3)
    else:  # head h reads key/value head h % G
        k_all, v_all = k.repeat(1, group, 1, 1), v.repeat(1, group, 1, 1)
    if mask is not None and mask.dim() == 3 and not mask_on_heads:
        mask = mask[:, None]  # (batch, 1, n_q, n_k): the same mask for every head
    scores = q @ k_all.transpose(-2, -1) / (math.sqrt(q.shape[-1]) if scale else 1.0)
    if mask is not None and not mask_after:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None and mask_after:
        weights = weights * mask
    output = weights @ v_all
    if grouping == "neighbours" and scale and not (mask_after or mask_on_heads):
        fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        assert torch.allclose(fused, output, atol=1e-10), "the two references disagree"
    return output, weights


def _gqa_case(name, inputs, mistakes=True):
    """A case judging (output, weights) against the reference for ``inputs``."""
    q, k, v, mask = inputs
    batch, heads, n_q, _ = q.shape
    n_k, d_v = k.shape[-2], v.shape[-1]

    def judge(result):
        output, weights = expect_parts(result, "output", "weights")
        output = expect_tensor(output, shape=(batch, heads, n_q, d_v), name="output")
        weights = expect_tensor(weights, shape=(batch, heads, n_q, n_k), name="weights")
        known = (
            [
                Mistake(
                    "query head h reads key/value head h % G: neighbouring query heads "
                    "share a key/value head (0 and 1 read head 0, 2 and 3 head 1)",
                    lambda: _gqa_reference(q, k, v, mask, grouping="alternating")[0],
                ),
                Mistake(
                    "the scores were not divided by √d",
                    lambda: _gqa_reference(q, k, v, mask, scale=False)[0],
                ),
                Mistake(
                    "the masked weights were zeroed after the softmax: mask the scores "
                    "before it, so that each row's allowed weights still sum to 1",
                    lambda: _gqa_reference(q, k, v, mask, mask_after=True)[0],
                ),
            ]
            + (
                [
                    Mistake(
                        "the (batch, n_q, n_k) mask lined up with the heads, not the "
                        "sequences: give it an axis of size 1 for the heads, at position 1",
                        lambda: _gqa_reference(q, k, v, mask, mask_on_heads=True)[0],
                    )
                ]
                if mask is not None and mask.dim() == 3 and batch == heads
                else []
            )
            if mistakes
            else []
        )
        expected_output, expected_weights = _gqa_reference(q, k, v, mask)
        expect_close(output, expected_output, name="output", mistakes=known)
        expect_close(weights, expected_weights, name="weights")

    return Case(name, calls(q, k, v, mask), judge)


@lab.check(points=3, forbid=_SHORTCUTS)
def check_grouped_query_attention():
    q, k = seeded_randn(2, 4, 5, 8, seed=10), seeded_randn(2, 2, 7, 8, seed=11)
    v = seeded_randn(2, 2, 7, 3, seed=12)  # values of another width than the keys
    causal = torch.ones(5, 7, dtype=torch.bool).tril(diagonal=2)  # (n_q, n_k)
    lengths = torch.tensor([7, 4])
    per_sequence = causal[None] & (torch.arange(7) < lengths[:, None, None])  # (batch, n_q, n_k)
    # batch = heads = 2: a (batch, n_q, n_k) mask without a head axis would be taken as
    # one mask per head, silently
    q2, k2, v2 = seeded_randn(2, 2, 5, 8, seed=13), seeded_randn(2, 1, 7, 8, seed=14), v[:, :1]
    # every score near -3000 (a softmax that does not subtract the maximum gives 0/0)
    far = seeded_randn(1, 2, 3, 4, seed=15) + 40.0
    far_keys = -seeded_randn(1, 1, 6, 4, seed=16).abs() - 40.0
    far_values = seeded_randn(1, 1, 6, 4, seed=17)
    huge_q, huge_k = 300 * seeded_randn(1, 4, 4, 8, seed=18), seeded_randn(1, 2, 4, 8, seed=19)

    def sums_to_one(result):
        _, weights = expect_parts(result, "output", "weights")
        weights = expect_tensor(weights, shape=(2, 4, 5, 7), name="weights")
        totals = weights.double().sum(dim=-1)
        expect_true(
            torch.allclose(totals, torch.ones_like(totals), atol=1e-5),
            f"each query's weights should sum to 1 over the keys; sums range from "
            f"{totals.min():.3g} to {totals.max():.3g} (softmax over the last axis)",
        )

    plain = (q, k, v, None)
    return [
        Case("weights sum to 1 over the keys", calls(*plain), sums_to_one),
        _gqa_case("4 query heads sharing 2 key/value heads, no mask", plain),
        _gqa_case(
            "a batch of 1 and one key/value head for all (multi-query)",
            (q[:1], k[:1, :1], v[:1, :1], None),
        ),
        _gqa_case("as many key/value heads as query heads", (q[:, :2], k, v, None)),
        _gqa_case("a (n_q, n_k) mask, the same for every sequence", (q, k, v, causal)),
        _gqa_case("a (batch, n_q, n_k) mask, one per sequence", (q, k, v, per_sequence)),
        _gqa_case(
            "a (batch, n_q, n_k) mask when batch = number of heads",
            (q2, k2, v2, per_sequence[:, :, :]),
        ),
        _gqa_case("scores near ±1000", (huge_q, huge_k, seeded_randn(1, 2, 4, 8, seed=20), None)),
        _gqa_case(
            "every score very negative (near -3000)", (far, far_keys, far_values, None), False
        ),
        _gqa_case(
            "float64 inputs",
            (q.double(), k.double(), v.double(), causal),
        ),
    ]


# ---------------------------------------------------------------- attention with a KV cache


def _rope_layer(dtype=torch.float32) -> CausalSelfAttention:
    """The layer the cache is checked on: 4 query heads, 2 key/value heads, rotary positions."""
    with torch.random.fork_rng():
        torch.manual_seed(9)
        layer = CausalSelfAttention(32, n_heads=4, n_kv_heads=2, positions="rope")
        with torch.no_grad():  # biases of size 1, so that a bias left out shows
            for linear in (layer.W_q, layer.W_k, layer.W_v, layer.W_o):
                linear.bias.normal_()
    return layer.to(dtype).eval()


def _cached_mistake_outputs(layer, x, n_cached, mistake):
    """What a cached step gives with one of the plausible mistakes, from the layer's maps."""
    from ..models.language_model import apply_rotary, attend, causal_mask_for, expand_kv_heads

    with torch.no_grad():
        n_new = x.shape[1] - n_cached
        q = split_heads(layer.W_q(x), 4)
        k = split_heads(layer.W_k(x), 2)
        v = split_heads(layer.W_v(x), 2)
        positions = torch.arange(x.shape[1])
        if mistake == "positions from 0":
            positions = torch.cat([torch.arange(n_cached), torch.arange(n_new)])
        q_rot, k_rot = apply_rotary(q, positions), apply_rotary(k, positions)
        if mistake == "values rotated":
            v = apply_rotary(v, positions)
        mask = causal_mask_for(n_new, x.shape[1])
        if mistake == "mask without offset":
            mask = torch.ones(n_new, x.shape[1], dtype=torch.bool).tril()
        heads, _ = attend(
            q_rot[..., n_cached:, :],
            expand_kv_heads(k_rot, 4),
            expand_kv_heads(v, 4),
            mask,
        )
        output = layer.W_o(heads.transpose(1, 2).reshape(x.shape[0], n_new, 32))
        return output, k_rot, k, v


def _cached_case(name, dtype, batch, n_cached, n_new, seed):
    """A case: ``n_new`` tokens after ``n_cached`` ones whose keys and values the layer
    computed (rotated); judged against the layer run over all of them."""
    layer = _rope_layer(dtype)
    x = seeded_randn(batch, n_cached + n_new, 32, seed=seed).to(dtype)
    with torch.no_grad():
        _, _, (past_k, past_v) = layer(x[:, :n_cached])

    def reference():
        with torch.no_grad():
            output, _, (keys, values) = layer(x)
        return output[:, n_cached:], keys, values

    def judge(result):
        output, keys, values = expect_parts(result, "output", "keys", "values")
        output = expect_tensor(output, shape=(batch, n_new, 32), name="output")
        cache_shape = (batch, 2, n_cached + n_new, 8)
        keys = expect_tensor(keys, shape=cache_shape, name="keys (the cache after the step)")
        values = expect_tensor(values, shape=cache_shape, name="values (the cache after the step)")
        expected_output, expected_keys, expected_values = reference()

        mistake = _cached_mistake_outputs

        def mistake_output(kind):
            return lambda: mistake(layer, x, n_cached, kind)[0]

        unrotated = Mistake(
            "the new keys were cached before their rotation: cache them rotated, at "
            f"their own positions ({n_cached} onwards)",
            lambda: torch.cat([past_k, mistake(layer, x, n_cached, "")[2][..., n_cached:, :]], -2),
        )
        from_zero = Mistake(
            "the new keys were rotated as positions 0, 1, ...: they sit at positions "
            f"{n_cached} onwards",
            lambda: mistake(layer, x, n_cached, "positions from 0")[1],
        )
        if n_new == 1 and n_cached:  # the two coincide: a rotation by 0 changes nothing
            unrotated = Mistake(
                f"the new key was not rotated at its position, {n_cached} (left unrotated, "
                "or rotated as position 0, which changes nothing)",
                unrotated.output,
            )
        expect_close(
            keys,
            expected_keys,
            name="keys",
            mistakes=[
                unrotated,
                from_zero,
                Mistake(
                    "the new keys come before the cached ones: append them after",
                    lambda: torch.cat([expected_keys[..., n_cached:, :], past_k], dim=-2),
                ),
            ],
            atol=1e-4,
        )
        expect_close(
            values,
            expected_values,
            name="values",
            mistakes=[
                Mistake(
                    "the values were rotated: only queries and keys carry positions",
                    lambda: torch.cat(
                        [
                            past_v,
                            mistake(layer, x, n_cached, "values rotated")[3][..., n_cached:, :],
                        ],
                        dim=-2,
                    ),
                )
            ],
            atol=1e-4,
        )
        expect_close(
            output,
            expected_output,
            name="output",
            mistakes=[
                Mistake(
                    "the new queries were rotated as positions 0, 1, ...: they sit at "
                    f"positions {n_cached} onwards",
                    mistake_output("positions from 0"),
                ),
                Mistake(
                    "the mask ignores the cache: new token i may read every cached token "
                    "and the new ones up to itself",
                    mistake_output("mask without offset"),
                ),
            ],
            atol=1e-4,
            hint="rotate the new queries and keys at positions n_cached, n_cached + 1, ...; "
            "append the new keys and values to the cache; attend with the mask of a cached "
            "step; merge the heads and apply W_o",
        )

    return Case(name, calls(layer, x[:, n_cached:], past_k, past_v), judge)


@lab.check(points=4, forbid=(*_SHORTCUTS, f"{_PACKAGE}.CausalSelfAttention.forward"))
def check_cached_attention():
    return [
        _cached_case("no cache yet: 6 tokens at once", torch.float32, 2, 0, 6, seed=30),
        _cached_case("one new token after 5 cached", torch.float32, 2, 5, 1, seed=31),
        _cached_case("3 new tokens after 4 cached (a chunk)", torch.float32, 2, 4, 3, seed=32),
        _cached_case("a batch of 1 in float64, 1 new after 9", torch.float64, 1, 9, 1, seed=33),
    ]


# ---------------------------------------------------------------- the experiment

TRAINED_LENGTH, READ_LENGTH = 32, 128
EXPERIMENT_STEPS = 150
INSIDE = slice(8, TRAINED_LENGTH)  # positions read with some context, within training
BEYOND = slice(2 * TRAINED_LENGTH, READ_LENGTH)  # positions never seen in training


def _bits_reference(model, windows, nats=False, shift=True):
    with torch.no_grad():
        logits = model(windows[:, :-1])
        targets = windows[:, 1:] if shift else windows[:, :-1]
        loss = F.cross_entropy(logits.transpose(1, 2).double(), targets, reduction="none")
    return loss.mean(dim=0) / (1.0 if nats else math.log(2))


def _small_random_model():
    with torch.random.fork_rng():
        torch.manual_seed(21)
        return DecoderLanguageModel(11, d_model=16, n_layers=2, n_heads=4, context=16).eval()


@functools.lru_cache(maxsize=1)
def short_context_models():
    """Two models trained on windows of 32 review characters, with rotary and with ALiBi
    positions (150 steps each, about a second apiece), and 64 held-out windows of 128."""
    from ..data.characters import load_review_characters
    from ..training import train

    corpus = load_review_characters()
    models = {}
    with torch.random.fork_rng():
        for positions in ("rope", "alibi"):
            torch.manual_seed(0)
            generator = torch.Generator().manual_seed(0)
            model = DecoderLanguageModel(
                corpus.vocab_size, d_model=32, context=TRAINED_LENGTH, positions=positions
            )
            train(
                model,
                lambda step, model=model, generator=generator: next_token_loss(
                    model, *corpus.batch("train", 16, TRAINED_LENGTH, generator)
                ),
                steps=EXPERIMENT_STEPS,
                lr=1e-2,
                schedule=lambda step: min(1.0, (step + 1) / 20),
                description=f"training with {positions} positions",
            )
            models[positions] = model.eval()
    return models, corpus.windows("test", READ_LENGTH, count=64)


def _experiment(loss_by_position):
    # A small call first: an unwritten function stops here, before any training.
    loss_by_position(
        _small_random_model(), torch.randint(11, (2, 6), generator=seeded_generator(23))
    )
    models, windows = short_context_models()
    curves = {name: loss_by_position(model, windows) for name, model in models.items()}
    for name, curve in curves.items():  # what the student reads, in the notebook
        if isinstance(curve, torch.Tensor) and curve.shape == (READ_LENGTH,):
            curve = curve.detach().double()
            print(
                f"{name:>5}: positions 8-31 {curve[INSIDE].mean():.2f} bits/char, "
                f"32-63 {curve[TRAINED_LENGTH:64].mean():.2f}, "
                f"64-127 {curve[BEYOND].mean():.2f}"
            )
    return curves


def _curves(result):
    expect_true(
        isinstance(result, dict) and set(result) == {"rope", "alibi"},
        f"expected the two models' curves, got {result!r}"[:300],
    )
    return {
        name: expect_array(result[name], shape=(READ_LENGTH,), name=f"the {name} model's curve")
        for name in ("rope", "alibi")
    }


@lab.check(points=3)
def check_loss_by_position():
    model = _small_random_model()
    windows = torch.randint(11, (5, 13), generator=seeded_generator(22))

    def equals_reference(result):
        got = expect_tensor(result, shape=(12,), name="the loss by position")
        expect_close(
            got,
            _bits_reference(model, windows),
            name="the loss by position",
            mistakes=[
                Mistake(
                    "these are nats: divide by ln 2 for bits",
                    lambda: _bits_reference(model, windows, nats=True),
                ),
                Mistake(
                    "the targets are the inputs themselves: position t predicts the "
                    "character at t + 1",
                    lambda: _bits_reference(model, windows, shift=False),
                ),
            ],
        )

    def learned(result):
        for name, curve in _curves(result).items():
            inside = curve[INSIDE].mean()
            expect_true(
                inside < 4.0,
                f"the {name} model should predict characters 8 to 31 better than 4 "
                f"bits/char (a unigram model gets 4.3); your curve says {inside:.2f}",
            )

    def alibi_flat(result):
        curve = _curves(result)["alibi"]
        inside, beyond = curve[INSIDE].mean(), curve[BEYOND].mean()
        expect_true(
            abs(beyond - inside) < 0.2,
            f"ALiBi should read positions 64-127 about as well as 8-31: your curve gives "
            f"{beyond:.2f} and {inside:.2f} bits/char",
        )

    def rope_degrades(result):
        curve = _curves(result)["rope"]
        inside, beyond = curve[INSIDE].mean(), curve[BEYOND].mean()
        expect_true(
            beyond > inside + 0.3,
            f"the rotary model should be at least 0.3 bits/char worse at positions 64-127 "
            f"than at 8-31; your curve gives {beyond:.2f} and {inside:.2f}",
        )

    return [
        Case(
            "a random model: equals the bits at each position",
            calls(model, windows),
            equals_reference,
        ),
        Case(
            "both trained models: one number per position, below 4 bits/char inside",
            _experiment,
            learned,
        ),
        Case("ALiBi reads 128 characters as well as 32 (within 0.2 bits)", _experiment, alibi_flat),
        Case("RoPE degrades past 64 (at least 0.3 bits worse)", _experiment, rope_degrades),
    ]


# ---------------------------------------------------------------- the question

EXTRAPOLATION_ANSWER = "b"
EXTRAPOLATION_CHOICES = {
    "a": "the slowest pairs of features turn by only a tiny angle over 128 positions: no "
    "angle comes round again so soon, so no position past 32 looks like an earlier one",
    "c": "both models read the same windows: if the text past position 64 were harder, "
    "the ALiBi curve would rise there too",
    "d": "ALiBi's slopes are fixed numbers, not learned, and its model was trained on 32 "
    "characters like the other",
}


@lab.check(points=1)
def check_reading_the_extrapolation():
    def judge(result):
        answer = expect_choice(result, ["a", "b", "c", "d"])
        if answer != EXTRAPOLATION_ANSWER:
            raise CaseFailed(f"not ({answer}): {EXTRAPOLATION_CHOICES[answer]}")

    return [Case("the explanation that fits the measurement", calls(), judge)]
