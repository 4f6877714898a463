"""Checks for Lab 7: attention for images.

The judges compare the student's function with a reference they compute themselves:
``torch.nn.functional.unfold`` and a ``Conv2d`` with kernel = stride = patch size for the
patches, the formulas of Chapter 7 for the rest. Where a wrong result matches a common
mistake (a reshape without the permute, the class token appended, rollout without the
identity or without re-normalising), the message says which.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .calling import CaseFailed
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
from .lab06 import changed_inputs_after, expect_unchanged

lab = Lab("07", "Pictures as tokens, and where attention looks")
score = lab.score


# ---------------------------------------------------------------- exercise 1


def _patches_in_order(images, patch, order):
    """Patches of (B, C, H, W) images; ``order`` names the axes of the result before flattening."""
    batch, channels, height, width = images.shape
    rows, cols = height // patch, width // patch
    x = images.reshape(batch, channels, rows, patch, cols, patch)
    axes = {"B": 0, "C": 1, "rows": 2, "p1": 3, "cols": 4, "p2": 5}
    x = x.permute(*(axes[name] for name in order))
    return x.reshape(batch, rows * cols, patch * patch * channels)


_PATCHIFY_HINT = (
    "token j must be patch j in reading order, flattened as (row in patch, column "
    "in patch, channel)"
)


def _patchify_mistakes(images, patch):
    batch, channels, height, width = images.shape

    def in_order(*order):
        return lambda: _patches_in_order(images, patch, order)

    return [
        Mistake(
            "this is a reshape without the permute: each 'patch' is a run of consecutive pixels "
            "of the flattened picture, cut across several patches. Split H and W into (patch "
            "row, row in patch) and (patch column, column in patch), then permute",
            lambda: images.reshape(batch, (height // patch) * (width // patch), -1),
        ),
        Mistake(
            "the patches are in column order: number them row by row, left to right "
            "(patch row before patch column)",
            in_order("B", "cols", "rows", "p1", "p2", "C"),
        ),
        Mistake(
            "inside a patch, the channels come first: flatten each patch as (row, column, "
            "channel), channels last",
            in_order("B", "rows", "cols", "C", "p1", "p2"),
        ),
        Mistake(
            "each patch is transposed: flatten it row by row (row in patch before column)",
            in_order("B", "rows", "cols", "p2", "p1", "C"),
        ),
    ]


def _patchify_hint(got, images, patch):
    """For a message of the case's own: the known mistake ``got`` matches, else the rule."""
    return named_mistake(got, _patchify_mistakes(images, patch)) or _PATCHIFY_HINT


def _unfold_reference(images, patch):
    """Patches by torch's F.unfold, reordered from (C, P, P) to (P, P, C) inside a patch."""
    batch, channels = images.shape[:2]
    columns = F.unfold(images, kernel_size=patch, stride=patch)  # (B, C·P·P, N)
    n = columns.shape[-1]
    return (
        columns.transpose(1, 2)
        .reshape(batch, n, channels, patch, patch)
        .permute(0, 1, 3, 4, 2)
        .reshape(batch, n, patch * patch * channels)
    )


@lab.check(points=3)
def check_patchify():
    # 3 channels, a picture taller than wide, and patches of 4: 3 x 2 = 6 patches of 48.
    images = seeded_randn(2, 3, 12, 8, seed=0)
    grey = seeded_randn(1, 1, 8, 12, seed=1)
    x = seeded_randn(3, 2, 6, 6, seed=3)
    plain = calls(images, 4)

    def patches(result, shape=(2, 6, 48)):
        return expect_tensor(result, shape=shape, name="patches")

    def squares_in_reading_order(result):
        got = patches(result, (1, 6, 16)).double()
        for j in range(6):
            row, col = divmod(j, 3)
            square = grey[0, 0, 4 * row : 4 * row + 4, 4 * col : 4 * col + 4].flatten()
            if not torch.allclose(got[0, j], square.double()):
                raise CaseFailed(
                    f"token {j} should be the square in patch row {row}, patch "
                    f"column {col} (pixels [{4 * row}:{4 * row + 4}, "
                    f"{4 * col}:{4 * col + 4}]), flattened row by row: "
                    + _patchify_hint(got, grey, 4)
                )

    def matches_unfold(result):
        expect_close(
            patches(result),
            _unfold_reference(images, 4),
            name="patches",
            hint=_PATCHIFY_HINT,
            mistakes=_patchify_mistakes(images, 4),
        )

    def a_strided_convolution(result):
        got = patches(result)
        torch.manual_seed(2)
        conv = nn.Conv2d(3, 5, kernel_size=4, stride=4)
        with torch.no_grad():
            by_conv = conv(images).flatten(2).transpose(1, 2)  # (2, 6, 5)
            weight = conv.weight.permute(0, 2, 3, 1).reshape(5, 48)  # (D, P·P·C)
            expect_close(
                got.double() @ weight.T.double() + conv.bias.double(),
                by_conv,
                name="linear(patches)",
                hint=_patchify_hint(got, images, 4),
            )

    def pictures_stay_apart(result):
        together, alone = result
        got = patches(together, (3, 9, 8))
        expect_close(
            got,
            _unfold_reference(x, 2),
            name="patches of 2",
            hint=_PATCHIFY_HINT,
            mistakes=_patchify_mistakes(x, 2),
        )
        alone = patches(alone, (1, 9, 8))
        expect_close(alone, got[1:2], name="the second picture's patches on its own")

    return [
        Case(
            "returns (B, N, P·P·C): (2, 6, 48) for (2, 3, 12, 8) pictures and patches of 4",
            plain,
            patches,
        ),
        Case(
            "token j of a one-channel picture is the j-th 4×4 square, read row by row",
            calls(grey, 4),
            squares_in_reading_order,
        ),
        Case(
            "equals torch.nn.functional.unfold(kernel = stride = P), channels last per patch",
            plain,
            matches_unfold,
        ),
        Case(
            "a linear layer on your patches equals Conv2d(kernel = stride = P), same weights",
            plain,
            a_strided_convolution,
        ),
        Case(
            "works for other patch sizes, each picture of a batch on its own",
            lambda f: (f(x, 2), f(x[1:2], 2)),
            pictures_stay_apart,
        ),
    ]


# ---------------------------------------------------------------- exercise 2


@lab.check(points=2)
def check_add_class_token():
    batch, n, d = 3, 4, 6
    tokens = seeded_randn(batch, n, d, seed=10)
    class_token = seeded_randn(1, 1, d, seed=11)
    positions = seeded_randn(1, n + 1, d, seed=12)
    plain = calls(tokens, class_token, positions)

    def with_gradients(f):
        """z, whether autograd tracks it, and the gradients of z.sum() that reach the
        class token and the positions (None where none does)."""
        cls = class_token.clone().requires_grad_(True)
        pos = positions.clone().requires_grad_(True)
        out = f(tokens, cls, pos)
        tracked = isinstance(out, torch.Tensor) and out.requires_grad
        if tracked:
            try:
                out.sum().backward()
            except Exception:  # a graph that cannot be differentiated: no gradient
                pass
        return out, tracked, cls.grad, pos.grad

    def z(result):
        return expect_tensor(result, shape=(batch, n + 1, d), name="z")

    def class_token_first(result):
        got = z(result)
        at_the_end = Mistake(
            "the class token is at the end: prepend it "
            "(torch.cat([class_token, tokens], dim=1)), so that it is token 0",
            lambda: (class_token[0] + positions[:, -1]).expand(batch, d),
        )
        without_position = Mistake(
            "token 0 is the class token without its position embedding: "
            "add the position embeddings to every token, the class token too",
            lambda: class_token[0].expand(batch, d),
        )
        _fail_if_it_is(got[:, -1], at_the_end)
        _fail_if_it_is(got[:, 0], without_position)
        expect_close(
            got[:, 0],
            (class_token[0] + positions[:, 0]).expand(batch, d),
            name="token 0",
            hint="token 0 = class_token + positions[:, 0]",
        )

    def patch_tokens_follow(result):
        got = z(result)
        shifted = Mistake(
            "patch token j got position embedding j - 1: add the positions "
            "after putting the class token in front, so that all N+1 line up",
            lambda: tokens + positions[:, :n],
        )
        _fail_if_it_is(got[:, 1:], shifted)
        expect_close(
            got[:, 1:],
            tokens + positions[:, 1:],
            name="tokens 1..N",
            hint="z = cat([class token, tokens]) + positions",
        )

    def gradients_reach_the_parameters(result):
        out, tracked, cls_grad, pos_grad = result
        z(out)
        expect_true(
            tracked is True,
            "the result does not depend on the class token and "
            "the position embeddings through autograd: was something detached or "
            "built with torch.tensor(...)?",
        )
        no_class_gradient = (
            "the class token gets no gradient (or the wrong one): use the tensor you were "
            "given, expanded over the batch (class_token.expand(B, -1, -1)), not a copy "
            "or a new tensor"
        )
        no_position_gradient = (
            "not every position embedding gets its gradient: add all N+1 of the tensor "
            "you were given, one to each token, the class token's included"
        )
        for grad, given, message in (
            (cls_grad, class_token, no_class_gradient),
            (pos_grad, positions, no_position_gradient),
        ):
            # every entry of each is added to the batch's B sums: its gradient is B
            expect_true(_same_shape_and_values(grad, torch.full_like(given, batch)), message)

    def leaves_the_inputs_alone(result):
        z(result[0])
        expect_unchanged(
            result, "an input tensor was changed in place (+=): build a new tensor instead"
        )

    return [
        Case("returns (B, N+1, D): the N patch tokens and the class token", plain, z),
        Case(
            "position 0 holds the class token plus position embedding 0, in every picture",
            plain,
            class_token_first,
        ),
        Case(
            "tokens 1..N are the patch tokens plus position embeddings 1..N",
            plain,
            patch_tokens_follow,
        ),
        Case(
            "gradients reach the class token and the position embeddings",
            with_gradients,
            gradients_reach_the_parameters,
        ),
        Case(
            "does not change its inputs in place",
            changed_inputs_after(tokens, class_token, positions),
            leaves_the_inputs_alone,
        ),
    ]


def _fail_if_it_is(got, mistake: Mistake, atol: float = 1e-5) -> None:
    """Fail with the mistake's description when ``got`` (a part of an answer) matches it."""
    if mistake.matches(got, atol=atol):
        raise CaseFailed(mistake.description)


def _same_shape_and_values(got, expected) -> bool:
    return (
        isinstance(got, torch.Tensor)
        and got.shape == expected.shape
        and bool(torch.allclose(got.double(), expected.double(), atol=1e-5, rtol=1e-4))
    )


# ---------------------------------------------------------------- exercise 3


def _attention_maps(blocks, batch, heads, tokens, seed):
    """Random softmax attention weights, one (B, heads, T, T) tensor per block."""
    return [
        torch.softmax(2 * seeded_randn(batch, heads, tokens, tokens, seed=seed + b), dim=-1)
        for b in range(blocks)
    ]


def _rollout(maps, add_identity=True, renormalise=True, reverse=False, heads="mean"):
    result = None
    for weights in maps:
        a = weights.mean(dim=1) if heads == "mean" else weights.sum(dim=1)
        if add_identity:
            a = a + torch.eye(a.shape[-1])
        if renormalise:
            a = a / a.sum(dim=-1, keepdim=True)
        if result is None:
            result = a
        else:
            result = result @ a if reverse else a @ result
    return result


_ROLLOUT_HINT = "Ã = rows of (mean over heads + I) divided by their sums; R = Ã_L ··· Ã_1"


def _rollout_mistakes(maps):
    def variant(**mistake):
        return lambda: _rollout(maps, **mistake)

    return [
        Mistake(
            "the identity was not added: the residual connection keeps each token's own "
            "value, so add torch.eye(T) to each block's head-averaged weights",
            variant(add_identity=False),
        ),
        Mistake(
            "the rows were not re-normalised after adding the identity (each row then sums to "
            "2 per block): divide each row by its sum",
            variant(renormalise=False),
        ),
        Mistake(
            "the blocks are multiplied in the wrong order: a later block's matrix goes on the "
            "left, R = Ã_L ··· Ã_2 Ã_1",
            variant(reverse=True),
        ),
        Mistake(
            "the heads were summed: average them (mean over the head axis) before adding the "
            "identity",
            variant(heads="sum"),
        ),
    ]


@lab.check(points=3)
def check_attention_rollout():
    maps = _attention_maps(3, batch=2, heads=4, tokens=5, seed=20)
    eye = [torch.eye(4).expand(1, 2, 4, 4).clone() for _ in range(2)]
    plain = calls(maps)

    def rollout(result, shape=(2, 5, 5)):
        return expect_tensor(result, shape=shape, name="rollout")

    def rows_sum_to_one(result):
        got = rollout(result)
        sums = got.sum(dim=-1)
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)),
            f"rows sum to {sums.min().item():.3g}..{sums.max().item():.3g}, not 1: "
            + (named_mistake(got, _rollout_mistakes(maps)) or _ROLLOUT_HINT),
        )

    def one_block(result):
        expect_close(
            rollout(result),
            (maps[0].mean(dim=1) + torch.eye(5)) / 2,
            name="rollout of one block",
            hint=_ROLLOUT_HINT,
            mistakes=_rollout_mistakes(maps[:1]),
        )

    def three_blocks(result):
        expect_close(
            rollout(result),
            _rollout(maps),
            name="rollout",
            hint=_ROLLOUT_HINT,
            mistakes=_rollout_mistakes(maps),
        )

    def identity(result):
        got = rollout(result, (1, 4, 4))
        expect_close(got, torch.eye(4)[None], name="rollout of self-attending blocks")

    def leaves_the_weights_alone(result):
        rollout(result[0])
        expect_unchanged(result, "the attention weights were changed in place: compute new tensors")

    return [
        Case("returns (B, T, T) for blocks of (B, heads, T, T) weights", plain, rollout),
        Case("each row of the rollout sums to 1", plain, rows_sum_to_one),
        Case("with one block: (mean over heads + I) / 2", calls(maps[:1]), one_block),
        Case("with three blocks: Ã₃ Ã₂ Ã₁, later blocks on the left", plain, three_blocks),
        Case(
            "blocks whose every token attends only to itself give the identity",
            calls(eye),
            identity,
        ),
        Case(
            "does not change the attention weights it is given",
            changed_inputs_after(maps),
            leaves_the_weights_alone,
        ),
    ]


# ---------------------------------------------------------------- exercise 4


def _pool_reference(grid, W, b, w):
    batch, channels, height, width = grid.shape
    v = grid.flatten(2).transpose(1, 2)  # (B, H·W, C), cells row by row
    scores = torch.tanh(v @ W.T + b) @ w
    weights = torch.softmax(scores, dim=-1)
    return (weights.unsqueeze(-1) * v).sum(dim=1), weights.view(batch, height, width)


@lab.check(points=2)
def check_soft_attention_pool():
    # A grid of 3 rows and 5 columns of 4-number vectors; a score network of 6 units.
    grid = seeded_randn(2, 4, 3, 5, seed=30)
    W, b, w = seeded_randn(6, 4, seed=31), seeded_randn(6, seed=32), seeded_randn(6, seed=33)
    # One cell, at row 1 and column 4, whose vector alone scores high.
    one_cell = torch.zeros(1, 3, 4, 6)
    one_cell[0, :, 1, 4] = torch.tensor([4.0, -4.0, 4.0])
    one_cell_scorer = (torch.eye(3), torch.zeros(3), torch.tensor([10.0, -10.0, 10.0]))
    plain = calls(grid, W, b, w)

    def pooled(result, batch=2, channels=4, height=3, width=5):
        context, weights = expect_parts(result, "context", "weights")
        weights = expect_tensor(weights, shape=(batch, height, width), name="weights")
        context = expect_tensor(context, shape=(batch, channels), name="context")
        return context, weights

    def weights_sum_to_one(result):
        _, weights = pooled(result)
        total = weights.sum(dim=(1, 2))
        per_row = Mistake(
            "the weights sum to 1 along each row of the grid, so to H in all: "
            "take one softmax over all H·W cells (flatten them first)",
            lambda: torch.full_like(total, 3.0),
        )
        _fail_if_it_is(total, per_row, atol=1e-4)
        expect_true(
            bool(torch.allclose(total, torch.ones_like(total), atol=1e-4)),
            f"each picture's weights should sum to 1, got {total.tolist()}",
        )

    def finds_the_cell(result):
        _, weights = pooled(result, batch=1, channels=3, height=4, width=6)
        spread = (weights[0].max() - weights[0].min()).item()
        expect_true(
            spread > 1e-6,
            f"every cell gets the same weight, {weights[0, 0, 0].item():.4g}: "
            "the scores must decide the weights, with one softmax over the cells of "
            "each picture",
        )
        top = divmod(int(weights[0].argmax()), 6)
        expect_true(
            top == (1, 4),
            f"the heaviest weight is at row {top[0]}, column {top[1]}; "
            "it should be at row 1, column 4, the only cell that matches. Turn (B, C, "
            "H, W) into one vector per cell with grid.flatten(2).transpose(1, 2): a "
            "reshape alone mixes channels and cells",
        )
        expect_true(
            weights[0, 1, 4].item() > 0.99,
            f"that cell gets {weights[0, 1, 4].item():.3f} of the weight, not almost all",
        )

    def matches_the_formula(result):
        context, weights = pooled(result)
        expected_context, expected_weights = _pool_reference(grid, W, b, w)
        expect_close(
            weights,
            expected_weights,
            name="weights",
            hint="s_i = w . tanh(W v_i + b) for each cell's vector v_i (rows of the "
            "grid, left to right), then one softmax over all cells",
        )
        expect_close(
            context,
            expected_context,
            name="context",
            hint="context = sum over cells of weight_i * v_i",
        )

    return [
        Case("returns (context (B, C), weights (B, H, W))", plain, pooled),
        Case("each picture's weights sum to 1 over all H·W cells", plain, weights_sum_to_one),
        Case(
            "a cell whose vector alone scores high gets nearly all the weight, at its place",
            calls(one_cell, *one_cell_scorer),
            finds_the_cell,
        ),
        Case(
            "weights = softmax(wᵀ tanh(W v_i + b)) and context = Σ a_i v_i",
            plain,
            matches_the_formula,
        ),
    ]
