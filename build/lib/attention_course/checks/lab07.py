"""Checks for Lab 7: attention for images.

Each check builds its own inputs and compares the student's function with a reference:
``torch.nn.functional.unfold`` and a ``Conv2d`` with kernel = stride = patch size for the
patches, the formulas of Chapter 7 for the rest. Where a wrong result matches a common
mistake (a reshape without the permute, the class token appended, rollout without the
identity or without re-normalising), the message says which.
"""

import torch
import torch.nn.functional as F
from torch import nn

from . import core
from .core import CaseFailed, call, lab_check
from .expect import expect_close, expect_parts, expect_tensor, expect_true, seeded_randn

LAB = "07"


def _same(got, expected, atol=1e-5) -> bool:
    return (
        isinstance(got, torch.Tensor)
        and got.shape == expected.shape
        and torch.allclose(got.detach().float(), expected, atol=atol, rtol=1e-4)
    )


# ---------------------------------------------------------------- exercise 1


def _patches_in_order(images, patch, order):
    """Patches of (B, C, H, W) images; ``order`` names the axes of the result before flattening."""
    batch, channels, height, width = images.shape
    rows, cols = height // patch, width // patch
    x = images.reshape(batch, channels, rows, patch, cols, patch)
    axes = {"B": 0, "C": 1, "rows": 2, "p1": 3, "cols": 4, "p2": 5}
    x = x.permute(*(axes[name] for name in order))
    return x.reshape(batch, rows * cols, patch * patch * channels)


def _patchify_hint(got, images, patch):
    """Name the mistake a wrong patchify result matches, if any."""
    batch, channels, height, width = images.shape
    candidates = [
        (
            images.reshape(batch, (height // patch) * (width // patch), -1),
            "this is a reshape without the permute: each 'patch' is a run of consecutive pixels "
            "of the flattened picture, cut across several patches. Split H and W into (patch "
            "row, row in patch) and (patch column, column in patch), then permute",
        ),
        (
            _patches_in_order(images, patch, ["B", "cols", "rows", "p1", "p2", "C"]),
            "the patches are in column order: number them row by row, left to right "
            "(patch row before patch column)",
        ),
        (
            _patches_in_order(images, patch, ["B", "rows", "cols", "C", "p1", "p2"]),
            "inside a patch, the channels come first: flatten each patch as (row, column, "
            "channel), channels last",
        ),
        (
            _patches_in_order(images, patch, ["B", "rows", "cols", "p2", "p1", "C"]),
            "each patch is transposed: flatten it row by row (row in patch before column)",
        ),
    ]
    for candidate, hint in candidates:
        if _same(got, candidate):
            return hint
    return (
        "token j must be patch j in reading order, flattened as (row in patch, column "
        "in patch, channel)"
    )


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


@lab_check(LAB, points=3)
def check_patchify(patchify):
    # 3 channels, a picture taller than wide, and patches of 4: 3 x 2 = 6 patches of 48.
    images = seeded_randn(2, 3, 12, 8, seed=0)
    expected = _unfold_reference(images, 4)

    def run(x, patch, shape):
        return expect_tensor(call(patchify, x, patch), shape=shape, name="patches")

    def returns_batch_patches_features():
        """returns (B, N, P·P·C): (2, 6, 48) for (2, 3, 12, 8) pictures and patches of 4"""
        run(images, 4, (2, 6, 48))

    def each_token_is_a_square_of_the_picture():
        """token j of a one-channel picture is the j-th 4×4 square, read row by row"""
        grey = seeded_randn(1, 1, 8, 12, seed=1)
        got = run(grey, 4, (1, 6, 16))
        for j in range(6):
            row, col = divmod(j, 3)
            square = grey[0, 0, 4 * row : 4 * row + 4, 4 * col : 4 * col + 4].flatten()
            if not torch.allclose(got[0, j], square):
                raise CaseFailed(
                    f"token {j} should be the square in patch row {row}, patch "
                    f"column {col} (pixels [{4 * row}:{4 * row + 4}, "
                    f"{4 * col}:{4 * col + 4}]), flattened row by row: "
                    + _patchify_hint(got, grey, 4)
                )

    def matches_torch_unfold():
        """equals torch.nn.functional.unfold(kernel = stride = P), channels last per patch"""
        got = run(images, 4, (2, 6, 48))
        expect_close(got, expected, name="patches", hint=_patchify_hint(got, images, 4))

    def a_linear_map_on_patches_is_a_strided_convolution():
        """a linear layer on your patches equals Conv2d(kernel = stride = P), same weights"""
        torch.manual_seed(2)
        conv = nn.Conv2d(3, 5, kernel_size=4, stride=4)
        with torch.no_grad():
            by_conv = conv(images).flatten(2).transpose(1, 2)  # (2, 6, 5)
            weight = conv.weight.permute(0, 2, 3, 1).reshape(5, 48)  # (D, P·P·C)
            got = run(images, 4, (2, 6, 48))
            expect_close(
                got @ weight.T + conv.bias,
                by_conv,
                name="linear(patches)",
                hint=_patchify_hint(got, images, 4),
            )

    def other_patch_sizes_and_pictures_stay_apart():
        """works for other patch sizes, each picture of a batch on its own"""
        x = seeded_randn(3, 2, 6, 6, seed=3)
        got = run(x, 2, (3, 9, 8))
        expect_close(
            got, _unfold_reference(x, 2), name="patches of 2", hint=_patchify_hint(got, x, 2)
        )
        alone = run(x[1:2], 2, (1, 9, 8))
        expect_close(alone, got[1:2], name="the second picture's patches on its own")

    return [
        returns_batch_patches_features,
        each_token_is_a_square_of_the_picture,
        matches_torch_unfold,
        a_linear_map_on_patches_is_a_strided_convolution,
        other_patch_sizes_and_pictures_stay_apart,
    ]


# ---------------------------------------------------------------- exercise 2


@lab_check(LAB, points=2)
def check_add_class_token(add_class_token):
    batch, n, d = 3, 4, 6
    tokens = seeded_randn(batch, n, d, seed=10)
    class_token = seeded_randn(1, 1, d, seed=11)
    positions = seeded_randn(1, n + 1, d, seed=12)

    def run():
        return expect_tensor(
            call(add_class_token, tokens.clone(), class_token.clone(), positions.clone()),
            shape=(batch, n + 1, d),
            name="z",
        )

    def returns_one_more_token():
        """returns (B, N+1, D): the N patch tokens and the class token"""
        run()

    def the_class_token_comes_first():
        """position 0 holds the class token plus position embedding 0, in every picture"""
        got = run()
        if _same(got[:, -1], (class_token[0] + positions[:, -1]).expand(batch, d)):
            raise CaseFailed(
                "the class token is at the end: prepend it "
                "(torch.cat([class_token, tokens], dim=1)), so that it is token 0"
            )
        if _same(got[:, 0], class_token[0].expand(batch, d)):
            raise CaseFailed(
                "token 0 is the class token without its position embedding: "
                "add the position embeddings to every token, the class token too"
            )
        expect_close(
            got[:, 0],
            (class_token[0] + positions[:, 0]).expand(batch, d),
            name="token 0",
            hint="token 0 = class_token + positions[:, 0]",
        )

    def patch_tokens_follow_with_their_positions():
        """tokens 1..N are the patch tokens plus position embeddings 1..N"""
        got = run()
        if _same(got[:, 1:], tokens + positions[:, :n]):
            raise CaseFailed(
                "patch token j got position embedding j - 1: add the positions "
                "after putting the class token in front, so that all N+1 line up"
            )
        expect_close(
            got[:, 1:],
            tokens + positions[:, 1:],
            name="tokens 1..N",
            hint="z = cat([class token, tokens]) + positions",
        )

    def learns_through_the_class_token_and_positions():
        """gradients reach the class token and the position embeddings"""
        cls = class_token.clone().requires_grad_(True)
        pos = positions.clone().requires_grad_(True)
        out = call(add_class_token, tokens.clone(), cls, pos)
        expect_tensor(out, shape=(batch, n + 1, d), name="z")
        expect_true(
            out.requires_grad,
            "the result does not depend on the class token and "
            "the position embeddings through autograd: was something detached or "
            "built with torch.tensor(...)?",
        )
        out.sum().backward()
        expect_true(
            cls.grad is not None and torch.allclose(cls.grad, torch.full_like(cls, batch)),
            "the class token gets no gradient (or the wrong one): use the tensor you were "
            "given, expanded over the batch (class_token.expand(B, -1, -1)), not a copy "
            "or a new tensor",
        )
        expect_true(
            pos.grad is not None and torch.allclose(pos.grad, torch.full_like(pos, batch)),
            "not every position embedding gets its gradient: add all N+1 of the tensor "
            "you were given, one to each token, the class token's included",
        )

    def inputs_are_left_unchanged():
        """does not change its inputs in place"""
        t, c, p = tokens.clone(), class_token.clone(), positions.clone()
        expect_tensor(call(add_class_token, t, c, p), shape=(batch, n + 1, d), name="z")
        expect_true(
            torch.equal(t, tokens) and torch.equal(c, class_token) and torch.equal(p, positions),
            "an input tensor was changed in place (+=): build a new tensor instead",
        )

    return [
        returns_one_more_token,
        the_class_token_comes_first,
        patch_tokens_follow_with_their_positions,
        learns_through_the_class_token_and_positions,
        inputs_are_left_unchanged,
    ]


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


def _rollout_hint(got, maps):
    candidates = [
        (
            _rollout(maps, add_identity=False),
            "the identity was not added: the residual connection keeps each token's own "
            "value, so add torch.eye(T) to each block's head-averaged weights",
        ),
        (
            _rollout(maps, renormalise=False),
            "the rows were not re-normalised after adding the identity (each row then sums to "
            "2 per block): divide each row by its sum",
        ),
        (
            _rollout(maps, reverse=True),
            "the blocks are multiplied in the wrong order: a later block's matrix goes on the "
            "left, R = Ã_L ··· Ã_2 Ã_1",
        ),
        (
            _rollout(maps, heads="sum"),
            "the heads were summed: average them (mean over the head axis) before adding the "
            "identity",
        ),
    ]
    for candidate, hint in candidates:
        if _same(got, candidate):
            return hint
    return "Ã = rows of (mean over heads + I) divided by their sums; R = Ã_L ··· Ã_1"


@lab_check(LAB, points=3)
def check_attention_rollout(attention_rollout):
    maps = _attention_maps(3, batch=2, heads=4, tokens=5, seed=20)
    expected = _rollout(maps)

    def run(m, shape):
        return expect_tensor(
            call(attention_rollout, [w.clone() for w in m]), shape=shape, name="rollout"
        )

    def returns_a_token_by_token_matrix():
        """returns (B, T, T) for blocks of (B, heads, T, T) weights"""
        run(maps, (2, 5, 5))

    def rows_sum_to_one():
        """each row of the rollout sums to 1"""
        got = run(maps, (2, 5, 5))
        sums = got.sum(dim=-1)
        expect_true(
            bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)),
            f"rows sum to {sums.min().item():.3g}..{sums.max().item():.3g}, not 1: "
            + _rollout_hint(got, maps),
        )

    def one_block_is_half_attention_half_identity():
        """with one block: (mean over heads + I) / 2"""
        got = run(maps[:1], (2, 5, 5))
        expect_close(
            got,
            (maps[0].mean(dim=1) + torch.eye(5)) / 2,
            name="rollout of one block",
            hint=_rollout_hint(got, maps[:1]),
        )

    def matches_the_formula_over_three_blocks():
        """with three blocks: Ã₃ Ã₂ Ã₁, later blocks on the left"""
        got = run(maps, (2, 5, 5))
        expect_close(got, expected, name="rollout", hint=_rollout_hint(got, maps))

    def identity_attention_changes_nothing():
        """blocks whose every token attends only to itself give the identity"""
        eye = [torch.eye(4).expand(1, 2, 4, 4).clone() for _ in range(2)]
        got = run(eye, (1, 4, 4))
        expect_close(got, torch.eye(4)[None], name="rollout of self-attending blocks")

    def inputs_are_left_unchanged():
        """does not change the attention weights it is given"""
        given = [w.clone() for w in maps]
        expect_tensor(call(attention_rollout, given), shape=(2, 5, 5), name="rollout")
        expect_true(
            all(torch.equal(a, b) for a, b in zip(given, maps)),
            "the attention weights were changed in place: compute new tensors",
        )

    return [
        returns_a_token_by_token_matrix,
        rows_sum_to_one,
        one_block_is_half_attention_half_identity,
        matches_the_formula_over_three_blocks,
        identity_attention_changes_nothing,
        inputs_are_left_unchanged,
    ]


# ---------------------------------------------------------------- exercise 4


def _pool_reference(grid, W, b, w):
    batch, channels, height, width = grid.shape
    v = grid.flatten(2).transpose(1, 2)  # (B, H·W, C), cells row by row
    scores = torch.tanh(v @ W.T + b) @ w
    weights = torch.softmax(scores, dim=-1)
    return (weights.unsqueeze(-1) * v).sum(dim=1), weights.view(batch, height, width)


@lab_check(LAB, points=2)
def check_soft_attention_pool(soft_attention_pool):
    # A grid of 3 rows and 5 columns of 4-number vectors; a score network of 6 units.
    grid = seeded_randn(2, 4, 3, 5, seed=30)
    W, b, w = seeded_randn(6, 4, seed=31), seeded_randn(6, seed=32), seeded_randn(6, seed=33)
    expected_context, expected_weights = _pool_reference(grid, W, b, w)

    def run(g=grid, params=(W, b, w), batch=2, channels=4, height=3, width=5):
        context, weights = expect_parts(
            call(soft_attention_pool, g.clone(), *params), "context", "weights"
        )
        weights = expect_tensor(weights, shape=(batch, height, width), name="weights")
        context = expect_tensor(context, shape=(batch, channels), name="context")
        return context, weights

    def returns_context_and_weights():
        """returns (context (B, C), weights (B, H, W))"""
        run()

    def weights_sum_to_one_over_the_whole_grid():
        """each picture's weights sum to 1 over all H·W cells"""
        _, weights = run()
        total = weights.sum(dim=(1, 2))
        if torch.allclose(total, torch.full_like(total, 3.0), atol=1e-4):
            raise CaseFailed(
                "the weights sum to 1 along each row of the grid, so to H in all: "
                "take one softmax over all H·W cells (flatten them first)"
            )
        expect_true(
            bool(torch.allclose(total, torch.ones_like(total), atol=1e-4)),
            f"each picture's weights should sum to 1, got {total.tolist()}",
        )

    def finds_the_one_cell_that_matches():
        """a cell whose vector alone scores high gets nearly all the weight, at its place"""
        g = torch.zeros(1, 3, 4, 6)
        g[0, :, 1, 4] = torch.tensor([4.0, -4.0, 4.0])  # row 1, column 4
        params = (torch.eye(3), torch.zeros(3), torch.tensor([10.0, -10.0, 10.0]))
        _, weights = run(g, params, batch=1, channels=3, height=4, width=6)
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

    def matches_the_formula():
        """weights = softmax(wᵀ tanh(W v_i + b)) and context = Σ a_i v_i"""
        context, weights = run()
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
        returns_context_and_weights,
        weights_sum_to_one_over_the_whole_grid,
        finds_the_one_cell_that_matches,
        matches_the_formula,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
