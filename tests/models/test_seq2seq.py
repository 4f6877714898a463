"""The recurrent encoder-decoders of Chapters 1 and 3 (attention_course.models.seq2seq)."""

import pytest
import torch

from attention_course.data.dates import TARGET_LENGTH, date_task
from attention_course.data.sequences import (
    BOS,
    sequence_accuracy,
    sequence_batch,
    vocabulary_size,
)
from attention_course.models.additive_attention import masked_softmax
from attention_course.models.seq2seq import (
    AttentionSeq2Seq,
    BidirectionalEncoder,
    FixedContextSeq2Seq,
    Seq2Seq,
    exact_match,
    teacher_forcing_loss,
)
from attention_course.reproducibility import set_seed
from attention_course.training import train


@pytest.fixture(scope="module")
def task():
    return date_task(n_train=3000, n_test=400, seed=0)


def test_encoder_reads_each_source_to_its_own_end_in_both_directions():
    torch.manual_seed(0)
    encoder = BidirectionalEncoder(vocab_size=9, embed_dim=4, hidden_size=5)
    source = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    states, summary = encoder(source, torch.tensor([4, 2]))
    alone, alone_summary = encoder(source[1:, :2], torch.tensor([2]))
    assert states.shape == (2, 4, 10) and summary.shape == (2, 10)
    assert torch.allclose(states[1, :2], alone[0], atol=1e-6)
    assert torch.allclose(summary[1], alone_summary[0], atol=1e-6)
    assert (states[1, 2:] == 0).all()
    # The summary is [forward state at the last symbol ; backward state at the first].
    assert torch.allclose(summary[:, :5], torch.stack([states[0, 3, :5], states[1, 1, :5]]))
    assert torch.allclose(summary[:, 5:], states[:, 0, 5:])


def test_encoder_equals_a_packed_bidirectional_torch_gru():
    torch.manual_seed(1)
    encoder = BidirectionalEncoder(vocab_size=9, embed_dim=4, hidden_size=5)
    reference = torch.nn.GRU(4, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(encoder.forward_rnn, f"{name}_l0"))
            getattr(reference, f"{name}_l0_reverse").copy_(
                getattr(encoder.backward_rnn, f"{name}_l0")
            )
    source = torch.tensor([[3, 4, 5, 6, 7], [7, 8, 0, 0, 0], [5, 3, 6, 0, 0]])
    lengths = torch.tensor([5, 2, 3])
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        encoder.embed(source), lengths, batch_first=True, enforce_sorted=False
    )
    expected, last = reference(packed)
    expected, _ = torch.nn.utils.rnn.pad_packed_sequence(expected, batch_first=True)
    states, summary = encoder(source, lengths)
    assert torch.allclose(states, expected, atol=1e-6)
    assert torch.allclose(summary, torch.cat([last[0], last[1]], dim=-1), atol=1e-6)


@pytest.mark.parametrize("model_class", [AttentionSeq2Seq, FixedContextSeq2Seq])
def test_models_ignore_padding_and_decode_what_teacher_forcing_scores(task, model_class):
    torch.manual_seed(0)
    model = model_class(task.source_vocab.size, task.target_vocab.size).eval()
    batch = task.batch(task.test[:6])
    tokens, weights = model.greedy_decode(
        batch.source, batch.lengths, steps=TARGET_LENGTH, return_weights=True
    )
    assert tokens.shape == (6, TARGET_LENGTH)
    # Extra padding columns change nothing.
    wider = torch.cat([batch.source, torch.zeros(6, 3, dtype=torch.long)], dim=1)
    assert torch.equal(model.greedy_decode(wider, batch.lengths, steps=TARGET_LENGTH), tokens)
    # Feeding the greedy outputs back with teacher forcing gives the same choices.
    fed = torch.cat([torch.full((6, 1), BOS), tokens[:, :-1]], dim=1)
    with torch.no_grad():
        logits = model(batch.source, batch.lengths, fed)
    assert torch.equal(logits.argmax(-1), tokens)
    # forward computes the output layer once for all steps: the same logits as decoder_step.
    with torch.no_grad():
        encoded, state = model.encode(batch.source, batch.lengths)
        for i in range(TARGET_LENGTH):
            state, step_logits, _ = model.decoder_step(fed[:, i], state, encoded)
            assert torch.allclose(step_logits, logits[:, i], atol=1e-6)
    if model_class is FixedContextSeq2Seq:
        assert weights is None and model.attention is None
    else:
        assert weights.shape == (6, TARGET_LENGTH, batch.source.shape[1])
        assert torch.allclose(weights.sum(-1), torch.ones(6, TARGET_LENGTH), atol=1e-5)
        assert (weights[~batch.source_mask[:, None, :].expand_as(weights)] == 0).all()


def test_the_baseline_is_the_attention_model_minus_its_attention(task):
    with_attention = AttentionSeq2Seq(task.source_vocab.size, task.target_vocab.size)
    without = FixedContextSeq2Seq(task.source_vocab.size, task.target_vocab.size)
    names = {name for name, _ in with_attention.named_parameters()}
    assert {name for name, _ in without.named_parameters()} == {
        name for name in names if not name.startswith("attention.")
    }


def test_attention_learns_dates_in_a_few_dozen_steps(task):
    generator = set_seed(0)
    model = AttentionSeq2Seq(task.source_vocab.size, task.target_vocab.size)
    log = train(
        model, lambda step: teacher_forcing_loss(model, task.sample_batch(64, generator)), steps=40
    )
    assert log.final_loss < 0.5 * log.losses[0]
    predicted, exact = exact_match(model, task.batch(task.test[:50]))
    assert predicted.shape == (50, TARGET_LENGTH) and exact.shape == (50,)
    assert not model.training


def test_exact_match_counts_whole_sequences(task):
    batch = task.batch(task.test[:3])

    class Parrot(torch.nn.Module):
        def greedy_decode(self, source, lengths, steps):
            answer = batch.target.clone()
            answer[1, 4] = (answer[1, 4] + 1) % 10 + 3
            return answer[:, :steps]

    _, exact = exact_match(Parrot(), batch)
    assert exact.tolist() == [1.0, 0.0, 1.0]
    _, short = sequence_accuracy(batch.target[:, :9], batch)
    assert short.tolist() == [0.0, 0.0, 0.0]


def test_decoder_step_scores_the_previous_state(task):
    torch.manual_seed(0)
    model = AttentionSeq2Seq(task.source_vocab.size, task.target_vocab.size).eval()
    batch = task.batch(task.test[:4])
    with torch.no_grad():
        encoded, first_state = model.encode(batch.source, batch.lengths)
        token = torch.full((4,), BOS)
        other_state = torch.randn_like(first_state)
        _, _, weights = model.decoder_step(token, first_state, encoded)
        _, _, other_weights = model.decoder_step(token, other_state, encoded)
        expected = masked_softmax(model.attention.score(other_state, encoded.keys), encoded.mask)
    assert not torch.allclose(weights, other_weights)
    assert torch.allclose(other_weights, expected, atol=1e-6)


def test_context_is_the_state_after_each_sequences_own_last_symbol():
    torch.manual_seed(0)
    model = Seq2Seq(vocabulary_size(10), hidden_size=16)
    batch = sequence_batch(
        4, 2, 7, lengths=torch.tensor([7, 2, 5, 3]), generator=torch.Generator().manual_seed(1)
    )
    states, context = model.encode(batch.source, batch.lengths)
    assert states.shape == (4, 7, 16) and context.shape == (1, 4, 16)
    for row, length in enumerate(batch.lengths):
        assert torch.allclose(context[0, row], states[row, length - 1])
    logits = model(batch.source, batch.lengths, batch.decoder_input)
    assert logits.shape == (4, 7, vocabulary_size(10))
    assert model.greedy_decode(batch.source, batch.lengths, steps=5).shape == (4, 5)
