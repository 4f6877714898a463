"""Checks for Lab 7: pictures as tokens, what they cost, and where the class token reads.

The judges compute what they compare with themselves: ``torch.nn.functional.unfold`` for
the patches, the formulas of the exercises for the position embeddings, the class token's
map and the multiply-adds, PyTorch's ``FlopCounterMode`` on a ViT they build for the cost,
and the test pictures' labels (which the student's code never sees) for the experiment.
Where a wrong result matches a common mistake, the message says which.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .calling import CaseFailed, StudentRaised
from .encoding import describe
from .expect import (
    Mistake,
    expect_answer,
    expect_array,
    expect_close,
    expect_number,
    expect_tensor,
    expect_true,
    named_mistake,
    seeded_randn,
)
from .framework import Case, Lab, calls

lab = Lab("07", "Pictures as tokens: patches, positions, cost, and where the class token reads")
score = lab.score

_RAISED, _RETURNED = "raised", "returned"


def _raising(*args):
    """A recipe calling the student's function with ``args`` where it should raise: what it
    raised (the exception's class names and message) or, if it returned, a description."""

    def recipe(function):
        try:
            value = function(*args)
        except StudentRaised as error:
            return (_RAISED, list(error.kinds), str(error))
        return (_RETURNED, describe(value))

    return recipe


def _expect_value_error(result, numbers: tuple[int, ...], what: str) -> None:
    """The student's function raised a ValueError whose message names ``numbers``."""
    expect_true(
        isinstance(result, tuple) and len(result) in (2, 3), f"unexpected outcome {result!r}"
    )
    if result[0] == _RETURNED:
        raise CaseFailed(f"{what}, but your function returned {result[1]}: raise a ValueError")
    _, kinds, message = result
    if "ValueError" not in kinds:
        kind = kinds[0] if kinds else "an exception"
        advice = (
            "an assert is for bugs in your own code (python -O removes it), not for bad input"
            if kind == "AssertionError"
            else "raise ValueError(...) yourself, before the reshape fails on its own"
        )
        raise CaseFailed(f"{what}: expected a ValueError, got {kind}: {advice}")
    found = {int(n) for n in re.findall(r"\d+", message.split(":", 1)[-1])}
    missing = [n for n in numbers if n not in found]
    expect_true(
        not missing,
        f"the error should name the sizes involved ({', '.join(map(str, numbers))}) so that "
        f"the reader knows what to change; your message: {message[:150]!r}",
    )


# ---------------------------------------------------------------- exercise 1


def _unfold_reference(images, patch_h, patch_w):
    """Patches by torch's F.unfold, reordered from (C, Ph, Pw) to (Ph, Pw, C) in a patch."""
    images = images.double()
    batch, channels = images.shape[:2]
    columns = F.unfold(images, kernel_size=(patch_h, patch_w), stride=(patch_h, patch_w))
    n = columns.shape[-1]
    return (
        columns.transpose(1, 2)
        .reshape(batch, n, channels, patch_h, patch_w)
        .permute(0, 1, 3, 4, 2)
        .reshape(batch, n, patch_h * patch_w * channels)
    )


def _in_order(images, patch_h, patch_w, order):
    """Patches cut right but laid out in ``order`` (names of the six split axes)."""
    images = images.double()
    batch, channels, height, width = images.shape
    rows, cols = height // patch_h, width // patch_w
    x = images.reshape(batch, channels, rows, patch_h, cols, patch_w)
    axes = {"B": 0, "C": 1, "rows": 2, "ph": 3, "cols": 4, "pw": 5}
    x = x.permute(*(axes[name] for name in order))
    return x.reshape(batch, rows * cols, -1)


def _patchify_mistakes(images, patch_h, patch_w):
    batch, channels, height, width = images.shape

    def order(*names):
        return lambda: _in_order(images, patch_h, patch_w, names)

    mistakes = [
        Mistake(
            "this is a reshape without the permute: each 'patch' is a run of consecutive "
            "numbers of the flattened picture, cut across several patches. Split H and W "
            "into (patch row, row in patch) and (patch column, column in patch), then permute",
            lambda: images.double().reshape(batch, (height // patch_h) * (width // patch_w), -1),
        ),
        Mistake(
            "the patches are in column order: number them row by row, left to right",
            order("B", "cols", "rows", "ph", "pw", "C"),
        ),
        Mistake(
            "inside a patch the channels come first: flatten each patch as (row, column, "
            "channel), channels last",
            order("B", "rows", "cols", "C", "ph", "pw"),
        ),
        Mistake(
            "each patch is read column by column: flatten it row by row",
            order("B", "rows", "cols", "pw", "ph", "C"),
        ),
    ]
    if patch_h != patch_w and height % patch_w == 0 and width % patch_h == 0:
        mistakes.append(
            Mistake(
                f"your patches are {patch_w} high and {patch_h} wide: patch = (height, "
                "width), so the first number splits the picture's height",
                lambda: _unfold_reference(images, patch_w, patch_h),
            )
        )
    return mistakes


_PATCHIFY_RULE = (
    "token j is patch j in reading order, flattened as (row in patch, column in patch, channel)"
)


@lab.check(points=2)
def check_patchify():
    colour = seeded_randn(2, 3, 12, 8, seed=0)  # taller than wide, three channels
    grey = seeded_randn(1, 1, 8, 12, seed=1)  # one picture, one channel
    wide = seeded_randn(2, 2, 8, 12, seed=2)  # for patches of 2 x 4
    precise = seeded_randn(2, 2, 6, 6, seed=3).double() + 1e-9

    def patches(result, shape):
        return expect_tensor(result, shape=shape, name="patches")

    def shape_for_square_patches(result):
        patches(result, (2, 6, 48))

    def equals_unfold(result):
        expect_close(
            patches(result, (2, 6, 48)),
            _unfold_reference(colour, 4, 4),
            name="patches",
            hint=_PATCHIFY_RULE,
            mistakes=_patchify_mistakes(colour, 4, 4),
        )

    def reading_order(result):
        got = patches(result, (1, 6, 16)).double()
        for j in range(6):
            row, col = divmod(j, 3)
            square = grey[0, 0, 4 * row : 4 * row + 4, 4 * col : 4 * col + 4].flatten()
            if not torch.allclose(got[0, j], square.double(), atol=1e-6):
                mistake = named_mistake(got, _patchify_mistakes(grey, 4, 4))
                raise CaseFailed(
                    f"token {j} should be the square in patch row {row}, patch column {col} "
                    f"(pixels [{4 * row}:{4 * row + 4}, {4 * col}:{4 * col + 4}]), read row "
                    f"by row: {mistake or _PATCHIFY_RULE}"
                )

    def rectangular(result):
        expect_close(
            patches(result, (2, 12, 16)),
            _unfold_reference(wide, 2, 4),
            name="patches of 2 x 4",
            hint=_PATCHIFY_RULE + "; patch = (height, width)",
            mistakes=_patchify_mistakes(wide, 2, 4),
        )

    def pictures_stay_apart(result):
        together, alone = result
        together = patches(together, (2, 12, 16))
        alone = patches(alone, (1, 12, 16))
        expect_close(
            alone,
            together[1:2],
            name="the second picture's patches, cut on its own",
            hint="a picture's patches must not depend on the other pictures of the batch",
        )

    def float64_exact(result):
        got = patches(result, (2, 4, 18))
        expect_true(
            got.dtype == torch.float64,
            f"float64 pictures came back as {got.dtype}: cutting patches only moves numbers, "
            "so rearrange the tensor you were given (reshape, permute) instead of copying it "
            "into a new tensor of another type",
        )
        expect_close(
            got,
            _unfold_reference(precise, 3, 3),
            name="patches",
            atol=1e-12,
            hint=_PATCHIFY_RULE,
            mistakes=_patchify_mistakes(precise, 3, 3),
        )

    return [
        Case(
            "returns (B, N, P·P·C): (2, 6, 48) for (2, 3, 12, 8) pictures, patch 4",
            calls(colour, 4),
            shape_for_square_patches,
        ),
        Case(
            "equals torch's F.unfold (kernel = stride = P), channels last in a patch",
            calls(colour, 4),
            equals_unfold,
        ),
        Case(
            "a grey picture of 8 x 12: token j is the j-th 4 x 4 square, read row by row",
            calls(grey, 4),
            reading_order,
        ),
        Case(
            "rectangular patches (2, 4): 2 rows high, 4 columns wide",
            calls(wide, (2, 4)),
            rectangular,
        ),
        Case(
            "a picture cut alone gives what it gave in a batch (a batch of 1 works)",
            lambda f: (f(wide, (2, 4)), f(wide[1:2], (2, 4))),
            pictures_stay_apart,
        ),
        Case(
            "float64 pictures give float64 patches, the same numbers exactly",
            calls(precise, 3),
            float64_exact,
        ),
        Case(
            "a height that patches do not divide (9 rows, patch (2, 4)): ValueError naming 9 and 2",
            _raising(seeded_randn(1, 1, 9, 8, seed=4), (2, 4)),
            lambda result: _expect_value_error(
                result, (9, 2), "9 rows cannot be cut into patches 2 rows high"
            ),
        ),
        Case(
            "a width that patches do not divide (10 columns, patch 4): ValueError naming 10 and 4",
            _raising(seeded_randn(1, 3, 12, 10, seed=5), 4),
            lambda result: _expect_value_error(
                result, (10, 4), "10 columns cannot be cut into patches 4 columns wide"
            ),
        ),
    ]


# ---------------------------------------------------------------- exercise 2


def _sincos(rows, cols, dim, row_of=None, col_of=None, exponent_over=None, layout="blocks"):
    """Reference 2-D sine-cosine positions (and variants of it, for the mistakes)."""
    quarter = dim // 4
    j = torch.arange(rows * cols, dtype=torch.float64)
    row = (j // cols) if row_of is None else row_of(j)
    col = (j % cols) if col_of is None else col_of(j)
    over = quarter if exponent_over is None else exponent_over
    omega = 10000.0 ** (-torch.arange(quarter, dtype=torch.float64) / over)
    r, c = row[:, None] * omega, col[:, None] * omega
    if layout == "blocks":
        return torch.cat([r.sin(), r.cos(), c.sin(), c.cos()], dim=1)
    if layout == "columns first":
        return torch.cat([c.sin(), c.cos(), r.sin(), r.cos()], dim=1)
    # interleaved: sin, cos, sin, cos ... within each half
    return torch.cat(
        [
            torch.stack([r.sin(), r.cos()], -1).flatten(1),
            torch.stack([c.sin(), c.cos()], -1).flatten(1),
        ],
        dim=1,
    )


def _sincos_mistakes(rows, cols, dim):
    return [
        Mistake(
            "rows and columns are swapped: position j is in patch row j // cols and patch "
            "column j % cols",
            lambda: _sincos(rows, cols, dim, row_of=lambda j: j % rows, col_of=lambda j: j // rows),
        ),
        Mistake(
            "the column's half comes first: put the row's sin and cos first, then the column's",
            lambda: _sincos(rows, cols, dim, layout="columns first"),
        ),
        Mistake(
            "sines and cosines are interleaved: each half is [sin(p ω), cos(p ω)] as two "
            "blocks of dim/4 numbers, not alternating",
            lambda: _sincos(rows, cols, dim, layout="interleaved"),
        ),
        Mistake(
            "the frequencies use the wrong denominator: ω_i = 10000^(-i / (dim/4)), "
            "i = 0 .. dim/4 - 1",
            lambda: _sincos(rows, cols, dim, exponent_over=dim),
        ),
        Mistake(
            "the frequencies use the wrong denominator: ω_i = 10000^(-i / (dim/4)), "
            "i = 0 .. dim/4 - 1",
            lambda: _sincos(rows, cols, dim, exponent_over=dim // 2),
        ),
        Mistake(
            "positions are counted from 1: patch row and column start at 0",
            lambda: _sincos(
                rows, cols, dim, row_of=lambda j: j // cols + 1, col_of=lambda j: j % cols + 1
            ),
        ),
    ]


_SINCOS_RULE = (
    "E[j] = [sin(r ω), cos(r ω), sin(c ω), cos(c ω)] with r = j // cols, c = j % cols and "
    "ω_i = 10000^(-i / (dim/4))"
)


@lab.check(points=2)
def check_sincos_positions():
    def table(result, rows, cols, dim):
        return expect_tensor(result, shape=(rows * cols, dim), name="positions").double()

    def matches(rows, cols, dim):
        def judge(result):
            expect_close(
                table(result, rows, cols, dim),
                _sincos(rows, cols, dim),
                name="positions",
                hint=_SINCOS_RULE,
                mistakes=_sincos_mistakes(rows, cols, dim),
            )

        return judge

    def first_position(result):
        got = table(result, 3, 5, 8)
        expected = torch.tensor([0.0, 0, 1, 1, 0, 0, 1, 1], dtype=torch.float64)
        expect_close(
            got[0],
            expected,
            name="position 0 (row 0, column 0)",
            hint="sin(0) = 0 and cos(0) = 1: [0, 0, 1, 1, 0, 0, 1, 1] for dim 8",
        )

    def rows_share_a_half(result):
        got = table(result, 3, 5, 8)
        same_row = torch.allclose(got[5:10, :4], got[5:6, :4].expand(5, 4), atol=1e-6)
        same_col = torch.allclose(got[[1, 6, 11], 4:], got[1:2, 4:].expand(3, 4), atol=1e-6)
        expect_true(
            same_row and same_col,
            "positions 5..9 (patch row 1) should share their first half, and positions 1, "
            "6, 11 (patch column 1) their second half: "
            + (named_mistake(got, _sincos_mistakes(3, 5, 8)) or _SINCOS_RULE),
        )

    def depends_on_the_offset(result):
        got = table(result, 4, 6, 16)
        a = got[0 * 6 + 0] @ got[1 * 6 + 2]  # (0, 0) and (1, 2)
        b = got[2 * 6 + 3] @ got[3 * 6 + 5]  # (2, 3) and (3, 5): the same offset
        expect_true(
            bool(torch.isclose(a, b, atol=1e-5)),
            f"the dot products of two pairs of patches one row and two columns apart "
            f"differ ({a.item():.4f} and {b.item():.4f}): each sin, cos pair must use the "
            "same frequency for the row (or column) at every position, " + _SINCOS_RULE,
        )

    return [
        Case(
            "returns (rows·cols, dim): (15, 8) for 3 x 5 patches",
            calls(3, 5, 8),
            lambda r: table(r, 3, 5, 8),
        ),
        Case("position 0 is [0, 0, 1, 1, 0, 0, 1, 1] for dim 8", calls(3, 5, 8), first_position),
        Case(
            "patches of one row share the row's half, of one column the column's",
            calls(3, 5, 8),
            rows_share_a_half,
        ),
        Case("equals the formula for 3 x 5 patches and dim 8", calls(3, 5, 8), matches(3, 5, 8)),
        Case("equals the formula for 4 x 4 patches and dim 32", calls(4, 4, 32), matches(4, 4, 32)),
        Case("a single row of 7 patches (1 x 7), dim 12", calls(1, 7, 12), matches(1, 7, 12)),
        Case(
            "two patches' similarity depends only on their offset (4 x 6, dim 16)",
            calls(4, 6, 16),
            depends_on_the_offset,
        ),
        Case(
            "dim 10 (even, not a multiple of 4): ValueError naming 10",
            _raising(2, 2, 10),
            lambda result: _expect_value_error(
                result, (10,), "dim 10 cannot be split into four equal blocks"
            ),
        ),
    ]


# ---------------------------------------------------------------- exercise 3


def _maps(blocks, batch, heads, tokens, seed, dtype=torch.float32):
    """Random attention weights, one (B, heads, T, T) tensor per block, rows summing to 1."""
    return [
        torch.softmax(2 * seeded_randn(batch, heads, tokens, tokens, seed=seed + b), dim=-1).to(
            dtype
        )
        for b in range(blocks)
    ]


def _class_map(
    attention,
    grid,
    residual=0.5,
    *,
    order="later on the left",
    row=True,
    renormalise=True,
    heads="mean",
    weight_on="identity",
    last_only=False,
    layout="rows",
):
    """The class token's rollout map over the patches (and variants, for the mistakes)."""
    rollout = None
    blocks = attention[-1:] if last_only else attention
    for weights in blocks:
        weights = weights.double()
        a = weights.mean(dim=1) if heads == "mean" else weights.sum(dim=1)
        eye = torch.eye(a.shape[-1], dtype=torch.float64)
        mixed = (
            residual * eye + (1 - residual) * a
            if weight_on == "identity"
            else ((1 - residual) * eye + residual * a)
        )
        if rollout is None:
            rollout = mixed
        elif order == "later on the left":
            rollout = mixed @ rollout
        else:
            rollout = rollout @ mixed
    reads = rollout[:, 0, 1:] if row else rollout[:, 1:, 0]
    if renormalise:
        reads = reads / reads.sum(dim=-1, keepdim=True)
    rows, cols = grid
    if layout == "rows":
        return reads.reshape(-1, rows, cols)
    return reads.reshape(-1, cols, rows).transpose(1, 2)


def _class_map_mistakes(attention, grid, residual):
    def variant(**mistake):
        return lambda: _class_map(attention, grid, residual, **mistake)

    return [
        Mistake(
            "the blocks are multiplied in the wrong order: a later block's matrix goes on "
            "the left, R = Ã_L ··· Ã_2 Ã_1",
            variant(order="later on the right"),
        ),
        Mistake(
            "this is column 0 of the rollout (how much each patch reads from the class "
            "token); the class token's map is its row: R[:, 0, 1:]",
            variant(row=False),
        ),
        Mistake(
            "the map was not re-normalised after leaving out the class token's own entry: "
            "divide the 1..N entries by their sum",
            variant(renormalise=False),
        ),
        Mistake(
            "the residual weight went to the attention instead of the identity: "
            "Ã = residual · I + (1 - residual) · Ā",
            variant(weight_on="attention"),
        ),
        Mistake(
            "the heads were summed: average them over the head axis",
            variant(heads="sum"),
        ),
        Mistake(
            "only the last block's weights were used: multiply all the blocks' matrices",
            variant(last_only=True),
        ),
        Mistake(
            "the map is laid out column by column: patch j sits in row j // cols, column "
            "j % cols (reshape to (B, rows, cols) directly)",
            variant(layout="columns"),
        ),
    ]


_CLASS_MAP_RULE = (
    "Ã = residual · I + (1 - residual) · mean over heads; R = Ã_L ··· Ã_1; map = R[:, 0, 1:] "
    "divided by its sum, reshaped to (B, rows, cols)"
)


@lab.check(points=3)
def check_class_token_map():
    grid = (2, 3)  # 6 patches and the class token: T = 7
    maps = _maps(3, batch=2, heads=3, tokens=7, seed=20)
    double = _maps(2, batch=1, heads=2, tokens=7, seed=30, dtype=torch.float64)
    # One block whose every head has the class token read only patch 4 (row 1, column 1).
    pointing = torch.softmax(seeded_randn(1, 2, 7, 7, seed=40), dim=-1)
    pointing[:, :, 0] = 0.0
    pointing[:, :, 0, 1 + 4] = 1.0

    def class_map(result, batch=2):
        return expect_tensor(result, shape=(batch, *grid), name="map").double()

    def sums_to_one(result):
        got = class_map(result)
        sums = got.sum(dim=(1, 2))
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
            f"each map should sum to 1 over the 6 patches, got {sums.tolist()}: "
            + (named_mistake(got, _class_map_mistakes(maps, grid, 0.5)) or _CLASS_MAP_RULE),
        )

    def equals(attention, residual, batch=2):
        def judge(result):
            expect_close(
                class_map(result, batch),
                _class_map(attention, grid, residual),
                name="map",
                hint=_CLASS_MAP_RULE,
                mistakes=_class_map_mistakes(attention, grid, residual),
            )

        return judge

    def points_at_patch_4(result):
        got = class_map(result, 1)
        where = divmod(int(got[0].argmax()), grid[1])
        mistake = named_mistake(got, _class_map_mistakes([pointing], grid, 0.0))
        expect_true(
            where == (1, 1) and got[0, 1, 1].item() > 0.99,
            f"the class token reads only patch 4 (row 1, column 1 of a 2 x 3 grid), so the "
            f"map should be 1 there; its largest entry is at row {where[0]}, column "
            f"{where[1]}: {mistake or _CLASS_MAP_RULE}",
        )

    return [
        Case(
            "returns (B, rows, cols): (2, 2, 3) for a 2 x 3 grid of patches",
            calls(maps, grid),
            class_map,
        ),
        Case("each picture's map sums to 1 over the patches", calls(maps, grid), sums_to_one),
        Case(
            "equals the rollout formula over three blocks, residual 0.5",
            calls(maps, grid),
            equals(maps, 0.5),
        ),
        Case(
            "residual 0.2 mixes in less of the identity",
            calls(maps, grid, 0.2),
            equals(maps, 0.2),
        ),
        Case(
            "residual 0: the plain product of the head-averaged weights",
            calls(maps, grid, 0.0),
            equals(maps, 0.0),
        ),
        Case(
            "a class token that reads only patch 4 gives a map of 1 at row 1, column 1",
            calls([pointing], grid, 0.0),
            points_at_patch_4,
        ),
        Case(
            "float64 weights, one picture (a batch of 1)",
            calls(double, grid),
            equals(double, 0.5, batch=1),
        ),
    ]


# ---------------------------------------------------------------- exercise 4

_COST_KEYS = ("tokens", "attention", "linear", "total")


def _multiply_adds(patch, image_size=28, channels=1, d_model=32, d_ff=64, depth=1, classes=10):
    """The multiply-adds of the matrix products of one picture's forward pass."""
    n = (image_size // patch) ** 2
    t = n + 1
    attention = depth * 2 * t * t * d_model
    linear = (
        n * patch * patch * channels * d_model
        + depth * (4 * t * d_model * d_model + 2 * t * d_model * d_ff)
        + d_model * classes
    )
    return {"tokens": t, "attention": attention, "linear": linear, "total": attention + linear}


def _linear_mistakes(patch, image_size, channels, d_model, d_ff, depth, classes):
    n = (image_size // patch) ** 2
    t = n + 1
    right = _multiply_adds(patch, image_size, channels, d_model, d_ff, depth, classes)["linear"]
    embedding = n * patch * patch * channels * d_model
    return [
        Mistake(
            "the patch embedding was counted for all N + 1 tokens: it is applied to the N "
            "patches only (the class token is a learned vector, not an embedded patch)",
            right + patch * patch * channels * d_model,
        ),
        Mistake(
            "the head was counted for every token: it reads the class token's output only",
            right + (t - 1) * d_model * classes,
        ),
        Mistake(
            "three projections were counted per block: queries, keys, values *and* the "
            "output projection make four d_model x d_model products per token",
            right - depth * t * d_model * d_model,
        ),
        Mistake(
            "the feed-forward network was counted as one layer: it has two, d_model -> d_ff "
            "and d_ff -> d_model",
            right - depth * t * d_model * d_ff,
        ),
        Mistake(
            "the patch embedding is missing: N patches of P·P·C numbers, each times a "
            "(P·P·C, d_model) matrix",
            right - embedding,
        ),
        Mistake(
            "the blocks were counted once, whatever the depth: each block has its own "
            "projections and feed-forward network",
            right - (depth - 1) * (4 * t * d_model * d_model + 2 * t * d_model * d_ff),
        ),
    ]


def _cost(result, name="your result"):
    expect_true(
        isinstance(result, dict) and all(key in result for key in _COST_KEYS),
        f"return a dict with the keys {', '.join(repr(k) for k in _COST_KEYS)}; got "
        + (
            f"a dict with the keys {sorted(result)[:6]}"
            if isinstance(result, dict)
            else describe(result)
        ),
    )
    return {key: expect_number(result[key], name=f"{name}[{key!r}]") for key in _COST_KEYS}


class _ReferenceViT(nn.Module):
    """The experiment's model, as the judge builds it to count its FLOPs with PyTorch."""

    def __init__(self, patch, image_size, channels, d_model, d_ff, depth, classes):
        from ..models.transformer import EncoderBlock

        super().__init__()
        self.patch = patch
        n = (image_size // patch) ** 2
        self.embed = nn.Linear(patch * patch * channels, d_model)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.positions = nn.Parameter(torch.zeros(n, d_model))
        self.blocks = nn.ModuleList(
            EncoderBlock(d_model, 2, d_ff=d_ff, norm_first=True, activation="gelu")
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, classes)

    def forward(self, images):
        patches = _unfold_reference(images, self.patch, self.patch).float()
        tokens = self.embed(patches) + self.positions
        z = torch.cat([self.class_token.expand(len(tokens), -1, -1), tokens], dim=1)
        for block in self.blocks:
            z, _ = block(z)
        return self.head(self.norm(z[:, 0]))


def _counted_flops(patch, image_size, channels, d_model, d_ff, depth, classes):
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = _ReferenceViT(patch, image_size, channels, d_model, d_ff, depth, classes)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, channels, image_size, image_size))
    return counter.get_total_flops()


@lab.check(points=2)
def check_vit_multiply_adds():
    sizes = (2, 4, 7, 14, 28)
    other = dict(image_size=32, channels=3, d_model=16, d_ff=48, depth=2, classes=5)

    def tokens_per_patch(result):
        got = [_cost(r, f"patch {p}")["tokens"] for p, r in zip(sizes, result)]
        expected = [(28 // p) ** 2 + 1 for p in sizes]
        expect_true(
            got == expected,
            f"for patches {list(sizes)} of a 28 x 28 picture expected {expected} tokens "
            f"(the (28/P)² patches and the class token), got {[int(g) for g in got]}",
        )

    def attention_count(result):
        got = _cost(result)["attention"]
        t = 17
        expected = 2 * t * t * 32
        if got != expected:
            hints = {
                t * t * 32: "that is half: count the scores Q Kᵀ and the weighted sum of "
                "the values, T·T·d_model each (2 heads of d_model/2 numbers cost as much "
                "as one of d_model)",
                2 * 16 * 16 * 32: "that is for the 16 patches only: the class token is a "
                "token too, T = N + 1",
            }
            raise CaseFailed(
                f"patch 7 (T = 17, d_model 32): expected 2·T²·d_model = {expected:,} "
                f"multiply-adds in attention, got {got:,.0f}"
                + (f": {hints[got]}" if got in hints else "")
            )

    def linear_count(result):
        got = _cost(result)["linear"]
        expected = _multiply_adds(7)["linear"]
        if got != expected:
            mistake = named_mistake(got, _linear_mistakes(7, 28, 1, 32, 64, 1, 10), atol=0.5)
            raise CaseFailed(
                f"patch 7: expected {expected:,} multiply-adds in the linear layers, got "
                f"{got:,.0f}: "
                + (
                    mistake
                    or "the patch embedding (N patches), four projections and the "
                    "two-layer feed-forward network per block (T tokens), the head (one token)"
                )
            )

    def other_sizes(result):
        got, expected = _cost(result), _multiply_adds(4, **other)
        for key in ("attention", "linear"):
            if got[key] != expected[key]:
                mistake = (
                    named_mistake(got[key], _linear_mistakes(4, **other), atol=0.5)
                    if key == "linear"
                    else None
                )
                raise CaseFailed(
                    f"32 x 32 pictures of 3 channels, patch 4, d_model 16, d_ff 48, two "
                    f"blocks, 5 classes: expected {expected[key]:,} multiply-adds for "
                    f"{key!r}, got {got[key]:,.0f}"
                    + (f": {mistake}" if mistake else ": use every argument, depth included")
                )
        expect_true(
            got["total"] == got["attention"] + got["linear"],
            f"'total' should be attention + linear = {got['attention'] + got['linear']:,.0f}, "
            f"got {got['total']:,.0f}",
        )

    def pytorch_agrees(result):
        got = _cost(result)["total"]
        flops = _counted_flops(4, **other)
        expect_true(
            2 * got == flops,
            f"PyTorch's FlopCounterMode counts {flops:,} floating-point operations (2 per "
            f"multiply-add) for one picture through that ViT, so {flops // 2:,} multiply-adds; "
            f"you count {got:,.0f}",
        )

    def cost_falls(result):
        totals = [_cost(r, f"patch {p}")["total"] for p, r in zip(sizes, result)]
        shares = [_cost(r)["attention"] / max(_cost(r)["total"], 1) for r in result]
        expect_true(
            all(a > b for a, b in zip(totals, totals[1:])),
            f"the totals for patches {list(sizes)} should fall as the patches grow, got "
            f"{[int(t) for t in totals]}",
        )
        expect_true(
            all(a > b for a, b in zip(shares, shares[1:])),
            "attention's share of the total should shrink as the patches grow (it grows with "
            f"T², the linear layers with T); got {[round(s, 3) for s in shares]}",
        )

    every_size = lambda f: [f(p) for p in sizes]  # noqa: E731
    return [
        Case(
            "returns a dict of 'tokens', 'attention', 'linear' and 'total'",
            calls(7),
            _cost,
        ),
        Case(
            "tokens: (28/P)² + 1 for patches 2, 4, 7, 14 and 28",
            every_size,
            tokens_per_patch,
        ),
        Case(
            "attention at patch 7: Q Kᵀ and the weighted sum, over all T tokens",
            calls(7),
            attention_count,
        ),
        Case(
            "linear layers at patch 7: embedding, projections, feed-forward, head",
            calls(7),
            linear_count,
        ),
        Case(
            "other sizes: 3-channel 32 x 32 pictures, patch 4, d_model 16, d_ff 48, 2 blocks",
            calls(4, **other),
            other_sizes,
        ),
        Case(
            "2 x total = the FLOPs PyTorch's FlopCounterMode measures on that ViT",
            calls(4, **other),
            pytorch_agrees,
        ),
        Case(
            "the cost falls as the patches grow, and attention's share with it",
            every_size,
            cost_falls,
        ),
    ]


# ---------------------------------------------------------------- exercise 5: the experiment

EXPERIMENT_PATCHES = (28, 14, 7, 4)
TRAIN_PICTURES, TEST_PICTURES = 2000, 1000
# Fashion-MNIST's training pixels, scaled to [0, 1]: their mean and standard deviation.
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530
CHOSEN_PATCH, CHOSEN_BAR, EVERY_BAR = 7, 0.5, 0.35


@functools.lru_cache(maxsize=1)
def experiment_data():
    """The experiment's pictures: the first 2,000 training pictures with their labels and the
    first 1,000 test pictures, standardised, (n, 1, 28, 28) float32; and the test labels,
    which only the judge reads."""
    from ..data.fashion_mnist import load_fashion_mnist

    def as_inputs(images):
        return (torch.from_numpy(images).float().unsqueeze(1) / 255 - PIXEL_MEAN) / PIXEL_STD

    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    return (
        as_inputs(train.images[:TRAIN_PICTURES]),
        torch.from_numpy(train.labels[:TRAIN_PICTURES]),
        as_inputs(test.images[:TEST_PICTURES]),
        torch.from_numpy(test.labels[:TEST_PICTURES]),
    )


def _run(result, patch):
    """The logits and the FLOPs one training run returned."""
    expect_true(
        isinstance(result, dict) and "logits" in result and "flops" in result,
        f"patch {patch}: return a dict {{'logits': ..., 'flops': ...}}, got "
        + (
            f"a dict with the keys {sorted(result)[:6]}"
            if isinstance(result, dict)
            else describe(result)
        ),
    )
    logits = expect_array(
        result["logits"], shape=(TEST_PICTURES, 10), name=f"patch {patch}: logits"
    )
    flops = expect_number(result["flops"], name=f"patch {patch}: flops")
    return logits, flops


def _accuracy(logits) -> float:
    labels = experiment_data()[3].numpy()
    return float((logits.argmax(axis=1) == labels).mean())


@lab.check(points=3, time_limit=60)
def check_train_tiny_vit():
    images, labels, test_images, _ = experiment_data()

    def runs(train_tiny_vit):
        first = [train_tiny_vit(p, images, labels, test_images, 0) for p in EXPERIMENT_PATCHES]
        return first + [train_tiny_vit(EXPERIMENT_PATCHES[0], images, labels, test_images, 0)]

    def results(result):
        expect_true(
            isinstance(result, list) and len(result) == len(EXPERIMENT_PATCHES) + 1,
            f"expected {len(EXPERIMENT_PATCHES) + 1} runs, got {describe(result)}",
        )
        return {p: _run(r, p) for p, r in zip(EXPERIMENT_PATCHES, result)}

    def flops_of_the_model(result):
        got = results(result)
        flops = {p: got[p][1] for p in EXPERIMENT_PATCHES}
        expected = {p: 2 * _multiply_adds(p)["total"] for p in EXPERIMENT_PATCHES}
        if len(set(flops.values())) == 1:
            raise CaseFailed(
                f"every patch size gave {flops[EXPERIMENT_PATCHES[0]]:,.0f} FLOPs: does "
                "your model use the patch size it is given?"
            )
        for p in EXPERIMENT_PATCHES:
            if flops[p] != expected[p]:
                ratio = flops[p] / expected[p]
                advice = (
                    "that is for many pictures: count the forward pass of one picture, images[:1]"
                    if ratio >= 2 and float(ratio).is_integer()
                    else "the model should be the one described: d_model 32, one encoder "
                    "block with 2 heads and d_ff 64, the class token in front, the head "
                    "on the class token's output only"
                )
                raise CaseFailed(
                    f"patch {p}: FlopCounterMode should count {expected[p]:,} FLOPs for one "
                    f"picture through the model described, you report {flops[p]:,.0f}: {advice}"
                )

    def cost_falls(result):
        got = results(result)
        flops = [got[p][1] for p in EXPERIMENT_PATCHES]
        expect_true(
            all(a < b for a, b in zip(flops, flops[1:])),
            f"for patches {list(EXPERIMENT_PATCHES)} the FLOPs should grow as the patches "
            f"shrink, got {[int(f) for f in flops]}",
        )

    def chosen_setting_learns(result):
        accuracy = _accuracy(results(result)[CHOSEN_PATCH][0])
        expect_true(
            accuracy >= CHOSEN_BAR,
            f"patch {CHOSEN_PATCH}: {accuracy:.1%} of the 1,000 test pictures right, below "
            f"{CHOSEN_BAR:.0%} (chance is 10%): is the model trained on the batches (the "
            "loss must fall), and are the logits those of test_images?",
        )

    def every_setting_learns(result):
        got = results(result)
        accuracy = {p: _accuracy(got[p][0]) for p in EXPERIMENT_PATCHES}
        low = [p for p in EXPERIMENT_PATCHES if accuracy[p] < EVERY_BAR]
        expect_true(
            not low,
            "test accuracy "
            + ", ".join(f"patch {p}: {accuracy[p]:.1%}" for p in EXPERIMENT_PATCHES)
            + f"; every patch size should reach {EVERY_BAR:.0%} in 100 steps",
        )

    def short_training_favours_large_patches(result):
        got = results(result)
        big, small = EXPERIMENT_PATCHES[0], EXPERIMENT_PATCHES[-1]
        accuracy = {p: _accuracy(got[p][0]) for p in (big, small)}
        expect_true(
            accuracy[big] > accuracy[small],
            f"patch {big}: {accuracy[big]:.1%}, patch {small}: {accuracy[small]:.1%}; with "
            "the model and training described, the single big patch wins this short "
            "training by far: check the training against the description",
        )

    def same_seed_same_run(result):
        expect_true(
            isinstance(result, list) and len(result) == len(EXPERIMENT_PATCHES) + 1,
            f"expected {len(EXPERIMENT_PATCHES) + 1} runs, got {describe(result)}",
        )
        first, again = (_run(r, EXPERIMENT_PATCHES[0])[0] for r in (result[0], result[-1]))
        expect_true(
            bool(np.allclose(first, again, atol=1e-5)),
            f"two runs of patch {EXPERIMENT_PATCHES[0]} with seed 0 gave different logits: "
            "call torch.manual_seed(seed) before building the model, and draw the batches "
            "from a generator seeded with seed",
        )

    return [
        Case(
            "returns {'logits': (1000, 10), 'flops': ...} for patches 28, 14, 7 and 4",
            runs,
            results,
        ),
        Case(
            "the FLOPs measured are those of the model described, one picture",
            runs,
            flops_of_the_model,
        ),
        Case("the cost grows as the patches shrink", runs, cost_falls),
        Case(
            f"patch {CHOSEN_PATCH}: at least {CHOSEN_BAR:.0%} of the test pictures right",
            runs,
            chosen_setting_learns,
        ),
        Case(
            f"every patch size: at least {EVERY_BAR:.0%} right (chance is 10%)",
            runs,
            every_setting_learns,
        ),
        Case(
            "in your run, patch 28 is more accurate than patch 4",
            runs,
            short_training_favours_large_patches,
        ),
        Case("the same seed gives the same run (patch 28, twice)", runs, same_seed_same_run),
    ]


# ---------------------------------------------------------------- the question

_PATCH_ANSWERS = {
    "a": "a 4 x 4 patch does not hide anything: all 49 of them together hold the same 784 "
    "pixels as one big patch, and attention lets every token read every other",
    "c": "attention has no such limit: the 50 tokens of patch 4 get weights summing to 1 like "
    "the 17 of patch 7, and Chapter 5 attended over hundreds of tokens",
    "d": "the embedding of a big patch costs the same in all (N patches of P² pixels is always "
    "784 pixels), and the small patches cost *more*, not less, yet did worse",
}


@lab.check(points=1)
def check_reading_the_patch_experiment():
    def judge(result):
        expect_answer(result, "b", _PATCH_ANSWERS)

    return [Case("the reading that fits what you measured", calls(), judge)]
