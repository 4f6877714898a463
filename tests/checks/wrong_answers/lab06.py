from . import WrongAnswer

_SPLIT = "    return x.reshape(*lead, n, n_heads, d_model // n_heads).transpose(-3, -2)\n"
_SPLIT_BODY = "    *lead, n, d_model = x.shape\n" + _SPLIT
_MERGE = "    return x.transpose(-3, -2).reshape(*lead, n, n_heads * d_head)\n"
_MERGE_BODY = "    *lead, n_heads, n, d_head = x.shape\n" + _MERGE
_HEAD_AXIS = (
    "        if mask.dim() == 3:  # (batch, ·, n_keys): the head axis goes after the batch axis\n"
    "            mask = mask.unsqueeze(1)\n"
)
_REPEAT = (
    "    k = k.repeat_interleave(group, dim=1)  # query head h reads key/value head h // group\n"
    "    v = v.repeat_interleave(group, dim=1)\n"
)
_KV = (
    "    k = split_heads(key @ W_k.T, n_kv_heads)  # (batch, kv heads, n_keys, d_head)\n"
    "    v = split_heads(value @ W_v.T, n_kv_heads)\n"
)
_MHA_RETURN = "    return merge_heads(weights @ v) @ W_o.T, weights\n"
_APPEND = (
    "        keys, values = torch.cat([cache[0], keys], dim=-2), "
    "torch.cat([cache[1], values], dim=-2)\n"
)
_TIMING = "seconds = cpu_seconds(generate, weights, prompt, steps, use_cache, repeats=3)"

WRONG_ANSWERS = [
    # Exercise 1: split heads, any leading axes
    WrongAnswer(
        "check_split_heads",
        "reshaped straight to (heads, tokens, d_head): tokens scrambled",
        _SPLIT,
        "    return x.reshape(*lead, n_heads, n, d_model // n_heads)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "heads take every n_heads-th feature (interleaved)",
        _SPLIT,
        "    return x.reshape(*lead, n, d_model // n_heads, n_heads).movedim(-1, -3)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "the chapter's version: a batch axis required",
        _SPLIT_BODY,
        "    batch, n, d_model = x.shape\n"
        "    return x.reshape(batch, n, n_heads, d_model // n_heads).transpose(1, 2)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "axes counted from the front: transpose(1, 2)",
        _SPLIT,
        "    return x.reshape(*lead, n, n_heads, d_model // n_heads).transpose(1, 2)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "the course package's split_heads",
        _SPLIT_BODY,
        "    from attention_course.models import transformer\n\n"
        "    return transformer.split_heads(x, n_heads)\n",
    ),
    # Exercise 2: merge heads, any leading axes
    WrongAnswer(
        "check_merge_heads",
        "view after the transpose (fails on contiguous heads)",
        _MERGE,
        "    return x.transpose(-3, -2).view(*lead, n, n_heads * d_head)\n",
    ),
    WrongAnswer(
        "check_merge_heads",
        "reshape without moving the heads axis back",
        _MERGE,
        "    return x.reshape(*lead, n, n_heads * d_head)\n",
    ),
    WrongAnswer(
        "check_merge_heads",
        "heads concatenated in reverse order",
        _MERGE,
        "    return x.flip(-3).transpose(-3, -2).reshape(*lead, n, n_heads * d_head)\n",
    ),
    WrongAnswer(
        "check_merge_heads",
        "heads averaged instead of concatenated",
        _MERGE,
        "    return x.mean(dim=-3)\n",
    ),
    WrongAnswer(
        "check_merge_heads",
        "the chapter's version: exactly one batch axis",
        _MERGE_BODY,
        "    batch, n_heads, n, d_head = x.shape\n"
        "    return x.transpose(1, 2).reshape(batch, n, n_heads * d_head)\n",
    ),
    # Exercise 3: multi-head attention with grouped key/value heads
    WrongAnswer(
        "check_multi_head_attention",
        "the old bug: unsqueeze(1) on every mask, (queries, keys) ones too",
        _HEAD_AXIS,
        "        mask = mask.unsqueeze(1)\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "unsqueeze(-3) on every mask (fails on a (keys,) mask)",
        _HEAD_AXIS,
        "        mask = mask.unsqueeze(-3)\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "mask without a head axis",
        _HEAD_AXIS,
        "",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "key/value heads tiled (repeat) instead of repeated in place (repeat_interleave)",
        _REPEAT,
        "    k = k.repeat(1, group, 1, 1)\n    v = v.repeat(1, group, 1, 1)\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "keys and values split into n_heads heads",
        _KV,
        "    k = split_heads(key @ W_k.T, n_heads)\n    v = split_heads(value @ W_v.T, n_heads)\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "scaled by sqrt(d_model) instead of sqrt(d_head)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(query.shape[-1])",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "the output projection W_o missing",
        _MHA_RETURN,
        "    return merge_heads(weights @ v), weights\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "the keys projected as the values",
        "v = split_heads(value @ W_v.T, n_kv_heads)",
        "v = split_heads(key @ W_v.T, n_kv_heads)",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "softmax over the query axis",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=-2)",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "mask read as PyTorch's (True = blocked)",
        'scores = scores.masked_fill(~mask, float("-inf"))',
        'scores = scores.masked_fill(mask, float("-inf"))',
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "weights returned averaged over the heads",
        _MHA_RETURN,
        "    return merge_heads(weights @ v) @ W_o.T, weights.mean(dim=1)\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "query projection weights not transposed",
        "q = split_heads(query @ W_q.T, n_heads)",
        "q = split_heads(query @ W_q, n_heads)",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "PyTorch's fused attention for the heads",
        _MHA_RETURN,
        "    heads = torch.nn.functional.scaled_dot_product_attention(q, k, v)\n"
        "    return merge_heads(heads) @ W_o.T, weights\n",
    ),
    # Exercise 4: one step with a key/value cache
    WrongAnswer(
        "check_attend_with_cache",
        "new tokens see each other's futures (no mask)",
        'scores.masked_fill(~causal, float("-inf"))',
        "scores",
    ),
    WrongAnswer(
        "check_attend_with_cache",
        "causal mask not shifted by the cache's length",
        ".tril(diagonal=n_total - n_new)",
        ".tril()",
    ),
    WrongAnswer(
        "check_attend_with_cache",
        "new keys and values put before the cached ones",
        _APPEND,
        "        keys, values = torch.cat([keys, cache[0]], dim=-2), "
        "torch.cat([values, cache[1]], dim=-2)\n",
    ),
    WrongAnswer(
        "check_attend_with_cache",
        "the old cache returned, not extended",
        "    return output, (keys, values)\n",
        "    return output, cache\n",
    ),
    WrongAnswer(
        "check_attend_with_cache",
        "only the new keys and values kept",
        _APPEND,
        "        pass\n",
    ),
    WrongAnswer(
        "check_attend_with_cache",
        "key/value heads not lined up with the query heads",
        "scores = q @ keys.repeat_interleave(group, dim=1).transpose(-2, -1)",
        "scores = q @ keys.repeat(1, group, 1, 1).transpose(-2, -1)",
    ),
    # Exercise 5: greedy decoding both ways
    WrongAnswer(
        "check_generate",
        "with the cache, every new token at position 0",
        'weights["positions"][start : tokens.shape[1]]',
        'weights["positions"][: new.shape[1]]',
    ),
    WrongAnswer(
        "check_generate",
        "with the cache, no residual connection",
        "                x = x + out\n",
        "                x = out\n",
    ),
    WrongAnswer(
        "check_generate",
        "with the cache, one cache shared by all layers",
        "out, caches[index] = attend_with_cache(\n                    x, caches[index],",
        "out, caches[0] = attend_with_cache(\n                    x, caches[0],",
    ),
    WrongAnswer(
        "check_generate",
        "rows counted for the whole sequence with the cache",
        "                rows += new.shape[1]\n",
        "                rows += tokens.shape[1]\n",
    ),
    WrongAnswer(
        "check_generate",
        "without the cache, no causal mask",
        "x = x + multi_head_attention(x, x, x, *layer, n_heads, n_kv_heads, causal)[0]",
        "x = x + multi_head_attention(x, x, x, *layer, n_heads, n_kv_heads)[0]",
    ),
    WrongAnswer(
        "check_generate",
        "the prompt returned with the written tokens",
        "    return tokens[:, prompt.shape[1] :], rows\n",
        "    return tokens, rows\n",
    ),
    # The experiment
    WrongAnswer(
        "check_measure_decoding",
        "both ways timed without the cache",
        _TIMING,
        "seconds = cpu_seconds(generate, weights, prompt, steps, False, repeats=3)",
    ),
    WrongAnswer(
        "check_measure_decoding",
        "labels swapped",
        'label = "with cache" if use_cache else "without cache"',
        'label = "without cache" if use_cache else "with cache"',
    ),
    WrongAnswer(
        "check_measure_decoding",
        "tokens and rows of the cached way only",
        "tokens, rows = generate(weights, prompt, steps, use_cache)",
        "tokens, rows = generate(weights, prompt, steps, True)",
    ),
    # The questions
    WrongAnswer(
        "check_why_the_cache_is_exact",
        "the weights do not change",
        'def why_the_cache_is_exact():\n    ### BEGIN SOLUTION\n    return "b"',
        'def why_the_cache_is_exact():\n    ### BEGIN SOLUTION\n    return "a"',
    ),
    WrongAnswer(
        "check_what_grouped_heads_change",
        "the same output with a smaller cache",
        'def what_grouped_heads_change():\n    ### BEGIN SOLUTION\n    return "a"',
        'def what_grouped_heads_change():\n    ### BEGIN SOLUTION\n    return "b"',
    ),
]
