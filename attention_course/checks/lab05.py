"""Checks for Lab 5: attention with a hand-written softmax, and a model that must not peek.

The judges compare the student's functions with references they compute themselves:
``torch.nn.functional.scaled_dot_product_attention`` (``attn_mask`` for masks) and a
float64 softmax for attention, and a plain PyTorch version of the lab's one-layer
next-token model for the model's logits, loss and predictions. The experiment's judge never
trusts a number the student's code reports: it takes the trained parameters and measures
the two models itself on held-out sequences.

Inputs are built so that the usual mistakes change the result: rows whose scores lie near
+1000 and near -1000 (no maximum subtracted, or the maximum of the whole tensor), a
forbidden key with the largest score of its row (the maximum taken over masked keys), a
query that may see no key, a batch of one sequence with one query (a bare ``squeeze``),
values that differ from the keys, and every mask shape the lab promises.
"""

import math

import torch
import torch.nn.functional as F

from .calling import SOFTMAX_FUNCTIONS, CaseFailed
from .encoding import describe
from .expect import (
    Mistake,
    expect_answer,
    expect_close,
    expect_number,
    expect_parts,
    expect_tensor,
    expect_true,
    named_mistake,
    seeded_generator,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("05", "Attention by hand, and a model that must not peek")
score = lab.score

# Library functions that would do exercise 2 for the student (besides a softmax).
_ATTENTION = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.MultiheadAttention",
    "torch.nn.functional.multi_head_attention_forward",
    "attention_course.models.dot_product_attention.scaled_dot_product_attention",
    "attention_course.models.transformer.scaled_dot_product_attention",
)

# The lab's task and model (the notebook defines the same numbers for the student).
SYMBOLS, HALF = 8, 6
LENGTH = 2 * HALF
PARAMETER_NAMES = ("embed", "position", "W_q", "W_k", "W_v", "readout")


def _as_float64(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to(torch.float64)


# ---------------------------------------------------------------- exercise 1


def _window_mask(n, window=None):
    i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    allowed = j <= i
    return allowed if window is None else allowed & (j > i - window)


def _mask_of(result, n, name):
    got = expect_tensor(result, shape=(n, n), name=name)
    expect_true(
        got.dtype == torch.bool,
        f"{name} must be boolean (torch.bool), got {got.dtype}: attention reads a float "
        "mask as numbers added to the scores, not as allowed or forbidden",
    )
    return got


def _expect_mask(result, n, window, name):
    got = _mask_of(result, n, name)
    expected = _window_mask(n, window)
    if torch.equal(got, expected):
        return
    if window is not None and torch.equal(got, _window_mask(n, window + 1)):
        raise CaseFailed(
            f"{name} lets each position see {window + 1} positions (itself and {window} "
            f"before it); a window of {window} is itself and the {window - 1} before it"
        )
    if window is not None and torch.equal(got, _window_mask(n)):
        raise CaseFailed(f"{name} is the full causal mask: the window was not applied")
    i, j = (int(a) for a in (got != expected).nonzero()[0])
    raise CaseFailed(
        f"{name}[{i}, {j}] is {bool(got[i, j])}: query {i} "
        + ("may" if expected[i, j] else "may not")
        + f" attend to key {j}"
    )


@lab.check(points=2)
def check_causal_mask():
    q, k, v = (seeded_randn(7, 4, seed=s) for s in (30, 31, 32))
    five = calls(5)

    def sees_the_past(result):
        got = _mask_of(result, 5, "causal_mask(5)")
        for i in range(5):
            for j in range(i + 1):
                expect_true(
                    bool(got[i, j]),
                    f"position {i} must be allowed to see position {j}"
                    + (" (itself)" if i == j else " (an earlier one)"),
                )

    def not_the_future(result):
        got = _mask_of(result, 5, "causal_mask(5)")
        for i in range(5):
            for j in range(i + 1, 5):
                expect_true(
                    not bool(got[i, j]),
                    f"position {i} may see position {j}, "
                    + ("the next one" if j == i + 1 else "a later one")
                    + ": a causal mask allows only j <= i",
                )

    def window_of_three(result):
        _expect_mask(result, 6, 3, "causal_mask(6, window=3)")

    def extreme_windows(result):
        one, wide = expect_parts(result, "causal_mask(4, 1)", "causal_mask(4, 10)")
        _expect_mask(one, 4, 1, "causal_mask(4, window=1)")
        _expect_mask(wide, 4, 10, "causal_mask(4, window=10)")

    def like_torch(result):
        mask = _mask_of(result, 7, "causal_mask(7)")
        expect_close(
            F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            name="attention with your mask",
        )

    return [
        Case("returns an (n, n) boolean tensor", five, lambda r: _mask_of(r, 5, "causal_mask(5)")),
        Case("position i may attend to every j <= i", five, sees_the_past),
        Case("position i may not attend to any j > i", five, not_the_future),
        Case(
            "window=3: position i sees i-2, i-1 and i only",
            calls(6, window=3),
            window_of_three,
        ),
        Case(
            "window=1 keeps the diagonal only; a window longer than n changes nothing",
            lambda f: (f(4, window=1), f(4, window=10)),
            extreme_windows,
        ),
        Case(
            "causal_mask(1) is [[True]]",
            calls(1),
            lambda r: expect_true(
                bool(_mask_of(r, 1, "causal_mask(1)")[0, 0]), "one position must see itself"
            ),
        ),
        Case("as attn_mask, equals PyTorch's is_causal=True", calls(7), like_torch),
    ]


# ---------------------------------------------------------------- exercise 2


def _reference(q, k, v, mask=None):
    """softmax(q kᵀ/√d_k) v in float64; a row with no allowed key gets zero weights."""
    q, k, v = (_as_float64(t) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return weights @ v, weights


def _weight_mistakes(q, k, v) -> list[Mistake]:
    q, k, v = (_as_float64(t) for t in (q, k, v))
    scores = q @ k.transpose(-2, -1)
    d_k = q.shape[-1]
    return [
        Mistake("the scores were not divided by √d_k", lambda: torch.softmax(scores, dim=-1)),
        Mistake(
            "divide the scores by √d_k, not by d_k", lambda: torch.softmax(scores / d_k, dim=-1)
        ),
        Mistake(
            "the weights were normalised over the queries (axis -2): each query's weights "
            "over the keys (the last axis) must sum to 1",
            lambda: torch.softmax(scores / math.sqrt(d_k), dim=-2),
        ),
    ]


def _parts(result, q, k, v):
    """(output, weights), checked for NaN (with a message that says why) and for shape."""
    output, weights = expect_parts(result, "output", "weights")
    for name, tensor in (("output", output), ("weights", weights)):
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            expect_true(
                not tensor.isnan().any(),
                f"{name} contains NaN: 0/0 or inf - inf happened in the softmax",
            )
    batch, queries, keys = q.shape[:-2], q.shape[-2], k.shape[-2]
    output = expect_tensor(output, shape=(*batch, queries, v.shape[-1]), name="output")
    weights = expect_tensor(weights, shape=(*batch, queries, keys), name="weights")
    return output, weights


def _like_reference(q, k, v, mask=None, hint="", mistakes=()):
    """A judge: weights and output equal the float64 reference (with this mask)."""

    def judge(result):
        output, weights = _parts(result, q, k, v)
        expected_output, expected_weights = _reference(q, k, v, mask)
        expect_close(weights, expected_weights, name="weights", hint=hint, mistakes=mistakes)
        expect_close(output, expected_output, name="output", hint="output = weights @ v")

    return judge


def _nan_means(result, message):
    """Fail with ``message`` when the result holds NaN or infinity (before any other test)."""
    raw = result if isinstance(result, tuple | list) else (result,)
    for tensor in raw:
        if (
            isinstance(tensor, torch.Tensor)
            and tensor.is_floating_point()
            and not torch.isfinite(tensor).all()
        ):
            raise CaseFailed(message)


_FORMULA = "weights = softmax(q @ k.transpose(-2, -1) / √d_k) over the last axis"


@lab.check(points=5, forbid=SOFTMAX_FUNCTIONS + _ATTENTION)
def check_scaled_dot_product_attention():
    # (batch, heads, queries, d_k): queries, keys, d_k and d_v all differ in number, so a
    # transposition shows as a shape error or wrong values, never as a silent pass.
    q, k = seeded_randn(2, 3, 5, 8, seed=10), seeded_randn(2, 3, 6, 8, seed=11)
    v = seeded_randn(2, 3, 6, 4, seed=12)
    # Values of the keys' size, unlike the keys: k passed as the values would not fail on
    # shape here, only on values.
    sq, sk, sv = (seeded_randn(2, 4, 6, seed=s) for s in (13, 14, 15))
    # Scores near +1000 in row 0 and near -1000 in row 1 (d_k = 4, so divided by 2).
    keys = torch.tensor([[1.0, 0.3, 0.0, 0.0], [1.0, -0.2, 0.6, 0.0], [1.0, 0.0, 0.0, 0.9]])
    big_q = torch.tensor([[[2000.0, 4.0, 2.0, -1.0], [-2000.0, 3.0, -2.0, 5.0]]])
    big_k, big_v = keys[None], seeded_randn(1, 3, 2, seed=16)
    # Row 0 may not see key 0, whose score (1050) is far above its allowed ones (0 and 0.5).
    hidden_q = torch.tensor([[[300.0, 0.0, 1.0, 0.0], [-300.0, 1.0, 0.0, 0.0]]])
    hidden_k = torch.tensor([[[7.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]])
    hidden_mask = torch.tensor([[False, True, True], [True, True, True]])
    hidden_v = seeded_randn(1, 3, 2, seed=17)
    # Masks of every promised shape.
    key_mask = torch.tensor([True, True, False, True, False, True])  # (keys,)
    g = seeded_generator(18)
    query_key_mask = torch.rand(5, 6, generator=g) > 0.4  # (queries, keys)
    query_key_mask[:, 0] = True
    padding = (torch.arange(6) < torch.tensor([6, 3])[:, None])[:, None, None, :]  # (2,1,1,6)
    full_mask = torch.rand(2, 3, 5, 6, generator=g) > 0.5  # (batch, heads, queries, keys)
    full_mask[..., 1] = True
    # A query (row 1) that may see no key.
    uq, uk, uv = (
        seeded_randn(3, 8, seed=20),
        seeded_randn(4, 8, seed=21),
        seeded_randn(4, 2, seed=22),
    )
    blocked = torch.tensor(
        [[True, True, False, False], [False, False, False, False], [True, True, True, True]]
    )
    # One sequence with one query.
    oq, ok = seeded_randn(1, 1, 8, seed=23), seeded_randn(1, 5, 8, seed=24)
    ov = seeded_randn(1, 5, 3, seed=25)
    # Float64, with a (batch, queries, keys) mask.
    dq, dk = seeded_randn(2, 4, 8, seed=26).double(), seeded_randn(2, 7, 8, seed=27).double()
    dv = seeded_randn(2, 7, 5, seed=28).double()
    double_mask = torch.rand(2, 4, 7, generator=g) > 0.3
    double_mask[..., 2] = True
    plain = calls(q, k, v)

    def weights_formula(result):
        _, weights = _parts(result, q, k, v)
        _, expected = _reference(q, k, v)
        mistake = named_mistake(weights, _weight_mistakes(q, k, v))
        expect_close(weights, expected, name="weights", hint=mistake or _FORMULA)

    def output_like_torch(result):
        output, _ = _parts(result, q, k, v)
        expect_close(
            output, F.scaled_dot_product_attention(q, k, v), name="output", hint="weights @ v"
        )

    def values_not_keys(result):
        output, _ = _parts(result, sq, sk, sv)
        expected_output, expected_weights = _reference(sq, sk, sv)
        expect_close(
            output,
            expected_output,
            name="output",
            mistakes=[
                Mistake(
                    "the output averages the keys: multiply the weights by v",
                    lambda: expected_weights @ _as_float64(sk),
                )
            ],
        )

    def large_scores(result):
        _nan_means(
            result,
            "NaN or inf with scores near +1000 (row 0) and near -1000 (row 1): exp overflows "
            "to inf above about 88 (float32) and underflows to 0 below about -100. Subtract "
            "from each row its *own* largest score before exponentiating: one maximum for "
            "the whole tensor leaves row 1 at exp(-2000) = 0 everywhere, and 0/0",
        )
        _, weights = _parts(result, big_q, big_k, big_v)
        expect_true(
            not bool((weights[0, 1] == 0).all()),
            "row 1 (scores near -1000) got all-zero weights: its exponentials underflowed "
            "to 0 because the number subtracted was the largest score of the whole tensor "
            "(near +1000). Subtract each row's own maximum",
        )
        _like_reference(big_q, big_k, big_v)(result)

    def masked_with(mask):
        def judge(result):
            _nan_means(result, "NaN or inf in the result: is every forbidden score -inf?")
            output, weights = _parts(result, q, k, v)
            forbidden = ~mask.expand(weights.shape)
            expect_true(
                bool((weights[forbidden] == 0).all()),
                f"a key the mask forbids got weight {weights[forbidden].abs().max().item():.3g}"
                ": with a mask of shape "
                f"{tuple(mask.shape)}, True means 'may attend'; set forbidden scores to -inf "
                "before the softmax (masking after it leaves rows that no longer sum to 1)",
            )
            sums = _as_float64(weights).sum(dim=-1)
            expect_true(
                bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
                f"with a mask, each row must still sum to 1, got sums as low as "
                f"{sums.min().item():.3f}: mask the scores before the softmax",
            )
            expect_close(
                output,
                F.scaled_dot_product_attention(q, k, v, attn_mask=mask.expand(weights.shape)),
                name="output",
                hint="equals PyTorch's function with attn_mask=mask",
            )

        return judge

    def hidden_key(result):
        _nan_means(
            result,
            "NaN or inf when a forbidden key has the largest score of its row: take each "
            "row's maximum over the keys it may see (mask the scores first), else every "
            "allowed key's exponential underflows to 0",
        )
        _, weights = _parts(result, hidden_q, hidden_k, hidden_v)
        expect_true(
            not bool((weights[0, 0] == 0).all()),
            "row 0 got all-zero weights: the maximum subtracted from it was the score of the "
            "key it may not see (1050), so the allowed keys' exponentials underflowed to 0. "
            "Mask the scores first, then take each row's maximum",
        )
        _like_reference(hidden_q, hidden_k, hidden_v, hidden_mask)(result)

    def nobody_to_see(result):
        _nan_means(
            result,
            "a query that may see no key gave NaN: its row is all -inf, and both "
            "-inf - (-inf) and 0/0 are NaN. Give such rows zero weights and a zero output",
        )
        output, weights = _parts(result, uq, uk, uv)
        expect_close(weights[1], torch.zeros(4), name="weights of the query that sees no key")
        expect_close(output[1], torch.zeros(2), name="output of the query that sees no key")
        _, expected = _reference(uq, uk, uv, blocked)
        expect_close(weights[[0, 2]], expected[[0, 2]], name="weights of the other queries")

    return [
        Case(
            "returns (output, weights) of shapes (..., queries, d_v) and (..., queries, keys)",
            plain,
            lambda result: _parts(result, q, k, v),
        ),
        Case("weights = softmax(QKᵀ/√d_k), each row summing to 1", plain, weights_formula),
        Case("output equals PyTorch's scaled_dot_product_attention", plain, output_like_torch),
        Case(
            "values that differ from the keys are what gets averaged",
            calls(sq, sk, sv),
            values_not_keys,
        ),
        Case(
            "scores near +1000 in one row and -1000 in another: exact, no overflow",
            calls(big_q, big_k, big_v),
            large_scores,
        ),
        Case("a mask of shape (keys,)", calls(q, k, v, key_mask), masked_with(key_mask)),
        Case(
            "a mask of shape (queries, keys)",
            calls(q, k, v, query_key_mask),
            masked_with(query_key_mask),
        ),
        Case(
            "a padding mask of shape (batch, 1, 1, keys)",
            calls(q, k, v, padding),
            masked_with(padding),
        ),
        Case(
            "a mask of shape (batch, heads, queries, keys)",
            calls(q, k, v, full_mask),
            masked_with(full_mask),
        ),
        Case(
            "a forbidden key with the largest score of its row gets weight 0, no NaN",
            calls(hidden_q, hidden_k, hidden_v, hidden_mask),
            hidden_key,
        ),
        Case(
            "a query that may see no key gets zero weights and output, not NaN",
            calls(uq, uk, uv, blocked),
            nobody_to_see,
        ),
        Case(
            "one sequence with one query keeps every axis: (1, 1, d_v) and (1, 1, keys)",
            calls(oq, ok, ov),
            _like_reference(oq, ok, ov),
        ),
        Case(
            "float64 inputs with a (batch, queries, keys) mask",
            calls(dq, dk, dv, double_mask),
            _like_reference(dq, dk, dv, double_mask),
        ),
    ]


# ---------------------------------------------------------------- the model: exercises 3-5


def shifted_repeats(batch_size: int, generator: torch.Generator, noise: float = 0.5):
    """The lab's sequences, as the judges draw them: HALF random symbols, then the same
    symbols each moved to the next one (the last wraps round to the first), each token of
    the second half replaced by a random symbol with probability ``noise``."""
    first = torch.randint(SYMBOLS, (batch_size, HALF), generator=generator)
    second = (first + 1) % SYMBOLS
    replaced = torch.rand(second.shape, generator=generator) < noise
    noise_symbols = torch.randint(SYMBOLS, second.shape, generator=generator)
    return torch.cat([first, torch.where(replaced, noise_symbols, second)], dim=1)


def _random_params(seed, d_model=16, dtype=torch.float32):
    g = seeded_generator(seed)
    shapes = {
        "embed": (SYMBOLS, d_model),
        "position": (LENGTH, d_model),
        "W_q": (d_model, d_model),
        "W_k": (d_model, d_model),
        "W_v": (d_model, d_model),
        "readout": (SYMBOLS, d_model),
    }
    return {
        name: torch.randn(*shape, generator=g, dtype=dtype)
        * (1.0 if name in ("embed", "position") else 2 / math.sqrt(d_model))
        for name, shape in shapes.items()
    }


def _next_token_reader(seed):
    """Parameters built by hand so that position t attends to position t + 1 and names
    its token: perfect when shown the whole sequence, no better than a guess from the past."""
    d_model = SYMBOLS + LENGTH
    tokens, positions = slice(0, SYMBOLS), slice(SYMBOLS, d_model)
    params = {name: torch.zeros(d_model, d_model) for name in ("W_q", "W_k", "W_v")}
    params["embed"] = torch.zeros(SYMBOLS, d_model)
    params["embed"][:, tokens] = torch.eye(SYMBOLS)
    params["position"] = torch.zeros(LENGTH, d_model)
    params["position"][:, positions] = torch.eye(LENGTH)
    for p in range(LENGTH - 1):
        params["W_q"][SYMBOLS + p + 1, SYMBOLS + p] = 40.0  # query of p = key of p + 1
    params["W_k"][positions, positions] = torch.eye(LENGTH)
    params["W_v"][tokens, tokens] = 2 * torch.eye(SYMBOLS)
    params["readout"] = params["embed"].clone()
    g = seeded_generator(seed)  # a little noise: no two logits exactly equal
    return {name: p + 0.01 * torch.randn(p.shape, generator=g) for name, p in params.items()}


def _reference_logits(params, tokens, mask=None):
    p = {name: _as_float64(params[name]) for name in PARAMETER_NAMES}
    h = p["embed"][tokens] + p["position"][: tokens.shape[1]]
    q, k, v = (h @ p[name].T for name in ("W_q", "W_k", "W_v"))
    attended, _ = _reference(q, k, v, mask)
    return (h + attended) @ p["readout"].T


def _reference_loss(params, tokens, mask=None):
    logits = _reference_logits(params, tokens, mask)
    return F.cross_entropy(logits[:, :-1].reshape(-1, SYMBOLS), tokens[:, 1:].reshape(-1))


def _prefix_logits(params, tokens, first=0):
    """(batch, positions, SYMBOLS): for t = first .. n-2, the logits at the last position of
    the model run on tokens 0..t alone (no mask: there is nothing later to hide)."""
    return torch.stack(
        [
            _reference_logits(params, tokens[:, : t + 1])[:, -1]
            for t in range(first, tokens.shape[1] - 1)
        ],
        dim=1,
    )


def _logits_of(result, batch, n, name="logits"):
    return expect_tensor(result, shape=(batch, n, SYMBOLS), name=name)


def _logit_mistakes(params, tokens, mask=None):
    p = {name: _as_float64(params[name]) for name in PARAMETER_NAMES}

    def variant(residual=True, positions=True):
        h = p["embed"][tokens] + (p["position"][: tokens.shape[1]] if positions else 0)
        q, k, v = (h @ p[name].T for name in ("W_q", "W_k", "W_v"))
        attended, _ = _reference(q, k, v, mask)
        return ((h + attended) if residual else attended) @ p["readout"].T

    return [
        Mistake(
            "the readout must see h + A (the residual connection), not A alone",
            lambda: variant(residual=False),
        ),
        Mistake(
            "the position vectors P[t] were not added to the embeddings",
            lambda: variant(positions=False),
        ),
        Mistake(
            "these are the logits of h alone: add the attention output A before the readout",
            lambda: (
                p["embed"][tokens] @ p["readout"].T
                + p["position"][: tokens.shape[1]] @ p["readout"].T
            ),
        ),
    ]


_MODEL = "logits = (h + attention(h W_qᵀ, h W_kᵀ, h W_vᵀ, mask)) @ readoutᵀ, h = E[x] + P[:n]"


def _logits_like_reference(params, tokens, mask=None, name="logits"):
    def judge(result):
        got = _logits_of(result, *tokens.shape, name=name)
        expect_close(
            got,
            _reference_logits(params, tokens, mask),
            name=name,
            hint=_MODEL,
            mistakes=_logit_mistakes(params, tokens, mask),
        )

    return judge


@lab.check(points=2, forbid=_ATTENTION)
def check_next_token_logits():
    params = _random_params(40)
    tokens = torch.randint(SYMBOLS, (3, LENGTH), generator=seeded_generator(41))
    changed = tokens.clone()
    changed[:, 7:] = (changed[:, 7:] + 3) % SYMBOLS  # the last five tokens, all different
    causal = torch.ones(LENGTH, LENGTH, dtype=torch.bool).tril()
    short = torch.randint(SYMBOLS, (2, 5), generator=seeded_generator(42))
    one = torch.tensor([[3]])
    double = _random_params(43, dtype=torch.float64)
    plain = calls(params, tokens)

    def past_only(result):
        before, after = expect_parts(result, "logits", "logits with the last tokens changed")
        before = _logits_of(before, 3, LENGTH)
        after = _logits_of(after, 3, LENGTH, "logits with the last tokens changed")
        expect_close(
            after[:, :7],
            before[:, :7],
            name="logits at positions 0-6",
            hint="changing tokens 7-11 changed the logits at earlier positions: pass the "
            "mask on to your attention, so that position t sees tokens 0..t only",
        )
        _logits_like_reference(params, tokens, causal)(before)

    return [
        Case("returns (batch, n, symbols) logits", plain, lambda r: _logits_of(r, 3, LENGTH)),
        Case(
            "without a mask: (h + A) readoutᵀ, A attention over h",
            plain,
            _logits_like_reference(params, tokens),
        ),
        Case(
            "with the causal mask, later tokens cannot change earlier logits",
            lambda f: (f(params, tokens, causal), f(params, changed, causal)),
            past_only,
        ),
        Case(
            "a sequence of 5 tokens uses positions 0-4 only",
            calls(params, short),
            _logits_like_reference(params, short),
        ),
        Case(
            "one sequence of one token: (1, 1, symbols)",
            calls(params, one),
            _logits_like_reference(params, one),
        ),
        Case("float64 parameters", calls(double, tokens), _logits_like_reference(double, tokens)),
    ]


def _loss_and_graph(f, params, tokens, mask=None):
    """The recipe: the student's loss, and whether it is a tensor autograd can go back through."""
    loss = f(params, tokens, mask)
    return loss, bool(isinstance(loss, torch.Tensor) and loss.requires_grad)


def _loss_mistakes(params, tokens, mask=None):
    logits = _reference_logits(params, tokens, mask)
    flat = logits.reshape(-1, SYMBOLS)
    without_mask = []
    if mask is not None:
        without_mask.append(
            Mistake(
                "that is the loss without the mask: pass the mask on to next_token_logits",
                lambda: _reference_loss(params, tokens),
            )
        )
    return without_mask + [
        Mistake(
            "the logits at position t were scored against token t itself: they predict "
            "token t + 1, so pair logits[:, :-1] with tokens[:, 1:]",
            lambda: F.cross_entropy(flat, tokens.reshape(-1)),
        ),
        Mistake(
            "the pairs are shifted the wrong way: the logits at t predict token t + 1, "
            "not token t - 1",
            lambda: F.cross_entropy(logits[:, 1:].reshape(-1, SYMBOLS), tokens[:, :-1].reshape(-1)),
        ),
        Mistake(
            "that is the sum over the predictions: take the mean",
            lambda: F.cross_entropy(
                logits[:, :-1].reshape(-1, SYMBOLS), tokens[:, 1:].reshape(-1), reduction="sum"
            ),
        ),
    ]


def _loss_like_reference(params, tokens, mask=None):
    def judge(result):
        loss, _ = expect_parts(result, "loss", "graph")
        expect_close(
            expect_number(loss, name="the loss"),
            _reference_loss(params, tokens, mask),
            name="the loss",
            hint="the mean over batch and positions t = 0 .. n-2 of -log softmax(logits[t])"
            "[token t + 1]",
            mistakes=_loss_mistakes(params, tokens, mask),
        )

    return judge


@lab.check(points=2)
def check_next_token_loss():
    params = _random_params(50)
    tokens = torch.randint(SYMBOLS, (4, LENGTH), generator=seeded_generator(51))
    causal = torch.ones(LENGTH, LENGTH, dtype=torch.bool).tril()
    trainable = {name: p.clone().requires_grad_() for name, p in _random_params(52).items()}
    one = torch.randint(SYMBOLS, (1, 4), generator=seeded_generator(53))
    plain = lambda f: _loss_and_graph(f, params, tokens)  # noqa: E731

    def backpropagates(result):
        loss, graph = expect_parts(result, "loss", "graph")
        expect_number(loss, name="the loss")
        expect_true(
            graph,
            "the loss is not connected to the parameters, so training could not change "
            "them: return the tensor itself (no .item(), no float(), no torch.tensor(...) "
            "around it, no torch.no_grad())",
        )

    return [
        Case(
            "returns one number",
            plain,
            lambda r: expect_number(expect_parts(r, "loss", "graph")[0]),
        ),
        Case(
            "equals the mean cross-entropy of token t + 1 given the logits at t",
            plain,
            _loss_like_reference(params, tokens),
        ),
        Case(
            "with the causal mask",
            lambda f: _loss_and_graph(f, params, tokens, causal),
            _loss_like_reference(params, tokens, causal),
        ),
        Case(
            "is a tensor that gradients flow back through (to train with)",
            lambda f: _loss_and_graph(f, trainable, tokens),
            backpropagates,
        ),
        Case(
            "one sequence of 4 tokens",
            lambda f: _loss_and_graph(f, params, one),
            _loss_like_reference(params, one),
        ),
    ]


def _expect_predictions(result, params, tokens, name="predictions"):
    batch, n = tokens.shape
    got = expect_tensor(result, shape=(batch, n - 1), name=name)
    expect_true(
        not got.is_floating_point() and got.dtype != torch.bool,
        f"{name} must be token numbers (an integer tensor, e.g. from argmax), got {got.dtype}",
    )
    expect_true(
        bool(((got >= 0) & (got < SYMBOLS)).all()),
        f"{name} must be symbols 0 .. {SYMBOLS - 1}",
    )
    logits = _prefix_logits(params, tokens)
    chosen = logits.gather(-1, got.long()[..., None])[..., 0]
    best = logits.max(dim=-1).values
    wrong = chosen < best - 1e-4  # a near-tie may go either way
    if not wrong.any():
        return
    full = _reference_logits(params, tokens)[:, :-1].argmax(dim=-1)
    if torch.equal(got.long(), full):
        raise CaseFailed(
            "these are the guesses of the model run once on the whole sequence without a "
            "mask: the guess for token t + 1 then saw token t + 1. Use only tokens 0..t"
        )
    b, t = (int(i) for i in wrong.nonzero()[0])
    raise CaseFailed(
        f"{int(wrong.sum())} of {wrong.numel()} guesses differ from the model's; the first at "
        f"sequence {b}, guess {t} (of token {t + 1}): got {int(got[b, t])}, the model "
        f"seeing tokens 0..{t} names {int(logits[b, t].argmax())}"
    )


@lab.check(points=2, forbid=_ATTENTION)
def check_predict_from_prefixes():
    params = _random_params(60)
    tokens = torch.randint(SYMBOLS, (4, LENGTH), generator=seeded_generator(61))
    reader = _next_token_reader(62)
    one = torch.randint(SYMBOLS, (1, 2), generator=seeded_generator(63))
    plain = calls(params, tokens)

    def shape(result):
        got = expect_tensor(result, shape=(4, LENGTH - 1), name="predictions")
        expect_true(
            not got.is_floating_point(),
            f"predictions must be token numbers (argmax of the logits), got {got.dtype}",
        )

    return [
        Case("returns (batch, n - 1) token numbers", plain, shape),
        Case(
            "guess t is the model's best token t + 1 from tokens 0..t",
            plain,
            lambda r: _expect_predictions(r, params, tokens),
        ),
        Case(
            "a model that reads the next token gets no help from it",
            calls(reader, tokens),
            lambda r: _expect_predictions(r, reader, tokens),
        ),
        Case(
            "one sequence of two tokens: one guess, shape (1, 1)",
            calls(params, one),
            lambda r: _expect_predictions(r, params, one),
        ),
    ]


# ---------------------------------------------------------------- the experiment


def _trained(result, which):
    """The parameters one training returned, as float64 tensors, checked for names and shapes."""
    name = f"the parameters trained {which}"
    expect_true(
        isinstance(result, dict) and set(PARAMETER_NAMES) <= set(result),
        f"{name} should be a dict with the keys {', '.join(PARAMETER_NAMES)}, got "
        + (
            f"the keys {sorted(map(str, result))}"[:200]
            if isinstance(result, dict)
            else describe(result)
        ),
    )
    embed = expect_tensor(result["embed"], shape=(SYMBOLS, None), name=f"{name}: embed")
    d = embed.shape[1]
    shapes = {"position": (LENGTH, d), "readout": (SYMBOLS, d)}
    params = {"embed": _as_float64(embed)}
    for key in PARAMETER_NAMES[1:]:
        tensor = expect_tensor(result[key], shape=shapes.get(key, (d, d)), name=f"{name}: {key}")
        params[key] = _as_float64(tensor)
    return params


def _both(result):
    masked, unmasked = expect_parts(result, "with the mask", "without it")
    return _trained(masked, "with the causal mask"), _trained(unmasked, "without a mask")


def _repeated_half_accuracy(params, tokens):
    """Share of the second half's tokens each predicted from the tokens before it only."""
    with torch.no_grad():
        guesses = _prefix_logits(params, tokens, first=HALF - 1).argmax(dim=-1)
    return (guesses == tokens[:, HALF:]).double().mean().item()


_HELD_OUT = 2024  # the seed of the judges' held-out sequences


@lab.check(points=3, time_limit=60)
def check_train_next_token_model():
    both = lambda f: (f(True), f(False))  # noqa: E731

    def held_out():
        return shifted_repeats(1000, seeded_generator(_HELD_OUT), noise=0.0)

    def masked_learns(result):
        masked, _ = _both(result)
        accuracy = _repeated_half_accuracy(masked, held_out())
        expect_true(
            accuracy >= 0.9,
            f"trained with the causal mask, your model predicts {accuracy:.0%} of the "
            "repeated halves from the past (it should be at least 90%): was the mask passed "
            "to next_token_loss, and did it train 200 steps of 64 sequences at lr=1e-2?",
        )

    def unmasked_reads_ahead(result):
        _, unmasked = _both(result)
        tokens = shifted_repeats(1000, seeded_generator(_HELD_OUT + 1))  # as in training
        with torch.no_grad():
            loss = _reference_loss(unmasked, tokens).item()
        expect_true(
            loss <= 0.1,
            f"trained without a mask, your model's loss on sequences like the training ones "
            f"(no mask) is {loss:.3f}, not near 0: was it trained with mask=None?",
        )

    def unmasked_fails_honestly(result):
        masked, unmasked = _both(result)
        tokens = held_out()
        honest, cheat = (_repeated_half_accuracy(p, tokens) for p in (masked, unmasked))
        expect_true(
            cheat <= 0.4 and honest - cheat >= 0.5,
            f"from the past alone, the model trained without a mask predicts {cheat:.0%} of "
            f"the repeated halves, the masked one {honest:.0%}: the unmasked one should be "
            "far worse (at most 40%, 50 points below). Was it trained with mask=None?",
        )

    return [
        Case("returns the trained parameters of both models", both, _both),
        Case(
            "with the causal mask: at least 90% of held-out repeated halves predicted from "
            "the past",
            both,
            masked_learns,
        ),
        Case(
            "without a mask: training loss near 0 (at most 0.1) on sequences like the "
            "training ones",
            both,
            unmasked_reads_ahead,
        ),
        Case(
            "without a mask: from the past alone at most 40%, 50 points below the masked model",
            both,
            unmasked_fails_honestly,
        ),
    ]


# ---------------------------------------------------------------- the questions


@lab.check(points=1)
def check_why_the_unmasked_model_fails():
    why_not = {
        "a": "every training batch was new random sequences, and the judge's held-out loss "
        "without a mask is as low as the training loss: nothing was memorised",
        "c": "the unmasked softmax spreads over at most 12 keys, and its weights were large "
        "enough to reach a loss near 0: it learned very well, something useless",
        "d": "both models trained with the same steps and learning rate, and the unmasked "
        "one's loss fell fastest: the optimisation went fine",
    }

    return [
        Case(
            "the answer explains the gap your experiment measured",
            calls(),
            lambda r: expect_answer(r, "b", why_not),
        )
    ]


@lab.check(points=1)
def check_why_the_masked_loss_stays_high():
    why_not = {
        "a": "its loss levels off long before the last step, and it already predicts the "
        "clean repeated halves of held-out sequences almost perfectly: more steps have "
        "nothing left to learn",
        "c": "the mask hides only later tokens, which the model cannot have when it writes "
        "anyway; and it predicts the repeated halves from the past almost perfectly",
        "d": "your masked model predicts the clean repeated halves almost perfectly, each "
        "symbol moved to the next one: the readout learned the shift",
    }

    return [
        Case(
            "the answer explains where the masked model's training loss levels off",
            calls(),
            lambda r: expect_answer(r, "b", why_not),
        )
    ]
