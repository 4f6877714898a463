from . import WrongAnswer

_MASK_THEN_MAX = (
    "    if mask is not None:\n"
    '        scores = scores.masked_fill(~mask, float("-inf"))\n'
    "    row_max = scores.amax(dim=-1, keepdim=True)\n"
)
_SOFTMAX_BODY = (
    "    row_max = scores.amax(dim=-1, keepdim=True)\n"
    "    row_max = torch.where(torch.isinf(row_max), torch.zeros_like(row_max), row_max)\n"
    "    exponentials = torch.exp(scores - row_max)  # at most 1; exactly 0 where forbidden\n"
    "    sums = exponentials.sum(dim=-1, keepdim=True)\n"
    "    weights = exponentials / torch.where(sums > 0, sums, torch.ones_like(sums))\n"
)
_SCORES = "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
_LOSS = "F.cross_entropy(logits[:, :-1].reshape(-1, SYMBOLS), tokens[:, 1:].reshape(-1))"
_PREFIX_GUESSES = (
    "    guesses = [\n"
    "        next_token_logits(params, tokens[:, : t + 1])[:, -1].argmax(dim=-1)\n"
    "        for t in range(tokens.shape[1] - 1)\n"
    "    ]\n"
    "    return torch.stack(guesses, dim=1)\n"
)

WRONG_ANSWERS = [
    # Exercise 1: causal mask with a window
    WrongAnswer(
        "check_causal_mask",
        "window one position too wide (i - w <= j)",
        "allowed & (j > i - window)",
        "allowed & (j >= i - window)",
    ),
    WrongAnswer(
        "check_causal_mask",
        "the future instead of the past",
        "allowed = j <= i",
        "allowed = j >= i",
    ),
    WrongAnswer(
        "check_causal_mask", "a position may not see itself", "allowed = j <= i", "allowed = j < i"
    ),
    WrongAnswer(
        "check_causal_mask",
        "window ignored",
        "allowed = allowed & (j > i - window)",
        "allowed = allowed",
    ),
    WrongAnswer(
        "check_causal_mask",
        "a float mask of ones and zeros",
        "    return allowed\n",
        "    return allowed.float()\n",
    ),
    # Exercise 2: scaled dot-product attention with a hand-written softmax
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "no 1/sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "scores = q @ k.transpose(-2, -1)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "scaled by d_k instead of sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "scores = q @ k.transpose(-2, -1) / q.shape[-1]",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "scaled by sqrt of the query count",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-2])",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "normalised over the query axis",
        "    sums = exponentials.sum(dim=-1, keepdim=True)\n",
        "    sums = exponentials.sum(dim=-2, keepdim=True)\n",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "no maximum subtracted (exp overflows on large scores)",
        "exponentials = torch.exp(scores - row_max)",
        "exponentials = torch.exp(scores)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "one maximum for the whole tensor, not each row's",
        "row_max = scores.amax(dim=-1, keepdim=True)",
        "row_max = scores.amax()",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "the maximum taken over masked keys too",
        _MASK_THEN_MAX,
        "    row_max = scores.amax(dim=-1, keepdim=True)\n"
        "    if mask is not None:\n"
        '        scores = scores.masked_fill(~mask, float("-inf"))\n',
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "row maximum without keepdim",
        "row_max = scores.amax(dim=-1, keepdim=True)",
        "row_max = scores.amax(dim=-1)",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "a row with nothing to see: -inf - (-inf) left as NaN",
        "    row_max = torch.where(torch.isinf(row_max), torch.zeros_like(row_max), row_max)\n",
        "",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "a row with nothing to see: 0/0 left as NaN",
        "weights = exponentials / torch.where(sums > 0, sums, torch.ones_like(sums))",
        "weights = exponentials / sums",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "mask applied after the softmax (weights zeroed)",
        _MASK_THEN_MAX[: -len(_SOFTMAX_BODY.splitlines(keepends=True)[0])] + _SOFTMAX_BODY,
        _SOFTMAX_BODY
        + "    if mask is not None:\n        weights = weights.masked_fill(~mask, 0.0)\n",
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
        "squeeze() without an axis",
        "    return weights @ v, weights\n    ### END SOLUTION",
        "    return (weights @ v).squeeze(), weights.squeeze()\n    ### END SOLUTION",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "the keys averaged instead of the values",
        "    return weights @ v, weights\n    ### END SOLUTION",
        "    return weights @ k, weights\n    ### END SOLUTION",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "divides the caller's queries in place",
        _SCORES,
        "    q /= math.sqrt(q.shape[-1])\n    scores = q @ k.transpose(-2, -1)\n",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "torch.softmax instead of a softmax of one's own",
        _SOFTMAX_BODY,
        "    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)\n",
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "the course package's attention function",
        _SCORES,
        "    from attention_course.models import dot_product_attention\n\n"
        "    return dot_product_attention.scaled_dot_product_attention(q, k, v, mask)\n" + _SCORES,
    ),
    WrongAnswer(
        "check_scaled_dot_product_attention",
        "PyTorch's attention for the output",
        "    return weights @ v, weights\n    ### END SOLUTION",
        "    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), weights\n"
        "    ### END SOLUTION",
    ),
    # Exercise 3: the model's logits
    WrongAnswer(
        "check_next_token_logits",
        "no residual connection",
        'return (h + attended) @ params["readout"].T',
        'return attended @ params["readout"].T',
    ),
    WrongAnswer(
        "check_next_token_logits",
        "positions not added",
        'h = params["embed"][tokens] + params["position"][: tokens.shape[1]]',
        'h = params["embed"][tokens]',
    ),
    WrongAnswer(
        "check_next_token_logits",
        "the whole position table added to a shorter sequence",
        'params["position"][: tokens.shape[1]]',
        'params["position"]',
    ),
    WrongAnswer(
        "check_next_token_logits",
        "mask not passed on to the attention",
        '        h @ params["W_q"].T, h @ params["W_k"].T, h @ params["W_v"].T, mask\n',
        '        h @ params["W_q"].T, h @ params["W_k"].T, h @ params["W_v"].T\n',
    ),
    WrongAnswer(
        "check_next_token_logits",
        "keys projected with W_q",
        'h @ params["W_k"].T, h @ params["W_v"].T, mask',
        'h @ params["W_q"].T, h @ params["W_v"].T, mask',
    ),
    WrongAnswer(
        "check_next_token_logits",
        "PyTorch's attention instead of one's own",
        "    attended, _ = scaled_dot_product_attention(\n",
        "    attended, _ = F.scaled_dot_product_attention(\n",
    ),
    # Exercise 4: the loss
    WrongAnswer(
        "check_next_token_loss",
        "no shift: logits at t scored against token t",
        _LOSS,
        "F.cross_entropy(logits.reshape(-1, SYMBOLS), tokens.reshape(-1))",
    ),
    WrongAnswer(
        "check_next_token_loss",
        "shifted the wrong way",
        _LOSS,
        "F.cross_entropy(logits[:, 1:].reshape(-1, SYMBOLS), tokens[:, :-1].reshape(-1))",
    ),
    WrongAnswer(
        "check_next_token_loss",
        "view on the sliced (non-contiguous) logits",
        "logits[:, :-1].reshape(-1, SYMBOLS)",
        "logits[:, :-1].view(-1, SYMBOLS)",
    ),
    WrongAnswer(
        "check_next_token_loss",
        "returned as a Python number (.item())",
        "    return " + _LOSS + "\n",
        "    return " + _LOSS + ".item()\n",
    ),
    WrongAnswer(
        "check_next_token_loss",
        "mask dropped",
        "logits = next_token_logits(params, tokens, mask)",
        "logits = next_token_logits(params, tokens)",
    ),
    WrongAnswer(
        "check_next_token_loss",
        "summed instead of averaged",
        "tokens[:, 1:].reshape(-1))",
        'tokens[:, 1:].reshape(-1), reduction="sum")',
    ),
    # Exercise 5: guesses from the past only
    WrongAnswer(
        "check_predict_from_prefixes",
        "one run on the whole sequence, no mask",
        _PREFIX_GUESSES,
        "    return next_token_logits(params, tokens)[:, :-1].argmax(dim=-1)\n",
    ),
    WrongAnswer(
        "check_predict_from_prefixes",
        "each prefix one token too long",
        "next_token_logits(params, tokens[:, : t + 1])[:, -1]",
        "next_token_logits(params, tokens[:, : t + 2])[:, t]",
    ),
    WrongAnswer(
        "check_predict_from_prefixes",
        "logits returned instead of tokens",
        "[:, -1].argmax(dim=-1)\n",
        "[:, -1]\n",
    ),
    WrongAnswer(
        "check_predict_from_prefixes",
        "one guess too many (the last position too)",
        "for t in range(tokens.shape[1] - 1)",
        "for t in range(tokens.shape[1])",
    ),
    # The experiment
    WrongAnswer(
        "check_train_next_token_model",
        "the mask never used",
        "mask = causal_mask(LENGTH) if causal else None",
        "mask = None",
    ),
    WrongAnswer(
        "check_train_next_token_model",
        "the mask used in both runs",
        "mask = causal_mask(LENGTH) if causal else None",
        "mask = causal_mask(LENGTH)",
    ),
    WrongAnswer(
        "check_train_next_token_model",
        "the ParameterDict returned, not plain tensors",
        "    return {name: p.detach() for name, p in params.items()}\n",
        "    return params\n",
    ),
    WrongAnswer(
        "check_train_next_token_model",
        "trained for 20 steps instead of 200",
        "steps=200, lr=1e-2)",
        "steps=20, lr=1e-2)",
    ),
    # The questions
    WrongAnswer(
        "check_why_the_unmasked_model_fails",
        "overfitting",
        'def why_the_unmasked_model_fails():\n    ### BEGIN SOLUTION\n    return "b"',
        'def why_the_unmasked_model_fails():\n    ### BEGIN SOLUTION\n    return "a"',
    ),
    WrongAnswer(
        "check_why_the_masked_loss_stays_high",
        "undertrained",
        'def why_the_masked_loss_stays_high():\n    ### BEGIN SOLUTION\n    return "b"',
        'def why_the_masked_loss_stays_high():\n    ### BEGIN SOLUTION\n    return "a"',
    ),
]
