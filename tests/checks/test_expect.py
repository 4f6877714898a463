"""What judges use: messages a student can act on."""

import numpy as np
import pytest
import torch

from attention_course.checks import (
    CaseFailed,
    Mistake,
    expect_choice,
    expect_close,
    expect_number,
    expect_parts,
)


def test_a_known_mistake_is_named_instead_of_the_numbers():
    scores = torch.tensor([[1.0, 2.0], [3.0, 1.0]])
    mistakes = [Mistake("the softmax ran over the wrong axis", lambda: scores.softmax(0))]
    with pytest.raises(CaseFailed, match="the softmax ran over the wrong axis"):
        expect_close(scores.softmax(0), scores.softmax(1), name="weights", mistakes=mistakes)
    with pytest.raises(CaseFailed, match="differs from the expected values"):
        expect_close(scores, scores.softmax(1), name="weights", mistakes=mistakes)


def test_float64_float32_and_lists_compare_alike():
    expect_close(torch.ones(2, dtype=torch.float64), np.ones(2, dtype=np.float32))
    expect_close([1.0, 1.0], torch.ones(2))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (3, True),
        (torch.tensor(2.5), True),
        (np.float32(1), True),
        ("3", False),
        (True, False),
        ([1, 2], False),
        (float("nan"), False),
    ],
)
def test_a_number_is_one_finite_number(value, ok):
    if ok:
        assert isinstance(expect_number(value), float)
    else:
        with pytest.raises(CaseFailed):
            expect_number(value)


def test_choices_and_parts_say_what_was_expected():
    assert expect_choice(" B ", ["a", "b"]) == "b"
    with pytest.raises(CaseFailed, match="one of 'a', 'b'"):
        expect_choice("c", ["a", "b"])
    with pytest.raises(CaseFailed, match=r"return a pair \(output, weights\), got None"):
        expect_parts(None, "output", "weights")


def test_expect_close_counts_the_entries_off_in_plain_words():
    with pytest.raises(
        CaseFailed, match=r"1 of 3 entries is off, the largest by 1 at index \(1,\)"
    ):
        expect_close([0.0, 1.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(CaseFailed, match="2 of 3 entries are off"):
        expect_close([1.0, 1.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(CaseFailed, match="1 of 1 entry is off"):
        expect_close([1.0], [0.0])
