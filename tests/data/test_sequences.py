"""Padded symbol sequences, the copy and reversal tasks, their masks and accuracy."""

import torch

from attention_course.data.sequences import (
    BOS,
    PAD,
    length_mask,
    mean_by_length,
    sequence_accuracy,
    sequence_batch,
)


def test_mean_by_length_groups_and_bins():
    values = torch.tensor([1.0, 0.0, 1.0, 1.0])
    lengths = torch.tensor([3, 3, 5, 9])
    assert mean_by_length(values, lengths) == ([(3, 3), (5, 5), (9, 9)], [0.5, 1.0, 1.0], [2, 1, 1])
    assert mean_by_length(values, lengths, edges=[0, 4, 6, 8, 12]) == (
        [(0, 3), (4, 5), (8, 11)],
        [0.5, 1.0, 1.0],
        [2, 1, 1],
    )


def test_accuracy_counts_target_positions_when_targets_have_their_own_lengths():
    from attention_course.data.sequences import SequenceBatch

    target = torch.tensor([[5, 6, 0], [7, 8, 0]])
    batch = SequenceBatch(
        source=torch.ones(2, 12, dtype=torch.long),
        target=target,
        lengths=torch.tensor([3, 12]),
        target_lengths=torch.tensor([2, 2]),
    )
    predicted = torch.tensor([[5, 6, 9], [7, 3, 9]])
    token, exact = sequence_accuracy(predicted, batch)
    assert token.tolist() == [1.0, 0.5] and exact.tolist() == [1.0, 0.0]


def test_reversal_targets_are_each_source_reversed_and_padded():
    batch = sequence_batch(50, 2, 9, generator=torch.Generator().manual_seed(0))
    for source, target, length in zip(batch.source, batch.target, batch.lengths):
        assert torch.equal(target[:length], source[:length].flip(0))
        assert (source[length:] == PAD).all() and (target[length:] == PAD).all()
        assert (source[:length] >= 2).all()


def test_copy_task_and_given_lengths():
    lengths = torch.tensor([3, 1, 4])
    batch = sequence_batch(
        3, 1, 4, task="copy", lengths=lengths, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(batch.source, batch.target)
    assert torch.equal(batch.lengths, lengths)
    assert (batch.decoder_input[:, 0] == BOS).all()
    assert torch.equal(batch.decoder_input[:, 1:], batch.target[:, :-1])


def test_same_seed_same_batch():
    a = sequence_batch(8, 2, 6, generator=torch.Generator().manual_seed(5))
    b = sequence_batch(8, 2, 6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.source, b.source)


def test_accuracy_counts_only_positions_inside_each_length():
    batch = sequence_batch(
        2, 3, 3, lengths=torch.tensor([3, 2]), generator=torch.Generator().manual_seed(0)
    )
    predicted = batch.target.clone()
    predicted[1, 2] = 7  # padding position: must not count
    predicted[0, 0] = (predicted[0, 0] + 1) % 10 + 2  # one real mistake
    token, exact = sequence_accuracy(predicted, batch)
    assert torch.allclose(token, torch.tensor([2 / 3, 1.0]))
    assert torch.equal(exact, torch.tensor([0.0, 1.0]))


def test_length_mask_is_true_at_each_sequences_real_positions():
    mask = length_mask(torch.tensor([3, 1, 0]))
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert length_mask([2, 4], max_length=6).tolist() == [
        [True, True, False, False, False, False],
        [True, True, True, True, False, False],
    ]
    batch = sequence_batch(5, 1, 6, generator=torch.Generator().manual_seed(2))
    assert torch.equal(batch.source_mask, batch.source != PAD)
