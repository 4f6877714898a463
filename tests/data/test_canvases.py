"""The canvases of Chapter 7: each garment where its box says, clutter only outside."""

import numpy as np
import pytest
import torch

from attention_course.data.canvases import cluttered_canvases, two_garment_canvases


def pictures(n=30, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(1, 256, (n, 28, 28), dtype=np.uint8)  # ink everywhere
    return images, rng.integers(0, 10, n)


def inside(boxes, size, width=None):
    """(n, size, width) True inside each garment's square (width: size by default)."""
    rows, cols = torch.arange(size), torch.arange(size if width is None else width)
    top, left, height, side = boxes.T[..., None]
    in_rows = (rows >= top) & (rows < top + height)
    in_cols = (cols >= left) & (cols < left + side)
    return in_rows[:, :, None] & in_cols[:, None, :]


def test_the_garment_sits_in_its_box_and_the_clutter_outside():
    images, labels = pictures()
    data = cluttered_canvases(
        images, labels, np.random.default_rng(0), size=56, clutter=4, noise=0.0
    )
    assert data.images.shape == (30, 1, 56, 56) and data.images.dtype == torch.float32
    assert torch.equal(data.labels, torch.as_tensor(labels))  # n=None: every picture in order
    assert (data.boxes[:, 2:] == 28).all() and (data.boxes[:, :2] >= 0).all()
    assert (data.boxes[:, :2] <= 56 - 28).all()
    box = inside(data.boxes, 56)
    for i in range(30):
        top, left = data.boxes[i, :2].tolist()
        # Nothing but the garment in its square: no fragment overlaps it.
        expected = torch.from_numpy(images[i].astype(np.float32) / 255)
        assert torch.equal(data.images[i, 0, top : top + 28, left : left + 28], expected)
    outside_ink = (data.images[:, 0] > 0) & ~box
    per_canvas = outside_ink.flatten(1).sum(1)
    # Four 12x12 fragments, which may overlap each other: between 144 and 576 pixels.
    assert (per_canvas >= 144).all() and (per_canvas <= 4 * 144).all()


def test_noise_and_no_clutter():
    images, labels = pictures()
    data = cluttered_canvases(images, labels, np.random.default_rng(1), n=50, clutter=0, noise=0.3)
    assert len(data) == 50
    outside = data.images[:, 0][~inside(data.boxes, 56)]
    assert 0 <= outside.min() and outside.max() <= 0.3 and 0.14 < outside.mean() < 0.16
    assert set(data.labels.tolist()) <= set(labels.tolist())


def test_same_generator_state_same_canvases_and_sizes_are_checked():
    images, labels = pictures()
    a = cluttered_canvases(images, labels, np.random.default_rng(7), n=10)
    b = cluttered_canvases(images, labels, np.random.default_rng(7), n=10)
    assert torch.equal(a.images, b.images) and torch.equal(a.boxes, b.boxes)
    c = cluttered_canvases(images, labels, np.random.default_rng(8), n=10)
    assert not torch.equal(a.boxes, c.boxes)
    with pytest.raises(ValueError, match="no room"):
        cluttered_canvases(images, labels, np.random.default_rng(0), size=36)


def test_two_garments_side_by_side_in_their_boxes_and_in_reading_order():
    images, labels = pictures(n=40)
    data = two_garment_canvases(
        images, labels, np.random.default_rng(0), n=25, height=56, width=84, clutter=4, noise=0.0
    )
    assert len(data) == 25
    assert data.images.shape == (25, 1, 56, 84) and data.images.dtype == torch.float32
    assert data.labels.shape == (25, 2) and data.labels.dtype == torch.int64
    assert data.boxes.shape == (25, 2, 4) and data.boxes.dtype == torch.int64
    assert set(data.labels.flatten().tolist()) <= set(labels.tolist())
    top, left, height, width = data.boxes.unbind(-1)
    assert (height == 28).all() and (width == 28).all()
    assert (top >= 0).all() and (top + 28 <= 56).all() and (left >= 0).all()
    # The first garment inside the left half, the second inside the right half: never
    # overlapping, and the first always the left one.
    assert (left[:, 0] + 28 <= 42).all() and (left[:, 1] >= 42).all()
    assert (left[:, 1] + 28 <= 84).all()
    for i in range(25):
        for k in range(2):
            row, col = data.boxes[i, k, :2].tolist()
            square = data.images[i, 0, row : row + 28, col : col + 28]
            # Each square holds exactly one of the pictures (no clutter over it) ...
            matches = [
                j
                for j in range(40)
                if labels[j] == data.labels[i, k]
                and torch.equal(square, torch.from_numpy(images[j].astype(np.float32) / 255))
            ]
            assert matches, (i, k)
    # ... and the clutter lies outside both squares: four 12x12 fragments, maybe overlapping.
    garments = inside(data.boxes[:, 0], 56, 84) | inside(data.boxes[:, 1], 56, 84)
    outside_ink = ((data.images[:, 0] > 0) & ~garments).flatten(1).sum(1)
    assert (outside_ink >= 144).all() and (outside_ink <= 4 * 144).all()


def test_two_garments_noise_determinism_and_sizes():
    images, labels = pictures()
    a = two_garment_canvases(images, labels, np.random.default_rng(3), n=12, noise=0.3)
    b = two_garment_canvases(images, labels, np.random.default_rng(3), n=12, noise=0.3)
    assert torch.equal(a.images, b.images) and torch.equal(a.boxes, b.boxes)
    assert torch.equal(a.labels, b.labels)
    c = two_garment_canvases(images, labels, np.random.default_rng(4), n=12, noise=0.3)
    assert not torch.equal(a.boxes, c.boxes)
    background = a.images[:, 0][~(inside(a.boxes[:, 0], 56, 84) | inside(a.boxes[:, 1], 56, 84))]
    assert 0 <= background.min() and background.max() <= 0.3
    with pytest.raises(ValueError, match="no room"):
        two_garment_canvases(images, labels, np.random.default_rng(0), n=2, width=50)
