from . import WrongAnswer

WRONG_ANSWERS = [
    WrongAnswer(
        "check_dot_score",
        "summed over the positions instead of the features",
        "return (keys * query[:, None, :]).sum(dim=-1)",
        "return (keys * query[:, None, :]).sum(dim=1)",
    ),
    WrongAnswer(
        "check_dot_score",
        "every query scored against every row's keys",
        "return (keys * query[:, None, :]).sum(dim=-1)",
        "return (keys @ query.T).sum(dim=-1)",
    ),
    WrongAnswer(
        "check_scaled_dot_score",
        "scaled dot without the scale",
        "return dot_score(query, keys) / d**0.5",
        "return dot_score(query, keys)",
    ),
    WrongAnswer(
        "check_scaled_dot_score",
        "divided by d instead of sqrt(d)",
        "return dot_score(query, keys) / d**0.5",
        "return dot_score(query, keys) / d",
    ),
    WrongAnswer(
        "check_scaled_dot_score",
        "divided by the square root of the source length",
        "d = keys.shape[-1]",
        "d = keys.shape[1]",
    ),
    WrongAnswer(
        "check_scaled_dot_score",
        "a fixed scale of 1/8 (right only for d = 64)",
        "d = keys.shape[-1]",
        "d = 64",
    ),
    WrongAnswer(
        "check_general_score",
        "general score with W transposed",
        "projected = keys @ W.T",
        "projected = keys @ W",
    ),
    WrongAnswer(
        "check_general_score",
        "W applied to the query instead of the keys (s^T W^T h)",
        "projected = keys @ W.T  # (B, S, d_q): W h_j for every key\n"
        "    return (projected * query[:, None, :]).sum(dim=-1)",
        "projected = query @ W.T  # wrong: W s\n"
        "    return (keys * projected[:, None, :]).sum(dim=-1)",
    ),
    WrongAnswer(
        "check_additive_score",
        "no tanh",
        "hidden = torch.tanh(keys @ W_1.T + (query @ W_2.T)[:, None, :])",
        "hidden = keys @ W_1.T + (query @ W_2.T)[:, None, :]",
    ),
    WrongAnswer(
        "check_additive_score",
        "tanh applied after v",
        "hidden = torch.tanh(keys @ W_1.T + (query @ W_2.T)[:, None, :])  # (B, S, a)\n"
        "    return hidden @ v",
        "hidden = keys @ W_1.T + (query @ W_2.T)[:, None, :]  # (B, S, a)\n"
        "    return torch.tanh(hidden @ v)",
    ),
    WrongAnswer(
        "check_additive_score",
        "W_1 and W_2 swapped",
        "torch.tanh(keys @ W_1.T + (query @ W_2.T)[:, None, :])",
        "torch.tanh(keys @ W_2.T + (query @ W_1.T)[:, None, :])",
    ),
    WrongAnswer(
        "check_sparsemax",
        "threshold ignores the sorted cumulative sum (tau = max - 1; rows do not sum to 1)",
        "tau = (torch.gather(cumulative, -1, support - 1) - 1) / support",
        "tau = ordered[:, :1] - 1",
    ),
    WrongAnswer(
        "check_sparsemax",
        "threshold from the sum of all scores, not of the support",
        "tau = (torch.gather(cumulative, -1, support - 1) - 1) / support",
        "tau = (cumulative[:, -1:] - 1) / scores.shape[-1]",
    ),
    WrongAnswer(
        "check_sparsemax",
        "cumulative sum picked one position too far (no - 1)",
        "torch.gather(cumulative, -1, support - 1)",
        "torch.gather(cumulative, -1, support.clamp(max=scores.shape[-1] - 1))",
    ),
    WrongAnswer(
        "check_sparsemax",
        "sorted in increasing order",
        "torch.sort(scores, dim=-1, descending=True)",
        "torch.sort(scores, dim=-1, descending=False)",
    ),
    WrongAnswer(
        "check_sparsemax",
        "negative weights not clamped at 0",
        "return torch.clamp(scores - tau, min=0)",
        "return scores - tau",
    ),
    WrongAnswer(
        "check_sparsemax",
        "a softmax in disguise (never exactly 0)",
        "return torch.clamp(scores - tau, min=0)",
        "return torch.softmax(scores, dim=-1)",
    ),
    WrongAnswer(
        "check_window_mask",
        "window one position short on the left",
        "start = centres[:, None] - half_width",
        "start = centres[:, None] - half_width + 1",
    ),
    WrongAnswer(
        "check_window_mask",
        "window one position too wide on the left",
        "start = centres[:, None] - half_width",
        "start = centres[:, None] - half_width - 1",
    ),
    WrongAnswer(
        "check_window_mask",
        "right end excluded (window one short on the right)",
        "(positions <= end)",
        "(positions < end)",
    ),
    WrongAnswer(
        "check_window_mask",
        "window one position too wide on the right",
        "end = centres[:, None] + half_width",
        "end = centres[:, None] + half_width + 1",
    ),
    WrongAnswer(
        "check_window_mask",
        "source length ignored (the window reaches padding)",
        " & (positions < lengths[:, None])",
        "",
    ),
    WrongAnswer(
        "check_window_mask",
        "the last real position excluded",
        "(positions < lengths[:, None])",
        "(positions < lengths[:, None] - 1)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "argmax instead of a sample",
        "positions = torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)",
        "positions = probabilities.argmax(dim=-1)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "padding not masked before the softmax",
        'probabilities = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)',
        "probabilities = torch.softmax(scores, dim=-1)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "sampled uniformly over the real positions",
        'probabilities = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)',
        "probabilities = mask.float() / mask.sum(-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "the generator not used (global random state)",
        "torch.multinomial(probabilities, 1, generator=generator)",
        "torch.multinomial(probabilities, 1)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "weights left as the probabilities (soft)",
        "weights = torch.zeros_like(scores).scatter(-1, positions[:, None], 1.0)",
        "weights = probabilities",
    ),
]
