"""What a student's function returned, as plain data that can leave its process.

A check calls the student's function in one process (the student's kernel) and may judge
the result in another (the class grader's judge, which never runs student code). What
travels between them is JSON: numbers, strings, lists and objects, with tensors and arrays
as base64 of their raw bytes. Nothing is pickled, so decoding can never run code.

:func:`encode` never fails: what it cannot carry (a module, a generator, a string of a
million characters) becomes an :class:`Opaque` that says what it was, and the judge's
messages name it ("expected a torch tensor, got a generator"). :func:`decode` gives back
the same kinds of values: torch tensors as torch tensors with their dtype, NumPy arrays
as arrays, tuples as tuples.

In a student's own notebook the result goes through both, so that a check judges
exactly what a judge in another process would see.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np
import torch

MAX_BYTES = 64 * 2**20  # all arrays of one result together; more becomes Opaque
MAX_STRING = 10_000
MAX_DEPTH = 20
MAX_ITEMS = 10_000  # entries of one list, tuple or dict

# dtypes that travel as themselves; others (bfloat16, complex, ...) are described
_NUMPY_DTYPES = {
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
}


@dataclass(frozen=True)
class Opaque:
    """Something a result held that cannot travel as data, described in words."""

    description: str

    def __repr__(self) -> str:
        return self.description


def describe(value) -> str:
    """A few words on what a value is: "a Tensor of shape (2, 3)", "None", "a str"."""
    if isinstance(value, Opaque):
        return value.description
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple | torch.Size):
        return f"a {kind} of shape {tuple(shape)}"
    return "None" if value is None else f"a {kind}"


def encode(value) -> object:
    """``value`` as JSON-compatible data (see the module's docstring)."""
    return _Encoder().encode(value, 0)


class _Encoder:
    def __init__(self):
        self.budget = MAX_BYTES

    def encode(self, value, depth: int):
        if depth > MAX_DEPTH:
            return self.opaque("something nested too deeply")
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                return self.opaque(f"a str of {len(value):,} characters")
            return value
        if isinstance(value, int):
            return value if abs(value) < 2**63 else {"$float": float(value)}
        if isinstance(value, float):
            # float() first: a NumPy float64 is a float whose repr is "np.float64(nan)"
            return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
        if isinstance(value, torch.Tensor):
            return self.array(value, "tensor")
        if isinstance(value, np.ndarray | np.generic):
            return self.array(value, "array")
        if isinstance(value, tuple | list):
            if len(value) > MAX_ITEMS:
                return self.opaque(f"a {type(value).__name__} of {len(value):,} items")
            items = [self.encode(item, depth + 1) for item in value]
            return {"$tuple": items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            if len(value) > MAX_ITEMS or not all(isinstance(key, str) for key in value):
                return self.opaque(f"a dict with {len(value)} keys")
            return {"$dict": [[key, self.encode(item, depth + 1)] for key, item in value.items()]}
        return self.opaque(describe(value))

    def array(self, value, kind: str):
        if isinstance(value, torch.Tensor):
            if value.is_sparse or value.is_complex() or value.device.type != "cpu":
                return self.opaque(describe(value))
            dtype = str(value.dtype).removeprefix("torch.")
            try:
                array = value.detach().resolve_conj().resolve_neg().contiguous()
                array = (array.float() if dtype == "bfloat16" else array).numpy()
            except Exception:  # an exotic tensor subclass or layout
                return self.opaque(describe(value))
        else:
            array = np.asarray(value)
            dtype = str(array.dtype)
        if str(array.dtype) not in _NUMPY_DTYPES:
            return self.opaque(f"a {type(value).__name__} of dtype {dtype}")
        size = array.nbytes
        if size > self.budget:
            return self.opaque(
                f"a {type(value).__name__} of shape {tuple(array.shape)} (too large to check)"
            )
        self.budget -= size
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        return {
            f"${kind}": {
                "dtype": dtype,
                "shape": list(array.shape),
                "data": base64.b64encode(data.tobytes()).decode("ascii"),
            }
        }

    def opaque(self, description: str):
        return {"$opaque": description}


def decode(data) -> object:
    """The value :func:`encode` described (tensors as tensors, tuples as tuples, ...).

    Anything malformed -- data that :func:`encode` cannot have produced -- becomes an
    :class:`Opaque`, so a judge handed forged data judges it as a wrong answer.
    """
    return _decode(data, 0)


def _decode(data, depth: int):
    if depth > MAX_DEPTH + 1:
        return Opaque("something nested too deeply")
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [_decode(item, depth + 1) for item in data]
    if isinstance(data, dict) and len(data) == 1:
        ((key, body),) = data.items()
        try:
            if key == "$tuple":
                return tuple(_decode(item, depth + 1) for item in body)
            if key == "$dict":
                return {str(k): _decode(v, depth + 1) for k, v in body}
            if key == "$float":
                return float(body)
            if key == "$opaque":
                return Opaque(str(body))
            if key in ("$tensor", "$array"):
                return _decode_array(body, tensor=key == "$tensor")
        except (TypeError, ValueError, KeyError):
            pass
    return Opaque("malformed data")


def _decode_array(body: dict, tensor: bool):
    dtype, shape = body["dtype"], tuple(int(n) for n in body["shape"])
    stored = "float32" if dtype == "bfloat16" else dtype
    if stored not in _NUMPY_DTYPES:
        raise ValueError(dtype)
    raw = base64.b64decode(body["data"], validate=True)
    array = np.frombuffer(raw, dtype=np.dtype(stored).newbyteorder("<")).reshape(shape)
    array = array.astype(stored)  # native byte order, writable
    if not tensor:
        return array
    result = torch.from_numpy(array)
    return result.to(torch.bfloat16) if dtype == "bfloat16" else result
