"""Comparisons used inside check cases, each failing with a message a student can act on."""

from __future__ import annotations

import numpy as np
import torch

from .core import CaseFailed, _describe


def expect_tensor(value, shape=None, name: str = "your result") -> torch.Tensor:
    """A finite torch tensor of the given shape (``None`` in ``shape`` matches any size)."""
    if not isinstance(value, torch.Tensor):
        raise CaseFailed(f"{name} should be a torch tensor, got {_describe(value)}")
    if shape is not None:
        _expect_shape(tuple(value.shape), tuple(shape), name)
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise CaseFailed(f"{name} contains NaN or infinite values")
    return value.detach()


def expect_array(value, shape=None, name: str = "your result") -> np.ndarray:
    """A finite array (NumPy, or anything NumPy can turn into numbers) of the given shape."""
    if isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CaseFailed(f"{name} should be an array of numbers, got {_describe(value)}") from None
    if shape is not None:
        _expect_shape(array.shape, tuple(shape), name)
    if not np.isfinite(array).all():
        raise CaseFailed(f"{name} contains NaN or infinite values")
    return array


def _expect_shape(got: tuple, expected: tuple, name: str) -> None:
    fits = len(got) == len(expected) and all(e is None or g == e for g, e in zip(got, expected))
    if not fits:
        shown = tuple("any" if e is None else e for e in expected)
        raise CaseFailed(f"{name}: expected shape {shown}, got {got}")


def expect_close(
    got, expected, name: str = "your result", atol: float = 1e-5, rtol: float = 1e-4, hint: str = ""
) -> None:
    """Same shape and values within tolerance; says where and by how much they differ."""
    got = expect_array(got, name=name)
    expected = np.asarray(
        expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=float
    )
    _expect_shape(got.shape, expected.shape, name)
    close = np.isclose(got, expected, atol=atol, rtol=rtol)
    if close.all():
        return
    difference = np.abs(got - expected)
    where = np.unravel_index(np.argmax(difference), difference.shape)
    at = f" at index {tuple(int(i) for i in where)}" if got.ndim else ""
    message = (
        f"{name} differs from the expected values: {int((~close).sum())} of "
        f"{close.size} entries are off, the largest by {difference.max():.3g}{at} "
        f"(got {got[where]:.4g}, expected {expected[where]:.4g})"
    )
    raise CaseFailed(message + (f". {hint}" if hint else ""))


def expect_true(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailed(message)


_HOW_MANY = {2: "a pair", 3: "a triple"}


def expect_parts(result, *names: str) -> tuple:
    """The parts of a returned tuple, one per name, or a failed case saying what came back."""
    how_many = _HOW_MANY.get(len(names), f"{len(names)} values")
    expect_true(
        isinstance(result, (tuple, list)) and len(result) == len(names),
        f"return {how_many} ({', '.join(names)}), got {_describe(result)}",
    )
    return tuple(result)


def seeded_randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    """Standard normal numbers, the same on every run, so that a check's inputs never vary."""
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
