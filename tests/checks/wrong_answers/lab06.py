from . import WrongAnswer

_SPLIT = "    return x.reshape(batch, n, n_heads, d_model // n_heads).transpose(1, 2)\n"
_MERGE = "    return x.transpose(1, 2).reshape(batch, n, n_heads * d_head)\n"

WRONG_ANSWERS = [
    # Exercise 1: split heads
    WrongAnswer(
        "check_split_heads",
        "view to heads without the transpose (tokens scrambled)",
        _SPLIT,
        "    return x.view(batch, n_heads, n, d_model // n_heads)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "heads take every n_heads-th feature (interleaved)",
        _SPLIT,
        "    return x.reshape(batch, n, d_model // n_heads, n_heads).permute(0, 3, 1, 2)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "heads left on the third axis (no transpose at all)",
        _SPLIT,
        "    return x.reshape(batch, n, n_heads, d_model // n_heads)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "transpose of the wrong axes",
        _SPLIT,
        "    return x.reshape(batch, n, n_heads, d_model // n_heads).transpose(1, 3)\n",
    ),
    WrongAnswer(
        "check_split_heads",
        "changes its input in place",
        _SPLIT,
        "    x.mul_(1.0 + 1e-3)\n" + _SPLIT,
    ),
    # Exercise 2: merge heads
    WrongAnswer(
        "check_merge_heads",
        "reshape without moving the heads axis back",
        _MERGE,
        "    return x.reshape(batch, n, n_heads * d_head)\n",
    ),
    WrongAnswer(
        "check_merge_heads",
        "heads concatenated in reverse order",
        _MERGE,
        "    return x.flip(1).transpose(1, 2).reshape(batch, n, n_heads * d_head)\n",
    ),
    WrongAnswer(
        "check_merge_heads",
        "heads averaged instead of concatenated",
        _MERGE,
        "    return x.mean(dim=1)\n",
    ),
    # Exercise 3: multi-head attention
    WrongAnswer(
        "check_multi_head_attention",
        "the output projection W_o missing",
        "return merge_heads(weights @ v) @ W_o.T, weights",
        "return merge_heads(weights @ v), weights",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "scaled by sqrt(d_model) instead of sqrt(d_head)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(query.shape[-1])",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "projection weights not transposed",
        "q = split_heads(query @ W_q.T, n_heads)",
        "q = split_heads(query @ W_q, n_heads)",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "one head of full width (n_heads ignored)",
        "    q = split_heads(query @ W_q.T, n_heads)  # (batch, heads, n_queries, d_head)\n"
        "    k = split_heads(key @ W_k.T, n_heads)\n"
        "    v = split_heads(value @ W_v.T, n_heads)\n",
        "    q = split_heads(query @ W_q.T, 1)\n"
        "    k = split_heads(key @ W_k.T, 1)\n"
        "    v = split_heads(value @ W_v.T, 1)\n",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "keys used as values",
        "v = split_heads(value @ W_v.T, n_heads)",
        "v = split_heads(key @ W_k.T, n_heads)",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "softmax over the query axis",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=-2)",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "mask ignored",
        'scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))',
        "pass",
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "mask read as PyTorch's (True = blocked)",
        'scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))',
        'scores = scores.masked_fill(mask.unsqueeze(1), float("-inf"))',
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "mask without a head axis",
        'scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))',
        'scores = scores.masked_fill(~mask, float("-inf"))',
    ),
    WrongAnswer(
        "check_multi_head_attention",
        "weights returned averaged over the heads",
        "return merge_heads(weights @ v) @ W_o.T, weights",
        "return merge_heads(weights @ v) @ W_o.T, weights.mean(dim=1)",
    ),
    # Exercise 4: sinusoidal encodings
    WrongAnswer(
        "check_sinusoidal_encoding",
        "sin and cos swapped",
        "    encoding[:, 0::2] = torch.sin(angles)\n    encoding[:, 1::2] = torch.cos(angles)\n",
        "    encoding[:, 0::2] = torch.cos(angles)\n    encoding[:, 1::2] = torch.sin(angles)\n",
    ),
    WrongAnswer(
        "check_sinusoidal_encoding",
        "exponent i/d_model instead of 2i/d_model",
        "pair = torch.arange(0, d_model, 2, dtype=torch.float32)",
        "pair = torch.arange(0, d_model // 2, dtype=torch.float32)",
    ),
    WrongAnswer(
        "check_sinusoidal_encoding",
        "all sines first, then all cosines",
        "    encoding[:, 0::2] = torch.sin(angles)\n    encoding[:, 1::2] = torch.cos(angles)\n",
        "    encoding = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)\n",
    ),
    WrongAnswer(
        "check_sinusoidal_encoding",
        "positions counted from 1",
        "positions = torch.arange(length, dtype=torch.float32)[:, None]",
        "positions = torch.arange(1, length + 1, dtype=torch.float32)[:, None]",
    ),
    WrongAnswer(
        "check_sinusoidal_encoding",
        "base 1000 instead of 10000",
        "angles = positions / 10000 ** (pair / d_model)",
        "angles = positions / 1000 ** (pair / d_model)",
    ),
    WrongAnswer(
        "check_sinusoidal_encoding",
        "multiplied by the frequency term instead of divided",
        "angles = positions / 10000 ** (pair / d_model)",
        "angles = positions * 10000 ** (pair / d_model)",
    ),
    # Exercise 5: chunked attention
    WrongAnswer(
        "check_chunked_attention",
        "running sum not rescaled when the maximum changes",
        "running_sum = running_sum * rescale + exponentials.sum(dim=-1, keepdim=True)",
        "running_sum = running_sum + exponentials.sum(dim=-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "weighted values not rescaled",
        "weighted = weighted * rescale + exponentials",
        "weighted = weighted + exponentials",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "rescaled by exp(new - old) instead of exp(old - new)",
        "rescale = torch.exp(running_max - new_max)",
        "rescale = torch.exp(new_max - running_max).nan_to_num(posinf=0.0)",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "no maximum subtracted (overflow on large scores)",
        "        rescale = torch.exp(running_max - new_max)\n"
        "        exponentials = torch.exp(scores - new_max)\n",
        "        rescale = torch.ones_like(new_max)\n        exponentials = torch.exp(scores)\n",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "the last, shorter chunk dropped",
        "for start in range(0, k.shape[-2], chunk_size):",
        "for start in range(0, k.shape[-2] - chunk_size + 1, chunk_size):",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "no 1/sqrt(d) scaling",
        "q @ k[..., start : start + chunk_size, :].transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "q @ k[..., start : start + chunk_size, :].transpose(-2, -1)",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "the maximum of the chunk only, not the running one",
        "new_max = torch.maximum(running_max, scores.amax(dim=-1, keepdim=True))",
        "new_max = scores.amax(dim=-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_chunked_attention",
        "exact attention on the whole matrix, chunks ignored",
        '    running_max = torch.full((*q.shape[:-1], 1), float("-inf"))\n',
        "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
        "    return torch.softmax(scores, dim=-1) @ v\n"
        '    running_max = torch.full((*q.shape[:-1], 1), float("-inf"))\n',
    ),
]
