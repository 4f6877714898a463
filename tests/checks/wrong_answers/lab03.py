from . import WrongAnswer

WRONG_ANSWERS = [
    WrongAnswer(
        "check_additive_score",
        "tanh omitted",
        "hidden = torch.tanh(keys @ W_1.T + (query @ W_2.T)[:, None, :])",
        "hidden = keys @ W_1.T + (query @ W_2.T)[:, None, :]",
    ),
    WrongAnswer(
        "check_additive_score",
        "W_1 and W_2 not transposed",
        "hidden = torch.tanh(keys @ W_1.T + (query @ W_2.T)[:, None, :])",
        "hidden = torch.tanh(keys @ W_1 + (query @ W_2)[:, None, :])",
    ),
    WrongAnswer(
        "check_additive_score",
        "query projection not broadcast over positions",
        "(query @ W_2.T)[:, None, :]",
        "(query @ W_2.T)",
    ),
    WrongAnswer(
        "check_additive_score",
        "every query added to every example (batch mixed)",
        "(query @ W_2.T)[:, None, :]",
        "(query @ W_2.T).sum(0)",
    ),
    WrongAnswer(
        "check_additive_score",
        "sigmoid instead of tanh",
        "hidden = torch.tanh(",
        "hidden = torch.sigmoid(",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "softmax over the batch axis",
        "return torch.softmax(filled, dim=-1) * mask",
        "return torch.softmax(filled, dim=0) * mask",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "mask applied after the softmax",
        "filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)",
        "filled = scores",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "padding filled with -inf: an all-padding row is NaN",
        "torch.finfo(scores.dtype).min)\n    return torch.softmax(filled, dim=-1) * mask",
        "float('-inf'))\n    return torch.softmax(filled, dim=-1)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "weights not normalised (exp of the masked scores)",
        "return torch.softmax(filled, dim=-1) * mask",
        "return torch.exp(filled) * mask",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "exp divided by its sum without subtracting the maximum",
        "return torch.softmax(filled, dim=-1) * mask",
        "exps = torch.exp(scores) * mask\n"
        "    return exps / exps.sum(-1, keepdim=True).clamp(min=1e-30)",
    ),
    WrongAnswer(
        "check_masked_softmax",
        "padding ignored",
        "return torch.softmax(filled, dim=-1) * mask",
        "return torch.softmax(scores, dim=-1)",
    ),
    WrongAnswer(
        "check_context_vector",
        "summed over the feature axis",
        "return (weights[:, :, None] * values).sum(dim=1)",
        "return (weights[:, :, None] * values).sum(dim=2)",
    ),
    WrongAnswer(
        "check_context_vector",
        "plain mean of the states, weights ignored",
        "return (weights[:, :, None] * values).sum(dim=1)",
        "return values.mean(dim=1)",
    ),
    WrongAnswer(
        "check_decoder_step",
        "weights returned not normalised (the scores)",
        "return state, logits, weights",
        "return state, logits, scores",
    ),
    WrongAnswer(
        "check_decoder_step",
        "the new state s_i used where s_(i-1) is meant",
        "return state, logits, weights",
        "return state, logits, masked_softmax(additive_score(\n"
        "        state, encoder_states, layers.W_1, layers.W_2, layers.v), mask)",
    ),
    WrongAnswer(
        "check_decoder_step",
        "the output computed from the previous state",
        "logits = layers.output(torch.cat([state, context, embedded], dim=-1))",
        "logits = layers.output(torch.cat([previous_state, context, embedded], dim=-1))",
    ),
    WrongAnswer(
        "check_decoder_step",
        "mask not passed on: padding attended to",
        "weights = masked_softmax(scores, mask)",
        "weights = torch.softmax(scores, dim=-1)",
    ),
    WrongAnswer(
        "check_decoder_step",
        "context and embedding swapped in the cell input",
        "layers.cell(torch.cat([embedded, context], dim=-1), previous_state)",
        "layers.cell(torch.cat([context, embedded], dim=-1), previous_state)",
    ),
    WrongAnswer(
        "check_decoder_step",
        "logits without the context",
        "torch.cat([state, context, embedded], dim=-1)",
        "torch.cat([state, torch.zeros_like(context), embedded], dim=-1)",
    ),
]
