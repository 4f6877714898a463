"""Multi-head attention and the Transformer's blocks (Chapter 6; Chapter 7 reuses them).

* :func:`split_heads` / :func:`merge_heads`: (batch, n, d_model) <-> (batch, heads, n, d_head).
* :class:`MultiHeadAttention`: MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O with
  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V); tested equal to
  ``torch.nn.MultiheadAttention`` with copied weights (:meth:`MultiHeadAttention.from_torch`).
* :func:`sinusoidal_positions`: the fixed position encodings of Vaswani et al. (2017).
* :class:`EncoderBlock` and :class:`DecoderBlock`: attention, residual connections, layer
  norm and a position-wise feed-forward network; tested equal to
  ``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer`` with copied weights.

Masks follow :mod:`attention_course.models.dot_product_attention`: boolean, **True where a query may
attend to a key**. ``nn.MultiheadAttention`` and the ``nn.Transformer*`` layers use the
opposite convention (True = blocked), so pass them ``~mask``.

Usage (a ViT encoder, say)::

    block = EncoderBlock(d_model=64, n_heads=4, d_ff=128, activation="gelu")
    x, weights = block(x)          # x (batch, tokens, 64); weights (batch, 4, tokens, tokens)
"""

from __future__ import annotations

import torch
from torch import nn

from .dot_product_attention import scaled_dot_product_attention


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(..., n, d_model) -> (..., n_heads, n, d_head).

    Head i gets features i*d_head .. (i+1)*d_head - 1.

    The reshape cuts each token's vector into ``n_heads`` pieces; the transpose then puts
    the head axis before the token axis, so that each head is a separate (n, d_head)
    sequence for attention. (A reshape straight to (..., n_heads, n, d_head) would give
    the right shape but mix up tokens and features.)
    """
    *batch, n, d_model = x.shape
    if d_model % n_heads:
        raise ValueError(f"d_model = {d_model} is not divisible by n_heads = {n_heads}")
    return x.reshape(*batch, n, n_heads, d_model // n_heads).transpose(-3, -2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(..., n_heads, n, d_head) -> (..., n, n_heads * d_head): the heads side by side per token."""
    *batch, n_heads, n, d_head = x.shape
    return x.transpose(-3, -2).reshape(*batch, n, n_heads * d_head)


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention in ``n_heads`` subspaces of size d_model / n_heads.

    ``forward(query, key, value, mask=None)`` takes (batch, n_queries, d_model) queries and
    (batch, n_keys, d_model) keys and values; it returns the output (batch, n_queries,
    d_model) and every head's weights (batch, n_heads, n_queries, n_keys). ``mask`` is
    boolean, True = may attend, broadcastable to (batch, n_queries, n_keys) (e.g. from
    :func:`~attention_course.models.dot_product_attention.padding_mask` or ``causal_mask``);
    it applies to every head.
    """

    def __init__(self, d_model: int, n_heads: int, bias: bool = True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model = {d_model} is not divisible by n_heads = {n_heads}")
        self.d_model, self.n_heads = d_model, n_heads
        # One (d_model x d_model) map holds the n_heads maps W_i^Q (d_model x d_head) side
        # by side; split_heads cuts its output into the heads' queries. Same for K and V.
        self.W_q = nn.Linear(d_model, d_model, bias=bias)
        self.W_k = nn.Linear(d_model, d_model, bias=bias)
        self.W_v = nn.Linear(d_model, d_model, bias=bias)
        self.W_o = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, mask: torch.Tensor | None = None):
        q = split_heads(self.W_q(query), self.n_heads)  # (batch, heads, n_queries, d_head)
        k = split_heads(self.W_k(key), self.n_heads)
        v = split_heads(self.W_v(value), self.n_heads)
        if mask is not None:
            while mask.dim() < 3:  # a (n_keys,) or (n_queries, n_keys) mask: add what is missing
                mask = mask.unsqueeze(0)
            mask = mask.unsqueeze(-3)  # a head axis, so the same mask serves every head
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.W_o(merge_heads(heads)), weights

    @classmethod
    @torch.no_grad()
    def from_torch(cls, reference: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``torch.nn.MultiheadAttention``'s weights (same embed_dim for q, k, v)."""
        if not reference._qkv_same_embed_dim:
            raise ValueError("only an nn.MultiheadAttention with kdim = vdim = embed_dim")
        d = reference.embed_dim
        bias = reference.in_proj_bias is not None
        ours = cls(d, reference.num_heads, bias=bias).to(reference.in_proj_weight.dtype)
        # PyTorch stacks W^Q, W^K, W^V (each with nn.Linear's (out, in) layout) in one matrix.
        for index, linear in enumerate((ours.W_q, ours.W_k, ours.W_v)):
            linear.weight.copy_(reference.in_proj_weight[index * d : (index + 1) * d])
            if bias:
                linear.bias.copy_(reference.in_proj_bias[index * d : (index + 1) * d])
        ours.W_o.weight.copy_(reference.out_proj.weight)
        if bias:
            ours.W_o.bias.copy_(reference.out_proj.bias)
        return ours


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model) position encodings: PE[p, 2i] = sin(p / 10000^(2i/d_model)),
    PE[p, 2i+1] = cos(p / 10000^(2i/d_model)).

    Each pair of features (2i, 2i+1) turns around a circle at its own frequency, from one
    radian per position down to one turn every 10000·2π positions.
    """
    if d_model % 2:
        raise ValueError(f"d_model must be even (sine and cosine pairs), got {d_model}")
    positions = torch.arange(length, dtype=torch.float64)[:, None]
    frequencies = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    angles = positions * frequencies  # (length, d_model / 2)
    encoding = torch.zeros(length, d_model, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(angles)
    encoding[:, 1::2] = torch.cos(angles)
    return encoding.float()


def feed_forward(d_model: int, d_ff: int, activation: str = "relu") -> nn.Sequential:
    """The position-wise network FFN(x) = W_2 act(W_1 x + b_1) + b_2, applied to each token."""
    activations = {"relu": nn.ReLU, "gelu": nn.GELU}
    if activation not in activations:
        raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
    return nn.Sequential(
        nn.Linear(d_model, d_ff), activations[activation](), nn.Linear(d_ff, d_model)
    )


class EncoderBlock(nn.Module):
    """Self-attention and a feed-forward network, each inside a residual connection.

    ``norm_first=False`` is the original Transformer ("post-norm"):
    x = LayerNorm(x + MultiHead(x, x, x)); x = LayerNorm(x + FFN(x)).
    ``norm_first=True`` ("pre-norm") normalises each sublayer's *input* instead:
    x = x + MultiHead(LN(x), LN(x), LN(x)); x = x + FFN(LN(x)); it trains more easily
    without a learning-rate warm-up, and is what ViT uses.
    ``forward(x, mask=None)`` returns the new x and the attention weights
    (batch, n_heads, n, n).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        norm_first: bool = True,
        activation: str = "relu",
    ):
        super().__init__()
        self.norm_first = norm_first
        self.attention = MultiHeadAttention(d_model, n_heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.feed_forward = feed_forward(d_model, d_ff, activation)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        if self.norm_first:
            normed = self.norm1(x)
            attended, weights = self.attention(normed, normed, normed, mask)
            x = x + attended
            return x + self.feed_forward(self.norm2(x)), weights
        attended, weights = self.attention(x, x, x, mask)
        x = self.norm1(x + attended)
        return self.norm2(x + self.feed_forward(x)), weights


class DecoderBlock(nn.Module):
    """Masked self-attention, attention to the encoder's output, and a feed-forward network.

    ``forward(x, memory, self_mask=None, memory_mask=None)``: ``x`` (batch, n_target,
    d_model) is what the decoder has so far, ``memory`` (batch, n_source, d_model) the
    encoder's output; ``self_mask`` is usually causal (a position may not read later
    ones), ``memory_mask`` hides source padding. Returns the new x, the self-attention
    weights (batch, heads, n_target, n_target) and the cross-attention weights
    (batch, heads, n_target, n_source). ``norm_first`` as in :class:`EncoderBlock`.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        norm_first: bool = True,
        activation: str = "relu",
    ):
        super().__init__()
        self.norm_first = norm_first
        self.self_attention = MultiHeadAttention(d_model, n_heads)
        self.norm1 = nn.LayerNorm(d_model)
        self.cross_attention = MultiHeadAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.feed_forward = feed_forward(d_model, d_ff, activation)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(self, x, memory, self_mask=None, memory_mask=None):
        if self.norm_first:
            normed = self.norm1(x)
            attended, self_weights = self.self_attention(normed, normed, normed, self_mask)
            x = x + attended
            attended, cross_weights = self.cross_attention(
                self.norm2(x), memory, memory, memory_mask
            )
            x = x + attended
            return x + self.feed_forward(self.norm3(x)), self_weights, cross_weights
        attended, self_weights = self.self_attention(x, x, x, self_mask)
        x = self.norm1(x + attended)
        attended, cross_weights = self.cross_attention(x, memory, memory, memory_mask)
        x = self.norm2(x + attended)
        return self.norm3(x + self.feed_forward(x)), self_weights, cross_weights
