"""The cluttered canvases of Chapter 7: the garment where the box says, clutter only outside."""

import numpy as np
import pytest
import torch

from attention_course.data.canvases import cluttered_canvases


def pictures(n=30, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(1, 256, (n, 28, 28), dtype=np.uint8)  # ink everywhere
    return images, rng.integers(0, 10, n)


def inside(boxes, size):
    """(n, size, size) True inside each garment's square."""
    rows = torch.arange(size)
    top, left, height, width = boxes.T[..., None]
    in_rows = (rows >= top) & (rows < top + height)
    in_cols = (rows >= left) & (rows < left + width)
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
