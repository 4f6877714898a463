"""The reviews as characters: cleaning, the split by review, windows and batches."""

import pytest
import torch

from attention_course.data.characters import clean_review, load_review_characters


@pytest.fixture(scope="module")
def corpus():
    return load_review_characters()


def test_cleaning_lowers_case_and_removes_html_breaks():
    assert clean_review("Great<br />Tea<BR>!") == "great tea !"


def test_the_reviews_become_two_streams_of_symbols(corpus):
    assert corpus.vocab_size == len(set(corpus.symbols)) == 70
    assert list(corpus.symbols) == sorted(corpus.symbols)
    assert len(corpus.train) > 3 * len(corpus.test) > 1_000_000
    assert corpus.train.dtype == corpus.test.dtype == torch.long
    assert corpus.decode(corpus.encode("this tea\n")) == "this tea\n"
    assert "<br" not in corpus.decode(corpus.test[:20_000])
    with pytest.raises(KeyError):
        corpus.encode("Ä")


def test_batches_are_windows_and_their_next_characters(corpus):
    inputs, targets = corpus.batch("train", 3, 10, torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (3, 10)
    assert torch.equal(inputs[:, 1:], targets[:, :-1])
    again, _ = corpus.batch("train", 3, 10, torch.Generator().manual_seed(0))
    assert torch.equal(inputs, again)


def test_windows_tile_the_start_of_a_split(corpus):
    windows = corpus.windows("test", 8, count=4)
    assert windows.shape == (4, 9)
    assert torch.equal(windows[1, :-1], corpus.test[8:16])
    # each window's last character is the next window's first: its target at the end
    assert torch.equal(windows[:, -1], corpus.test[torch.arange(1, 5) * 8])
    with pytest.raises(ValueError, match="split"):
        corpus.windows("validation", 8)
