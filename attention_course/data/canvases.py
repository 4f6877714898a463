"""A task where looking in the right place matters: find the garment on a cluttered canvas.

:func:`cluttered_canvases` puts each 28×28 Fashion-MNIST picture at a random place on a
larger canvas of faint noise and adds fragments cut from *other* pictures around it, never
overlapping it. A classifier must find the whole garment among pieces of garments; and
since we know where the garment is, we can measure whether a model's attention goes there
(Chapter 7). The box of every garment comes with the canvases.

:func:`two_garment_canvases` puts two pictures side by side on a wider canvas, the first in
the left half and the second in the right half, for a task whose answer has two words:
name both garments in reading order, left then right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ITEM = 28  # side of a Fashion-MNIST picture, in pixels


@dataclass(frozen=True)
class Canvases:
    images: torch.Tensor  # (n, 1, height, width) float32 in [0, 1]
    # (n,) int64: the class of the garment; (n, 2) for two garments, left one first
    labels: torch.Tensor
    # (n, 4) int64: top, left, height, width of the garment's square; (n, 2, 4) for two
    boxes: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def cluttered_canvases(
    images: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    n: int | None = None,
    size: int = 56,
    clutter: int = 4,
    fragment: int = 12,
    noise: float = 0.3,
) -> Canvases:
    """Canvases of ``size`` × ``size`` pixels, each with one garment at a random place.

    ``images`` (N, 28, 28) uint8 and ``labels`` (N,): the pictures to place; ``n``
    canvases take random pictures, or, with ``n=None``, every picture once, in order (a
    test set). Background: uniform noise in [0, ``noise``]. ``clutter`` fragments of
    ``fragment`` × ``fragment`` pixels, cut from the middle of random pictures (so they
    hold ink), are put at random places that do not overlap the garment's square.
    Pictures are combined by the brighter pixel (maximum), as ink on ink.
    """
    if size < ITEM + fragment:
        raise ValueError(
            f"a canvas of {size} pixels leaves no room for {fragment}-pixel "
            f"fragments beside a {ITEM}-pixel garment"
        )
    chosen = np.arange(len(images)) if n is None else rng.integers(0, len(images), n)
    n = len(chosen)
    canvas = rng.random((n, size, size), dtype=np.float32) * noise
    top, left = rng.integers(0, size - ITEM + 1, (2, n))
    _add_clutter(canvas, images, top, left, size, clutter, fragment, rng)
    _paste_brighter(canvas, images[chosen].astype(np.float32) / 255, top, left)
    boxes = np.stack([top, left, np.full(n, ITEM), np.full(n, ITEM)], axis=1)
    return Canvases(
        images=torch.from_numpy(canvas).unsqueeze(1),
        labels=torch.from_numpy(np.asarray(labels)[chosen].astype(np.int64)),
        boxes=torch.from_numpy(boxes.astype(np.int64)),
    )


def two_garment_canvases(
    images: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    n: int,
    height: int = 56,
    width: int = 84,
    clutter: int = 0,
    fragment: int = 12,
    noise: float = 0.3,
) -> Canvases:
    """``n`` canvases of ``height`` × ``width`` pixels, each with two garments side by side.

    ``images`` (N, 28, 28) uint8 and ``labels`` (N,): each canvas takes two random
    pictures. The first goes at a random place inside the left half of the canvas, the
    second inside the right half, so the two never overlap and "left then right" is always
    well defined. Background: uniform noise in [0, ``noise``]; ``clutter`` fragments of
    ``fragment`` × ``fragment`` pixels cut from other pictures go where they overlap
    neither garment (as in :func:`cluttered_canvases`).
    """
    half = width // 2
    if height < ITEM + fragment or half < ITEM:
        raise ValueError(
            f"a canvas of {height}×{width} pixels leaves no room for two {ITEM}-pixel "
            f"garments side by side with {fragment}-pixel fragments"
        )
    chosen = rng.integers(0, len(images), (n, 2))
    canvas = rng.random((n, height, width), dtype=np.float32) * noise
    tops = rng.integers(0, height - ITEM + 1, (n, 2))
    lefts = np.stack(
        [rng.integers(0, half - ITEM + 1, n), half + rng.integers(0, width - half - ITEM + 1, n)],
        axis=1,
    )
    _add_clutter(canvas, images, tops, lefts, (height, width), clutter, fragment, rng)
    for k in range(2):
        pictures = images[chosen[:, k]].astype(np.float32) / 255
        _paste_brighter(canvas, pictures, tops[:, k], lefts[:, k])
    boxes = np.stack([tops, lefts, np.full((n, 2), ITEM), np.full((n, 2), ITEM)], axis=2)
    return Canvases(
        images=torch.from_numpy(canvas).unsqueeze(1),
        labels=torch.from_numpy(np.asarray(labels)[chosen].astype(np.int64)),
        boxes=torch.from_numpy(boxes.astype(np.int64)),
    )


def _add_clutter(canvas, images, top, left, size, clutter, fragment, rng):
    """Paste ``clutter`` fragments of other pictures on each canvas, off the garments."""
    n = len(canvas)
    for _ in range(clutter):
        source = rng.integers(0, len(images), n)
        # Cut from rows and columns 4..24 of the source picture, where garments have ink.
        cut_top, cut_left = rng.integers(4, ITEM - fragment - 4 + 1, (2, n))
        rows = cut_top[:, None, None] + np.arange(fragment)[None, :, None]
        cols = cut_left[:, None, None] + np.arange(fragment)[None, None, :]
        pieces = images[source[:, None, None], rows, cols].astype(np.float32) / 255
        at_top, at_left = _places_beside(top, left, size, fragment, rng)
        _paste_brighter(canvas, pieces, at_top, at_left)


def _places_beside(top, left, size, fragment, rng):
    """Random top-left corners of fragments that overlap none of the garments' squares.

    ``top`` and ``left`` are (n,) for one garment per canvas or (n, k) for k; ``size`` is
    the canvas's side, or its (height, width).
    """
    height, width = (size, size) if np.ndim(size) == 0 else size
    top, left = np.asarray(top).reshape(len(top), -1), np.asarray(left).reshape(len(left), -1)
    # One draw of (2, n) corners, with a scalar bound on a square canvas: the same random
    # stream as for one garment, so the canvases of Chapter 7 do not change.
    bound = (
        height - fragment + 1 if height == width else np.array([[height], [width]]) - fragment + 1
    )
    at_top, at_left = rng.integers(0, bound, (2, len(top)))
    while True:  # draw again where a fragment overlaps; there is always room (size check)
        overlaps = ~(
            (at_top[:, None] + fragment <= top)
            | (at_top[:, None] >= top + ITEM)
            | (at_left[:, None] + fragment <= left)
            | (at_left[:, None] >= left + ITEM)
        ).all(axis=1)
        if not overlaps.any():
            return at_top, at_left
        at_top[overlaps], at_left[overlaps] = rng.integers(0, bound, (2, int(overlaps.sum())))


def _paste_brighter(canvas, pieces, tops, lefts):
    """canvas[i] = max(canvas[i], pieces[i]) in the square at (tops[i], lefts[i])."""
    height, width = pieces.shape[1:]
    for index, (row, col) in enumerate(zip(tops.tolist(), lefts.tolist())):
        window = canvas[index, row : row + height, col : col + width]
        np.maximum(window, pieces[index], out=window)
