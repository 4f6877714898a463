"""Food reviews, tokens, vocabularies and word vectors (attention_course.data.text)."""

import numpy as np
import pytest
import torch

from attention_course.data.text import (
    PAD,
    UNKNOWN,
    Vocabulary,
    WordVectors,
    build_vocabulary,
    encode,
    load_food_reviews,
    tokenize,
    word_vectors,
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


def test_word_vectors_put_words_used_alike_near_each_other():
    texts = [
        "the cat drinks milk",
        "the dog drinks milk",
        "the cat eats fish",
        "the dog eats fish",
        "a car needs fuel",
        "a truck needs fuel",
    ] * 20
    vectors = word_vectors(texts, size=4, vocabulary_size=50)
    assert isinstance(vectors, WordVectors) and vectors.vectors.shape == (12, 4)
    assert vectors.vocabulary[0] == "the"  # most frequent first
    assert vectors.most_similar("cat", 1) == ["dog"]
    assert vectors.most_similar("car", 1) == ["truck"]
    assert "cat" in vectors and "zebra" not in vectors
    with pytest.raises(KeyError, match="zebra"):
        vectors["zebra"]
    again = word_vectors(texts, size=4, vocabulary_size=50)
    np.testing.assert_array_equal(vectors.vectors, again.vectors)
