"""The attention zoo (Chapter 4): score functions, normalisers, hard and local attention.

Everything here plugs into Chapter 3's
:class:`~attention_course.models.additive_attention.Attention` and
:class:`~attention_course.models.seq2seq.AttentionSeq2Seq` without changing them:

* **scores** ``score(query, keys) -> scores`` with query (batch, query_size), keys (batch,
  length, key_size) and scores (batch, length); a score may define ``project_keys(states)``,
  its work on the encoder states done once per source:

  - :class:`DotScore` ``s^T h_j`` (no parameters; query and key sizes must be equal),
  - :class:`ScaledDotScore` ``s^T h_j / sqrt(d)``,
  - :class:`GeneralScore` ``s^T W h_j`` (Luong's "general", a multiplicative score),
  - Chapter 3's :class:`~attention_course.models.additive_attention.AdditiveScore`
    ``v^T tanh(W_1 h_j + W_2 s)`` (Bahdanau's, also called "concat");

* **normalisers** ``normalize(scores, mask) -> weights`` (mask True at real positions,
  padding gets weight 0): Chapter 3's ``masked_softmax``, :func:`masked_sparsemax`
  (a Euclidean projection onto the simplex: weights sum to 1 and many are exactly 0),
  :func:`masked_sigmoid` (each weight in (0, 1) on its own: they need not sum to 1), and
  :class:`HardAttentionSampler` (one position, sampled while training);

* :class:`LocalAttention`: Luong's local attention, which scores only a window of
  ``2 D + 1`` positions around an aligned position, predicted from the decoder state or
  moving monotonically along the source.

Usage::

    attention = Attention(GeneralScore(model_query_size, model_key_size),
                          normalize=masked_sparsemax)
    model = AttentionSeq2Seq(source_size, target_size, attention=attention)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .additive_attention import AdditiveScore, Attention, masked_softmax

__all__ = [
    "AdditiveScore",
    "DotScore",
    "GeneralScore",
    "HardAttentionSampler",
    "LocalAttention",
    "ScaledDotScore",
    "masked_sigmoid",
    "masked_sparsemax",
    "sparsemax",
]


# --- score functions ---------------------------------------------------------------


class DotScore(nn.Module):
    """The dot score ``s^T h_j``: how well the query lines up with each key.

    No parameters, so the decoder state and the encoder states must live in spaces of the
    same size and learn to line up by themselves.
    """

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """query (batch, d), keys (batch, length, d) -> scores (batch, length)."""
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(
                f"a dot score needs queries and keys of one size, got "
                f"{query.shape[-1]} and {keys.shape[-1]}"
            )
        # Broadcast-multiply and sum: on a CPU at these sizes it is faster than a
        # batched matrix product with a length-1 dimension.
        return (keys * query[:, None, :]).sum(dim=-1)


class ScaledDotScore(DotScore):
    """The scaled dot score ``s^T h_j / sqrt(d)`` of the Transformer.

    A sum of ``d`` products grows like ``sqrt(d)`` when its terms are random; dividing by
    ``sqrt(d)`` keeps the scores, and so the softmax, out of saturation at any width.
    """

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return super().forward(query, keys) / math.sqrt(keys.shape[-1])


class GeneralScore(nn.Module):
    """Luong's "general" (multiplicative) score ``s^T W h_j`` with ``W`` (query_size, key_size).

    ``W h_j`` depends only on the source, so it is computed once per source
    (:meth:`project_keys`); each output step then costs one dot product per position.
    """

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        # W maps a key into the query's space. Initialised like nn.Linear(key_size, ...).
        bound = 1 / math.sqrt(key_size)
        self.W = nn.Parameter(torch.empty(query_size, key_size).uniform_(-bound, bound))

    def project_keys(self, states: torch.Tensor) -> torch.Tensor:
        """``W h_j`` at every position: (batch, length, key_size) -> (batch, length, query_size)."""
        return states @ self.W.T

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """query (batch, query_size), keys = W h (batch, length, query_size)."""
        return (keys * query[:, None, :]).sum(dim=-1)


# --- normalisers -------------------------------------------------------------------


def sparsemax(scores: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Sparsemax (Martins and Astudillo, 2016): the point of the simplex nearest ``scores``.

    ``sparsemax(z)_j = max(z_j - tau, 0)``, with the threshold ``tau`` chosen so the
    weights sum to 1. Sort the scores in decreasing order ``z_(1) >= z_(2) >= ...``; the
    support is the largest ``k`` with ``1 + k z_(k) > z_(1) + ... + z_(k)``, and
    ``tau = (z_(1) + ... + z_(k) - 1) / k``. Scores more than ``tau`` below the top get
    weight exactly 0.
    """
    # Shifting every score by the same amount changes nothing but keeps the sums small.
    scores = scores - scores.amax(dim=dim, keepdim=True).detach()
    ordered, _ = scores.sort(dim=dim, descending=True)
    cumulative = ordered.cumsum(dim=dim)
    shape = [1] * scores.dim()
    shape[dim] = scores.shape[dim]
    k = torch.arange(1, scores.shape[dim] + 1, dtype=scores.dtype).view(shape)
    in_support = 1 + k * ordered > cumulative  # True for a prefix of the sorted scores
    support = in_support.sum(dim=dim, keepdim=True)  # at least 1: the top score
    tau = (cumulative.gather(dim, support - 1) - 1) / support.to(scores.dtype)
    return torch.clamp(scores - tau, min=0)


def masked_sparsemax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sparsemax over the last axis where ``mask`` is True; exactly 0 where it is False."""
    # A padded position must stay out of the support. Sparsemax gives 0 to every score
    # at least 1 below the largest, so fill padding with (smallest real score - 1): finite,
    # unlike -inf, which would turn the cumulative sums into inf - inf = NaN.
    lowest = scores.masked_fill(~mask, torch.finfo(scores.dtype).max).amin(-1, keepdim=True)
    lowest = torch.where(mask.any(-1, keepdim=True), lowest, torch.zeros_like(lowest))
    filled = torch.where(mask, scores, (lowest - 1).detach())
    return sparsemax(filled, dim=-1) * mask  # a row of padding only ends all 0


def masked_sigmoid(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``sigmoid(score)`` for each real position on its own; 0 at padding.

    The weights do not compete: none needs to fall for another to rise, and their sum,
    anywhere between 0 and the source length, is not 1.
    """
    return torch.sigmoid(scores) * mask


class HardAttentionSampler(nn.Module):
    """Hard attention as a normaliser: all the weight on one position.

    While training, the position is *sampled* from ``p = masked_softmax(scores, mask)``;
    in evaluation it is the most likely one (or sampled too, with ``sample_in_eval``).
    Sampling is not differentiable, so the scores need another route to a gradient:

    * ``estimator="straight-through"`` (default): the forward pass uses the one-hot
      weights, the backward pass pretends the weights were ``p`` (``one_hot + p -
      p.detach()``). Biased, but it needs no change to the loss and its gradients vary
      little from sample to sample.
    * ``estimator="reinforce"``: the weights are the bare one-hot vector (no gradient
      reaches the scores through them); ``log p(chosen position)`` of every step is
      appended to :attr:`log_probs`, for a score-function (REINFORCE) term the training
      loss adds itself. Unbiased, but noisy.

    ``generator`` (a ``torch.Generator``) makes the samples reproducible.
    """

    ESTIMATORS = ("straight-through", "reinforce")

    def __init__(
        self,
        estimator: str = "straight-through",
        generator: torch.Generator | None = None,
        sample_in_eval: bool = False,
    ):
        super().__init__()
        if estimator not in self.ESTIMATORS:
            raise ValueError(f"estimator must be one of {self.ESTIMATORS}, got {estimator!r}")
        self.estimator = estimator
        self.generator = generator
        self.sample_in_eval = sample_in_eval
        self.log_probs: list[torch.Tensor] = []  # (batch,) per step, REINFORCE only

    def forward(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not mask.any(-1).all():
            raise ValueError("hard attention needs at least one real position in every row")
        probabilities = masked_softmax(scores, mask)
        if self.training or self.sample_in_eval:
            chosen = torch.multinomial(probabilities.detach(), 1, generator=self.generator)
        else:
            chosen = probabilities.argmax(dim=-1, keepdim=True)
        one_hot = torch.zeros_like(probabilities).scatter_(-1, chosen, 1.0)
        if self.estimator == "reinforce":
            self.log_probs.append(probabilities.gather(-1, chosen).squeeze(-1).log())
            return one_hot
        # Forward: exactly one_hot (p - p.detach() is exactly 0; the brackets matter, as
        # (one_hot + p) - p can be off by a rounding error). Backward: the gradient of p.
        return one_hot + (probabilities - probabilities.detach())


# --- local attention -----------------------------------------------------------------


class LocalAttention(Attention):
    """Luong et al.'s (2015) local attention: score only ``2 D + 1`` positions around ``p_i``.

    * ``position="predicted"`` (local-p): ``p_i = (L - 1) sigmoid(v_p^T tanh(W_p s_(i-1)))``
      for a source of length ``L``, learned; the weights in the window are then multiplied
      by a Gaussian ``exp(-(j - p_i)^2 / (2 sigma^2))``, ``sigma = D / 2``, which also
      carries the gradient to ``p_i`` (the window's edges are not differentiable).
    * ``position="monotone"`` (local-m): ``p_i = i (L - 1) / (T - 1)`` at output step
      ``i`` of ``T = target_length``: the window slides evenly along the source, which
      suits a target in the source's order.

    Only the keys and values inside the window are gathered and scored, so a step costs
    ``2 D + 1`` score evaluations instead of ``L``. The weights returned are scattered
    back to full length (zeros outside the window) for heatmaps.
    """

    POSITIONS = ("predicted", "monotone")

    def __init__(
        self,
        score: nn.Module,
        query_size: int,
        half_width: int,
        position: str = "predicted",
        normalize=masked_softmax,
        target_length: int | None = None,
        position_size: int = 64,
    ):
        super().__init__(score, normalize)
        if position not in self.POSITIONS:
            raise ValueError(f"position must be one of {self.POSITIONS}, got {position!r}")
        if half_width < 1:
            raise ValueError(f"the half width D must be at least 1, got {half_width}")
        if position == "monotone" and (target_length is None or target_length < 2):
            raise ValueError("monotone local attention needs target_length >= 2")
        self.half_width = half_width
        self.position = position
        self.target_length = target_length
        if position == "predicted":
            self.predict = nn.Sequential(
                nn.Linear(query_size, position_size, bias=False),
                nn.Tanh(),
                nn.Linear(position_size, 1, bias=False),
            )
        self._step = 0
        # The cost: how many (row, position) pairs were scored, over how many row-steps.
        self.positions_scored = 0
        self.row_steps = 0

    def keys(self, states: torch.Tensor) -> torch.Tensor:
        self._step = 0  # a new source: the monotone position starts again at 0
        return super().keys(states)

    def aligned_position(self, query: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``p_i`` for each row: a real number in [0, L - 1]."""
        last = (lengths - 1).to(query.dtype)
        if self.position == "predicted":
            return last * torch.sigmoid(self.predict(query).squeeze(-1))
        fraction = min(self._step / (self.target_length - 1), 1.0)
        return last * fraction

    def forward(self, query, keys, values, mask):
        lengths = mask.sum(dim=-1)
        centre = self.aligned_position(query, lengths)  # (batch,)
        self._step += 1
        offsets = torch.arange(-self.half_width, self.half_width + 1)
        positions = centre.round().long()[:, None] + offsets  # (batch, 2D + 1)
        inside = (positions >= 0) & (positions < lengths[:, None])
        clamped = positions.clamp(0, keys.shape[1] - 1)
        window_keys = keys.gather(1, clamped[:, :, None].expand(-1, -1, keys.shape[-1]))
        window_values = values.gather(1, clamped[:, :, None].expand(-1, -1, values.shape[-1]))
        weights = self.normalize(self.score(query, window_keys), inside)
        if self.position == "predicted":
            sigma = self.half_width / 2
            weights = weights * torch.exp(-((positions - centre[:, None]) ** 2) / (2 * sigma**2))
        context = (weights[:, :, None] * window_values).sum(dim=1)
        self.positions_scored += int(inside.sum())
        self.row_steps += inside.shape[0]
        full = torch.zeros_like(mask, dtype=weights.dtype).scatter_add(1, clamped, weights * inside)
        return context, full
