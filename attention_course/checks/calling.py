"""The part of a check that runs where the student's code runs: calling it, under guards.

A case's recipe calls the student's function through a :class:`StudentFunction`, which

* gives the function copies of the tensors and arrays it is passed, and afterwards
  compares them with the originals, so that an in-place change is reported by name and
  never leaks into the next call;
* stops the call after a time limit (an endless loop becomes a failed case);
* makes the library functions that would do the exercise for the student (say
  ``torch.nn.functional.scaled_dot_product_attention``) fail while the student's code
  runs, and reports that they were called;
* tells the student's own exception, a stub that still raises ``NotImplementedError``
  and a bug in the recipe apart.

:func:`run_recipes` runs every distinct recipe of a check once and returns what happened
as plain data (see :mod:`.encoding`): that, and nothing else, is what a judge gets.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .encoding import describe, encode

# What a recipe's run came to (the "outcome" of a call record).
RETURNED = "returned"
RAISED = "raised"  # the student's code raised
STUB = "not implemented"  # ... NotImplementedError: the exercise's stub
TIME_LIMIT = "time limit"
SHORTCUT = "shortcut"  # the student's code called a forbidden library function
REJECTED = "rejected"  # the recipe itself found the answer unusable (a message says why)
BROKEN = "broken"  # the recipe raised: a bug in the check, not the student's fault
INTERRUPTED = "interrupted"  # stopped from outside (Ctrl-C, the grader's time limit)


# The library functions that compute a softmax: an exercise that asks for one written by
# hand forbids them (``forbid=SOFTMAX_FUNCTIONS``, plus any package function of its own).
SOFTMAX_FUNCTIONS = (
    "torch.softmax",
    "torch.log_softmax",
    "torch.Tensor.softmax",
    "torch.Tensor.log_softmax",
    "torch.nn.functional.softmax",
    "torch.nn.functional.log_softmax",
    "torch.nn.functional.softmin",
    "torch.special.softmax",
    "torch.special.log_softmax",
)


class CaseFailed(Exception):
    """Raised inside a case with the message the student should read."""


class _StudentNotImplemented(Exception):
    pass


class StudentRaised(Exception):
    """What a recipe sees when the student's code raised: the message the student reads, and
    the names of the exception's classes, so that a recipe expecting, say, a KeyError also
    accepts a subclass of it (``"KeyError" in error.kinds``)."""

    def __init__(self, message: str, kinds: tuple[str, ...]):
        super().__init__(message)
        self.kinds = kinds


class _ShortcutUsed(BaseException):
    """Raised by a forbidden function; a BaseException so ``except Exception`` in student
    code does not swallow it (and the call is reported as a shortcut even if it does)."""


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException so student ``except Exception`` cannot swallow it."""


@dataclass
class Guards:
    time_limit: float = 10.0  # seconds, per call of student code
    forbidden: Sequence[str] = ()  # dotted names of library functions the student must not call
    allow_mutation: bool = False  # the student's function may change its inputs in place


@dataclass
class CallLog:
    """What the guards saw across all calls of one check."""

    changed_inputs: list[str] = field(default_factory=list)


class StudentFunction:
    """The student's function as a recipe sees it: calling it runs the student's code
    under the check's guards."""

    def __init__(self, function, guards: Guards, log: CallLog):
        self.function = function
        self.guards = guards
        self.log = log

    def __call__(self, *args, **kwargs):
        if not callable(self.function):
            raise CaseFailed(f"expected a function, got {describe(self.function)}")
        copies = _copy_inputs((args, kwargs))
        modules = _module_states((args, kwargs))
        used: list[str] = []
        try:
            with (
                _time_limit(self.guards.time_limit),
                _forbidden(self.guards.forbidden, self.function, used),
            ):
                result = self.function(*copies[0], **copies[1])
        except NotImplementedError as error:
            raise _StudentNotImplemented() from error
        except (_ShortcutUsed, _TimeUp, KeyboardInterrupt):
            raise
        except BaseException as error:  # SystemExit and the like too: the student's doing
            if used:
                raise _ShortcutUsed(used[0]) from None
            kinds = tuple(cls.__name__ for cls in type(error).__mro__)
            raise StudentRaised(format_exception(error), kinds) from None
        if used:  # called, and the exception swallowed by a bare except
            raise _ShortcutUsed(used[0])
        self._note_changes((args, kwargs), copies, modules)
        return result

    def _note_changes(self, originals, copies, modules) -> None:
        names = _parameter_names(self.function, len(originals[0]))
        for where, original, copy in _paired_arrays(originals, copies):
            if not _same_array(original, copy):
                self._note(_argument_name(where, names))
        for where, module, before in modules:
            after = module.state_dict()
            if after.keys() != before.keys() or not all(
                _same_array(before[key], after[key]) for key in before
            ):
                self._note(_argument_name(where, names) + " (its parameters)")

    def _note(self, name: str) -> None:
        if name not in self.log.changed_inputs:
            self.log.changed_inputs.append(name)


def run_recipes(
    recipes: Sequence[Callable], answers: Sequence, guards: Guards
) -> tuple[list[dict], CallLog]:
    """Run each recipe once with the student's answers; their outcomes as plain data.

    An outcome is ``{"outcome": RETURNED, "value": ...}`` or, for the other outcomes,
    ``{"outcome": ..., "message": ...}``. A Ctrl-C (or the grader's time limit) stops the
    run: the recipes not yet run are recorded as interrupted and the interrupt is raised
    again once they are, so that a caller can still publish what was done.
    """
    log = CallLog()
    wrapped = [StudentFunction(a, guards, log) for a in answers]
    outcomes: list[dict] = []
    for recipe in recipes:
        if outcomes and outcomes[-1]["outcome"] == TIME_LIMIT:  # it would hang again
            outcomes.append(
                {
                    "outcome": TIME_LIMIT,
                    "message": "not run: an earlier call did "
                    f"not finish within {guards.time_limit:g} s",
                }
            )
            continue
        try:
            outcomes.append(_run_one(recipe, wrapped, guards))
        except KeyboardInterrupt:
            outcomes += [{"outcome": INTERRUPTED, "message": "stopped before it finished"}] * (
                len(recipes) - len(outcomes)
            )
            raise _Interrupted(outcomes, log) from None
    return outcomes, log


class _Interrupted(Exception):
    def __init__(self, outcomes, log):
        super().__init__("interrupted")
        self.outcomes, self.log = outcomes, log


def _run_one(recipe: Callable, wrapped: list, guards: Guards) -> dict:
    try:
        value = recipe(*wrapped)
    except _StudentNotImplemented:
        return {"outcome": STUB, "message": "not implemented yet"}
    except StudentRaised as error:
        return {"outcome": RAISED, "message": f"your function raised {error}"}
    except _ShortcutUsed as error:
        return {
            "outcome": SHORTCUT,
            "message": f"your code called {error}: the point of this "
            "exercise is to implement it yourself",
        }
    except _TimeUp:
        return {
            "outcome": TIME_LIMIT,
            "message": f"did not finish within {guards.time_limit:g} s (an endless loop?)",
        }
    except CaseFailed as failure:
        return {"outcome": REJECTED, "message": str(failure)}
    except KeyboardInterrupt:
        raise
    except Exception as error:
        return {"outcome": BROKEN, "message": format_exception(error)}
    return {"outcome": RETURNED, "value": encode(value)}


# ------------------------------------------------------------------ inputs changed in place


def _copy_inputs(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple | list):
        return type(value)(_copy_inputs(item) for item in value)
    if isinstance(value, dict):
        return {key: _copy_inputs(item) for key, item in value.items()}
    return value


def _paired_arrays(original, copy, where=()) -> Iterator[tuple[tuple, object, object]]:
    if isinstance(original, torch.Tensor | np.ndarray):
        yield where, original, copy
    elif isinstance(original, tuple | list):
        for index, (a, b) in enumerate(zip(original, copy)):
            yield from _paired_arrays(a, b, (*where, index))
    elif isinstance(original, dict):
        for key in original:
            yield from _paired_arrays(original[key], copy[key], (*where, key))


def _module_states(value, where=()) -> list[tuple[tuple, torch.nn.Module, dict]]:
    if isinstance(value, torch.nn.Module):
        return [(where, value, {k: v.detach().clone() for k, v in value.state_dict().items()})]
    if isinstance(value, tuple | list):
        return [s for i, item in enumerate(value) for s in _module_states(item, (*where, i))]
    if isinstance(value, dict):
        return [s for k, item in value.items() for s in _module_states(item, (*where, k))]
    return []


def _same_array(a, b) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        a, b = a.detach(), b.detach()
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(((a == b) | (a.isnan() & b.isnan()) if a.is_floating_point() else a == b).all())
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return (
            a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    return False


def _parameter_names(function, count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        parameters = []
    return parameters[:count]


def _argument_name(where: tuple, names: list[str]) -> str:
    """``(0, 1)`` -> "argument `k`" (the second positional one); ``(1, "mask")`` -> "`mask`"."""
    kind, *rest = where
    if kind == 0 and rest:
        index, *inside = rest
        name = f"`{names[index]}`" if index < len(names) else f"argument {index + 1}"
    elif rest:
        name, *inside = f"`{rest[0]}`", *rest[1:]
    else:
        return "its inputs"
    return name + "".join(f"[{item!r}]" for item in inside)


# ------------------------------------------------------------------ forbidden functions


@contextlib.contextmanager
def _forbidden(names: Sequence[str], function, used: list[str]):
    """Make the named library functions raise while the student's code runs.

    Each is replaced where it lives (``torch.nn.functional``), and so is any name in the
    student's globals bound to it (``from torch.nn.functional import ...``, ``sdpa = ...``).
    """
    if not names:
        yield
        return
    patched: list[tuple[object, str, object]] = []  # (owner, name, original or _ABSENT)
    try:
        trapped = {}  # id of a forbidden function -> its dotted name
        for dotted in names:
            owner, attribute = _resolve_owner(dotted)
            current = getattr(owner, attribute, None) if owner is not None else None
            if current is None:
                continue
            trapped[id(current)] = dotted
            patched.append((owner, attribute, vars(owner).get(attribute, _ABSENT)))
            setattr(owner, attribute, _trap(dotted, used))
        student_globals = getattr(function, "__globals__", {})
        for name, value in list(student_globals.items()):
            if id(value) in trapped:
                patched.append((student_globals, name, value))
                student_globals[name] = _trap(trapped[id(value)], used)
        yield
    finally:
        for owner, attribute, original in reversed(patched):
            if isinstance(owner, dict):
                owner[attribute] = original
            elif original is _ABSENT:  # it was inherited (a method of a base class)
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


_ABSENT = object()


def _resolve_owner(dotted: str):
    """``"torch.nn.functional.softmax"`` -> (the module torch.nn.functional, "softmax");
    ``"torch.Tensor.softmax"`` -> (the class torch.Tensor, "softmax")."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:-1]:
            owner = getattr(owner, part, None)
        return (owner, parts[-1]) if owner is not None else (None, None)
    return None, None


def _trap(dotted: str, used: list[str]):
    def forbidden(*args, **kwargs):
        used.append(dotted)
        raise _ShortcutUsed(dotted)

    return forbidden


# ------------------------------------------------------------------ time limit


@contextlib.contextmanager
def _time_limit(seconds: float):
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:  # e.g. Windows: run without a limit rather than not at all
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def format_exception(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:200] + "..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
