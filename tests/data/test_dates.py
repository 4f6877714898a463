"""The date-translation task of Chapter 3 (attention_course.data.dates)."""

import datetime

import pytest
import torch

from attention_course.data.dates import TARGET_LENGTH, UNK, CharVocabulary, date_task, format_date
from attention_course.data.sequences import BOS, PAD


@pytest.fixture(scope="module")
def task():
    return date_task(n_train=3000, n_test=400, seed=0)


def test_babel_writes_real_month_and_day_names():
    day = datetime.date(2021, 3, 3)
    assert format_date(day, "full", "fr_FR") == "mercredi 3 mars 2021"
    assert format_date(day, "long", "de_DE") == "3. März 2021"
    assert format_date(day, "long", "es_ES") == "3 de marzo de 2021"
    assert format_date(day, "d.M.y", "en_US") == "3.3.2021"


def test_targets_are_iso_dates_of_their_sources(task):
    for example in task.train[:300] + task.test[:300]:
        day = datetime.date.fromisoformat(example.target)
        assert format_date(day, example.format, example.locale) == example.source
        assert len(example.target) == TARGET_LENGTH


def test_held_out_days_never_appear_in_training(task):
    assert not {e.target for e in task.train} & {e.target for e in task.test}


def test_same_seed_same_task_and_another_seed_another():
    a, b, c = (date_task(n_train=50, n_test=10, seed=s) for s in (3, 3, 4))
    assert a.train == b.train and a.test == b.test
    assert a.train != c.train


def test_no_two_digit_years_and_several_languages(task):
    sources = [e.source for e in task.train]
    assert all(e.target[:4] in e.source for e in task.train)
    assert len({e.locale for e in task.train}) >= 5
    assert any("März" in s for s in sources) and any("mars" in s for s in sources)


def test_vocabulary_round_trip_and_unknown_characters(task):
    vocab = task.source_vocab
    text = task.test[0].source
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.encode("Ω") == [UNK] and vocab.decode([BOS, UNK, PAD, 5]) == "?"
    assert CharVocabulary("ba").symbols == ["<pad>", "<bos>", "<unk>", "a", "b"]
    assert task.target_vocab.size == 3 + 11


def test_batches_are_padded_with_true_lengths(task):
    examples = task.test[:5]
    batch = task.batch(examples)
    assert batch.source.shape == (5, max(len(e.source) for e in examples))
    for row, example in enumerate(examples):
        length = batch.lengths[row]
        assert length == len(example.source)
        assert task.source_vocab.decode(batch.source[row]) == example.source
        assert (batch.source[row, length:] == PAD).all()
        assert task.target_vocab.decode(batch.target[row]) == example.target
    assert (batch.decoder_input[:, 0] == BOS).all()
    assert torch.equal(batch.output_lengths, torch.full((5,), TARGET_LENGTH))
    assert torch.equal(batch.source_mask, batch.source != PAD)
    typed = task.batch(["3 mars 2021"])
    assert (typed.target == PAD).all() and typed.lengths.tolist() == [11]
    with pytest.raises(ValueError, match="empty"):
        task.batch([""])


def test_sampled_batches_are_trimmed_and_reproducible(task):
    a = task.sample_batch(16, torch.Generator().manual_seed(1))
    b = task.sample_batch(16, torch.Generator().manual_seed(1))
    assert torch.equal(a.source, b.source)
    assert a.source.shape[1] == int(a.lengths.max())
    assert a.target.shape == (16, TARGET_LENGTH)
