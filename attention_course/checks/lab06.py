"""Checks for Lab 6: heads, grouped key/value heads, and decoding with a key/value cache.

References, computed by the judges: ``torch.nn.MultiheadAttention`` with copied weights
where every query head has its own key/value head, and otherwise a float64 implementation
of grouped-query attention (query head h reads key/value head h // (n_heads / n_kv_heads),
as Llama's ``repeat_kv`` arranges them). Decoding is judged against the judges' own greedy
decoding of the same weights in float64; the weights and prompts are chosen so that no
step's two best logits are close enough for rounding to swap them.

Inputs are built so that the common mistakes change the result: tokens, heads and features
all differ in number; head-splitting is tried with no batch axis and with two; merging is
tried on heads laid out contiguously, as ``weights @ v`` returns them (where a transpose
followed by ``view`` raises), as well as on the transposed view ``split_heads`` returns;
masks come in every shape the lab promises, one of them with as many queries as heads
(where a head axis in the wrong place broadcasts without an error); keys differ from
values; and the cache is tried with several new tokens at once (the causal mask then has
an offset). The experiment's judge checks the tokens against its reference, the counted
rows against the formula, and only a robust consequence of the student's CPU times (the
fastest of three rounds each): that the cache at least halves them.
"""

import math

import torch
from torch import nn

from ..models.transformer import sinusoidal_positions
from .calling import CaseFailed
from .encoding import describe
from .expect import (
    Mistake,
    expect_answer,
    expect_close,
    expect_number,
    expect_parts,
    expect_tensor,
    expect_true,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("06", "Multi-head attention, grouped heads and a key/value cache")
score = lab.score

_HEAD_SHORTCUTS = (
    "attention_course.models.transformer.split_heads",
    "attention_course.models.transformer.merge_heads",
)
_ATTENTION_SHORTCUTS = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.MultiheadAttention",
    "torch.nn.functional.multi_head_attention_forward",
    "attention_course.models.transformer.MultiHeadAttention",
)


def _as64(tensor):
    return tensor.detach().to(torch.float64)


def _named_tokens(*lead, n, d_model):
    """Entry [..., t, f] = 1000 * (index of the leading axes) + 100 t + f: every number
    says where it came from."""
    count = math.prod(lead)
    base = 1000 * torch.arange(count).reshape(*lead, 1, 1) if lead else 0
    return (base + 100 * torch.arange(n)[:, None] + torch.arange(d_model)[None, :]).float()


def changed_inputs_after(*args):
    """The recipe that calls the student's function, then returns its result and the names
    of the inputs it changed in place. The function works on copies of its inputs, so the
    originals never show a change: the guards' log of the check's calls does. (Lab 7's
    checks use it.)"""

    def recipe(function):
        return function(*args), list(function.log.changed_inputs)

    return recipe


def expect_unchanged(result, message):
    """Judge a :func:`changed_inputs_after` call: no input was changed in place."""
    changed = result[1] if isinstance(result, tuple) and len(result) == 2 else ["?"]
    expect_true(not changed, message)


def _split(x, n_heads):
    *lead, n, d_model = x.shape
    return x.reshape(*lead, n, n_heads, d_model // n_heads).transpose(-3, -2)


def _merge(x):
    *lead, n_heads, n, d_head = x.shape
    return x.transpose(-3, -2).reshape(*lead, n, n_heads * d_head)


# ---------------------------------------------------------------- exercise 1


_SPLIT_HINT = (
    "head i must hold features i*d_head .. (i+1)*d_head - 1 of every token, with the tokens "
    "in order. (Entry [..., t, f] of this input is 1000 × (which sequence) + 100 t + f.)"
)


def _split_mistakes(x, n_heads):
    *lead, n, d_model = x.shape
    d_head = d_model // n_heads
    return [
        Mistake(
            "you reshaped straight to (..., heads, tokens, d_head): the shape is right but "
            "each 'head' holds pieces of several tokens. Cut each token into heads first, "
            "(..., tokens, heads, d_head), then swap the heads and tokens axes",
            lambda: x.reshape(*lead, n_heads, n, d_head),
        ),
        Mistake(
            "head i took every n_heads-th feature; it must take the contiguous slice "
            "i*d_head .. (i+1)*d_head - 1, as nn.MultiheadAttention does",
            lambda: x.reshape(*lead, n, d_head, n_heads).movedim(-1, -3),
        ),
    ]


def _expect_split(result, x, n_heads, name):
    *lead, n, d_model = x.shape
    got = expect_tensor(result, shape=(*lead, n_heads, n, d_model // n_heads), name=name)
    expect_close(
        got,
        _split(x, n_heads),
        name=name,
        hint=_SPLIT_HINT,
        mistakes=_split_mistakes(x, n_heads),
    )


@lab.check(points=2, forbid=_HEAD_SHORTCUTS)
def check_split_heads():
    x = _named_tokens(2, n=5, d_model=12)  # 5 tokens, 3 heads of 4: all sizes differ
    y = _named_tokens(1, n=7, d_model=8)
    alone = _named_tokens(n=5, d_model=12)  # no batch axis
    beams = _named_tokens(2, 3, n=5, d_model=12)  # (batch, beams, tokens, d_model)
    transposed = _named_tokens(2, n=12, d_model=5).transpose(-2, -1)  # not contiguous
    plain = calls(x, 3)

    def other_sizes(result):
        four, one = expect_parts(result, "split_heads(x, 4)", "split_heads(x, 1)")
        _expect_split(four, y, 4, "split_heads(x, 4)")
        _expect_split(one, y, 1, "split_heads(x, 1)")

    return [
        Case(
            "returns a (batch, heads, tokens, d_head) tensor",
            plain,
            lambda r: expect_tensor(r, shape=(2, 3, 5, 4), name="split_heads(x, 3)"),
        ),
        Case(
            "head i holds features i·d_head … (i+1)·d_head − 1 of every token, in order",
            plain,
            lambda r: _expect_split(r, x, 3, "split_heads(x, 3)"),
        ),
        Case(
            "other sizes: 4 heads of 2, and a single head",
            lambda f: (f(y, 4), f(y, 1)),
            other_sizes,
        ),
        Case(
            "no batch axis: (tokens, d_model) -> (heads, tokens, d_head)",
            calls(alone, 3),
            lambda r: _expect_split(r, alone, 3, "split_heads of a (5, 12) tensor"),
        ),
        Case(
            "two leading axes: (batch, beams, tokens, d_model)",
            calls(beams, 3),
            lambda r: _expect_split(r, beams, 3, "split_heads of a (2, 3, 5, 12) tensor"),
        ),
        Case(
            "an input that is a transposed view (not contiguous in memory)",
            calls(transposed, 3),
            lambda r: _expect_split(r, transposed, 3, "split_heads of a transposed tensor"),
        ),
    ]


# ---------------------------------------------------------------- exercise 2


_MERGE_HINT = (
    "token t's output is head 0's row t, then head 1's row t, ... side by side. (Entry "
    "[..., t, f] of the expected result is 1000 × (which sequence) + 100 t + f.)"
)


def _merge_mistakes(heads):
    *lead, n_heads, n, d_head = heads.shape
    return [
        Mistake(
            "you reshaped without moving the heads axis back: swap the heads and tokens "
            "axes first, (..., tokens, heads, d_head), then reshape",
            lambda: heads.reshape(*lead, n, n_heads * d_head),
        ),
        Mistake(
            "the heads are concatenated in reverse order: head 0 comes first",
            lambda: _merge(heads.flip(-3)),
        ),
    ]


def _expect_merge(result, heads, expected, name):
    got = expect_tensor(result, shape=expected.shape, name=name)
    expect_close(got, expected, name=name, hint=_MERGE_HINT, mistakes=_merge_mistakes(heads))


@lab.check(points=2, forbid=_HEAD_SHORTCUTS)
def check_merge_heads():
    x = _named_tokens(2, n=5, d_model=12)
    split = _split(x, 3)  # (2, 3, 5, 4), a transposed view: what split_heads returns
    laid_out = split.contiguous()  # the same numbers as `weights @ v` lays them out
    y = _named_tokens(1, n=7, d_model=8)
    splits = [_split(y, n_heads).contiguous() for n_heads in (4, 1)]
    alone = _named_tokens(n=5, d_model=12)
    beams = _named_tokens(2, 3, n=5, d_model=12)

    def other_sizes(result):
        four, one = expect_parts(result, "merge of 4 heads", "merge of 1 head")
        for got, heads, name in zip((four, one), splits, ("merge of 4 heads", "merge of 1 head")):
            _expect_merge(got, heads, y, name)

    return [
        Case(
            "returns a (batch, tokens, heads · d_head) tensor",
            calls(laid_out),
            lambda r: expect_tensor(r, shape=(2, 5, 12), name="merge_heads(heads)"),
        ),
        Case(
            "heads laid out as attention returns them (contiguous): the tokens back",
            calls(laid_out),
            lambda r: _expect_merge(r, laid_out, x, "merge_heads(heads)"),
        ),
        Case(
            "merge_heads(split_heads(x)) gives back x (a transposed view as input)",
            calls(split),
            lambda r: _expect_merge(r, split, x, "merge_heads(split_heads(x, 3))"),
        ),
        Case(
            "other sizes: 4 heads of 2, and a single head",
            lambda f: tuple(f(heads) for heads in splits),
            other_sizes,
        ),
        Case(
            "no batch axis: (heads, tokens, d_head) -> (tokens, d_model)",
            calls(_split(alone, 3).contiguous()),
            lambda r: _expect_merge(r, _split(alone, 3), alone, "merge of (3, 5, 4) heads"),
        ),
        Case(
            "two leading axes: (batch, beams, heads, tokens, d_head)",
            calls(_split(beams, 3).contiguous()),
            lambda r: _expect_merge(r, _split(beams, 3), beams, "merge of (2, 3, 3, 5, 4) heads"),
        ),
    ]


# ---------------------------------------------------------------- exercise 3


def _full_mask(mask, batch, n_queries, n_keys):
    """Any promised mask shape, as (batch, 1, queries, keys): one mask for every head."""
    return None if mask is None else mask.expand(batch, n_queries, n_keys)[:, None]


def _attention(query, key, value, weights, n_heads, n_kv_heads, mask=None, interleave=True):
    """Grouped-query attention in float64: (output, every head's weights)."""
    W_q, W_k, W_v, W_o = (_as64(w) for w in weights)
    query, key, value = (_as64(t) for t in (query, key, value))
    q = _split(query @ W_q.T, n_heads)
    k, v = _split(key @ W_k.T, n_kv_heads), _split(value @ W_v.T, n_kv_heads)
    group = n_heads // n_kv_heads
    if interleave:  # query head h reads key/value head h // group
        k, v = k.repeat_interleave(group, dim=-3), v.repeat_interleave(group, dim=-3)
    else:  # the mistake: head h reads key/value head h % n_kv_heads
        k, v = k.repeat(1, group, 1, 1), v.repeat(1, group, 1, 1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    full = _full_mask(mask, query.shape[0], query.shape[1], key.shape[1])
    if full is not None:
        scores = scores.masked_fill(~full, float("-inf"))
    attention = torch.softmax(scores, dim=-1)
    return _merge(attention @ v) @ W_o.T, attention


def _projections(d_model, n_heads, n_kv_heads, seed, dtype=torch.float32):
    """(W_q, W_k, W_v, W_o) with nn.Linear's layout; keys and values n_kv_heads heads wide."""
    g = seeded_generator(seed)
    width = n_kv_heads * d_model // n_heads
    shapes = ((d_model, d_model), (width, d_model), (width, d_model), (d_model, d_model))
    return tuple(
        torch.randn(*shape, generator=g, dtype=dtype) / math.sqrt(d_model) for shape in shapes
    )


def _torch_attention(d_model, n_heads, seed):
    """nn.MultiheadAttention without biases, and its weights as (W_q, W_k, W_v, W_o)."""
    torch.manual_seed(seed)
    reference = nn.MultiheadAttention(d_model, n_heads, bias=False, batch_first=True)
    d = d_model
    stacked = reference.in_proj_weight.detach()
    return reference, (
        stacked[:d],
        stacked[d : 2 * d],
        stacked[2 * d :],
        reference.out_proj.weight.detach(),
    )


_ATTENTION_HINT = (
    "Q = query @ W_q.T split into n_heads heads, K and V split into n_kv_heads heads; query "
    "head h reads key/value head h // (n_heads // n_kv_heads); softmax(QKᵀ/√d_head) V per "
    "head; merge the heads; multiply by W_o.T"
)


def _attention_mistakes(query, key, value, weights, n_heads, n_kv_heads, mask=None):
    """The usual suspects, each computed only when a wrong output is compared with it."""
    W_q, W_k, W_v, W_o = (_as64(w) for w in weights)
    d_model = W_q.shape[1]

    def run(**changes):
        options = dict(weights=weights, mask=mask, interleave=True)
        options.update(changes)
        return _attention(
            query,
            key,
            value,
            options["weights"],
            n_heads,
            n_kv_heads,
            options["mask"],
            options["interleave"],
        )[0]

    def unscaled_by_head():  # scaled by √d_model: the same as scores * √(d_head / d_model)
        factor = math.sqrt(n_heads)  # √(d_model / d_head)
        return run(weights=(W_q / factor, W_k, W_v, W_o))

    mistakes = [
        Mistake(
            "the output projection W_o is missing: multiply the merged heads by W_o.T",
            lambda: run(weights=(W_q, W_k, W_v, torch.eye(d_model, dtype=torch.float64))),
        ),
        Mistake(
            "scale the scores by √d_head (the size of one head's queries), not √d_model",
            unscaled_by_head,
        ),
    ]
    if W_k.shape[0] == d_model:  # square weights: the untransposed ones fit too
        mistakes.append(
            Mistake(
                "the projections need the transposed weights, x @ W.T, as nn.Linear computes",
                lambda: run(weights=(W_q.T, W_k.T, W_v.T, W_o.T)),
            )
        )
    if n_kv_heads not in (1, n_heads):
        mistakes.append(
            Mistake(
                "query head h read key/value head h % n_kv_heads (the key/value heads were "
                "tiled with repeat); it must read head h // (n_heads // n_kv_heads): each "
                "key/value head serves a block of neighbouring query heads "
                "(repeat_interleave)",
                lambda: run(interleave=False),
            )
        )
    if mask is not None:
        mistakes.append(Mistake("the mask was ignored", lambda: run(mask=None)))
    return mistakes


def _parts(result, batch, n_queries, n_keys, d_model, n_heads):
    output, attention = expect_parts(result, "output", "weights")
    for name, tensor in (("output", output), ("weights", attention)):
        expect_true(
            not (
                isinstance(tensor, torch.Tensor)
                and tensor.is_floating_point()
                and tensor.isnan().any()
            ),
            f"{name} contains NaN: is every query left at least one key by the mask?",
        )
    return (
        expect_tensor(output, shape=(batch, n_queries, d_model), name="output"),
        expect_tensor(attention, shape=(batch, n_heads, n_queries, n_keys), name="weights"),
    )


def _like_reference(query, key, value, weights, n_heads, n_kv_heads, mask=None):
    """A judge: output and weights equal the float64 grouped-query reference."""

    def judge(result):
        batch, n_queries, d_model = query.shape
        output, attention = _parts(result, batch, n_queries, key.shape[1], d_model, n_heads)
        expected, expected_weights = _attention(
            query, key, value, weights, n_heads, n_kv_heads, mask
        )
        if mask is not None:
            forbidden = ~_full_mask(mask, batch, n_queries, key.shape[1]).expand_as(attention)
            expect_true(
                bool((attention[forbidden] == 0).all()),
                f"with a mask of shape {tuple(mask.shape)}, a key it forbids got weight "
                f"{attention[forbidden].abs().max().item():.3g} in some head: one mask must "
                "apply to every head, so give it a head axis in the right place (after the "
                "batch axis when it has one, nowhere else)",
            )
        expect_close(
            output,
            expected,
            name="output",
            hint=_ATTENTION_HINT,
            mistakes=_attention_mistakes(query, key, value, weights, n_heads, n_kv_heads, mask),
        )
        expect_close(attention, expected_weights, name="weights", hint=_ATTENTION_HINT)

    return judge


@lab.check(points=5, forbid=_ATTENTION_SHORTCUTS)
def check_multi_head_attention():
    reference, weights = _torch_attention(12, 3, seed=0)
    x = seeded_randn(2, 5, 12, seed=1)
    cross_query = seeded_randn(2, 4, 12, seed=2)
    cross_key, cross_value = seeded_randn(2, 7, 12, seed=3), seeded_randn(2, 7, 12, seed=4)
    grouped = _projections(16, 4, 2, seed=5)
    multi_query = _projections(16, 4, 1, seed=6)
    z = seeded_randn(2, 6, 16, seed=7)
    # Masks of every promised shape (True = may attend)
    key_mask = torch.tensor([True, False, True, True, False, True, True])  # (keys,)
    causal = torch.ones(5, 5, dtype=torch.bool).tril()  # (queries, keys)
    three_queries = seeded_randn(2, 3, 12, seed=8)  # as many queries as heads
    staircase = torch.arange(7)[None, :] <= 2 * torch.arange(3)[:, None] + 1  # (3, 7)
    padding = (torch.arange(7)[None, :] < torch.tensor([7, 3])[:, None])[:, None, :]  # (2,1,7)
    g = seeded_generator(9)
    full = torch.rand(2, 4, 7, generator=g) > 0.5  # (batch, queries, keys)
    full[..., 2] = True
    one = seeded_randn(1, 1, 12, seed=10)
    double = _projections(8, 2, 1, seed=11, dtype=torch.float64)
    w = seeded_randn(3, 4, 8, seed=12).double()
    self_attention = calls(x, x, x, *weights, 3, 3)
    cross = calls(cross_query, cross_key, cross_value, *weights, 3, 3)

    def equals_torch(result):
        output, _ = _parts(result, 2, 5, 5, 12, 3)
        with torch.no_grad():
            expected, _ = reference(x, x, x)
        expect_close(
            output,
            expected,
            name="output",
            hint=_ATTENTION_HINT,
            mistakes=_attention_mistakes(x, x, x, weights, 3, 3),
        )

    def heads_equal_torch(result):
        _, attention = _parts(result, 2, 5, 5, 12, 3)
        with torch.no_grad():
            _, expected = reference(x, x, x, average_attn_weights=False)
        expect_close(
            attention,
            expected,
            name="weights",
            hint="weights[b, h] = softmax(Q_h K_hᵀ / √d_head) over the keys, for head h",
        )

    def masked(query, key, value, mask):
        return calls(query, key, value, *weights, 3, 3, mask)

    return [
        Case(
            "returns (output, weights): (batch, queries, d_model), (batch, heads, queries, keys)",
            self_attention,
            lambda r: _parts(r, 2, 5, 5, 12, 3),
        ),
        Case(
            "one key/value head per query head: output equals nn.MultiheadAttention",
            self_attention,
            equals_torch,
        ),
        Case(
            "each head's weights equal PyTorch's (average_attn_weights=False)",
            self_attention,
            heads_equal_torch,
        ),
        Case(
            "cross-attention: 4 queries, 7 keys, values that differ from the keys",
            cross,
            _like_reference(cross_query, cross_key, cross_value, weights, 3, 3),
        ),
        Case(
            "grouped: 4 query heads share 2 key/value heads (heads 0-1 read the first)",
            calls(z, z, z, *grouped, 4, 2),
            _like_reference(z, z, z, grouped, 4, 2),
        ),
        Case(
            "multi-query: 4 query heads share 1 key/value head",
            calls(z, z, z, *multi_query, 4, 1),
            _like_reference(z, z, z, multi_query, 4, 1),
        ),
        Case(
            "a mask of shape (keys,)",
            masked(cross_query, cross_key, cross_value, key_mask),
            _like_reference(cross_query, cross_key, cross_value, weights, 3, 3, key_mask),
        ),
        Case(
            "a causal mask of shape (queries, keys)",
            calls(x, x, x, *weights, 3, 3, causal),
            _like_reference(x, x, x, weights, 3, 3, causal),
        ),
        Case(
            "a (queries, keys) mask with as many queries as heads (3)",
            masked(three_queries, cross_key, cross_value, staircase),
            _like_reference(three_queries, cross_key, cross_value, weights, 3, 3, staircase),
        ),
        Case(
            "a padding mask of shape (batch, 1, keys)",
            masked(cross_query, cross_key, cross_value, padding),
            _like_reference(cross_query, cross_key, cross_value, weights, 3, 3, padding),
        ),
        Case(
            "a mask of shape (batch, queries, keys)",
            masked(cross_query, cross_key, cross_value, full),
            _like_reference(cross_query, cross_key, cross_value, weights, 3, 3, full),
        ),
        Case(
            "a batch of one sequence with one query",
            calls(one, cross_key[:1], cross_value[:1], *weights, 3, 3),
            _like_reference(one, cross_key[:1], cross_value[:1], weights, 3, 3),
        ),
        Case(
            "float64, 2 query heads sharing 1 key/value head",
            calls(w, w, w, *double, 2, 1),
            _like_reference(w, w, w, double, 2, 1),
        ),
    ]


# ---------------------------------------------------------------- exercise 4


def _cache_of(x, W_k, W_v, n_kv_heads):
    """The keys and values of tokens ``x``, split into heads: what a cache holds."""
    return _split(x @ W_k.T, n_kv_heads), _split(x @ W_v.T, n_kv_heads)


def _offset_causal(n_new, n_total):
    """(n_new, n_total): new token i sits at position n_total - n_new + i."""
    return torch.ones(n_new, n_total, dtype=torch.bool).tril(diagonal=n_total - n_new)


def _cached_parts(result, batch, n_new, d_model, n_kv_heads, n_total, d_head):
    output, cache = expect_parts(result, "output", "(keys, values)")
    output = expect_tensor(output, shape=(batch, n_new, d_model), name="output")
    keys, values = expect_parts(cache, "keys", "values")
    shape = (batch, n_kv_heads, n_total, d_head)
    keys = expect_tensor(keys, shape=shape, name="the new cache's keys")
    values = expect_tensor(values, shape=shape, name="the new cache's values")
    return output, keys, values


def _cache_judge(previous, new, weights, n_heads, n_kv_heads):
    """A judge: the new tokens' output is the last rows of causal attention over every token
    so far, and the returned cache holds the keys and values of every token, in order."""
    x = new if previous is None else torch.cat([previous, new], dim=1)
    batch, n_new, d_model = new.shape
    n_total = x.shape[1]
    d_head = d_model // n_heads

    def judge(result):
        output, keys, values = _cached_parts(
            result, batch, n_new, d_model, n_kv_heads, n_total, d_head
        )
        expected_keys, expected_values = _cache_of(
            _as64(x), *(_as64(w) for w in weights[1:3]), n_kv_heads
        )
        if previous is not None and n_total > n_new:
            old = expected_keys[..., : n_total - n_new, :]
            expect_true(
                torch.allclose(_as64(keys[..., : n_total - n_new, :]), old, atol=1e-5),
                "the new cache must start with the old one's keys, in order, and add the "
                "new tokens' keys after them (concatenate along the token axis, -2)",
            )
        expect_close(
            keys,
            expected_keys,
            name="the new cache's keys",
            hint="the new tokens' keys are split_heads(x_new @ W_k.T, n_kv_heads)",
        )
        expect_close(
            values,
            expected_values,
            name="the new cache's values",
            hint="the new tokens' values are split_heads(x_new @ W_v.T, n_kv_heads)",
        )
        full, _ = _attention(
            x, x, x, weights, n_heads, n_kv_heads, _offset_causal(n_total, n_total)
        )
        expected = full[:, n_total - n_new :]
        no_mask, _ = _attention(new, x, x, weights, n_heads, n_kv_heads)
        expect_close(
            output,
            expected,
            name="output",
            hint="each new query attends to every cached key and to the new keys up to its "
            "own position",
            mistakes=[
                Mistake(
                    "the new tokens saw each other's futures: new token i may attend to the "
                    "cache and to new tokens 0..i only (a causal mask shifted by the cache's "
                    "length)",
                    no_mask,
                )
            ]
            if n_new > 1
            else [],
        )

    return judge


@lab.check(points=3, forbid=_ATTENTION_SHORTCUTS)
def check_attend_with_cache():
    grouped = _projections(16, 4, 2, seed=20)
    prompt, one_more = seeded_randn(2, 5, 16, seed=21), seeded_randn(2, 1, 16, seed=22)
    first, second = seeded_randn(2, 4, 16, seed=23), seeded_randn(2, 3, 16, seed=24)
    multi_query = _projections(16, 4, 1, seed=25)
    double = _projections(8, 2, 2, seed=26, dtype=torch.float64)
    lone_prev, lone_new = (
        seeded_randn(1, 6, 8, seed=27).double(),
        seeded_randn(1, 1, 8, seed=28).double(),
    )

    def with_cache(previous, new, weights, n_heads, n_kv_heads):
        cache = _cache_of(previous, weights[1], weights[2], n_kv_heads)
        return calls(new, cache, *weights, n_heads, n_kv_heads)

    return [
        Case(
            "returns (output, (keys, values)): (batch, new, d_model) and two (batch, kv heads, "
            "tokens so far, d_head)",
            calls(prompt, None, *grouped, 4, 2),
            lambda r: _cached_parts(r, 2, 5, 16, 2, 5, 4),
        ),
        Case(
            "no cache yet, a prompt of 5 tokens: causal attention over the prompt",
            calls(prompt, None, *grouped, 4, 2),
            _cache_judge(None, prompt, grouped, 4, 2),
        ),
        Case(
            "one new token after a cache of 5: the last row of causal attention over all 6",
            with_cache(prompt, one_more, grouped, 4, 2),
            _cache_judge(prompt, one_more, grouped, 4, 2),
        ),
        Case(
            "3 new tokens after a cache of 4: each sees the cache and the new ones up to itself",
            with_cache(first, second, grouped, 4, 2),
            _cache_judge(first, second, grouped, 4, 2),
        ),
        Case(
            "multi-query: one key/value head for 4 query heads",
            with_cache(first, second, multi_query, 4, 1),
            _cache_judge(first, second, multi_query, 4, 1),
        ),
        Case(
            "float64, a batch of one, one new token after a cache of 6",
            with_cache(lone_prev, lone_new, double, 2, 2),
            _cache_judge(lone_prev, lone_new, double, 2, 2),
        ),
    ]


# ---------------------------------------------------------------- the decoder: exercise 5


def decoder_weights(
    seed, symbols=40, d_model=32, n_heads=4, n_kv_heads=2, layers=2, max_length=160
):
    """A small decoder's random weights, as the lab's functions take them."""
    g = seeded_generator(seed)
    return {
        "embed": torch.randn(symbols, d_model, generator=g),
        "positions": sinusoidal_positions(max_length, d_model),
        "layers": [
            tuple(
                w.contiguous() for w in _projections(d_model, n_heads, n_kv_heads, seed * 100 + i)
            )
            for i in range(layers)
        ],
        "readout": torch.randn(symbols, d_model, generator=g) / math.sqrt(d_model),
        "n_heads": n_heads,
        "n_kv_heads": n_kv_heads,
    }


def _greedy(weights, prompt, steps, cached=False):
    """The judges' greedy decoding in float64. Uncached, it runs the decoder on the whole
    prefix at every step; cached (for the experiment's long generation, where that would
    take seconds), it keeps each layer's keys and values, which gives the same tokens up to
    float64 rounding. Returns the tokens and the smallest gap between a step's two best
    logits (a check's inputs must have no near-tie that rounding could flip)."""
    embed, positions, readout = (_as64(weights[k]) for k in ("embed", "positions", "readout"))
    n_heads, n_kv_heads = weights["n_heads"], weights["n_kv_heads"]
    layers = [tuple(_as64(w) for w in layer) for layer in weights["layers"]]
    tokens, new, smallest_gap = prompt, prompt, math.inf
    caches = [None] * len(layers)
    for _ in range(steps):
        n = tokens.shape[1]
        if cached:
            x = embed[new] + positions[n - new.shape[1] : n]
            for index, (W_q, W_k, W_v, W_o) in enumerate(layers):
                keys, values = _cache_of(x, W_k, W_v, n_kv_heads)
                if caches[index] is not None:
                    keys = torch.cat([caches[index][0], keys], dim=-2)
                    values = torch.cat([caches[index][1], values], dim=-2)
                caches[index] = keys, values
                group = n_heads // n_kv_heads
                q = _split(x @ W_q.T, n_heads)
                scores = q @ keys.repeat_interleave(group, dim=-3).transpose(-2, -1)
                scores = scores / math.sqrt(q.shape[-1])
                causal = _offset_causal(x.shape[1], keys.shape[-2])
                attention = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
                x = x + _merge(attention @ values.repeat_interleave(group, dim=-3)) @ W_o.T
        else:
            x = embed[tokens] + positions[:n]
            for layer in layers:
                x = x + _attention(x, x, x, layer, n_heads, n_kv_heads, _offset_causal(n, n))[0]
        logits = x[:, -1] @ readout.T
        top = logits.topk(2, dim=-1).values
        smallest_gap = min(smallest_gap, (top[:, 0] - top[:, 1]).min().item())
        new = logits.argmax(dim=-1, keepdim=True)
        tokens = torch.cat([tokens, new], dim=1)
    return tokens[:, prompt.shape[1] :], smallest_gap


def expected_rows(layers, prompt_length, steps, use_cache):
    """Token positions whose keys and values a generation computes, over all layers."""
    if use_cache:
        return layers * (prompt_length + steps - 1)
    return layers * sum(prompt_length + s for s in range(steps))


def _generated(result, batch, steps, name):
    tokens, rows = expect_parts(result, "tokens", "rows")
    tokens = expect_tensor(tokens, shape=(batch, steps), name=f"{name}: the tokens")
    expect_true(
        not tokens.is_floating_point() and tokens.dtype != torch.bool,
        f"{name}: the tokens must be integers (argmax of the logits), got {tokens.dtype}",
    )
    return tokens, expect_number(rows, name=f"{name}: the rows")


def _expect_tokens(tokens, expected, name):
    if torch.equal(tokens.long(), expected):
        return
    b, s = (int(i) for i in (tokens.long() != expected).nonzero()[0])
    raise CaseFailed(
        f"{name}: sequence {b} differs from the reference from step {s} on (got token "
        f"{int(tokens[b, s])}, expected {int(expected[b, s])})"
        + (
            ": already the first token, which comes from the pass over the prompt alone"
            if s == 0
            else ""
        )
    )


def _expect_rows(rows, layers, prompt_length, steps, use_cache, name):
    expected = expected_rows(layers, prompt_length, steps, use_cache)
    expect_true(
        rows == expected,
        f"{name}: {rows:g} rows counted, expected {expected}: "
        + (
            "the prompt's tokens once per layer, then one new token per step and layer "
            "(the last token written needs no key or value)"
            if use_cache
            else "every token of the prefix at every step, in every layer"
        ),
    )


@lab.check(points=3)
def check_generate():
    weights = decoder_weights(30)
    prompt = torch.randint(40, (2, 5), generator=seeded_generator(31))
    lone = torch.randint(40, (1, 1), generator=seeded_generator(32))
    both = lambda f: (f(weights, prompt, 8, False), f(weights, prompt, 8, True))  # noqa: E731
    layers = len(weights["layers"])

    def same_tokens(use_cache):
        name = "with the cache" if use_cache else "without the cache"

        def judge(result):
            got, _ = _generated(expect_parts(result, "without", "with")[use_cache], 2, 8, name)
            _expect_tokens(got, _greedy(weights, prompt, 8)[0], name)

        return judge

    def rows(use_cache):
        name = "with the cache" if use_cache else "without the cache"

        def judge(result):
            _, counted = _generated(expect_parts(result, "without", "with")[use_cache], 2, 8, name)
            _expect_rows(counted, layers, 5, 8, use_cache, name)

        return judge

    def smallest(result):
        expected = _greedy(weights, lone, 1)[0]
        for use_cache, part in zip((False, True), expect_parts(result, "without", "with")):
            name = "with the cache" if use_cache else "without the cache"
            got, counted = _generated(part, 1, 1, name)
            _expect_tokens(got, expected, name)
            _expect_rows(counted, layers, 1, 1, use_cache, name)

    return [
        Case(
            "returns (tokens, rows): a (batch, steps) tensor of integers and a number",
            both,
            lambda r: [
                _generated(p, 2, 8, "the result") for p in expect_parts(r, "without", "with")
            ],
        ),
        Case("without the cache: the reference's greedy tokens", both, same_tokens(False)),
        Case("with the cache: the same tokens", both, same_tokens(True)),
        Case(
            "without the cache: every prefix's rows in every layer, at every step",
            both,
            rows(False),
        ),
        Case("with the cache: the prompt's rows, then one per step and layer", both, rows(True)),
        Case(
            "a prompt of one token, one step, a batch of one",
            lambda f: (f(weights, lone, 1, False), f(weights, lone, 1, True)),
            smallest,
        ),
    ]


# ---------------------------------------------------------------- the experiment

EXPERIMENT_SEED = 42  # its greedy decoding has no near-tie: the best logit leads by > 0.01
_KEYS = (
    "tokens without cache",
    "tokens with cache",
    "rows without cache",
    "rows with cache",
    "seconds without cache",
    "seconds with cache",
)


def experiment_inputs():
    """The experiment's decoder and prompt: bigger than the checks', so that the
    arithmetic, not Python's overhead, is what a step costs."""
    weights = decoder_weights(EXPERIMENT_SEED, d_model=128, max_length=192)
    prompt = torch.randint(40, (1, 64), generator=seeded_generator(10 * EXPERIMENT_SEED + 2))
    return weights, prompt, 96


def _measurements(result):
    expect_true(
        isinstance(result, dict) and set(_KEYS) <= set(result),
        "return a dict with the keys "
        + ", ".join(repr(k) for k in _KEYS)
        + ", got "
        + (
            f"the keys {sorted(map(str, result))}"[:200]
            if isinstance(result, dict)
            else describe(result)
        ),
    )
    return result


@lab.check(points=3, time_limit=120)
def check_measure_decoding():
    weights, prompt, steps = experiment_inputs()
    run = calls(weights, prompt, steps)
    layers = len(weights["layers"])

    def same_tokens(result):
        found = _measurements(result)
        expected = _greedy(weights, prompt, steps, cached=True)[0]
        for label in ("without cache", "with cache"):
            got = expect_tensor(found[f"tokens {label}"], shape=(1, steps), name=f"tokens {label}")
            _expect_tokens(got, expected, f"tokens {label}")

    def rows(result):
        found = _measurements(result)
        for use_cache, label in ((False, "without cache"), (True, "with cache")):
            counted = expect_number(found[f"rows {label}"], name=f"rows {label}")
            _expect_rows(counted, layers, prompt.shape[1], steps, use_cache, f"rows {label}")

    def time_saved(result):
        found = _measurements(result)
        slow, fast = (
            expect_number(found[f"seconds {label}"], name=f"seconds {label}")
            for label in ("without cache", "with cache")
        )
        expect_true(slow > 0 and fast > 0, "both CPU times must be positive")
        expect_true(
            slow >= 2 * fast,
            f"generating {steps} tokens took {slow:.3g} s of CPU without the cache and "
            f"{fast:.3g} s with it: the cache should at least halve it. Does the cached "
            "generation feed only the new token to attend_with_cache at each step?",
        )

    return [
        Case("returns the tokens, rows and CPU seconds of both generations", run, _measurements),
        Case("both generations write the reference's tokens", run, same_tokens),
        Case("the rows counted match the formula, both ways", run, rows),
        Case("the cache at least halves the CPU time", run, time_saved),
    ]


# ---------------------------------------------------------------- the questions


@lab.check(points=1)
def check_why_the_cache_is_exact():
    why_not = {
        "a": "the weights are fixed, but the second layer's keys and values are computed from "
        "the first layer's outputs, which could change when a token is added: something "
        "else must keep them fixed",
        "c": "the cache stores keys and values, not weights; each new query's weights over "
        "them are computed fresh at every step",
        "d": "equal tokens do not follow from permutation-equivariance: the position "
        "vectors make the order matter, and the cache keeps it",
    }
    return [
        Case(
            "the answer explains why the cached generation is exact",
            calls(),
            lambda r: expect_answer(r, "b", why_not),
        )
    ]


@lab.check(points=1)
def check_what_grouped_heads_change():
    why_not = {
        "b": "the output changes: with fewer key/value heads, W_k and W_v have fewer rows, so "
        "this is a different model (trained as such), not a cheaper way to compute the "
        "same one",
        "c": "every query head still has its own (queries × keys) weights: the scores cost "
        "the same; what shrinks is what the keys and values take to compute and store",
        "d": "the query heads stay separate; it is the key and value heads that are shared",
    }
    return [
        Case(
            "the answer says what grouped key/value heads change",
            calls(),
            lambda r: expect_answer(r, "a", why_not),
        )
    ]
