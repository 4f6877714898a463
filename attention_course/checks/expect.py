"""What a judge uses: comparisons that fail with a message a student can act on.

Each ``expect_*`` raises :class:`CaseFailed` with a readable message ("expected shape
(2, 5, 16), got (2, 16, 5)"). Values are compared as float64, so an answer in float32 and
one in float64 are both accepted. A :class:`Mistake` names a plausible wrong answer by the
output it would give: when a student's result matches one, the message says which
mistake it looks like instead of only "wrong values".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .calling import CaseFailed
from .encoding import describe


@dataclass(frozen=True)
class Mistake:
    """A plausible wrong answer: the output it gives (a value, or a function computing it
    in the judge) and what to tell a student whose answer matches it."""

    description: str
    output: Any

    def matches(self, got, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
        wrong = self.output() if callable(self.output) else self.output
        return _same_numbers(got, wrong, atol, rtol)


def named_mistake(got, mistakes: Sequence[Mistake], atol: float = 1e-5) -> str | None:
    """The description of the first mistake ``got`` matches, or None."""
    for mistake in mistakes:
        if mistake.matches(got, atol=atol):
            return mistake.description
    return None


def reject_mistakes(got, *mistakes: Mistake) -> None:
    """Fail with the description of the first of ``mistakes`` that ``got`` matches."""
    description = named_mistake(got, mistakes)
    if description is not None:
        raise CaseFailed(description)


def expect_tensor(value, shape=None, name: str = "your result") -> torch.Tensor:
    """A finite torch tensor of the given shape (``None`` in ``shape`` matches any size)."""
    if not isinstance(value, torch.Tensor):
        raise CaseFailed(f"{name} should be a torch tensor, got {describe(value)}")
    if shape is not None:
        _expect_shape(tuple(value.shape), tuple(shape), name)
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise CaseFailed(f"{name} contains NaN or infinite values")
    return value.detach()


def expect_weights(value, shape, why_not_finite: str | None = None) -> torch.Tensor:
    """Attention weights: a tensor of ``shape`` with finite values, as float64.

    ``why_not_finite``, when given, is the message for NaN or infinite weights, checked
    before the shape: it can say what usually causes them (a row with no real position).
    """
    if (
        why_not_finite is not None
        and isinstance(value, torch.Tensor)
        and value.is_floating_point()
        and not torch.isfinite(value).all()
    ):
        raise CaseFailed(why_not_finite)
    return expect_tensor(value, shape=shape, name="weights").double()


def expect_array(value, shape=None, name: str = "your result") -> np.ndarray:
    """Finite numbers (a tensor, an array, a list, a number) of the given shape, as float64."""
    array = _as_float64(value)
    if array is None:
        raise CaseFailed(f"{name} should be an array of numbers, got {describe(value)}")
    if shape is not None:
        _expect_shape(array.shape, tuple(shape), name)
    if not np.isfinite(array).all():
        raise CaseFailed(f"{name} contains NaN or infinite values")
    return array


def expect_number(value, name: str = "your result") -> float:
    """One finite number (a Python number, or a tensor or array holding one)."""
    array = _as_float64(value)
    if array is None or array.size != 1 or isinstance(value, str | bool):
        raise CaseFailed(f"{name} should be a number, got {describe(value)}")
    number = float(array.reshape(()))
    if not np.isfinite(number):
        raise CaseFailed(f"{name} is {number}")
    return number


def _as_float64(value) -> np.ndarray | None:
    if isinstance(value, torch.Tensor):
        value = value.detach().to(torch.float64).numpy()
    if isinstance(value, str | bytes | dict):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None


def _expect_shape(got: tuple, expected: tuple, name: str) -> None:
    fits = len(got) == len(expected) and all(e is None or g == e for g, e in zip(got, expected))
    if not fits:
        shown = tuple("any" if e is None else e for e in expected)
        raise CaseFailed(f"{name}: expected shape {shown}, got {got}")


def expect_close(
    got,
    expected,
    name: str = "your result",
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
    mistakes: Sequence[Mistake] = (),
) -> None:
    """Same shape and values within tolerance; says where and by how much they differ, or
    which known mistake the values match."""
    got = expect_array(got, name=name)
    expected = _as_float64(expected)
    _expect_shape(got.shape, expected.shape, name)
    close = np.isclose(got, expected, atol=atol, rtol=rtol)
    if close.all():
        return
    mistake = named_mistake(got, mistakes, atol=atol)
    if mistake:
        raise CaseFailed(f"{name} is wrong: {mistake}")
    difference = np.abs(got - expected)
    where = np.unravel_index(np.argmax(difference), difference.shape)
    at = f" at index {tuple(int(i) for i in where)}" if got.ndim else ""
    off = int((~close).sum())
    message = (
        f"{name} differs from the expected values: {off} of {close.size} "
        f"{'entry is' if close.size == 1 else 'entries are' if off > 1 else 'entries is'} off, "
        f"the largest by {difference.max():.3g}{at} "
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
        isinstance(result, tuple | list) and len(result) == len(names),
        f"return {how_many} ({', '.join(names)}), got {describe(result)}",
    )
    return tuple(result)


def expect_choice(value, choices: Sequence[str], name: str = "your answer") -> str:
    """One of the offered answers to a question (compared without case or spaces)."""
    if not isinstance(value, str) or value.strip().lower() not in [c.lower() for c in choices]:
        shown = ", ".join(repr(c) for c in choices)
        raise CaseFailed(f"{name} should be one of {shown}, got {value!r}"[:300])
    return value.strip().lower()


def expect_answer(value, right: str, why_not: dict[str, str], name: str = "your answer") -> str:
    """The right letter of a multiple-choice question; a wrong one is told why it fails.

    ``why_not`` maps each wrong letter to the evidence against it (best: what the
    student's own experiment showed), so a wrong pick teaches rather than just scores.
    """
    answer = expect_choice(value, sorted({right, *why_not}), name)
    if answer != right.lower():
        raise CaseFailed(f"({answer}) does not fit: {why_not[answer]}")
    return answer


def _same_numbers(got, wrong, atol: float, rtol: float) -> bool:
    a, b = _as_float64(got), _as_float64(wrong)
    if a is None or b is None or a.shape != b.shape:
        return False
    return bool(np.allclose(np.nan_to_num(a), np.nan_to_num(b), atol=atol, rtol=rtol))


def seeded_randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    """Standard normal numbers, the same on every run, so that a check's inputs never vary."""
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def seeded_generator(seed: int) -> torch.Generator:
    """A generator of its own, for inputs that need more than normal numbers."""
    return torch.Generator().manual_seed(seed)
