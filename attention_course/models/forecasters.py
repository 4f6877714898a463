"""Chapter 8's forecasters: recurrent encoder-decoders and attention over the past window.

Each takes ``past (batch, lookback, n_observed)``, the observed steps up to the origin
(the first column is the standardised series itself), and ``future_known (batch,
horizon, n_known)``, what is known in advance about each target time, and returns one
forecast per target time, ``(batch, horizon)``.

* :class:`RecurrentForecaster`: an encoder reads the window, its final state starts a
  decoder that steps through the target times, a linear layer reads each decoder state.
* :class:`RecurrentWithExtras`: the same encoder-decoder with the attention forecaster's
  output form: the change from the last observation, from the decoder state, the target
  time's features plus a learned embedding per step ahead, and the embedded last step.
* :class:`LagAttentionForecaster`: each target time queries the past steps, with a learned
  bias per lag, and predicts the change from the last observation.

Chapter 8 defines the three classes in its own cells and checks them against these
(same seed, same weights, same outputs); notebook 8b trains these over seeds. Parameters
are created in the chapter's order, so a seed gives both the same weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class RecurrentForecaster(nn.Module):
    """Encoder-decoder (``cell`` is ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``) predicting levels."""

    def __init__(self, cell, n_observed: int, n_known: int, hidden: int = 64):
        super().__init__()
        self.encoder = cell(n_observed, hidden, batch_first=True)
        self.decoder = cell(n_known, hidden, batch_first=True)
        self.output = nn.Linear(hidden, 1)

    def forward(self, past: torch.Tensor, future_known: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(past)  # (batch, lookback, n_observed) -> final state
        states, _ = self.decoder(future_known, state)  # one state per target time
        return self.output(states).squeeze(-1)  # (batch, horizon)


class RecurrentWithExtras(RecurrentForecaster):
    """The encoder-decoder with the attention forecaster's output form and embeddings."""

    def __init__(
        self, cell, n_observed: int, n_known: int, horizon: int, hidden: int = 64, d: int = 32
    ):
        super().__init__(cell, n_observed, n_known, hidden)
        self.embed = nn.Linear(n_observed, d)  # the last observed step
        self.target_time = nn.Linear(n_known, d)  # the target time's known features
        self.horizon_embedding = nn.Parameter(torch.zeros(horizon, d))  # one per step ahead
        self.output = nn.Sequential(
            nn.Linear(hidden + 2 * d, hidden), nn.GELU(), nn.Linear(hidden, 1)
        )

    def forward(self, past: torch.Tensor, future_known: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(past)
        states, _ = self.decoder(future_known, state)  # (batch, horizon, hidden)
        target_time = self.target_time(future_known) + self.horizon_embedding
        last_step = self.embed(past[:, -1:]).expand(-1, states.shape[1], -1)
        change = self.output(torch.cat([states, target_time, last_step], dim=-1)).squeeze(-1)
        return past[:, -1:, 0] + change  # the last observed (standardised) value + change


class LagAttentionForecaster(nn.Module):
    """Target times query the past window; scores carry a learned bias per lag and head.

    ``lag[h, s]`` is the distance from past step ``s`` (0 = oldest, ``lookback - 1`` = the
    origin) to target ``h + 1``. After each call, ``weights`` holds the attention weights,
    ``(batch, heads, horizon, lookback)``.
    """

    def __init__(
        self,
        n_observed: int,
        n_known: int,
        lookback: int,
        horizon: int,
        d: int = 32,
        heads: int = 4,
        hidden: int = 64,
    ):
        super().__init__()
        self.heads, self.d = heads, d
        self.embed = nn.Linear(n_observed, d)
        self.position = nn.Parameter(torch.randn(lookback, d) * 0.02)
        self.query = nn.Sequential(nn.Linear(n_known, d), nn.GELU(), nn.Linear(d, d))
        self.key, self.value, self.mix = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.lag_bias = nn.Parameter(torch.zeros(heads, lookback + horizon))  # one per lag
        self.horizon_embedding = nn.Parameter(torch.zeros(horizon, d))
        self.head = nn.Sequential(nn.Linear(3 * d, hidden), nn.GELU(), nn.Linear(hidden, 1))
        self.register_buffer(
            "lag",
            torch.arange(1, horizon + 1)[:, None] + lookback - 1 - torch.arange(lookback)[None, :],
        )
        self.weights = None  # the attention weights of the last call, for inspection

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n, d) -> (batch, heads, n, d / heads)."""
        return x.view(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2)

    def forward(self, past: torch.Tensor, future_known: torch.Tensor) -> torch.Tensor:
        batch, horizon = future_known.shape[:2]
        steps = self.embed(past) + self.position  # (batch, lookback, d)
        q = self.split_heads(self.query(future_known))  # (batch, heads, horizon, d/heads)
        k, v = self.split_heads(self.key(steps)), self.split_heads(self.value(steps))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + self.lag_bias[:, self.lag]
        weights = torch.softmax(scores, dim=-1)  # over the past steps
        self.weights = weights.detach()
        context = self.mix((weights @ v).transpose(1, 2).reshape(batch, horizon, self.d))
        target_time = self.query[0](future_known) + self.horizon_embedding
        last_step = steps[:, -1:].expand(batch, horizon, self.d)
        change = self.head(torch.cat([context, target_time, last_step], dim=-1)).squeeze(-1)
        return past[:, -1:, 0] + change  # the last observed (standardised) value + change
