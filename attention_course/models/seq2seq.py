"""The encoder-decoder of Chapter 1: the decoder sees the source only through c = h_n."""

from __future__ import annotations

import torch
from torch import nn


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
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True,
                                                     total_length=source.shape[1])
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
