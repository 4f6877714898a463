from . import WrongAnswer

_SHIFTED = "shifted = torch.where(mask, scores - top, -1.0)"
_CLAMPED = "return torch.clamp(shifted - tau, min=0) * mask"
_KEPT = "kept = (masked_sparsemax(scores / temperature, mask) > 0).sum(dim=-1)"
_PROBABILITIES = 'probabilities = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)'
_MULTINOMIAL = "torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)"
_REINFORCE = "reinforce = (losses - baseline)[:, None] * (one_hot - a)"
_STRAIGHT = "straight_through = a * (u - (a * u).sum(dim=-1, keepdim=True))"
_NOISE = "noise = ((estimates - mean) ** 2).sum(dim=-1).mean() / (exact**2).sum()"

WRONG_ANSWERS = [
    # -- masked_sparsemax
    WrongAnswer(
        "check_masked_sparsemax",
        "padding left in the sort (zeroed only at the end)",
        _SHIFTED,
        "shifted = scores - top",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "padding filled with -inf: a row of padding only breaks",
        _SHIFTED,
        'shifted = torch.where(mask, scores - top, float("-inf"))',
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "padded scores zeroed (scores * mask) instead of removed",
        _SHIFTED,
        "shifted = scores * mask",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "no shift, padding filled with -1000",
        _SHIFTED,
        "shifted = torch.where(mask, scores, -1000.0)",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "cumulative sum picked one position too far",
        "torch.gather(cumulative, -1, support - 1)",
        "torch.gather(cumulative, -1, support.clamp(max=scores.shape[-1] - 1))",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "sorted in increasing order",
        "torch.sort(shifted, dim=-1, descending=True)",
        "torch.sort(shifted, dim=-1, descending=False)",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "z - tau not clamped at 0",
        _CLAMPED,
        "return (shifted - tau) * mask",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "a masked softmax in disguise",
        _CLAMPED,
        "return torch.softmax(shifted.masked_fill(~mask, -1e9), dim=-1) * mask",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "mask reshaped to the scores' shape (only a full mask works)",
        "mask = mask.expand(scores.shape)",
        "mask = mask.reshape(scores.shape)",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "the caller's scores changed in place",
        _SHIFTED,
        "shifted = torch.where(mask, scores.sub_(top), -1.0)",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "library shortcut: entmax.sparsemax",
        _CLAMPED,
        "import entmax\n\n    return entmax.sparsemax(shifted, dim=-1) * mask",
    ),
    WrongAnswer(
        "check_masked_sparsemax",
        "library shortcut: the package's masked_sparsemax",
        _CLAMPED,
        "from attention_course.models import attention_zoo\n\n"
        "    return attention_zoo.masked_sparsemax(scores, mask)",
    ),
    # -- support_by_temperature
    WrongAnswer(
        "check_support_by_temperature",
        "shares of all positions, padding included",
        "shares.append((kept / real).mean().item())",
        "shares.append((kept / mask.shape[-1]).mean().item())",
    ),
    WrongAnswer(
        "check_support_by_temperature",
        "one pooled ratio instead of the mean of the rows' shares",
        "shares.append((kept / real).mean().item())",
        "shares.append((kept.sum() / real.sum()).item())",
    ),
    WrongAnswer(
        "check_support_by_temperature",
        "scores multiplied by the temperature",
        _KEPT,
        "kept = (masked_sparsemax(scores * temperature, mask) > 0).sum(dim=-1)",
    ),
    WrongAnswer(
        "check_support_by_temperature",
        "zero weights counted as kept",
        _KEPT,
        "kept = (masked_sparsemax(scores / temperature, mask) >= 0).sum(dim=-1)",
    ),
    WrongAnswer(
        "check_support_by_temperature",
        "softmax's support measured instead of sparsemax's",
        _KEPT,
        "kept = (torch.softmax(scores / temperature, dim=-1) * mask > 0).sum(dim=-1)",
    ),
    # -- half_support_temperature
    WrongAnswer(
        "check_half_support_temperature",
        "the last temperature below half",
        "return 5.0",
        "return 2.0",
    ),
    WrongAnswer(
        "check_half_support_temperature",
        "the share read as the temperature",
        "return 5.0",
        "return 0.5",
    ),
    WrongAnswer(
        "check_half_support_temperature",
        "the answer as a string",
        "return 5.0",
        'return "5"',
    ),
    # -- sample_hard_attention
    WrongAnswer(
        "check_sample_hard_attention",
        "argmax instead of a sample",
        "positions = " + _MULTINOMIAL,
        "positions = probabilities.argmax(dim=-1)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "padding not masked before the softmax",
        _PROBABILITIES,
        "probabilities = torch.softmax(scores, dim=-1)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "sampled uniformly over the real positions",
        _PROBABILITIES,
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
    WrongAnswer(
        "check_sample_hard_attention",
        "squeeze() without a dimension",
        _MULTINOMIAL,
        "torch.multinomial(probabilities, 1, generator=generator).squeeze()",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "a hand-written softmax without the maximum subtracted",
        _PROBABILITIES,
        "exps = torch.exp(scores) * mask\n"
        "    probabilities = exps / exps.sum(dim=-1, keepdim=True)",
    ),
    WrongAnswer(
        "check_sample_hard_attention",
        "positions returned as floats",
        "return weights, positions",
        "return weights, positions.float()",
    ),
    # -- hard_attention_gradients
    WrongAnswer(
        "check_hard_attention_gradients",
        "REINFORCE with its sign flipped",
        _REINFORCE,
        "reinforce = (baseline - losses)[:, None] * (one_hot - a)",
    ),
    WrongAnswer(
        "check_hard_attention_gradients",
        "the baseline ignored",
        _REINFORCE,
        "reinforce = losses[:, None] * (one_hot - a)",
    ),
    WrongAnswer(
        "check_hard_attention_gradients",
        "the gradient of log a_chosen taken as the one-hot vector",
        _REINFORCE,
        "reinforce = (losses - baseline)[:, None] * one_hot",
    ),
    WrongAnswer(
        "check_hard_attention_gradients",
        "straight-through with the soft context in the forward pass",
        "u = 2 * (values @ (chosen - target)[:, :, None]).squeeze(-1)",
        "soft = (a[:, :, None] * values).sum(dim=1)\n"
        "    u = 2 * (values @ (soft - target)[:, :, None]).squeeze(-1)",
    ),
    WrongAnswer(
        "check_hard_attention_gradients",
        "straight-through without the softmax's Jacobian",
        _STRAIGHT,
        "straight_through = u",
    ),
    WrongAnswer(
        "check_hard_attention_gradients",
        "the softmax's Jacobian without its second term",
        _STRAIGHT,
        "straight_through = a * u",
    ),
    # -- estimator_experiment
    WrongAnswer(
        "check_estimator_experiment",
        "exact gradient without centring the losses",
        "exact = a * (losses - (a * losses).sum())",
        "exact = a * losses",
    ),
    WrongAnswer(
        "check_estimator_experiment",
        "positions by argmax instead of sampled",
        "_, positions = sample_hard_attention(many, everywhere, generator)",
        "positions = many.argmax(dim=-1)",
    ),
    WrongAnswer(
        "check_estimator_experiment",
        "noise not divided by the exact gradient's size",
        _NOISE,
        "noise = ((estimates - mean) ** 2).sum(dim=-1).mean()",
    ),
    WrongAnswer(
        "check_estimator_experiment",
        "noise as the mean over coordinates, not the squared length",
        _NOISE,
        "noise = ((estimates - mean) ** 2).mean() / (exact**2).sum()",
    ),
    WrongAnswer(
        "check_estimator_experiment",
        "bias not relative to the exact gradient",
        "bias = (mean - exact).norm() / exact.norm()",
        "bias = (mean - exact).norm()",
    ),
    WrongAnswer(
        "check_estimator_experiment",
        "the baseline left at 0",
        "hard_attention_gradients(*batch, (a * losses).sum())",
        "hard_attention_gradients(*batch, 0.0)",
    ),
    # -- reading_the_estimators
    WrongAnswer(
        "check_reading_the_estimators", "straight-through unbiased", 'return "b"', 'return "a"'
    ),
    WrongAnswer("check_reading_the_estimators", "both unbiased", 'return "b"', 'return "d"'),
    WrongAnswer("check_reading_the_estimators", "the baseline biases", 'return "b"', 'return "c"'),
    WrongAnswer("check_reading_the_estimators", "noise as bias", 'return "b"', 'return "e"'),
]
