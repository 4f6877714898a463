"""A task where looking in the right place matters: find the garment on a cluttered canvas.

:func:`cluttered_canvases` puts each 28×28 Fashion-MNIST picture at a random place on a
larger canvas of faint noise and adds fragments cut from *other* pictures around it, never
overlapping it. A classifier must find the whole garment among pieces of garments; and
since we know where the garment is, we can measure whether a model's attention goes there
(Chapter 7). The box of every garment comes with the canvases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ITEM = 28  # side of a Fashion-MNIST picture, in pixels


@dataclass(frozen=True)
class Canvases:
    images: torch.Tensor  # (n, 1, size, size) float32 in [0, 1]
    labels: torch.Tensor  # (n,) int64: the class of the garment
    boxes: torch.Tensor  # (n, 4) int64: top, left, height, width of the garment's square

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
    for _ in range(clutter):
        source = rng.integers(0, len(images), n)
        # Cut from rows and columns 4..24 of the source picture, where garments have ink.
        cut_top, cut_left = rng.integers(4, ITEM - fragment - 4 + 1, (2, n))
        rows = cut_top[:, None, None] + np.arange(fragment)[None, :, None]
        cols = cut_left[:, None, None] + np.arange(fragment)[None, None, :]
        pieces = images[source[:, None, None], rows, cols].astype(np.float32) / 255
        at_top, at_left = _places_beside(top, left, size, fragment, rng)
        _paste_brighter(canvas, pieces, at_top, at_left)
    _paste_brighter(canvas, images[chosen].astype(np.float32) / 255, top, left)
    boxes = np.stack([top, left, np.full(n, ITEM), np.full(n, ITEM)], axis=1)
    return Canvases(
        images=torch.from_numpy(canvas).unsqueeze(1),
        labels=torch.from_numpy(np.asarray(labels)[chosen].astype(np.int64)),
        boxes=torch.from_numpy(boxes.astype(np.int64)),
    )


def _places_beside(top, left, size, fragment, rng):
    """Random top-left corners of fragments that do not overlap each garment's square."""
    n = len(top)
    at_top, at_left = rng.integers(0, size - fragment + 1, (2, n))
    while True:  # draw again where a fragment overlaps; there is always room (size check)
        overlaps = ~(
            (at_top + fragment <= top)
            | (at_top >= top + ITEM)
            | (at_left + fragment <= left)
            | (at_left >= left + ITEM)
        )
        if not overlaps.any():
            return at_top, at_left
        at_top[overlaps], at_left[overlaps] = rng.integers(
            0, size - fragment + 1, (2, int(overlaps.sum()))
        )


def _paste_brighter(canvas, pieces, tops, lefts):
    """canvas[i] = max(canvas[i], pieces[i]) in the square at (tops[i], lefts[i])."""
    height, width = pieces.shape[1:]
    for index, (row, col) in enumerate(zip(tops.tolist(), lefts.tolist())):
        window = canvas[index, row : row + height, col : col + width]
        np.maximum(window, pieces[index], out=window)
