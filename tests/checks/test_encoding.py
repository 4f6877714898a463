"""Results travel as plain data: what goes in comes out, and nothing can run code."""

import json
import math

import numpy as np
import pytest
import torch

from attention_course.checks.encoding import MAX_BYTES, Opaque, decode, describe, encode


def round_trip(value):
    return decode(json.loads(json.dumps(encode(value))))


@pytest.mark.parametrize("value", [None, True, 3, -2.5, "text", [1, "a"], {"k": [1.5]}])
def test_plain_values_come_back_as_they_were(value):
    assert round_trip(value) == value


def test_tensors_and_arrays_keep_kind_dtype_shape_and_values():
    tensor = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    got = round_trip((tensor, np.arange(4, dtype=np.int32), torch.tensor([True, False])))
    assert isinstance(got, tuple)
    assert got[0].dtype == torch.float64 and torch.equal(got[0], tensor.detach())
    assert isinstance(got[1], np.ndarray) and got[1].dtype == np.int32
    assert got[2].dtype == torch.bool and got[2].tolist() == [True, False]
    assert torch.equal(
        round_trip(torch.arange(6.0).reshape(2, 3).T), torch.arange(6.0).reshape(2, 3).T
    )


def test_non_finite_numbers_survive_json():
    got = round_trip([math.nan, math.inf, torch.tensor([math.nan])])
    assert math.isnan(got[0]) and got[1] == math.inf and torch.isnan(got[2]).all()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ((i for i in range(3)), "a generator"),
        (torch.nn.Linear(2, 2), "a Linear"),
        ("x" * 20_000, "a str of 20,000 characters"),
        (torch.zeros(2, dtype=torch.complex64), "a Tensor"),
        ({1: "int key"}, "a dict with 1 keys"),
    ],
)
def test_what_cannot_travel_is_described(value, words):
    got = round_trip(value)
    assert isinstance(got, Opaque) and words in describe(got)


def test_too_many_bytes_are_described_not_sent():
    big = torch.zeros(MAX_BYTES // 4 + 1)
    assert "too large" in describe(round_trip(big))


@pytest.mark.parametrize(
    "forged",
    [
        {"$tensor": {"dtype": "object", "shape": [1], "data": ""}},
        {"$tensor": {"dtype": "float32", "shape": [5], "data": "AA=="}},
        {"$pickle": "x"},
        {"a": 1, "b": 2},
        {"$dict": 5},
    ],
)
def test_malformed_data_decodes_to_opaque(forged):
    assert isinstance(decode(forged), Opaque)
