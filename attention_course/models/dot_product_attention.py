"""Scaled dot-product attention and its masks (Chapter 5; Chapter 6 builds on them).

Masks follow the convention of ``torch.nn.functional.scaled_dot_product_attention``:
a **boolean** mask that is ``True`` where a query may attend to a key. (Beware:
``nn.MultiheadAttention``'s ``attn_mask`` and ``key_padding_mask`` use the opposite
convention, ``True`` meaning *blocked*.)
"""

from __future__ import annotations

import math

import torch

from ..data.sequences import length_mask


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q Kᵀ / √d_k) V over the last two axes; returns ``(output, weights)``.

    query (..., n_queries, d_k), key (..., n_keys, d_k), value (..., n_keys, d_v).
    ``mask``: boolean, broadcastable to (..., n_queries, n_keys), True where a query may
    attend to a key. A query that may attend to no key at all (a padding position, say)
    gets zero weights and a zero output, as PyTorch's own function gives, instead of NaN.
    """
    if mask is not None and mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be boolean (True = may attend), got dtype {mask.dtype}; "
            "a float mask would be read as numbers to add to the scores"
        )
    d_k = query.shape[-1]
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)  # (..., n_queries, n_keys)
    if mask is not None:
        # Masked scores become -inf *before* the softmax, so they get exactly zero weight
        # and the remaining weights of each row still sum to 1.
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # each query's weights over the keys sum to 1
    if mask is not None:
        # A row of only -inf gives 0/0 = NaN in the softmax: set such rows to zero.
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights @ value, weights


def causal_mask(size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(size, size) boolean mask: query i may attend to keys 0..i, never to a later one."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """(batch, 1, max_length) boolean mask: True for the real keys of each sequence.

    The axis of size 1 broadcasts over the queries: no query may attend to a padding
    position. Combine with a causal mask by ``&``.
    """
    return length_mask(lengths, max_length)[:, None, :]
