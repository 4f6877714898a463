from . import WrongAnswer

WRONG_ANSWERS = [
    WrongAnswer(
        "check_exact_lookup",
        "the key returned instead of the value",
        "return values[matches[0]]",
        "return keys[matches[0]]",
    ),
    WrongAnswer(
        "check_exact_lookup",
        "None for a missing key instead of KeyError",
        "raise KeyError(query)",
        "return None",
    ),
    WrongAnswer(
        "check_exact_lookup",
        "the nearest key when none matches",
        "if not matches:\n        raise KeyError(query)",
        "if not matches:\n        matches = [int(np.argmin([abs(key - query) for key in keys]))]",
    ),
    WrongAnswer(
        "check_inverse_distance_weights",
        "unnormalised weights",
        "return similarity / similarity.sum()",
        "return similarity",
    ),
    WrongAnswer(
        "check_inverse_distance_weights",
        "distance used where similarity is meant",
        "similarity = 1 / distance",
        "similarity = distance",
    ),
    WrongAnswer(
        "check_inverse_distance_weights",
        "a query equal to a key not handled (1/0)",
        "    if exact.any():\n        return exact / exact.sum()\n",
        "",
    ),
    WrongAnswer(
        "check_inverse_distance_weights",
        "a query equal to two keys: all on the first",
        "return exact / exact.sum()",
        "return np.eye(len(keys))[np.argmax(exact)]",
    ),
    WrongAnswer(
        "check_attention_pool",
        "pooling over the wrong axis (normalised over queries)",
        "similarity.sum(axis=1, keepdims=True)",
        "similarity.sum(axis=0, keepdims=True)",
    ),
    WrongAnswer(
        "check_attention_pool",
        "unnormalised weights",
        "weights = similarity / similarity.sum(axis=1, keepdims=True)",
        "weights = similarity",
    ),
    WrongAnswer(
        "check_attention_pool",
        "normalised over the whole matrix",
        "weights = similarity / similarity.sum(axis=1, keepdims=True)",
        "weights = similarity / similarity.sum()",
    ),
    WrongAnswer(
        "check_attention_pool",
        "pooling over the wrong axis (weights transposed)",
        "return weights @ np.asarray(values, dtype=float)",
        "return weights.T @ np.asarray(values, dtype=float)",
    ),
    WrongAnswer(
        "check_nadaraya_watson",
        "softmax with the wrong sign",
        "scores = -((x_query[:, None]",
        "scores = ((x_query[:, None]",
    ),
    WrongAnswer(
        "check_nadaraya_watson",
        "unnormalised weights",
        "weights = weights / weights.sum(axis=1, keepdims=True)",
        "weights = weights",
    ),
    WrongAnswer(
        "check_nadaraya_watson", "bandwidth not squared", "(2 * bandwidth**2)", "(2 * bandwidth)"
    ),
    WrongAnswer(
        "check_nadaraya_watson",
        "the 2 of 2h^2 left out",
        "(2 * bandwidth**2)",
        "(bandwidth**2)",
    ),
    WrongAnswer(
        "check_nadaraya_watson",
        "no shift by the largest score (NaN when narrow)",
        "    scores = scores - scores.max(axis=1, keepdims=True)\n",
        "",
    ),
    WrongAnswer(
        "check_tfidf",
        "IDF without the log",
        "idf = np.log((1 + len(documents)) / (1 + containing)) + 1",
        "idf = (1 + len(documents)) / (1 + containing) + 1",
    ),
    WrongAnswer(
        "check_tfidf",
        "rows not normalised",
        "return weighted / np.linalg.norm(weighted, axis=1, keepdims=True)",
        "return weighted",
    ),
    WrongAnswer(
        "check_tfidf",
        "rows normalised by their sum instead of their length",
        "np.linalg.norm(weighted, axis=1, keepdims=True)",
        "weighted.sum(axis=1, keepdims=True)",
    ),
    WrongAnswer(
        "check_tfidf",
        "document frequency counts occurrences",
        "containing = (counts > 0).sum(axis=0)",
        "containing = counts.sum(axis=0)",
    ),
    WrongAnswer(
        "check_tfidf",
        "the textbook idf log(N / n_w), no smoothing and no + 1",
        "idf = np.log((1 + len(documents)) / (1 + containing)) + 1",
        "idf = np.log(len(documents) / np.maximum(containing, 1))",
    ),
    WrongAnswer(
        "check_tfidf",
        "term frequency as presence (0 or 1) instead of a count",
        "counts[row, column[word]] += 1",
        "counts[row, column[word]] = 1",
    ),
]
