from . import WrongAnswer

WRONG_ANSWERS = [
    # Exercise 1: sliding windows
    WrongAnswer(
        "check_sliding_windows",
        "the input includes the target step (shifted by one)",
        "X = np.stack([series[i : i + lookback] for i in range(n)])",
        "X = np.stack([series[i + 1:i + lookback + 1] for i in range(n)])",
    ),
    WrongAnswer(
        "check_sliding_windows",
        "the input runs one step into the targets",
        "X = np.stack([series[i : i + lookback] for i in range(n)])",
        "X = np.stack([series[i:i + lookback + 1] for i in range(n)])",
    ),
    WrongAnswer(
        "check_sliding_windows",
        "the targets start at the origin",
        "y = np.stack([series[i + lookback : i + lookback + horizon] for i in range(n)])",
        "y = np.stack([series[i + lookback - 1:i + lookback - 1 + horizon] for i in range(n)])",
    ),
    WrongAnswer(
        "check_sliding_windows",
        "a gap of one step between input and targets",
        "y = np.stack([series[i + lookback : i + lookback + horizon] for i in range(n)])",
        "y = np.stack([series[i + lookback + 1:i + lookback + 1 + horizon] "
        "for i in range(n - 1)])\n    X = X[:-1]",
    ),
    WrongAnswer(
        "check_sliding_windows",
        "the last window dropped",
        "n = len(series) - lookback - horizon + 1",
        "n = len(series) - lookback - horizon",
    ),
    WrongAnswer(
        "check_sliding_windows",
        "lookback and horizon swapped",
        "    return X, y\n",
        "    return sliding_windows_swapped(series, horizon, lookback)\n\n\n"
        "def sliding_windows_swapped(series, lookback, horizon):\n"
        "    n = len(series) - lookback - horizon + 1\n"
        "    return (np.stack([series[i:i + lookback] for i in range(n)]),\n"
        "            np.stack([series[i + lookback:i + lookback + horizon] for i in range(n)]))\n",
    ),
    WrongAnswer(
        "check_sliding_windows",
        "X and y returned the other way round",
        "    return X, y\n",
        "    return y, X\n",
    ),
    # Exercise 2: MAPE
    WrongAnswer(
        "check_mape",
        "MAPE as a fraction instead of a percent",
        "return 100 * np.mean(",
        "return np.mean(",
    ),
    WrongAnswer(
        "check_mape",
        "divided by the forecast",
        "/ np.abs(y_true[keep]))",
        "/ np.abs(y_pred[keep]))",
    ),
    WrongAnswer(
        "check_mape",
        "no absolute value in the denominator",
        "/ np.abs(y_true[keep]))",
        "/ y_true[keep])",
    ),
    WrongAnswer(
        "check_mape",
        "signed errors that cancel",
        "np.abs(y_true[keep] - y_pred[keep])",
        "(y_true[keep] - y_pred[keep])",
    ),
    WrongAnswer(
        "check_mape",
        "zero truths kept (division by zero)",
        "keep = y_true != 0",
        "keep = np.ones(y_true.shape, dtype=bool)",
    ),
    WrongAnswer(
        "check_mape",
        "a MAPE per column instead of one number",
        "return 100 * np.mean(np.abs(y_true[keep] - y_pred[keep]) / np.abs(y_true[keep]))",
        "return 100 * np.mean(np.abs(y_true - y_pred) / np.abs(y_true), axis=0)",
    ),
    # Exercise 3: seasonal naive
    WrongAnswer(
        "check_seasonal_naive",
        "the seasonal lag one step too long",
        "return X[:, lookback - 1 + h - back]",
        "return X[:, lookback - 2 + h - back]",
    ),
    WrongAnswer(
        "check_seasonal_naive",
        "the seasonal lag one step too short",
        "return X[:, lookback - 1 + h - back]",
        "return X[:, (lookback + h - back) % lookback]",
    ),
    WrongAnswer(
        "check_seasonal_naive",
        "one season back from the origin, for every step",
        "return X[:, lookback - 1 + h - back]",
        "return np.repeat(X[:, [lookback - season]], horizon, axis=1)",
    ),
    WrongAnswer(
        "check_seasonal_naive",
        "persistence instead of seasonal naive",
        "return X[:, lookback - 1 + h - back]",
        "return np.repeat(X[:, -1:], horizon, axis=1)",
    ),
    WrongAnswer(
        "check_seasonal_naive",
        "the first season of the window instead of the last",
        "return X[:, lookback - 1 + h - back]",
        "return X[:, (h - 1) % season]",
    ),
    WrongAnswer(
        "check_seasonal_naive",
        "no wrap beyond one season",
        "back = season * np.ceil(h / season).astype(int)",
        "back = np.full(horizon, season)",
    ),
    # Exercise 4: temporal attention
    WrongAnswer(
        "check_temporal_attention",
        "weights normalised over the feature axis, not time",
        "weights = torch.softmax(scores, dim=1)",
        "weights = torch.softmax(scores, dim=-1)",
    ),
    WrongAnswer(
        "check_temporal_attention",
        "weights normalised over the batch",
        "weights = torch.softmax(scores, dim=1)",
        "weights = torch.softmax(scores, dim=0)",
    ),
    WrongAnswer(
        "check_temporal_attention",
        "no 1/sqrt(d)",
        "scores = states @ query.unsqueeze(-1) / math.sqrt(query.shape[-1])",
        "scores = states @ query.unsqueeze(-1)",
    ),
    WrongAnswer(
        "check_temporal_attention",
        "scaled by the number of time steps",
        "scores = states @ query.unsqueeze(-1) / math.sqrt(query.shape[-1])",
        "scores = states @ query.unsqueeze(-1) / math.sqrt(states.shape[1])",
    ),
    WrongAnswer(
        "check_temporal_attention",
        "exponentials not normalised",
        "weights = torch.softmax(scores, dim=1)",
        "weights = torch.exp(scores)",
    ),
    WrongAnswer(
        "check_temporal_attention",
        "context summed over the features",
        "context = (weights * states).sum(dim=1)",
        "context = (weights * states).sum(dim=2)",
    ),
    WrongAnswer(
        "check_temporal_attention",
        "context is the mean state, weights unused",
        "context = (weights * states).sum(dim=1)",
        "context = states.mean(dim=1)",
    ),
]
