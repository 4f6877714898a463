from . import WrongAnswer

_PERMUTE = "    x = x.permute(0, 2, 4, 3, 5, 1)"
_SIZES = "    patch_h, patch_w = (patch, patch) if isinstance(patch, int) else patch\n"
_HEIGHT_TEST = "    if height % patch_h:\n"
_WIDTH_TEST = "    if width % patch_w:\n"
_CAT = "    return torch.cat([row.sin(), row.cos(), col.sin(), col.cos()], dim=1).float()"
_ROW_COL = (
    "    row = (j // cols)[:, None] * omega  # (rows·cols, dim/4) angles\n"
    "    col = (j % cols)[:, None] * omega"
)
_OMEGA = "    omega = 10000.0 ** (-torch.arange(quarter, dtype=torch.float64) / quarter)"
_MIXED = "        mixed = residual * eye + (1 - residual) * averaged\n"
_PRODUCT = "rollout = mixed if rollout is None else mixed @ rollout"
_READS = "    reads = rollout[:, 0, 1:]  # what the class token reads from each patch\n"
_NORMALISE = "    reads = reads / reads.sum(dim=-1, keepdim=True)\n"
_PER_BLOCK = "    per_block = 4 * tokens * d_model * d_model + 2 * tokens * d_model * d_ff\n"
_EMBEDDING = "    embedding = patches * (patch * patch * channels) * d_model\n"
_LINEAR = "    linear = embedding + depth * per_block + d_model * classes\n"
_ATTENTION = "    attention = depth * 2 * tokens * tokens * d_model"

WRONG_ANSWERS = [
    # Exercise 1: patchify
    WrongAnswer(
        "check_patchify",
        "a reshape without the permute (pixels scrambled across patches)",
        _PERMUTE,
        "    pass",
    ),
    WrongAnswer(
        "check_patchify",
        "patches in column order",
        _PERMUTE,
        "    x = x.permute(0, 4, 2, 3, 5, 1)",
    ),
    WrongAnswer(
        "check_patchify",
        "channels first inside a patch (unfold's own order)",
        _PERMUTE,
        "    x = x.permute(0, 2, 4, 1, 3, 5)",
    ),
    WrongAnswer(
        "check_patchify",
        "each patch read column by column",
        _PERMUTE,
        "    x = x.permute(0, 2, 4, 5, 3, 1)",
    ),
    WrongAnswer(
        "check_patchify",
        "a rectangular patch read as (width, height)",
        _SIZES,
        "    patch_w, patch_h = (patch, patch) if isinstance(patch, int) else patch\n",
    ),
    WrongAnswer(
        "check_patchify",
        "sizes that do not divide silently cropped",
        _SIZES,
        _SIZES + "    height = images.shape[2] // patch_h * patch_h\n"
        "    width = images.shape[3] // patch_w * patch_w\n"
        "    images = images[:, :, :height, :width]\n",
    ),
    WrongAnswer(
        "check_patchify",
        "an assert instead of a ValueError",
        _HEIGHT_TEST,
        "    assert height % patch_h == 0, 'bad height'\n    if False:\n",
    ),
    WrongAnswer(
        "check_patchify",
        "a ValueError that does not say which sizes",
        'f"the pictures\' height {height} is not a multiple of the patch height {patch_h}"',
        '"the patch size does not fit the pictures"',
    ),
    WrongAnswer(
        "check_patchify",
        "only the height tested",
        _WIDTH_TEST,
        "    if False:\n",
    ),
    WrongAnswer(
        "check_patchify",
        "patches copied into a new float32 tensor",
        "    return x.reshape(batch, rows * cols, patch_h * patch_w * channels)",
        "    out = torch.zeros(batch, rows * cols, patch_h * patch_w * channels)\n"
        "    out[:] = x.reshape(batch, rows * cols, patch_h * patch_w * channels)\n"
        "    return out",
    ),
    WrongAnswer(
        "check_patchify",
        ".squeeze() without a dimension (a batch of 1 loses its axis)",
        "    return x.reshape(batch, rows * cols, patch_h * patch_w * channels)",
        "    return x.reshape(batch, rows * cols, patch_h * patch_w * channels).squeeze()",
    ),
    # Exercise 2: sine-cosine positions
    WrongAnswer(
        "check_sincos_positions",
        "rows and columns swapped (column-major order)",
        _ROW_COL,
        "    row = (j % rows)[:, None] * omega\n    col = (j // rows)[:, None] * omega",
    ),
    WrongAnswer(
        "check_sincos_positions",
        "the column's half first",
        _CAT,
        "    return torch.cat([col.sin(), col.cos(), row.sin(), row.cos()], dim=1).float()",
    ),
    WrongAnswer(
        "check_sincos_positions",
        "sines and cosines interleaved",
        _CAT,
        "    row = torch.stack([row.sin(), row.cos()], dim=-1).flatten(1)\n"
        "    col = torch.stack([col.sin(), col.cos()], dim=-1).flatten(1)\n"
        "    return torch.cat([row, col], dim=1).float()",
    ),
    WrongAnswer(
        "check_sincos_positions",
        "frequencies over dim instead of dim / 4",
        _OMEGA,
        "    omega = 10000.0 ** (-torch.arange(quarter, dtype=torch.float64) / dim)",
    ),
    WrongAnswer(
        "check_sincos_positions",
        "frequencies rising instead of falling",
        _OMEGA,
        "    omega = 10000.0 ** (torch.arange(quarter, dtype=torch.float64) / quarter)",
    ),
    WrongAnswer(
        "check_sincos_positions",
        "rows and columns counted from 1",
        _ROW_COL,
        "    row = (j // cols + 1)[:, None] * omega\n    col = (j % cols + 1)[:, None] * omega",
    ),
    WrongAnswer(
        "check_sincos_positions",
        "only an odd dim refused (dim 10 accepted)",
        "    if dim % 4:",
        "    if dim % 2:",
    ),
    # Exercise 3: the class token's map
    WrongAnswer(
        "check_class_token_map",
        "blocks multiplied in the wrong order",
        _PRODUCT,
        "rollout = mixed if rollout is None else rollout @ mixed",
    ),
    WrongAnswer(
        "check_class_token_map",
        "column 0 (what the patches read from the class token) instead of row 0",
        _READS,
        "    reads = rollout[:, 1:, 0]\n",
    ),
    WrongAnswer(
        "check_class_token_map",
        "not re-normalised after leaving out the class token",
        _NORMALISE,
        "",
    ),
    WrongAnswer(
        "check_class_token_map",
        "the residual weight on the attention instead of the identity",
        _MIXED,
        "        mixed = (1 - residual) * eye + residual * averaged\n",
    ),
    WrongAnswer(
        "check_class_token_map",
        "the residual argument ignored (always the chapter's 0.5)",
        _MIXED,
        "        mixed = (eye + averaged) / 2\n",
    ),
    WrongAnswer(
        "check_class_token_map",
        "heads summed instead of averaged",
        "        averaged = weights.mean(dim=1)  # (B, T, T)",
        "        averaged = weights.sum(dim=1)",
    ),
    WrongAnswer(
        "check_class_token_map",
        "only the last block's weights",
        _PRODUCT,
        "rollout = mixed",
    ),
    WrongAnswer(
        "check_class_token_map",
        "the map laid out column by column",
        "    return reads.reshape(len(reads), rows, cols)",
        "    return reads.reshape(len(reads), cols, rows).transpose(1, 2)",
    ),
    WrongAnswer(
        "check_class_token_map",
        "the product started from a float32 identity (float64 weights fail)",
        "    rollout = None\n",
        "    rollout = torch.eye(attention[0].shape[-1])\n",
    ),
    WrongAnswer(
        "check_class_token_map",
        "the caller's weights changed in place",
        "        averaged = weights.mean(dim=1)  # (B, T, T)\n"
        "        eye = torch.eye(averaged.shape[-1], dtype=averaged.dtype)\n"
        "        mixed = residual * eye + (1 - residual) * averaged\n",
        "        weights.mul_(1 - residual)  # the attention's share, in place\n"
        "        eye = torch.eye(weights.shape[-1], dtype=weights.dtype)\n"
        "        mixed = residual * eye + weights.mean(dim=1)\n",
    ),
    WrongAnswer(
        "check_class_token_map",
        ".squeeze() without a dimension (a batch of 1 loses its axis)",
        "    return reads.reshape(len(reads), rows, cols)",
        "    return reads.reshape(len(reads), rows, cols).squeeze()",
    ),
    # Exercise 4: multiply-adds
    WrongAnswer(
        "check_vit_multiply_adds",
        "attention counts the scores only",
        _ATTENTION,
        "    attention = depth * tokens * tokens * d_model",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "the class token left out of the tokens",
        "    tokens = patches + 1  # the class token is a token too",
        "    tokens = patches",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "the patch embedding counted for the class token too",
        _EMBEDDING,
        "    embedding = tokens * (patch * patch * channels) * d_model\n",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "the head counted on every token",
        _LINEAR,
        "    linear = embedding + depth * per_block + tokens * d_model * classes\n",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "three projections per block (the output projection forgotten)",
        _PER_BLOCK,
        "    per_block = 3 * tokens * d_model * d_model + 2 * tokens * d_model * d_ff\n",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "the feed-forward network counted as one layer",
        _PER_BLOCK,
        "    per_block = 4 * tokens * d_model * d_model + tokens * d_model * d_ff\n",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "the depth ignored in the linear layers",
        _LINEAR,
        "    linear = embedding + per_block + d_model * classes\n",
    ),
    WrongAnswer(
        "check_vit_multiply_adds",
        "the channels ignored",
        _EMBEDDING,
        "    embedding = patches * (patch * patch) * d_model\n",
    ),
    # The experiment
    WrongAnswer(
        "check_train_tiny_vit",
        "no seed: two runs with seed 0 differ",
        "    torch.manual_seed(seed)\n    model = TinyViT(patch)",
        "    model = TinyViT(patch)",
    ),
    WrongAnswer(
        "check_train_tiny_vit",
        "the patch size of the chapter whatever the argument",
        "    model = TinyViT(patch)",
        "    model = TinyViT(7)",
    ),
    WrongAnswer(
        "check_train_tiny_vit",
        "the feed-forward network four times d_model wide",
        "d_model, n_heads=2, d_ff=2 * d_model,",
        "d_model, n_heads=2, d_ff=4 * d_model,",
    ),
    WrongAnswer(
        "check_train_tiny_vit",
        "the head applied to every token, then the class token's logits taken",
        "        return self.head(self.norm(z[:, 0]))",
        "        return self.head(self.norm(z))[:, 0]",
    ),
    WrongAnswer(
        "check_train_tiny_vit",
        "no class token: the head reads the first patch",
        "        z, _ = self.block(torch.cat([class_tokens, tokens], dim=1))  # (B, N + 1, D)",
        "        z, _ = self.block(tokens)",
    ),
    WrongAnswer(
        "check_train_tiny_vit",
        "FLOPs counted on ten pictures",
        "        model(images[:1])",
        "        model(images[:10])",
    ),
    WrongAnswer(
        "check_train_tiny_vit",
        "logits of an untrained model (the training forgotten)",
        "    log = train(model, loss_on_batch, steps=STEPS, lr=3e-3)",
        "    log = train(model, loss_on_batch, steps=0, lr=3e-3)\n    log.losses.append(0.0)",
    ),
    # The question
    WrongAnswer(
        "check_reading_the_patch_experiment",
        "small patches show too little",
        '    return "b"',
        '    return "a"',
    ),
    WrongAnswer(
        "check_reading_the_patch_experiment",
        "attention cannot handle many tokens",
        '    return "b"',
        '    return "c"',
    ),
    WrongAnswer(
        "check_reading_the_patch_experiment",
        "more computation means more accuracy",
        '    return "b"',
        '    return "d"',
    ),
]
