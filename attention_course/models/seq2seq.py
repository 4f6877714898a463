"""Recurrent encoder-decoders.

* :class:`Seq2Seq` (Chapter 1): the decoder sees the source only through c = h_n.
* :class:`AttentionSeq2Seq` (Chapter 3): a bidirectional encoder, and a decoder that
  computes a new context c_i by attention over every encoder state at every step;
  :class:`FixedContextSeq2Seq` is the same model with one context vector, the baseline.
* :func:`teacher_forcing_loss` and :func:`exact_match` train and evaluate any of them.

Usage, on the date task of Chapter 3::

    task = date_task(seed=0)
    generator = set_seed(0)
    model = AttentionSeq2Seq(task.source_vocab.size, task.target_vocab.size)
    train(model, lambda step: teacher_forcing_loss(model, task.sample_batch(128, generator)),
          steps=150)
    predicted, exact = exact_match(model, task.batch(task.test))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.sequences import BOS, PAD, length_mask, sequence_accuracy
from .additive_attention import AdditiveScore, Attention


class Seq2Seq(nn.Module):
    """A GRU encoder and a GRU decoder joined by one fixed-size context vector.

    The encoder reads the whole source; its last hidden state ``c = h_n`` becomes the
    decoder's first hidden state, and that vector is all the decoder ever learns about
    the source.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.encoder = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.decoder = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, vocab_size)

    def encode(self, source: torch.Tensor, lengths: torch.Tensor):
        """Return all encoder states (batch, length, hidden) and c = h_n (1, batch, hidden)."""
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(source), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        # Packing makes h_n the state after each sequence's *own* last symbol, not after
        # the padding that follows it.
        states, context = self.encoder(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(
            states, batch_first=True, total_length=source.shape[1]
        )
        return states, context

    def forward(self, source, lengths, decoder_input):
        """Teacher forcing: logits (batch, target length, vocab) for the given decoder input."""
        _, context = self.encode(source, lengths)
        outputs, _ = self.decoder(self.embed(decoder_input), context)
        return self.output(outputs)

    @torch.no_grad()
    def greedy_decode(self, source, lengths, steps: int, bos: int = 1) -> torch.Tensor:
        """Feed back the most likely symbol at each step; return (batch, steps) ids."""
        _, hidden = self.encode(source, lengths)
        token = torch.full((source.shape[0], 1), bos, dtype=torch.long)
        produced = []
        for _ in range(steps):
            output, hidden = self.decoder(self.embed(token), hidden)
            token = self.output(output).argmax(-1)
            produced.append(token)
        return torch.cat(produced, dim=1)


class BidirectionalEncoder(nn.Module):
    """Embeddings and two GRUs, one reading each source forwards and one backwards.

    The state of symbol j is ``h_j = [forward h_j ; backward h_j]``: what came before j
    and what comes after it. The *summary* ``[forward h_n ; backward h_1]`` (each
    direction's last state) is the single vector a decoder without attention gets.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.forward_rnn = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.backward_rnn = nn.GRU(embed_dim, hidden_size, batch_first=True)

    def forward(self, source: torch.Tensor, lengths: torch.Tensor):
        """Return states (batch, length, 2 * hidden) and the summary (batch, 2 * hidden)."""
        embedded = self.embed(source)
        positions = torch.arange(source.shape[1])[None, :]
        inside = length_mask(lengths, source.shape[1])
        # Each source reversed within its own length (padding stays at the end), so the
        # backward GRU starts at the source's last symbol, not at its padding. Forward
        # states at padded positions come after the source's end and are zeroed below.
        # (Packed sequences do the same, but run one small step at a time: slower here.)
        reverse = torch.where(inside, lengths[:, None] - 1 - positions, positions)
        forward_states, _ = self.forward_rnn(embedded)
        backward_states, _ = self.backward_rnn(_reorder(embedded, reverse))
        backward_states = _reorder(backward_states, reverse)  # back to source order
        states = torch.cat([forward_states, backward_states], dim=-1) * inside[:, :, None]
        last = forward_states[torch.arange(source.shape[0]), lengths - 1]
        return states, torch.cat([last, backward_states[:, 0]], dim=-1)


def _reorder(sequences: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Row b of the result is sequences[b, order[b]]: (batch, length, size)."""
    return sequences.gather(1, order[:, :, None].expand(-1, -1, sequences.shape[2]))


@dataclass
class EncodedSource:
    """What the encoder hands the decoder, computed once per batch of sources."""

    states: torch.Tensor  # (batch, length, key_size): h_j, the values attention averages
    keys: torch.Tensor | None  # what the score compares the query with (see Attention.keys)
    mask: torch.Tensor  # (batch, length): True at real symbols, False at padding
    summary: torch.Tensor  # (batch, key_size): [forward h_n ; backward h_1]


class AttentionSeq2Seq(nn.Module):
    """A bidirectional GRU encoder and a GRU decoder with a new context c_i at every step.

    At output step i, with previous decoder state s_(i-1) and previous output y_(i-1):

    * attention: weights a_ij = normalize(score(s_(i-1), h_j)) over the source positions
      j (padding masked out), context c_i = sum_j a_ij h_j;
    * recurrence: s_i = GRUCell([embed(y_(i-1)) ; c_i], s_(i-1));
    * output: logits = W_o [s_i ; c_i ; embed(y_(i-1))], i.e. g(y_(i-1), s_i, c_i).

    The first state is s_0 = tanh(W_s [forward h_n ; backward h_1]). ``attention`` is an
    :class:`~attention_course.models.additive_attention.Attention` (or any module with its
    ``keys(states)`` and ``context, weights = attention(query, keys, values, mask)``);
    the default is Bahdanau's additive score with a masked softmax. Its query size is
    ``model.query_size`` (the decoder's), its key size ``model.key_size`` (twice the
    encoder's).

    Usage::

        model = AttentionSeq2Seq(task.source_vocab.size, task.target_vocab.size)
        loss = teacher_forcing_loss(model, batch)              # train on this
        tokens, weights = model.greedy_decode(batch.source, batch.lengths, steps=10,
                                              return_weights=True)  # (B, 10), (B, 10, S)
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        attention: nn.Module | None = None,
        embed_dim: int = 32,
        encoder_size: int = 64,
        decoder_size: int = 128,
        attention_size: int = 64,
    ):
        super().__init__()
        self.query_size, self.key_size = decoder_size, 2 * encoder_size
        self.encoder = BidirectionalEncoder(source_vocab_size, embed_dim, encoder_size)
        self.first_state = nn.Linear(self.key_size, decoder_size)  # W_s
        self.embed = nn.Embedding(target_vocab_size, embed_dim, padding_idx=PAD)
        self.cell = nn.GRUCell(embed_dim + self.key_size, decoder_size)
        self.output = nn.Linear(decoder_size + self.key_size + embed_dim, target_vocab_size)
        if attention is None:
            attention = Attention(AdditiveScore(decoder_size, self.key_size, attention_size))
        self.attention = attention

    def encode(self, source: torch.Tensor, lengths: torch.Tensor) -> EncodedSource:
        """Encoder states and what every decoder step needs of them, and s_0."""
        states, summary = self.encoder(source, lengths)
        mask = length_mask(lengths, source.shape[1])
        keys = None if self.attention is None else self.attention.keys(states)
        return EncodedSource(states, keys, mask, summary), torch.tanh(self.first_state(summary))

    def attend(self, previous_state: torch.Tensor, source: EncodedSource):
        """The context c_i (batch, key_size) and weights a_i (batch, length) for one step."""
        return self.attention(previous_state, source.keys, source.states, source.mask)

    def decoder_step(
        self, previous_token: torch.Tensor, previous_state: torch.Tensor, source: EncodedSource
    ):
        """One output step: returns s_i, the logits of y_i and the attention weights a_i."""
        embedded = self.embed(previous_token)
        state, context, weights = self._recur(embedded, previous_state, source)
        logits = self.output(torch.cat([state, context, embedded], dim=-1))
        return state, logits, weights

    def _recur(self, embedded: torch.Tensor, previous_state: torch.Tensor, source: EncodedSource):
        """Attention and the GRU cell of one step: s_i, c_i and a_i (no output layer)."""
        context, weights = self.attend(previous_state, source)
        state = self.cell(torch.cat([embedded, context], dim=-1), previous_state)
        return state, context, weights

    def forward(self, source, lengths, decoder_input, return_weights: bool = False):
        """Teacher forcing: logits (batch, target length, vocab) for the given decoder input.

        With ``return_weights``, also the attention weights (batch, target length, source
        length), or None for a model without attention.
        """
        encoded, state = self.encode(source, lengths)
        # The same computation as decoder_step at every step, but with the previous symbols
        # given, the embedding and the output layer do not feed back into the loop: each
        # runs once for all steps (fewer, larger operations: about 10% faster to train).
        embedded = self.embed(decoder_input)
        states, contexts, all_weights = [], [], []
        for i in range(decoder_input.shape[1]):
            state, context, weights = self._recur(embedded[:, i], state, encoded)
            states.append(state)
            contexts.append(context)
            all_weights.append(weights)
        features = [torch.stack(states, dim=1), torch.stack(contexts, dim=1), embedded]
        logits = self.output(torch.cat(features, dim=-1))
        return (logits, _stack_weights(all_weights)) if return_weights else logits

    @torch.no_grad()
    def greedy_decode(
        self, source, lengths, steps: int, bos: int = BOS, return_weights: bool = False
    ):
        """Feed back the most likely symbol at each step; return (batch, steps) ids.

        With ``return_weights``, also the weights (batch, steps, source length) or None.
        """
        encoded, state = self.encode(source, lengths)
        token = torch.full((source.shape[0],), bos, dtype=torch.long)
        produced, all_weights = [], []
        for _ in range(steps):
            state, logits, weights = self.decoder_step(token, state, encoded)
            token = logits.argmax(-1)
            produced.append(token)
            all_weights.append(weights)
        tokens = torch.stack(produced, dim=1)
        return (tokens, _stack_weights(all_weights)) if return_weights else tokens


class FixedContextSeq2Seq(AttentionSeq2Seq):
    """The same encoder and decoder without attention: c_i = c = [forward h_n ; backward h_1].

    Every step gets the one summary vector of the source (as in Cho et al., 2014), so the
    two models differ only in where the context comes from.
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        embed_dim: int = 32,
        encoder_size: int = 64,
        decoder_size: int = 128,
    ):
        super().__init__(
            source_vocab_size,
            target_vocab_size,
            embed_dim=embed_dim,
            encoder_size=encoder_size,
            decoder_size=decoder_size,
        )
        self.attention = None

    def attend(self, previous_state, source):
        return source.summary, None


def _stack_weights(weights: list):
    return None if weights[0] is None else torch.stack(weights, dim=1)


def teacher_forcing_loss(model: nn.Module, batch) -> torch.Tensor:
    """Cross-entropy of the model's next-symbol logits on a batch, padding ignored."""
    logits = model(batch.source, batch.lengths, batch.decoder_input)
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), batch.target.reshape(-1), ignore_index=PAD
    )


def exact_match(model: nn.Module, batch, steps: int | None = None) -> tuple:
    """Greedy outputs (batch, steps) and, per sequence, 1.0 if every symbol is right."""
    steps = steps or batch.target.shape[1]
    was_training = model.training
    model.eval()
    predicted = model.greedy_decode(batch.source, batch.lengths, steps=steps)
    model.train(was_training)
    _, exact = sequence_accuracy(predicted, batch)
    return predicted, exact
