"""The date-translation task and the attention encoder-decoder of Chapter 3."""

import datetime

import pytest
import torch

from attention_course.data.dates import TARGET_LENGTH, UNK, CharVocabulary, date_task, format_date
from attention_course.data.sequences import BOS, PAD, mean_by_length, sequence_accuracy
from attention_course.models.additive_attention import AdditiveScore, Attention, masked_softmax
from attention_course.models.seq2seq import (
    AttentionSeq2Seq,
    BidirectionalEncoder,
    FixedContextSeq2Seq,
    exact_match,
    teacher_forcing_loss,
)
from attention_course.reproducibility import set_seed
from attention_course.training import train


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


def test_masked_softmax_gives_padding_zero_weight_and_never_nan():
    scores = torch.randn(3, 5, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    weights = masked_softmax(scores, mask)
    assert torch.allclose(weights[0, :3], torch.softmax(scores[0, :3], dim=0))
    assert torch.allclose(weights[1], torch.softmax(scores[1], dim=0))
    assert (weights[0, 3:] == 0).all() and (weights[2] == 0).all()
    weights.sum().backward()
    assert torch.isfinite(scores.grad).all()
    huge = masked_softmax(torch.tensor([[1e30, -1e30, 0.0]]), torch.tensor([[0, 1, 1]]).bool())
    assert torch.allclose(huge, torch.tensor([[0.0, 0.0, 1.0]]))


def test_additive_score_and_attention_follow_their_equations():
    torch.manual_seed(0)
    score = AdditiveScore(query_size=6, key_size=4, attention_size=5)
    query, states = torch.randn(2, 6), torch.randn(2, 3, 4)
    W_1, W_2, v = score.key.weight, score.query.weight, score.v.weight[0]
    expected = torch.stack(
        [
            torch.stack([v @ torch.tanh(W_1 @ states[b, j] + W_2 @ query[b]) for j in range(3)])
            for b in range(2)
        ]
    )
    attention = Attention(score)
    keys = attention.keys(states)
    assert torch.allclose(score(query, keys), expected, atol=1e-6)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    context, weights = attention(query, keys, states, mask)
    assert torch.allclose(weights, masked_softmax(expected, mask), atol=1e-6)
    assert torch.allclose(context, torch.einsum("bj,bjd->bd", weights, states), atol=1e-6)


def test_a_score_without_projection_compares_with_the_states_themselves():
    class DotScore(torch.nn.Module):
        def forward(self, query, keys):
            return (keys @ query[:, :, None]).squeeze(-1)

    states = torch.randn(2, 4, 3)
    attention = Attention(DotScore())
    assert attention.keys(states) is states
    context, weights = attention(torch.randn(2, 3), states, states, torch.ones(2, 4).bool())
    assert context.shape == (2, 3) and torch.allclose(weights.sum(-1), torch.ones(2))


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


def test_mean_by_length_groups_and_bins():
    values = torch.tensor([1.0, 0.0, 1.0, 1.0])
    lengths = torch.tensor([3, 3, 5, 9])
    assert mean_by_length(values, lengths) == ([(3, 3), (5, 5), (9, 9)], [0.5, 1.0, 1.0], [2, 1, 1])
    assert mean_by_length(values, lengths, edges=[0, 4, 6, 8, 12]) == (
        [(0, 3), (4, 5), (8, 11)],
        [0.5, 1.0, 1.0],
        [2, 1, 1],
    )


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
