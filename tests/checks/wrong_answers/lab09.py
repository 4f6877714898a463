from . import WrongAnswer

WRONG_ANSWERS = [
    # ---- rotate
    WrongAnswer(
        "check_rotate",
        "pairs made of the two halves (x_i, x_(i + d/2)) instead of neighbours",
        "even, odd = x[..., 0::2], x[..., 1::2]\n"
        "    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)"
        ".flatten(-2)",
        "even, odd = x[..., : d // 2], x[..., d // 2 :]\n"
        "    return torch.cat([even * cos - odd * sin, even * sin + odd * cos], dim=-1)",
    ),
    WrongAnswer(
        "check_rotate",
        "frequencies 10000^(-i/d) with i counting features",
        "theta = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)",
        "theta = 10000.0 ** (-torch.arange(0, d // 2, dtype=torch.float64) / d)",
    ),
    WrongAnswer(
        "check_rotate",
        "rows rotated by their index, not by the positions given",
        "angle = positions.double()[:, None] * theta",
        "angle = torch.arange(x.shape[-2]).double()[:, None] * theta",
    ),
    WrongAnswer(
        "check_rotate",
        "turned the wrong way (the sine's signs swapped)",
        "[even * cos - odd * sin, even * sin + odd * cos]",
        "[even * cos + odd * sin, odd * cos - even * sin]",
    ),
    WrongAnswer(
        "check_rotate",
        "cos and sin of different angles (the pair's length changes)",
        "cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)",
        "cos, sin = angle.cos().to(x.dtype), (2 * angle).sin().to(x.dtype)",
    ),
    WrongAnswer(
        "check_rotate",
        "the caller's x changed in place",
        "even, odd = x[..., 0::2], x[..., 1::2]\n"
        "    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)"
        ".flatten(-2)",
        "even, odd = x[..., 0::2].clone(), x[..., 1::2].clone()\n"
        "    x[..., 0::2] = even * cos - odd * sin\n"
        "    x[..., 1::2] = even * sin + odd * cos\n"
        "    return x",
    ),
    WrongAnswer(
        "check_rotate",
        "the package's apply_rotary instead of one's own",
        "    d = x.shape[-1]\n    theta",
        "    from attention_course.models.language_model import apply_rotary\n\n"
        "    return apply_rotary(x, positions)\n    d = x.shape[-1]\n    theta",
    ),
    # ---- cached_causal_mask
    WrongAnswer(
        "check_cached_causal_mask",
        "the new tokens masked as positions 0, 1, ... (a lower triangle without offset)",
        "query = torch.arange(n_cached, n_cached + n_new)[:, None]",
        "query = torch.arange(n_new)[:, None]",
    ),
    WrongAnswer(
        "check_cached_causal_mask",
        "a window of w keeps w + 1 keys",
        "mask = mask & (key > query - window)",
        "mask = mask & (key >= query - window)",
    ),
    WrongAnswer(
        "check_cached_causal_mask",
        "the window ignored",
        "mask = mask & (key > query - window)",
        "mask = mask",
    ),
    WrongAnswer(
        "check_cached_causal_mask",
        "a mask of 0s and 1s instead of booleans",
        "    return mask\n    ### END SOLUTION",
        "    return mask.int()\n    ### END SOLUTION",
    ),
    # ---- grouped_query_attention
    WrongAnswer(
        "check_grouped_query_attention",
        "heads grouped as h % G (repeat instead of repeat_interleave)",
        "k = k.repeat_interleave(group, dim=1)  # query head h reads key/value head h // group\n"
        "    v = v.repeat_interleave(group, dim=1)",
        "k = k.repeat(1, group, 1, 1)\n    v = v.repeat(1, group, 1, 1)",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "the scores not divided by √d",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "scores = q @ k.transpose(-2, -1)",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "a (batch, n_q, n_k) mask used without a head axis",
        "        if mask.dim() == 3:\n            mask = mask[:, None]",
        "        pass",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "the mask applied after the softmax",
        '        scores = scores.masked_fill(~mask, float("-inf"))\n'
        "    weights = torch.softmax(scores, dim=-1)",
        "        pass\n    weights = torch.softmax(scores, dim=-1)\n"
        "    if mask is not None:\n        weights = weights * mask",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "a softmax written by hand without subtracting the maximum",
        "weights = torch.softmax(scores, dim=-1)\n    return weights @ v, weights",
        "weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)\n"
        "    return weights @ v, weights",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "the softmax taken over the queries",
        "weights = torch.softmax(scores, dim=-1)\n    return weights @ v, weights",
        "weights = torch.softmax(scores, dim=-2)\n    return weights @ v, weights",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "PyTorch's fused kernel with enable_gqa",
        "    group = q.shape[1] // k.shape[1]\n",
        "    if mask is not None and mask.dim() == 3:\n        mask = mask[:, None]\n"
        "    output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)\n"
        "    group = q.shape[1] // k.shape[1]\n",
    ),
    WrongAnswer(
        "check_grouped_query_attention",
        "the caller's queries scaled in place",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "q /= math.sqrt(q.shape[-1])\n    scores = q @ k.transpose(-2, -1)",
    ),
    # ---- cached_attention
    WrongAnswer(
        "check_cached_attention",
        "the new tokens rotated as positions 0, 1, ...",
        "positions = torch.arange(n_cached, n_cached + n_new)\n    q = rotate(",
        "positions = torch.arange(n_new)\n    q = rotate(",
    ),
    WrongAnswer(
        "check_cached_attention",
        "keys cached before their rotation",
        "keys = torch.cat([past_k, k], dim=-2)",
        "keys = torch.cat([past_k, split_heads(layer.W_k(x), layer.n_kv_heads)], dim=-2)",
    ),
    WrongAnswer(
        "check_cached_attention",
        "the new keys and values put before the cached ones",
        "keys = torch.cat([past_k, k], dim=-2)\n    values = torch.cat([past_v, v], dim=-2)",
        "keys = torch.cat([k, past_k], dim=-2)\n    values = torch.cat([v, past_v], dim=-2)",
    ),
    WrongAnswer(
        "check_cached_attention",
        "the values rotated too",
        "v = split_heads(layer.W_v(x), layer.n_kv_heads)",
        "v = rotate(split_heads(layer.W_v(x), layer.n_kv_heads), positions)",
    ),
    WrongAnswer(
        "check_cached_attention",
        "a lower-triangular mask that ignores the cache",
        "cached_causal_mask(n_new, n_cached))",
        "torch.ones(n_new, n_cached + n_new, dtype=torch.bool).tril())",
    ),
    WrongAnswer(
        "check_cached_attention",
        "the layer called whole instead of built from its maps",
        "    n_cached, n_new = past_k.shape[-2], x.shape[-2]\n",
        "    n_cached, n_new = past_k.shape[-2], x.shape[-2]\n"
        "    output, _, (k, v) = layer(x, n_cached, (past_k, past_v))\n"
        "    return output, torch.cat([past_k, k], -2), torch.cat([past_v, v], -2)\n",
    ),
    # ---- the experiment
    WrongAnswer(
        "check_loss_by_position",
        "the loss in nats, not bits",
        "return loss.mean(dim=0) / math.log(2)",
        "return loss.mean(dim=0)",
    ),
    WrongAnswer(
        "check_loss_by_position",
        "each position scored against its own input character, not the next one",
        'reduction="none")\n    return loss.mean(dim=0) / math.log(2)',
        'reduction="none")\n'
        "        loss = F.cross_entropy(logits.transpose(1, 2), windows[:, :-1], "
        'reduction="none")\n    return loss.mean(dim=0) / math.log(2)',
    ),
    WrongAnswer(
        "check_loss_by_position",
        "averaged over the positions instead of the windows",
        "return loss.mean(dim=0) / math.log(2)",
        "return loss.mean(dim=1) / math.log(2)",
    ),
    WrongAnswer(
        "check_loss_by_position",
        "one mean for the whole window, repeated at every position",
        "return loss.mean(dim=0) / math.log(2)",
        "return loss.mean().expand(loss.shape[1]) / math.log(2)",
    ),
    # ---- the question
    WrongAnswer(
        "check_reading_the_extrapolation",
        "rotary angles come round again (a)",
        'return "b"',
        'return "a"',
    ),
    WrongAnswer(
        "check_reading_the_extrapolation",
        "ALiBi learned its penalties (d)",
        'return "b"',
        'return "d"',
    ),
]
