from . import WrongAnswer

_SHIFT = 'shifted = (scores - top).masked_fill(~mask, float("-inf"))'
_TOP = 'top = scores.masked_fill(~mask, float("-inf")).amax(dim=-1, keepdim=True)'
_RETURN = "return exps / total.clamp(min=torch.finfo(scores.dtype).tiny)"
_HIDDEN = "hidden = torch.tanh(projected_keys[:, None, :, :] + projected_queries[:, :, None, :])"
_STACKED = "return torch.stack(tokens, dim=1), torch.stack(weights, dim=1)"

WRONG_ANSWERS = [
    # -- masked_softmax
    WrongAnswer(
        "check_masked_softmax",
        "no maximum subtracted: exp(1000) overflows",
        _SHIFT,
        'shifted = scores.masked_fill(~mask, float("-inf"))',
    ),
    WrongAnswer(
        "check_masked_softmax",
        "the maximum of the whole tensor, not of each row",
        _TOP,
        'top = scores.masked_fill(~mask, float("-inf")).amax()',
    ),
    WrongAnswer(
        "check_masked_softmax",
        "the maximum taken over the padding too",
        _TOP,
        "top = scores.amax(dim=-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "padded scores zeroed (scores * mask) before the maximum",
        _TOP,
        "top = (scores * mask).amax(dim=-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "padding filled with -1e4 before the maximum",
        _TOP,
        "top = scores.masked_fill(~mask, -1e4).amax(dim=-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "softmax over every position, padding zeroed afterwards",
        _SHIFT + "\n    exps = torch.exp(shifted)\n    total = exps.sum(dim=-1, keepdim=True)\n"
        "    " + _RETURN,
        "shifted = scores - scores.amax(dim=-1, keepdim=True)\n"
        "    exps = torch.exp(shifted)\n    total = exps.sum(dim=-1, keepdim=True)\n"
        "    return exps / total * mask",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "no guard against 0 / 0: an all-padding row is NaN",
        _RETURN,
        "return exps / total",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "normalised over the batch axis",
        "total = exps.sum(dim=-1, keepdim=True)",
        "total = exps.sum(dim=0, keepdim=True)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "mask reshaped to the scores' shape (only a full mask works)",
        "mask = mask.expand(scores.shape)",
        "mask = mask.reshape(scores.shape)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "the caller's scores changed in place",
        _SHIFT,
        'shifted = scores.sub_(top).masked_fill(~mask, float("-inf"))',
    ),
    WrongAnswer(
        "check_masked_softmax",
        "library shortcut: torch.softmax",
        _RETURN,
        "return torch.softmax(shifted, dim=-1).nan_to_num(0.0)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "library shortcut: the package's masked_softmax",
        _RETURN,
        "from attention_course.models import additive_attention\n"
        "    return additive_attention.masked_softmax(scores, mask)",
    ),
    # -- additive_attention
    WrongAnswer(
        "check_additive_attention",
        "tanh omitted",
        _HIDDEN,
        "hidden = projected_keys[:, None, :, :] + projected_queries[:, :, None, :]",
    ),
    WrongAnswer(
        "check_additive_attention",
        "the context averages the keys instead of the values",
        "return weights @ values, weights",
        "return weights @ keys, weights",
    ),
    WrongAnswer(
        "check_additive_attention",
        "query and key axes swapped in the broadcast",
        _HIDDEN,
        "hidden = torch.tanh(projected_keys[:, :, None, :] + projected_queries[:, None, :, :])",
    ),
    WrongAnswer(
        "check_additive_attention",
        "only a (batch, n) mask handled",
        "if mask.dim() == 2:  # one mask per source: the same for all its queries\n"
        "        mask = mask[:, None, :]",
        "mask = mask[:, None, :]",
    ),
    WrongAnswer(
        "check_additive_attention",
        "W_1 and W_2 used without transposing",
        "projected_keys = keys @ W_1.T",
        "projected_keys = keys @ W_1",
    ),
    WrongAnswer(
        "check_additive_attention",
        "squeeze() without a dimension",
        "scores = hidden @ v  # (batch, n_q, n)",
        "scores = (hidden @ v[:, None]).squeeze()",
    ),
    WrongAnswer(
        "check_additive_attention",
        "a plain softmax with -inf padding (NaN for a query that sees nothing)",
        "weights = masked_softmax(scores, mask)",
        'weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)',
    ),
    WrongAnswer(
        "check_additive_attention",
        "the mask ignored",
        "weights = masked_softmax(scores, mask)",
        "weights = masked_softmax(scores, torch.ones_like(scores, dtype=torch.bool))",
    ),
    # -- greedy_decode
    WrongAnswer(
        "check_greedy_decode",
        "every step fed BOS (the output never fed back)",
        "token = logits.argmax(dim=-1)\n            tokens.append(token)",
        "tokens.append(logits.argmax(dim=-1))",
    ),
    WrongAnswer(
        "check_greedy_decode",
        "the first step fed padding instead of BOS",
        "token = torch.full((source.shape[0],), BOS)",
        "token = torch.zeros(source.shape[0], dtype=torch.long)",
    ),
    WrongAnswer(
        "check_greedy_decode",
        "the decoder started from a zero state instead of s_0",
        "encoded, state = model.encode(source, lengths)",
        "encoded, _ = model.encode(source, lengths)\n"
        "        state = torch.zeros(source.shape[0], model.cell.hidden_size)",
    ),
    WrongAnswer(
        "check_greedy_decode",
        "weights stacked along the batch axis",
        _STACKED,
        "return torch.stack(tokens, dim=1), torch.stack(weights, dim=0)",
    ),
    WrongAnswer(
        "check_greedy_decode",
        "squeeze() without a dimension",
        _STACKED,
        "return torch.stack(tokens, dim=1).squeeze(), torch.stack(weights, dim=1).squeeze()",
    ),
    WrongAnswer(
        "check_greedy_decode",
        "a model without attention not handled (weights of None stacked)",
        "    if weights[0] is None:  # a model without attention\n"
        "        return torch.stack(tokens, dim=1), None\n",
        "",
    ),
    WrongAnswer(
        "check_greedy_decode",
        "library shortcut: the model's own greedy_decode",
        _STACKED,
        "return model.greedy_decode(source, lengths, steps, return_weights=True)",
    ),
    # -- length_experiment
    WrongAnswer(
        "check_length_experiment",
        "the models never trained",
        "train(model, loss_on_batch, steps=steps, lr=LEARNING_RATE)",
        "pass",
    ),
    WrongAnswer(
        "check_length_experiment",
        "both models built with attention",
        "model = new_model(with_attention)",
        "model = new_model(True)",
    ),
    WrongAnswer(
        "check_length_experiment",
        "the two curves swapped",
        '(("attention", True), ("no attention", False))',
        '(("attention", False), ("no attention", True))',
    ),
    WrongAnswer(
        "check_length_experiment",
        "trained for a tenth of the steps",
        "steps=steps, lr=LEARNING_RATE",
        "steps=steps // 10, lr=LEARNING_RATE",
    ),
    # -- reading_the_curve
    WrongAnswer("check_reading_the_curve", "the smaller model", 'return "c"', 'return "a"'),
    WrongAnswer("check_reading_the_curve", "the harsher metric", 'return "c"', 'return "d"'),
    WrongAnswer("check_reading_the_curve", "rare long sequences", 'return "c"', 'return "b"'),
]
