"""Attention over encoder states: a score, a normaliser, and the weighted sum.

One decoder step of an attention model asks: given my previous state (the *query*),
how much does each encoder state matter now? The answer is computed in three
swappable parts:

* a **score** module, ``score(query, keys) -> scores``: query (batch, query_size), keys
  (batch, source_length, key_size), scores (batch, source_length). A score may also
  define ``project_keys(states) -> keys``, the part of its work that depends only on the
  encoder states, done once per source instead of once per output step; without it the
  keys are the encoder states themselves. This module has the additive score of
  Bahdanau et al. (2014), ``v^T tanh(W_1 h_j + W_2 s_(i-1))``, whose ``W_1 h_j`` is
  such a projection;
* a **normaliser**, ``normalize(scores, mask) -> weights``: mask (batch, source_length)
  is True at real source positions; padding must get weight 0. This module has
  :func:`masked_softmax`;
* :class:`Attention` joins them and returns the context ``c_i = sum_j a_ij h_j`` (a
  weighted sum of the *values*, the encoder states) and the weights ``a_ij`` (kept
  for heatmaps).

Another score or normaliser is a drop-in replacement::

    class DotScore(nn.Module):
        def forward(self, query, keys):
            return (keys @ query[:, :, None]).squeeze(-1)

    attention = Attention(DotScore(), normalize=masked_softmax)
    model = AttentionSeq2Seq(source_size, target_size, attention=attention)

    keys = attention.keys(states)                        # once per source
    context, weights = attention(query, keys, states, mask)   # at every output step

A normaliser that is an ``nn.Module`` (with parameters, or behaving differently in
training and evaluation) is registered as a submodule and trained with the model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class AdditiveScore(nn.Module):
    """Bahdanau's score ``s_ij = v^T tanh(W_1 h_j + W_2 s_(i-1))`` for a batch.

    ``W_1`` (``key``) maps each encoder state, ``W_2`` (``query``) the decoder state,
    into a shared space of ``attention_size``; ``v`` turns the sum into one number.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int = 64):
        super().__init__()
        self.key = nn.Linear(key_size, attention_size, bias=False)  # W_1
        self.query = nn.Linear(query_size, attention_size, bias=False)  # W_2
        self.v = nn.Linear(attention_size, 1, bias=False)

    def project_keys(self, states: torch.Tensor) -> torch.Tensor:
        """W_1 h_j for every source position: the same at every output step, so done once."""
        return self.key(states)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """query (batch, query_size), keys = W_1 h (batch, length, attention_size)."""
        # (batch, length, attention) + (batch, 1, attention): one query against every key.
        hidden = torch.tanh(keys + self.query(query)[:, None, :])
        return self.v(hidden).squeeze(-1)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis where ``mask`` is True; exactly 0 where it is False.

    A row with no True entry (all padding) gets weights 0 everywhere, never NaN.
    """
    # The most negative finite number, not -inf: exp of it is exactly 0 next to any real
    # score, and a row that is all padding gives a uniform softmax (zeroed below)
    # instead of 0/0 = NaN.
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=-1) * mask


class Attention(nn.Module):
    """``context, weights = attention(query, keys, values, mask)``: score, normalise, sum."""

    def __init__(
        self,
        score: nn.Module,
        normalize: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = masked_softmax,
    ):
        super().__init__()
        self.score = score
        self.normalize = normalize  # an nn.Module here becomes a trained submodule

    def keys(self, states: torch.Tensor) -> torch.Tensor:
        """The keys the score compares a query with: its projection of the states, if any."""
        project = getattr(self.score, "project_keys", None)
        return states if project is None else project(states)

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ):
        """query (batch, query_size), keys from :meth:`keys`, values (batch, length,
        value_size), mask (batch, length). Returns the context (batch, value_size) and the
        weights (batch, length).
        """
        weights = self.normalize(self.score(query, keys), mask)
        # c_i = sum_j a_ij h_j, for every row of the batch at once. (A batched matrix
        # product computes the same, but is several times slower on a CPU at these sizes.)
        context = (weights[:, :, None] * values).sum(dim=1)
        return context, weights
