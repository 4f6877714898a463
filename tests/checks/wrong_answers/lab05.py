from . import WrongAnswer

_MASK_BEFORE_SOFTMAX = (
    "    if mask is not None:\n"
    '        scores = scores.masked_fill(~mask, float("-inf"))\n'
    "    weights = torch.softmax(scores, dim=-1)\n"
)

WRONG_ANSWERS = [
    # Exercise 1: parameter-free self-attention
    WrongAnswer(
        "check_self_attention",
        "softmax over the query axis",
        "torch.softmax(x @ x.transpose(-2, -1), dim=-1)",
        "torch.softmax(x @ x.transpose(-2, -1), dim=-2)",
    ),
    WrongAnswer(
        "check_self_attention",
        "raw dot products used as weights (no softmax)",
        "weights = torch.softmax(x @ x.transpose(-2, -1), dim=-1)",
        "weights = x @ x.transpose(-2, -1)",
    ),
    WrongAnswer(
        "check_self_attention",
        "weights transposed in the weighted sum",
        "    return weights @ x\n",
        "    return weights.transpose(-2, -1) @ x\n",
    ),
    WrongAnswer(
        "check_self_attention",
        "scaled although the exercise has no scale",
        "torch.softmax(x @ x.transpose(-2, -1), dim=-1)",
        "torch.softmax(x @ x.transpose(-2, -1) / math.sqrt(x.shape[-1]), dim=-1)",
    ),
    WrongAnswer(
        "check_self_attention",
        "x.T mixes the sequences of a batch",
        "torch.softmax(x @ x.transpose(-2, -1), dim=-1)",
        "torch.softmax(torch.einsum('bid,cjd->bij', x, x), dim=-1)",
    ),
    # Exercise 2: projections
    WrongAnswer(
        "check_project_qkv",
        "weights not transposed",
        "return x @ W_q.T, x @ W_k.T, x @ W_v.T",
        "return x @ W_q, x @ W_k, x @ W_v",
    ),
    WrongAnswer(
        "check_project_qkv",
        "keys and values swapped",
        "return x @ W_q.T, x @ W_k.T, x @ W_v.T",
        "return x @ W_q.T, x @ W_v.T, x @ W_k.T",
    ),
    WrongAnswer(
        "check_project_qkv",
        "W_q used for the keys too",
        "return x @ W_q.T, x @ W_k.T, x @ W_v.T",
        "return x @ W_q.T, x @ W_q.T, x @ W_v.T",
    ),
    # Exercise 3: scaled dot-product attention
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "no 1/sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "scaled by d_k instead of sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1) / d_k",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "softmax over the query axis",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=-2)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "mask applied after the softmax",
        _MASK_BEFORE_SOFTMAX,
        "    weights = torch.softmax(scores, dim=-1)\n"
        "    if mask is not None:\n"
        "        weights = weights.masked_fill(~mask, 0.0)\n",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "K used without transposing",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
        "scores = q @ k / math.sqrt(d_k)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "mask ignored",
        'scores = scores.masked_fill(~mask, float("-inf"))',
        "pass",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "mask read the wrong way round",
        'scores = scores.masked_fill(~mask, float("-inf"))',
        'scores = scores.masked_fill(mask, float("-inf"))',
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "masked scores set to 0 instead of -inf",
        'scores = scores.masked_fill(~mask, float("-inf"))',
        "scores = scores.masked_fill(~mask, 0.0)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "a row with nothing to see left as NaN",
        "weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)",
        "pass",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "weights returned transposed",
        "return weights @ v, weights",
        "return weights @ v, weights.transpose(-2, -1)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "scaled by sqrt of the query count",
        "d_k = q.shape[-1]",
        "d_k = q.shape[-2]",
    ),
    # Exercise 4: causal mask
    WrongAnswer(
        "check_causal_mask",
        "a causal mask that lets a position see the next one",
        "return torch.ones(n, n, dtype=torch.bool).tril()",
        "return torch.ones(n, n, dtype=torch.bool).tril(diagonal=1)",
    ),
    WrongAnswer(
        "check_causal_mask",
        "upper triangle: sees the future, not the past",
        "return torch.ones(n, n, dtype=torch.bool).tril()",
        "return torch.ones(n, n, dtype=torch.bool).triu()",
    ),
    WrongAnswer(
        "check_causal_mask",
        "a position may not see itself",
        "return torch.ones(n, n, dtype=torch.bool).tril()",
        "return torch.ones(n, n, dtype=torch.bool).tril(diagonal=-1)",
    ),
    WrongAnswer(
        "check_causal_mask",
        "a float mask of ones and zeros",
        "return torch.ones(n, n, dtype=torch.bool).tril()",
        "return torch.ones(n, n).tril()",
    ),
]
