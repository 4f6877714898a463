"""The small coreference language of Chapter 5 (attention_course.data.coreference)."""

import numpy as np
import pytest
import torch

from attention_course.data import coreference


def test_the_splits_share_no_noun_pair_and_cover_them_all():
    train, test = coreference.noun_pairs("train"), coreference.noun_pairs("test")
    assert not set(train) & set(test)
    assert len(train) + len(test) == len(coreference.ANIMALS) * len(coreference.PLACES)
    assert len(test) == len(train) // 3
    with pytest.raises(ValueError, match="split"):
        coreference.noun_pairs("validation")


def test_a_batch_names_the_noun_the_adjective_fits():
    batch = coreference.referent_batch(200, "test", torch.Generator().manual_seed(0))
    assert batch.tokens.shape == (200, int(batch.lengths.max()))
    test_pairs = set(coreference.noun_pairs("test"))
    for row, sentence in enumerate(batch.sentences):
        assert sentence.count("it") == 1
        assert (batch.tokens[row, : len(sentence)] != 0).all()
        assert (batch.tokens[row, len(sentence) :] == 0).all()
        adjective = sentence[batch.adjective[row]]
        noun = coreference.VOCABULARY[batch.target[row]]
        assert sentence[batch.target_position[row]] == noun
        kind = (
            coreference.ANIMALS
            if adjective in coreference.ANIMAL_ADJECTIVES
            else coreference.PLACES
        )
        assert noun in kind
        animal = next(w for w in sentence if w in coreference.ANIMALS)
        place = next(w for w in sentence if w in coreference.PLACES)
        assert (animal, place) in test_pairs
    assert (
        0.35
        < np.mean(
            [n in coreference.ANIMALS for n in (coreference.VOCABULARY[t] for t in batch.target)]
        )
        < 0.65
    )


def test_batches_are_reproducible_and_the_seed_sentence_is_in_the_language():
    a = coreference.referent_batch(8, generator=torch.Generator().manual_seed(3))
    b = coreference.referent_batch(8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.tokens, b.tokens) and a.sentences == b.sentences
    ids = coreference.encode("the animal didn't cross the street because it was too tired")
    assert ids.shape == (11,)
    with pytest.raises(ValueError, match="elephant"):
        coreference.encode("the elephant didn't cross")
