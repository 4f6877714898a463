"""A decoder-only Transformer language model and what today's models add to it (Chapter 9).

* :class:`DecoderLanguageModel`: token embeddings, pre-norm decoder layers of causal
  self-attention and a feed-forward network (the package's :func:`.transformer.feed_forward`,
  :func:`.transformer.split_heads` and :func:`.transformer.merge_heads`), a final layer
  norm and a linear map to the next token's logits. Its ``positions`` are one of
  ``"sinusoidal"`` (Chapter 6's table, added to the embeddings), ``"learned"`` (a trained
  table, one row per position up to ``context``), ``"rope"`` (queries and keys rotated,
  :func:`apply_rotary`), ``"alibi"`` (a penalty on the scores growing with the distance,
  :func:`alibi_bias`) or ``"none"``.
* Grouped-query attention: ``n_kv_heads`` key/value heads, each shared by
  ``n_heads / n_kv_heads`` query heads (:func:`expand_kv_heads`); 1 is multi-query
  attention, ``n_heads`` the usual multi-head attention.
* :class:`KVCache`: each layer's keys and values of the tokens read so far, so that
  :func:`generate` computes one new token's keys and values per step instead of the whole
  sequence's again.
* :func:`tiled_attention`: exact attention computed tile by tile, with an online softmax
  (FlashAttention's forward pass in plain PyTorch), and :func:`causal_mask_for` the mask of
  a step whose queries are the last of its keys, optionally within a sliding window.

Masks follow :mod:`.dot_product_attention`: boolean, True where a query may attend to a key.

Usage::

    model = DecoderLanguageModel(vocab_size=70, positions="rope", n_kv_heads=2)
    logits = model(tokens)                       # (batch, n, vocab), causal
    tokens, logits = generate(model, prompt, steps=100)          # with a KV cache
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .transformer import feed_forward, merge_heads, sinusoidal_positions, split_heads

POSITION_KINDS = ("sinusoidal", "learned", "rope", "alibi", "none")


# ---------------------------------------------------------------- positions


def apply_rotary(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (RoPE, Su et al. 2021) of queries or keys.

    ``x`` (..., n, d) with d even, ``positions`` (n,) the position of each row. Features
    (2i, 2i+1) form a point in the plane that is turned by the angle p·θ_i,
    θ_i = base^(-2i/d): the frequencies of Chapter 6's sinusoidal table. Rotating a query
    at position m and a key at position n makes their dot product depend on m - n only.
    """
    d = x.shape[-1]
    if d % 2:
        raise ValueError(f"the last axis must be even (pairs of features), got {d}")
    frequencies = base ** (-torch.arange(0, d, 2, dtype=torch.float64, device=x.device) / d)
    angles = positions.to(torch.float64)[:, None] * frequencies  # (n, d / 2)
    # A pair (a, b) is the complex number a + ib; turning it by an angle is multiplying by
    # a complex number of length 1 (2.4 times faster here than sines and cosines by hand).
    complex_dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    turn = torch.polar(torch.ones_like(angles), angles).to(complex_dtype)
    pairs = x.reshape(*x.shape[:-1], d // 2, 2).to(turn.real.dtype).contiguous()
    pairs = torch.view_as_complex(pairs)
    return torch.view_as_real(pairs * turn).flatten(-2).to(x.dtype)


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes (Press et al. 2022): 2^(-8/h), 2^(-16/h), ..., 2^(-8)."""
    return 2.0 ** (-8.0 * torch.arange(1, n_heads + 1, dtype=torch.float64) / n_heads)


def alibi_bias(
    n_heads: int, query_positions: torch.Tensor, key_positions: torch.Tensor
) -> torch.Tensor:
    """(n_heads, n_queries, n_keys): -slope_h · |i - j|, added to the scores before the
    softmax. Each head forgets with distance at its own rate; nothing is learned."""
    distance = (query_positions[:, None] - key_positions[None, :]).abs().to(torch.float64)
    return (-alibi_slopes(n_heads)[:, None, None] * distance).float()


# ---------------------------------------------------------------- masks and attention


def causal_mask_for(
    n_queries: int, n_keys: int, window: int | None = None, device=None
) -> torch.Tensor:
    """(n_queries, n_keys) boolean mask for queries that are the *last* ``n_queries`` of
    ``n_keys`` positions (a cached step: the keys before them are already in the cache).

    Query i sits at position n_keys - n_queries + i and may attend to keys 0..that
    position; with a ``window`` w, only to the last w of them (itself included).
    """
    if n_queries > n_keys:
        raise ValueError(f"{n_queries} queries cannot be the last of {n_keys} keys")
    query_position = torch.arange(n_keys - n_queries, n_keys, device=device)[:, None]
    key_position = torch.arange(n_keys, device=device)[None, :]
    mask = key_position <= query_position
    if window is not None:
        mask = mask & (key_position > query_position - window)
    return mask


def expand_kv_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(..., n_kv_heads, n, d) -> (..., n_heads, n, d): query head h reads key/value head
    h // (n_heads / n_kv_heads), so each group of neighbouring query heads shares one."""
    n_kv_heads = x.shape[-3]
    if n_heads % n_kv_heads:
        raise ValueError(f"{n_heads} query heads cannot share {n_kv_heads} key/value heads")
    return x.repeat_interleave(n_heads // n_kv_heads, dim=-3)


def attend(q, k, v, mask=None, bias=None):
    """softmax(q kᵀ / √d + bias) v over the allowed keys; returns (output, weights).

    ``mask`` boolean (True = may attend), ``bias`` a float added to the scores; both
    broadcast to (..., n_queries, n_keys).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def tiled_attention(
    q,
    k,
    v,
    query_tile: int = 128,
    key_tile: int = 128,
    causal: bool = False,
    window: int | None = None,
):
    """Exact softmax(q kᵀ / √d) v, one (query tile × key tile) block of scores at a time.

    For each tile of queries, the keys are read tile by tile with an online softmax (a
    running maximum, a running sum and running weighted values, rescaled when the maximum
    grows), as FlashAttention's forward pass does: the memory beyond the inputs and output
    is one block of scores, never the n × n matrix. The queries are the last ``n_queries``
    of the ``n_keys`` positions. ``causal`` masks the keys after each query and skips the
    key tiles wholly in a query tile's future; a ``window`` w (causal only) also masks the
    keys more than w - 1 positions back and skips the tiles wholly before the window, so
    the work grows like n·w instead of n².
    """
    if window is not None and not causal:
        raise ValueError("a sliding window is causal here: pass causal=True with it")
    *batch, n_queries, d = q.shape
    n_keys = k.shape[-2]
    scale = 1 / math.sqrt(d)
    output = torch.empty(*batch, n_queries, v.shape[-1], dtype=v.dtype, device=v.device)
    offset = n_keys - n_queries  # query i sits at position offset + i
    for q_start in range(0, n_queries, query_tile):
        q_block = q[..., q_start : q_start + query_tile, :]
        rows = q_block.shape[-2]
        position = offset + q_start + torch.arange(rows, device=q.device)[:, None]
        first_key = max(0, offset + q_start - window + 1) if window is not None else 0
        last_key = offset + q_start + rows if causal else n_keys
        running_max = torch.full((*batch, rows, 1), float("-inf"), dtype=q.dtype, device=q.device)
        running_sum = torch.zeros(*batch, rows, 1, dtype=q.dtype, device=q.device)
        weighted = torch.zeros(*batch, rows, v.shape[-1], dtype=v.dtype, device=v.device)
        for k_start in range(first_key, last_key, key_tile):
            k_end = min(k_start + key_tile, last_key)
            scores = q_block @ k[..., k_start:k_end, :].transpose(-2, -1) * scale
            if causal:
                key = torch.arange(k_start, k_end, device=q.device)[None, :]
                allowed = key <= position
                if window is not None:
                    allowed = allowed & (key > position - window)
                scores = scores.masked_fill(~allowed, float("-inf"))
            new_max = torch.maximum(running_max, scores.amax(dim=-1, keepdim=True))
            # A row with no allowed key yet keeps a maximum of -inf: subtract 0 instead,
            # so that its exponentials are exp(-inf) = 0 rather than NaN.
            shift = torch.where(torch.isinf(new_max), torch.zeros_like(new_max), new_max)
            rescale = torch.exp(running_max - shift)
            exponentials = torch.exp(scores - shift)
            running_sum = running_sum * rescale + exponentials.sum(dim=-1, keepdim=True)
            weighted = weighted * rescale + exponentials @ v[..., k_start:k_end, :]
            running_max = new_max
        output[..., q_start : q_start + rows, :] = weighted / running_sum
    return output


# ---------------------------------------------------------------- the cache


@dataclass
class KVCache:
    """Each layer's keys and values (batch, n_kv_heads, tokens, d_head) so far."""

    keys: list = field(default_factory=list)
    values: list = field(default_factory=list)

    @property
    def length(self) -> int:
        """How many tokens the cache holds."""
        return self.keys[0].shape[-2] if self.keys else 0

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        """Add the new tokens' keys and values of ``layer``; return all of them so far."""
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=-2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=-2)
        return self.keys[layer], self.values[layer]

    @property
    def bytes(self) -> int:
        """Memory the cached tensors hold."""
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))


# ---------------------------------------------------------------- the model


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with ``n_kv_heads`` key/value heads (grouped queries),
    causal unless told otherwise, with rotary or ALiBi positions when asked, and a KV cache.

    ``forward(x, start=0, past=None, causal=True)``: ``x`` (batch, n, d_model) are the
    tokens at positions start..start+n-1; ``past`` the (keys, values) of the tokens before
    them (a cache), or None. Returns the output (batch, n, d_model), the weights
    (batch, n_heads, n, start + n) and the (keys, values) of these n tokens to cache.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_kv_heads: int | None = None,
        positions: str = "sinusoidal",
    ):
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if d_model % n_heads or n_heads % n_kv_heads:
            raise ValueError(
                f"need n_heads to divide d_model and n_kv_heads to divide n_heads, got "
                f"d_model={d_model}, n_heads={n_heads}, n_kv_heads={n_kv_heads}"
            )
        self.n_heads, self.n_kv_heads, self.positions = n_heads, n_kv_heads, positions
        self.d_head = d_model // n_heads
        self.W_q = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, n_kv_heads * self.d_head)  # fewer heads: a smaller map
        self.W_v = nn.Linear(d_model, n_kv_heads * self.d_head)
        self.W_o = nn.Linear(d_model, d_model)

    def forward(self, x, start: int = 0, past=None, causal: bool = True):
        n = x.shape[-2]
        q = split_heads(self.W_q(x), self.n_heads)  # (batch, n_heads, n, d_head)
        k = split_heads(self.W_k(x), self.n_kv_heads)  # (batch, n_kv_heads, n, d_head)
        v = split_heads(self.W_v(x), self.n_kv_heads)
        positions = torch.arange(start, start + n, device=x.device)
        if self.positions == "rope":  # keys are cached rotated, at their own positions
            q, k = apply_rotary(q, positions), apply_rotary(k, positions)
        new = (k, v)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=-2), torch.cat([past[1], v], dim=-2)
        n_keys = k.shape[-2]
        mask = causal_mask_for(n, n_keys, device=x.device) if causal else None
        bias = None
        if self.positions == "alibi":
            key_positions = torch.arange(n_keys, device=x.device)
            bias = alibi_bias(self.n_heads, positions, key_positions)
        k, v = expand_kv_heads(k, self.n_heads), expand_kv_heads(v, self.n_heads)
        heads, weights = attend(q, k, v, mask, bias)
        return self.W_o(merge_heads(heads)), weights, new


class DecoderLayer(nn.Module):
    """Pre-norm: x + attention(LN(x)), then x + FFN(LN(x)) (Chapter 6's block, causal)."""

    def __init__(self, d_model, n_heads, d_ff, n_kv_heads=None, positions="sinusoidal"):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = CausalSelfAttention(d_model, n_heads, n_kv_heads, positions)
        self.norm2 = nn.LayerNorm(d_model)
        self.feed_forward = feed_forward(d_model, d_ff, activation="gelu")

    def forward(self, x, start=0, past=None, causal=True):
        attended, weights, new = self.attention(self.norm1(x), start, past, causal)
        x = x + attended
        return x + self.feed_forward(self.norm2(x)), weights, new


class DecoderLanguageModel(nn.Module):
    """Next-token logits from the tokens so far: embeddings, decoder layers, a linear head.

    ``forward(tokens, cache=None, return_weights=False)``: ``tokens`` (batch, n). With a
    :class:`KVCache`, the tokens continue the ones it holds (their positions start at
    ``cache.length``) and their keys and values are added to it. Returns the logits
    (batch, n, vocab_size), and each layer's attention weights if asked.

    ``causal=False`` builds the same model without the causal mask (Chapter 9 trains one
    to see why the mask is there).
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        n_kv_heads: int | None = None,
        d_ff: int | None = None,
        context: int = 64,
        positions: str = "sinusoidal",
        causal: bool = True,
    ):
        super().__init__()
        if positions not in POSITION_KINDS:
            raise ValueError(f"positions must be one of {POSITION_KINDS}, got {positions!r}")
        self.positions, self.context, self.causal = positions, context, causal
        self.d_model = d_model
        # Entries of size about 1 (nn.Embedding's N(0, 1)), like the sinusoidal table: with
        # small embeddings, the table drowned them and the model learned nothing for
        # hundreds of steps.
        self.embed = nn.Embedding(vocab_size, d_model)
        if positions == "learned":
            self.position_embed = nn.Embedding(context, d_model)
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, d_ff or 4 * d_model, n_kv_heads, positions)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self._table = torch.zeros(0, d_model)

    def position_table(self, start: int, n: int) -> torch.Tensor:
        """The rows start..start+n-1 of the sinusoidal table (grown when needed)."""
        if start + n > len(self._table):
            self._table = sinusoidal_positions(max(2 * (start + n), 256), self.d_model)
        return self._table[start : start + n]

    def forward(self, tokens, cache: KVCache | None = None, return_weights: bool = False):
        start = cache.length if cache is not None else 0
        n = tokens.shape[-1]
        x = self.embed(tokens)
        if self.positions == "sinusoidal":
            x = x + self.position_table(start, n).to(x.dtype)
        elif self.positions == "learned":
            if start + n > self.context:
                raise ValueError(
                    f"learned positions exist up to {self.context}, not {start + n}: "
                    "a learned table cannot extrapolate"
                )
            x = x + self.position_embed(torch.arange(start, start + n, device=tokens.device))
        all_weights = []
        for index, layer in enumerate(self.layers):
            past = (cache.keys[index], cache.values[index]) if start else None
            x, weights, new = layer(x, start, past, self.causal)
            if cache is not None:
                cache.append(index, *new)
            all_weights.append(weights)
        logits = self.head(self.norm(x))
        return (logits, all_weights) if return_weights else logits

    def cache_bytes_per_token(self, dtype: torch.dtype = torch.float32) -> int:
        """Bytes a KV cache holds per token: keys and values of every layer's KV heads."""
        attention = self.layers[0].attention
        element = torch.tensor([], dtype=dtype).element_size()
        return 2 * len(self.layers) * attention.n_kv_heads * attention.d_head * element


# ---------------------------------------------------------------- training and use


def next_token_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor):
    """Mean cross-entropy (nats) of the next token at every position."""
    logits = model(inputs)
    return F.cross_entropy(logits.flatten(0, -2), targets.flatten())


@torch.no_grad()
def bits_per_token(model: nn.Module, windows: torch.Tensor, batch_size: int = 64) -> float:
    """Mean cross-entropy in bits of every next token of ``windows`` (count, n + 1):
    inputs ``[:, :-1]``, targets ``[:, 1:]``, each window read from its start."""
    model.eval()
    total, count = 0.0, 0
    for batch in windows.split(batch_size):
        logits = model(batch[:, :-1])
        total += F.cross_entropy(
            logits.flatten(0, -2).double(), batch[:, 1:].flatten(), reduction="sum"
        ).item()
        count += batch[:, 1:].numel()
    return total / count / math.log(2)


@torch.no_grad()
def generate(
    model: DecoderLanguageModel,
    prompt: torch.Tensor,
    steps: int,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Continue ``prompt`` (batch, n) by ``steps`` tokens; returns them (batch, steps) and
    the logits each was chosen from (batch, steps, vocab).

    ``temperature`` 0 takes the most likely token, otherwise one is sampled from
    softmax(logits / temperature). Without the cache, every step runs the model over the
    whole sequence so far; with it, the prompt once, then one token per step.
    """
    model.eval()
    cache = KVCache() if use_cache else None
    sequence, chosen, all_logits = prompt, [], []
    step_input = prompt
    for _ in range(steps):
        logits = model(step_input if use_cache else sequence, cache)[:, -1]
        if temperature == 0:
            token = logits.argmax(dim=-1, keepdim=True)
        else:
            probabilities = torch.softmax(logits / temperature, dim=-1)
            token = torch.multinomial(probabilities, 1, generator=generator)
        chosen.append(token)
        all_logits.append(logits)
        sequence = torch.cat([sequence, token], dim=1)
        step_input = token
    return torch.cat(chosen, dim=1), torch.stack(all_logits, dim=1)
