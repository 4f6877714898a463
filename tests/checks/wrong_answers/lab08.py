from . import WrongAnswer

_RETURNS = "    returns = 100 * np.diff(np.log(prices), axis=0)  # returns[s - 1]: day s's return\n"
_ORIGINS = "    origins = np.arange(lookback, len(prices) - 1)"
_X = "    X = np.stack([returns[t - lookback : t] for t in origins])"
_Y = "    y = returns[origins, target]  # day t + 1\n"
_LAST = "    last = prices[origins, target]\n"
_FORECAST = "    forecast = last * np.exp(np.asarray(predicted_return, dtype=np.float64) / 100)\n"
_TRUTH = "    truth = last * np.exp(np.asarray(true_return, dtype=np.float64) / 100)\n"
_MAPE = "    return 100 * np.mean(np.abs(forecast - truth) / truth)"
_SCORES = "    scores = (keys @ query.unsqueeze(-1)).squeeze(-1) / math.sqrt(d)  # (B, L)"
_BIAS = "    scores = scores + lag_bias.flip(0)"
_MASK = '        scores = scores.masked_fill(~mask, float("-inf"))'
_SOFTMAX = "    weights = torch.softmax(scores, dim=-1)\n"
_CONTEXT = "    context = (weights.unsqueeze(1) @ values).squeeze(1)  # (B, d_v)"
_SPLIT = "    split = int(0.7 * len(X))"

WRONG_ANSWERS = [
    # Exercise 1: windows of returns
    WrongAnswer(
        "check_return_windows",
        "the window includes the target day (leakage)",
        _X,
        "    X = np.stack([returns[t - lookback + 1 : t + 1] for t in origins])",
    ),
    WrongAnswer(
        "check_return_windows",
        "the target is the origin's own return",
        _Y,
        "    y = returns[origins - 1, target]\n",
    ),
    WrongAnswer(
        "check_return_windows",
        "the last price is the one being forecast",
        _LAST,
        "    last = prices[origins + 1, target]\n",
    ),
    WrongAnswer(
        "check_return_windows",
        "simple returns instead of log returns",
        _RETURNS,
        "    returns = 100 * (prices[1:] / prices[:-1] - 1)\n",
    ),
    WrongAnswer(
        "check_return_windows",
        "returns as fractions, not percent",
        _RETURNS,
        "    returns = np.diff(np.log(prices), axis=0)\n",
    ),
    WrongAnswer(
        "check_return_windows",
        "np.diff without axis=0 (across the indices)",
        _RETURNS,
        "    returns = 100 * np.diff(np.log(prices))\n",
    ),
    WrongAnswer(
        "check_return_windows",
        "the last window dropped",
        _ORIGINS,
        "    origins = np.arange(lookback, len(prices) - 2)",
    ),
    WrongAnswer(
        "check_return_windows",
        "windows laid out (lookback, indices) transposed",
        _X,
        "    X = np.stack([returns[t - lookback : t].T for t in origins])",
    ),
    WrongAnswer(
        "check_return_windows",
        "the target always the first index",
        _Y,
        "    y = returns[origins, 0]\n",
    ),
    WrongAnswer(
        "check_return_windows",
        "windows of prices instead of returns",
        _X,
        "    X = np.stack([prices[t - lookback + 1 : t + 1] for t in origins])",
    ),
    # Exercise 2: MAPE of the price forecasts
    WrongAnswer(
        "check_price_mape",
        "a fraction instead of percent",
        _MAPE,
        "    return np.mean(np.abs(forecast - truth) / truth)",
    ),
    WrongAnswer(
        "check_price_mape",
        "divided by the forecast price",
        _MAPE,
        "    return 100 * np.mean(np.abs(forecast - truth) / forecast)",
    ),
    WrongAnswer(
        "check_price_mape",
        "divided by the last known price",
        _MAPE,
        "    return 100 * np.mean(np.abs(forecast - truth) / last)",
    ),
    WrongAnswer(
        "check_price_mape",
        "prices rebuilt with 1 + r / 100",
        _FORECAST + _TRUTH,
        "    forecast = last * (1 + np.asarray(predicted_return, dtype=np.float64) / 100)\n"
        "    truth = last * (1 + np.asarray(true_return, dtype=np.float64) / 100)\n",
    ),
    WrongAnswer(
        "check_price_mape",
        "the returns not divided by 100",
        _FORECAST + _TRUTH,
        "    forecast = last * np.exp(np.asarray(predicted_return, dtype=np.float64))\n"
        "    truth = last * np.exp(np.asarray(true_return, dtype=np.float64))\n",
    ),
    WrongAnswer(
        "check_price_mape",
        "the MAPE of the returns themselves",
        _MAPE,
        "    predicted = np.asarray(predicted_return, dtype=np.float64)\n"
        "    true = np.asarray(true_return, dtype=np.float64)\n"
        "    return 100 * np.mean(np.abs(predicted - true) / np.abs(true))",
    ),
    WrongAnswer(
        "check_price_mape",
        "signed errors that cancel",
        _MAPE,
        "    return 100 * np.mean((forecast - truth) / truth)",
    ),
    # Exercise 3: attention with a bias per lag
    WrongAnswer(
        "check_lag_attention",
        "the lag bias not reversed (lag 1 given to the oldest day)",
        _BIAS,
        "    scores = scores + lag_bias",
    ),
    WrongAnswer(
        "check_lag_attention",
        "no 1/sqrt(d)",
        _SCORES,
        "    scores = (keys @ query.unsqueeze(-1)).squeeze(-1)",
    ),
    WrongAnswer(
        "check_lag_attention",
        "a hand-written softmax without subtracting the maximum",
        _SOFTMAX,
        "    weights = torch.exp(scores) / torch.exp(scores).sum(dim=-1, keepdim=True)\n",
    ),
    WrongAnswer(
        "check_lag_attention",
        "a hand-written softmax subtracting the maximum of the whole batch",
        _SOFTMAX,
        "    exps = torch.exp(scores - scores.max())\n"
        "    weights = exps / exps.sum(dim=-1, keepdim=True)\n",
    ),
    WrongAnswer(
        "check_lag_attention",
        "softmax over the batch",
        _SOFTMAX,
        "    weights = torch.softmax(scores, dim=0)\n",
    ),
    WrongAnswer(
        "check_lag_attention",
        "the mask applied after the softmax",
        _MASK + "\n" + _SOFTMAX,
        "        pass\n    weights = torch.softmax(scores, dim=-1)\n"
        "    if mask is not None:\n        weights = weights * mask\n",
    ),
    WrongAnswer(
        "check_lag_attention",
        "masked scores set to 0 instead of -inf",
        _MASK,
        "        scores = scores.masked_fill(~mask, 0.0)",
    ),
    WrongAnswer(
        "check_lag_attention",
        "a mask of one shape only ((B, L); an (L,) mask fails)",
        _MASK,
        '        scores = scores.masked_fill(~mask.reshape(scores.shape), float("-inf"))',
    ),
    WrongAnswer(
        "check_lag_attention",
        "the keys used as the values",
        _CONTEXT,
        "    context = (weights.unsqueeze(1) @ keys).squeeze(1)",
    ),
    WrongAnswer(
        "check_lag_attention",
        ".squeeze() without a dimension (a batch of one loses its axis)",
        _CONTEXT,
        "    context = (weights.unsqueeze(1) @ values).squeeze()",
    ),
    WrongAnswer(
        "check_lag_attention",
        "the caller's keys scaled in place",
        _SCORES,
        "    keys /= math.sqrt(d)\n    scores = (keys @ query.unsqueeze(-1)).squeeze(-1)",
    ),
    WrongAnswer(
        "check_lag_attention",
        "PyTorch's scaled_dot_product_attention (a library shortcut)",
        _CONTEXT,
        "    context = F.scaled_dot_product_attention(\n"
        "        query[:, None], keys, values, attn_mask=(scores > float('-inf'))[:, None]\n"
        "    )[:, 0]",
    ),
    # The experiment
    WrongAnswer(
        "check_attention_vs_persistence",
        "no seed: two runs with seed 0 differ",
        "    torch.manual_seed(seed)\n",
        "",
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "a random split instead of a split in time",
        _SPLIT,
        "    order = np.random.default_rng(seed).permutation(len(X))\n"
        "    X, y, last = X[order], y[order], last[order]\n" + _SPLIT,
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "the baselines scored on the training windows",
        "    y_test, last_test = y[split:], last[split:]",
        "    y_test, last_test = y[:split], last[:split]",
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "the drift taken from the test targets (a peek at the future)",
        "np.full_like(y_test, y[:split].mean())",
        "np.full_like(y_test, y[split:].mean())",
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "trained on returns as fractions, scored as percent",
        "    y_train = torch.tensor(y[:split], dtype=torch.float32)",
        "    y_train = torch.tensor(y[:split] / 100, dtype=torch.float32)",
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "the MAPE reported on the training windows",
        '        "attention": price_mape(last_test, predicted.numpy(), y_test),',
        '        "attention": price_mape(\n'
        "            last[:split],\n"
        "            model(X_train)[0].detach().numpy(),\n"
        "            y[:split],\n"
        "        ),",
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "the weights summed over the test windows, not averaged",
        '        "weights": weights.mean(dim=0).numpy(),',
        '        "weights": weights.sum(dim=0).numpy(),',
    ),
    WrongAnswer(
        "check_attention_vs_persistence",
        "PyTorch's multi-head attention instead of lag_attention",
        "        self.out = nn.Linear(d, 1)\n",
        "        self.out = nn.Linear(d, 1)\n"
        "        self.attention = nn.MultiheadAttention(d, 1, batch_first=True)\n",
    ),
    # The question
    WrongAnswer(
        "check_does_attention_beat_persistence",
        "attention has found where the DAX goes",
        '    return "b"',
        '    return "a"',
    ),
    WrongAnswer(
        "check_does_attention_beat_persistence",
        "a longer window would find the pattern",
        '    return "b"',
        '    return "c"',
    ),
    WrongAnswer(
        "check_does_attention_beat_persistence",
        "a MAPE below 1 % is excellent",
        '    return "b"',
        '    return "d"',
    ),
]
