from . import WrongAnswer

WRONG_ANSWERS = [
    # ------------------------------------------------------------ inverse_distance_weights
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
        "check_inverse_distance_weights",
        "a query equal to two keys: weight 1 on each",
        "return exact / exact.sum()",
        "return exact.astype(float)",
    ),
    WrongAnswer(
        "check_inverse_distance_weights",
        "an infinite similarity replaced by 1 instead of taking the limit",
        "    if exact.any():\n        return exact / exact.sum()\n    similarity = 1 / distance\n",
        '    with np.errstate(divide="ignore"):\n'
        "        similarity = 1 / distance\n"
        "    similarity[np.isinf(similarity)] = 1\n",
    ),
    WrongAnswer(
        "check_inverse_distance_weights",
        "the caller's keys changed in place",
        "distance = np.abs(query - np.asarray(keys, dtype=float))",
        "distance = np.asarray(keys, dtype=float)\n"
        "    distance -= query\n"
        "    np.abs(distance, out=distance)",
    ),
    # ------------------------------------------------------------ attention_pool
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
        "check_attention_pool",
        ".squeeze() on the result: one query loses its row",
        "return weights @ np.asarray(values, dtype=float)",
        "return (weights @ np.asarray(values, dtype=float)).squeeze()",
    ),
    WrongAnswer(
        "check_attention_pool",
        "the kernel called as kernel(key, query)",
        "np.asarray(queries, dtype=float)[:, None], np.asarray(keys, dtype=float)[None, :]",
        "np.asarray(keys, dtype=float)[None, :], np.asarray(queries, dtype=float)[:, None]",
    ),
    # ------------------------------------------------------------ leave_one_out_predictions
    WrongAnswer(
        "check_leave_one_out_predictions",
        "the point itself left among its keys",
        "    np.fill_diagonal(scores, -np.inf)  # a point may not look itself up\n",
        "",
    ),
    WrongAnswer(
        "check_leave_one_out_predictions",
        "every point with the same x left out, not only the point itself",
        "np.fill_diagonal(scores, -np.inf)",
        "scores[x[:, None] == x[None, :]] = -np.inf",
    ),
    WrongAnswer(
        "check_leave_one_out_predictions",
        "the largest score of the whole matrix subtracted, not each row's",
        "scores = scores - scores.max(axis=1, keepdims=True)",
        "scores = scores - scores.max()",
    ),
    WrongAnswer(
        "check_leave_one_out_predictions",
        "each row's largest score taken before the point is left out (its own 0)",
        "    np.fill_diagonal(scores, -np.inf)  # a point may not look itself up\n"
        "    scores = scores - scores.max(axis=1, keepdims=True)\n",
        "    scores = scores - scores.max(axis=1, keepdims=True)\n"
        "    np.fill_diagonal(scores, -np.inf)  # a point may not look itself up\n",
    ),
    WrongAnswer(
        "check_leave_one_out_predictions",
        "the point's own weight zeroed after normalising (weights no longer sum to 1)",
        "    np.fill_diagonal(scores, -np.inf)  # a point may not look itself up\n"
        "    scores = scores - scores.max(axis=1, keepdims=True)\n"
        "    weights = np.exp(scores)\n"
        "    weights = weights / weights.sum(axis=1, keepdims=True)\n",
        "    scores = scores - scores.max(axis=1, keepdims=True)\n"
        "    weights = np.exp(scores)\n"
        "    weights = weights / weights.sum(axis=1, keepdims=True)\n"
        "    np.fill_diagonal(weights, 0)\n",
    ),
    WrongAnswer(
        "check_leave_one_out_predictions",
        "the 2 of 2h^2 left out",
        "(2 * bandwidth**2)",
        "(bandwidth**2)",
    ),
    # ------------------------------------------------------------ choose_bandwidth
    WrongAnswer(
        "check_choose_bandwidth",
        "mean squared error instead of its root",
        "np.sqrt(np.mean((leave_one_out_predictions(x, y, bandwidth) - y) ** 2))",
        "np.mean((leave_one_out_predictions(x, y, bandwidth) - y) ** 2)",
    ),
    WrongAnswer(
        "check_choose_bandwidth",
        "the training error: each point predicted with itself among the keys",
        "    errors = np.array(\n",
        "    def in_sample(x, y, h):\n"
        "        w = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * h**2))\n"
        "        return (w / w.sum(axis=1, keepdims=True)) @ y\n"
        "\n"
        "    leave_one_out_predictions = in_sample\n"
        "    errors = np.array(\n",
    ),
    WrongAnswer(
        "check_choose_bandwidth",
        "the index of the best bandwidth returned instead of the bandwidth",
        "best = bandwidths[int(np.argmin(errors))]",
        "best = int(np.argmin(errors))",
    ),
    # ------------------------------------------------------------ the_narrow_end
    WrongAnswer("check_the_narrow_end", "underflow", 'return "b"', 'return "a"'),
    WrongAnswer("check_the_narrow_end", "the point predicts itself", 'return "b"', 'return "c"'),
    WrongAnswer("check_the_narrow_end", "too much smoothing", 'return "b"', 'return "d"'),
    # ------------------------------------------------------------ tfidf
    WrongAnswer(
        "check_tfidf",
        "IDF without the log",
        "idf = np.log((1 + len(documents)) / (1 + containing)) + 1",
        "idf = (1 + len(documents)) / (1 + containing) + 1",
    ),
    WrongAnswer(
        "check_tfidf",
        "rows not normalised",
        "return weighted / np.where(lengths == 0, 1, lengths)",
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
    WrongAnswer(
        "check_tfidf",
        "unguarded division: NaN for a document with no vocabulary word",
        "return weighted / np.where(lengths == 0, 1, lengths)",
        "return weighted / lengths",
    ),
    WrongAnswer(
        "check_tfidf",
        "sublinear tf as ln(tf), without the 1",
        "tf[present] = 1 + np.log(counts[present])",
        "tf[present] = np.log(counts[present])",
    ),
    WrongAnswer(
        "check_tfidf",
        "sublinear tf as ln(1 + tf)",
        "tf[present] = 1 + np.log(counts[present])",
        "tf = np.log1p(counts)",
    ),
    WrongAnswer(
        "check_tfidf",
        "sublinear_tf ignored",
        "    if sublinear_tf:\n        tf[present] = 1 + np.log(counts[present])\n",
        "",
    ),
    WrongAnswer(
        "check_tfidf",
        "sublinear tf taken of the absent words too (ln 0)",
        "tf[present] = 1 + np.log(counts[present])",
        "tf = 1 + np.log(counts)",
    ),
    WrongAnswer(
        "check_tfidf",
        "library shortcut: scikit-learn's TfidfVectorizer",
        "    column = {word: i for i, word in enumerate(vocabulary)}\n",
        "    from sklearn.feature_extraction.text import TfidfVectorizer\n"
        "\n"
        "    vectorizer = TfidfVectorizer(\n"
        "        analyzer=lambda words: words, vocabulary=vocabulary, sublinear_tf=sublinear_tf\n"
        "    )\n"
        "    return vectorizer.fit_transform(documents).toarray()\n"
        "    column = {word: i for i, word in enumerate(vocabulary)}\n",
    ),
]
