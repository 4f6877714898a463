from . import WrongAnswer

_PERMUTE = "    x = x.permute(0, 2, 4, 3, 5, 1)"
_CAT = "return torch.cat([class_tokens, tokens], dim=1) + positions"
_NORMALISE = "        mixed = mixed / mixed.sum(dim=-1, keepdim=True)\n"

WRONG_ANSWERS = [
    # Exercise 1: patchify
    WrongAnswer(
        "check_patchify",
        "a reshape without the permute (pixels scrambled across patches)",
        _PERMUTE,
        "    pass",
    ),
    WrongAnswer(
        "check_patchify", "patches in column order", _PERMUTE, "    x = x.permute(0, 4, 2, 3, 5, 1)"
    ),
    WrongAnswer(
        "check_patchify",
        "channels first inside a patch (unfold's raw order)",
        _PERMUTE,
        "    x = x.permute(0, 2, 4, 1, 3, 5)",
    ),
    WrongAnswer(
        "check_patchify", "each patch transposed", _PERMUTE, "    x = x.permute(0, 2, 4, 5, 3, 1)"
    ),
    WrongAnswer(
        "check_patchify",
        "height and width split the wrong way (patch size first)",
        "x = images.reshape(batch, channels, rows, patch, cols, patch)",
        "x = images.reshape(batch, channels, patch, rows, patch, cols)",
    ),
    # Exercise 2: class token and positions
    WrongAnswer(
        "check_add_class_token",
        "the class token appended instead of prepended",
        _CAT,
        "return torch.cat([tokens, class_tokens], dim=1) + positions",
    ),
    WrongAnswer(
        "check_add_class_token",
        "position embeddings not added",
        _CAT,
        "return torch.cat([class_tokens, tokens], dim=1)",
    ),
    WrongAnswer(
        "check_add_class_token",
        "positions added to the patches only, shifted by one",
        _CAT,
        "return torch.cat([class_tokens, tokens + positions[:, :-1]], dim=1)",
    ),
    WrongAnswer(
        "check_add_class_token",
        "the class token without a position embedding",
        _CAT,
        "return torch.cat([class_tokens, tokens + positions[:, 1:]], dim=1)",
    ),
    WrongAnswer(
        "check_add_class_token",
        "a class token of zeros instead of the learned one",
        "class_tokens = class_token.expand(len(tokens), -1, -1)",
        "class_tokens = torch.zeros(len(tokens), 1, tokens.shape[-1])",
    ),
    WrongAnswer(
        "check_add_class_token",
        "the class token detached (it would never learn)",
        "class_tokens = class_token.expand(len(tokens), -1, -1)",
        "class_tokens = class_token.detach().expand(len(tokens), -1, -1)",
    ),
    WrongAnswer(
        "check_add_class_token",
        "the tokens changed in place",
        _CAT,
        "tokens += positions[:, 1:]\n"
        "    return torch.cat([class_tokens + positions[:, :1], tokens], dim=1)",
    ),
    # Exercise 3: attention rollout
    WrongAnswer(
        "check_attention_rollout",
        "rollout without adding the identity",
        "        mixed = mixed + torch.eye(mixed.shape[-1])\n",
        "",
    ),
    WrongAnswer(
        "check_attention_rollout", "rollout without re-normalising the rows", _NORMALISE, ""
    ),
    WrongAnswer(
        "check_attention_rollout",
        "blocks multiplied in the wrong order",
        "else mixed @ rollout",
        "else rollout @ mixed",
    ),
    WrongAnswer(
        "check_attention_rollout",
        "heads summed instead of averaged",
        "mixed = weights.mean(dim=1)",
        "mixed = weights.sum(dim=1)",
    ),
    WrongAnswer(
        "check_attention_rollout",
        "only the last block's weights",
        "rollout = mixed if rollout is None else mixed @ rollout",
        "rollout = mixed",
    ),
    WrongAnswer(
        "check_attention_rollout",
        "the identity added after re-normalising",
        "        mixed = mixed + torch.eye(mixed.shape[-1])\n" + _NORMALISE,
        _NORMALISE + "        mixed = mixed + torch.eye(mixed.shape[-1])\n",
    ),
    # Exercise 4: soft attention pooling
    WrongAnswer(
        "check_soft_attention_pool",
        "grid reshaped without the transpose",
        "v = grid.flatten(2).transpose(1, 2)",
        "v = grid.reshape(batch, height * width, channels)",
    ),
    WrongAnswer(
        "check_soft_attention_pool",
        "softmax along each row of the grid only",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores.view(batch, height, width), dim=-1).flatten(1)",
    ),
    WrongAnswer(
        "check_soft_attention_pool",
        "tanh left out",
        "scores = torch.tanh(v @ W.T + b) @ w",
        "scores = (v @ W.T + b) @ w",
    ),
    WrongAnswer(
        "check_soft_attention_pool",
        "an even average (no attention)",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.full_like(scores, 1 / scores.shape[-1])",
    ),
    WrongAnswer(
        "check_soft_attention_pool",
        "weights laid out as (B, W, H)",
        "weights.view(batch, height, width)",
        "weights.view(batch, width, height)",
    ),
    WrongAnswer(
        "check_soft_attention_pool",
        "softmax over the batch",
        "weights = torch.softmax(scores, dim=-1)",
        "weights = torch.softmax(scores, dim=0)",
    ),
]
