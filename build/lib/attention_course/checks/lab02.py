"""Checks for Lab 2: soft lookups.

Each check builds its own inputs and compares the student's function with a reference
written here from the formulas of Chapter 2 (and, for TF-IDF, with scikit-learn's
``TfidfVectorizer``). Where a wrong answer is a common one -- weights that do not sum
to 1, distance where a similarity is meant, the logarithm left out of the idf -- the
message names it.
"""

import numpy as np

from . import core
from .core import CaseFailed, call, lab_check
from .expect import expect_array, expect_close, expect_true

LAB = "02"


def _softmax_rows(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def _name_the_mistake(got, expected, known_mistakes, name):
    """Fail with a specific message when ``got`` matches a known wrong answer."""
    if np.allclose(got, expected, rtol=1e-4, atol=1e-6):
        return
    for wrong, message in known_mistakes:
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-4, atol=1e-6):
            raise CaseFailed(
                f"{name} is {np.round(got, 4).tolist()}, expected "
                f"{np.round(expected, 4).tolist()}: {message}"
            )


def _outcome(function, *args):
    """(raised KeyError?, result): a KeyError is an answer here, not a crash."""

    def attempt():
        try:
            return False, function(*args)
        except KeyError:
            return True, None

    return call(attempt)


PHONE_BOOK = {
    "Alice Johnson": "555-1234",
    "Bob Smith": "555-5678",
    "Carol Davis": "555-8765",
    "Dave Martin": "555-4321",
    "Eve Clark": "555-3456",
}


@lab_check(LAB, points=1)
def check_exact_lookup(exact_lookup):
    names, numbers = list(PHONE_BOOK), list(PHONE_BOOK.values())

    def finds_every_name_in_the_phone_book():
        """returns the number of every name in the phone book"""
        for name, number in PHONE_BOOK.items():
            raised, got = _outcome(exact_lookup, names, numbers, name)
            expect_true(not raised, f"looking up {name!r} raised KeyError, but it is a key")
            expect_true(
                isinstance(got, str) and got == number,
                f"for {name!r} expected {number!r}, got {got!r}"
                + (
                    ": return the value, not the key"
                    if isinstance(got, str) and got == name
                    else ""
                ),
            )

    def refuses_a_name_that_is_not_there():
        """raises KeyError for a name that is not in the book"""
        raised, got = _outcome(exact_lookup, names, numbers, "Rob Smith")
        expect_true(
            raised,
            f"looking up 'Rob Smith' returned {got!r}; an exact lookup with "
            "no matching key must raise KeyError('Rob Smith')",
        )

    def works_with_number_keys_and_vector_values():
        """works with numbers as keys and arrays as values, and does not interpolate"""
        sizes = [300, 400, 500]
        values = [np.array([30.0, 1.0]), np.array([40.0, 2.0]), np.array([50.0, 3.0])]
        raised, got = _outcome(exact_lookup, sizes, values, 400)
        expect_true(not raised, "looking up 400 raised KeyError, but 400 is a key")
        expect_close(got, values[1], name="the value for key 400")
        raised, got = _outcome(exact_lookup, sizes, values, 360)
        expect_true(
            raised,
            f"looking up 360 returned {got!r}; no key equals 360, so an "
            "exact lookup must raise KeyError",
        )

    return [
        finds_every_name_in_the_phone_book,
        refuses_a_name_that_is_not_there,
        works_with_number_keys_and_vector_values,
    ]


def _inverse_distance_reference(query, keys):
    distance = np.abs(query - keys)
    if (distance == 0).any():
        return (distance == 0) / (distance == 0).sum()
    return (1 / distance) / (1 / distance).sum()


@lab_check(LAB, points=2)
def check_inverse_distance_weights(inverse_distance_weights):
    rng = np.random.default_rng(20)
    keys = rng.uniform(-5, 5, size=7)
    query = 0.37

    def reproduces_the_box_example():
        """gives 2/5 and 3/5 for the box of 360 cubic inches"""
        got = expect_array(
            call(inverse_distance_weights, 360, np.array([300.0, 400.0])),
            shape=(2,),
            name="weights",
        )
        _name_the_mistake(
            got,
            [0.4, 0.6],
            [
                (
                    [0.6, 0.4],
                    "the nearer key must get the larger weight: weight by the "
                    "similarity 1/|q - k|, not by the distance |q - k|",
                ),
                (
                    [1 / 60, 1 / 40],
                    "the weights must sum to 1: divide each similarity by the sum of all of them",
                ),
                ([60, 40], "use the similarity 1/|q - k|, and normalise it to sum to 1"),
            ],
            name="weights",
        )
        expect_close(got, [0.4, 0.6], name="weights")

    def sums_to_one():
        """weights are non-negative and sum to 1"""
        got = expect_array(call(inverse_distance_weights, query, keys), shape=(7,), name="weights")
        expect_true((got >= 0).all(), f"weights must not be negative, got {got.round(4)}")
        expect_true(
            abs(got.sum() - 1) < 1e-6,
            f"the weights must sum to 1, they sum to {got.sum():.4g}: divide each "
            "similarity by the sum of all of them",
        )

    def matches_the_formula():
        """matches (1/|q - k_i|) / sum_j (1/|q - k_j|) for seven keys"""
        got = expect_array(call(inverse_distance_weights, query, keys), shape=(7,), name="weights")
        expect_close(
            got,
            _inverse_distance_reference(query, keys),
            name="weights",
            hint="alpha_i = (1/|q - k_i|) / sum_j (1/|q - k_j|): the nearest key "
            "gets the largest weight and the weights sum to 1",
        )

    def query_equal_to_a_key():
        """a query equal to a key puts all the weight on that key (no 1/0)"""
        got = expect_array(
            call(inverse_distance_weights, 300, np.array([300.0, 400.0])),
            shape=(2,),
            name="weights for query 300",
        )
        expect_close(
            got,
            [1.0, 0.0],
            name="weights for query 300",
            hint="when the query equals a key, return the limit of the formula: "
            "weight 1 on that key, 0 on the others",
        )

    def query_equal_to_two_keys():
        """a query equal to two keys shares the weight equally between them"""
        got = expect_array(
            call(inverse_distance_weights, 2.0, np.array([1.0, 2.0, 5.0, 2.0])),
            shape=(4,),
            name="weights for query 2",
        )
        expect_close(
            got,
            [0.0, 0.5, 0.0, 0.5],
            name="weights for query 2",
            hint="two keys equal the query: each gets half of the weight",
        )

    return [
        reproduces_the_box_example,
        sums_to_one,
        matches_the_formula,
        query_equal_to_a_key,
        query_equal_to_two_keys,
    ]


def _pool_reference(queries, keys, values, kernel):
    similarity = kernel(queries[:, None], keys[None, :])
    return (similarity / similarity.sum(axis=1, keepdims=True)) @ values


def _gaussian(q, k):
    return np.exp(-((q - k) ** 2) / 2)


def _inverse_distance(q, k):
    return 1 / np.abs(q - k)


def _one_over_one_plus_distance(q, k):
    return 1 / (1 + np.abs(q - k))


@lab_check(LAB, points=3)
def check_attention_pool(attention_pool):
    rng = np.random.default_rng(30)
    queries = np.array([-1.0, 0.5, 2.0])
    keys = rng.uniform(-2, 3, size=5)
    vector_values = rng.normal(size=(5, 4))

    def reproduces_the_box_example():
        """queries 360 and 320 give 36.0 and 32.0 pounds (inverse distance)"""
        got = expect_array(
            call(
                attention_pool,
                np.array([360.0, 320.0]),
                np.array([300.0, 400.0]),
                np.array([30.0, 40.0]),
                _inverse_distance,
            ),
            shape=(2,),
            name="estimates",
        )
        expect_close(
            got,
            [36.0, 32.0],
            name="estimates",
            hint="normalise each query's similarities over the keys (axis 1 of "
            "the (queries, keys) matrix), then take the weighted sum of values",
        )

    def one_value_per_query():
        """returns one number per query (3 queries, 5 keys)"""
        expect_array(
            call(attention_pool, queries, keys, vector_values[:, 0], _gaussian),
            shape=(3,),
            name="result",
        )

    def one_vector_per_query():
        """returns one vector per query for values of shape (n, d)"""
        expect_array(
            call(attention_pool, queries, keys, vector_values, _gaussian),
            shape=(3, 4),
            name="result",
        )

    def matches_the_weighted_means():
        """matches the kernel-weighted means of the values (Gaussian kernel)"""
        got = call(attention_pool, queries, keys, vector_values, _gaussian)
        expect_close(
            got,
            _pool_reference(queries, keys, vector_values, _gaussian),
            name="result",
            hint="row i is sum_j alpha_ij v_j with alpha_ij = "
            "kernel(q_i, k_j) / sum_j' kernel(q_i, k_j')",
        )

    def constant_values_give_that_constant():
        """weights sum to 1 over the keys: constant values give that constant"""
        got = expect_array(
            call(attention_pool, queries, keys, np.full(5, 7.0), _one_over_one_plus_distance),
            shape=(3,),
            name="result",
        )
        expect_true(
            np.allclose(got, 7.0),
            f"every value is 7, so every weighted mean must be 7, got "
            f"{np.round(got, 3).tolist()}: each query's weights must sum to 1 "
            "over the keys",
        )

    def queries_are_answered_independently():
        """each query's answer does not depend on the other queries"""
        together = expect_array(
            call(attention_pool, queries, keys, vector_values, _gaussian),
            shape=(3, 4),
            name="result",
        )
        alone = expect_array(
            call(attention_pool, queries[:1], keys, vector_values, _gaussian),
            shape=(1, 4),
            name="result for one query",
        )
        expect_close(
            together[0],
            alone[0],
            name="the first query's answer",
            hint="it changed when other queries were added: normalise within each "
            "query's row, over the keys, not over the queries or the whole matrix",
        )

    return [
        reproduces_the_box_example,
        one_value_per_query,
        one_vector_per_query,
        matches_the_weighted_means,
        constant_values_give_that_constant,
        queries_are_answered_independently,
    ]


def _nadaraya_watson_reference(x_query, x_train, y_train, bandwidth):
    scores = -((x_query[:, None] - x_train[None, :]) ** 2) / (2 * bandwidth**2)
    return _softmax_rows(scores) @ y_train


@lab_check(LAB, points=2)
def check_nadaraya_watson(nadaraya_watson):
    x_train = np.linspace(0, 6, 25)
    y_train = np.sin(x_train) + 0.1 * x_train
    x_query = np.array([0.3, 1.7, 2.05, 4.4])

    def one_prediction_per_query():
        """returns one prediction per query"""
        expect_array(
            call(nadaraya_watson, x_query, x_train, y_train, 0.7), shape=(4,), name="predictions"
        )

    def matches_gaussian_kernel_regression():
        """matches Gaussian kernel regression with bandwidth 0.7"""
        got = expect_array(
            call(nadaraya_watson, x_query, x_train, y_train, 0.7), shape=(4,), name="predictions"
        )
        expect_close(
            got,
            _nadaraya_watson_reference(x_query, x_train, y_train, 0.7),
            name="predictions",
            hint="weights exp(-(x - x_i)^2 / (2 h^2)), normalised "
            "to sum to 1 over the training points",
        )

    def bandwidth_is_the_standard_deviation():
        """uses exp(-(x - x_i)^2 / 2h^2): two points, bandwidth 2"""
        got = expect_array(
            call(nadaraya_watson, np.array([0.0]), np.array([0.0, 1.0]), np.array([0.0, 1.0]), 2.0),
            shape=(1,),
            name="prediction",
        )
        far = np.exp(-1 / 8)
        _name_the_mistake(
            got,
            [far / (1 + far)],
            [
                (
                    [np.exp(-1 / 4) / (1 + np.exp(-1 / 4))],
                    "the score is -(x - x_i)^2 / (2 h^2): square the bandwidth and keep the 2",
                ),
                (
                    [np.exp(-1 / 2) / (1 + np.exp(-1 / 2))],
                    "the score is -(x - x_i)^2 / (2 h^2): divide by the bandwidth squared",
                ),
                (
                    [1 / (1 + np.exp(-1 / 8))],
                    "the score is minus the squared distance over 2h^2: "
                    "with a plus sign, far points get more weight",
                ),
                ([far], "the weights must sum to 1: divide by their sum over the training points"),
            ],
            name="prediction",
        )
        expect_close(got, [far / (1 + far)], name="prediction")

    def wide_bandwidth_gives_the_mean():
        """a very wide bandwidth predicts the mean of y_train everywhere"""
        got = expect_array(
            call(nadaraya_watson, x_query, x_train, y_train, 1e4), shape=(4,), name="predictions"
        )
        expect_close(
            got,
            np.full(4, y_train.mean()),
            name="predictions",
            atol=1e-4,
            hint="with a huge bandwidth every weight is 1/n",
        )

    def narrow_bandwidth_gives_the_nearest_value():
        """a narrow bandwidth predicts the nearest training value, without NaN"""
        queries = x_train[[3, 10, 20]] + 0.05
        got = call(nadaraya_watson, queries, x_train, y_train, 1e-3)
        try:
            numbers = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            numbers = None  # expect_close below says what is wrong with it
        if numbers is not None and np.isnan(numbers).any():
            raise CaseFailed(
                "got NaN: with bandwidth 0.001 every exp(score) underflows to 0 "
                "and 0/0 is NaN; subtract each row's largest score before exp"
            )
        expect_close(
            got,
            y_train[[3, 10, 20]],
            name="predictions",
            hint="with a tiny bandwidth the nearest training point takes all the weight",
        )

    return [
        one_prediction_per_query,
        matches_gaussian_kernel_regression,
        bandwidth_is_the_standard_deviation,
        wide_bandwidth_gives_the_mean,
        narrow_bandwidth_gives_the_nearest_value,
    ]


def _sklearn_tfidf(documents, vocabulary):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda document: document, vocabulary=vocabulary)
    return vectorizer.fit_transform(documents).toarray()


CORPUS = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "sat"],
    ["a", "cat", "and", "a", "dog", "and", "a", "bird"],
    ["the", "end"],
]
VOCABULARY = ["cat", "dog", "the", "sat", "mat", "a", "fish"]


def _tfidf_without(
    documents,
    vocabulary,
    log=True,
    smooth=True,
    plus_one=True,
    normalise=True,
    document_counts=True,
):
    """TF-IDF with one ingredient changed: the wrong answers students write."""
    counts = np.array(
        [[document.count(word) for word in vocabulary] for document in documents], dtype=float
    )
    containing = (counts > 0).sum(axis=0) if document_counts else counts.sum(axis=0)
    n = len(documents)
    ratio = (1 + n) / (1 + containing) if smooth else n / np.maximum(containing, 1)
    idf = (np.log(ratio) if log else ratio) + (1 if plus_one else 0)
    weighted = counts * idf
    if normalise:
        weighted = weighted / np.linalg.norm(weighted, axis=1, keepdims=True)
    return weighted


@lab_check(LAB, points=2)
def check_tfidf(tfidf):
    def one_row_per_document():
        """returns one row per document and one column per vocabulary word"""
        expect_array(call(tfidf, CORPUS, VOCABULARY), shape=(4, 7), name="TF-IDF matrix")

    def rows_have_length_one():
        """every row has length 1"""
        got = expect_array(call(tfidf, CORPUS, VOCABULARY), shape=(4, 7), name="TF-IDF matrix")
        lengths = np.linalg.norm(got, axis=1)
        expect_true(
            np.allclose(lengths, 1),
            f"row lengths are {np.round(lengths, 3).tolist()}: divide each row by "
            "its Euclidean norm",
        )

    def matches_scikit_learn():
        """matches scikit-learn's TfidfVectorizer (smooth idf, L2-normalised rows)"""
        got = expect_array(call(tfidf, CORPUS, VOCABULARY), shape=(4, 7), name="TF-IDF matrix")
        expected = _sklearn_tfidf(CORPUS, VOCABULARY)
        mistakes = [
            (
                _tfidf_without(CORPUS, VOCABULARY, log=False),
                "idf is the natural logarithm ln((1 + N) / (1 + n_w)) + 1, not the ratio itself",
            ),
            (
                _tfidf_without(CORPUS, VOCABULARY, normalise=False),
                "divide each row by its Euclidean norm",
            ),
            (
                _tfidf_without(CORPUS, VOCABULARY, smooth=False),
                "use the smoothed idf ln((1 + N) / (1 + n_w)) + 1",
            ),
            (
                _tfidf_without(CORPUS, VOCABULARY, plus_one=False),
                "add 1 to the logarithm: idf = ln((1 + N) / (1 + n_w)) + 1",
            ),
            (
                _tfidf_without(CORPUS, VOCABULARY, document_counts=False),
                "n_w counts the documents that contain w, not how often w occurs",
            ),
        ]
        for wrong, message in mistakes:
            if (
                got.shape == wrong.shape
                and np.allclose(got, wrong, atol=1e-6)
                and not np.allclose(got, expected, atol=1e-6)
            ):
                raise CaseFailed(f"the TF-IDF matrix differs from scikit-learn's: {message}")
        expect_close(
            got,
            expected,
            name="TF-IDF matrix",
            hint="tf is the count of the word in the document; "
            "idf = ln((1 + N) / (1 + n_w)) + 1; then each row divided by its norm",
        )

    def counts_documents_not_occurrences():
        """n_w counts the documents containing w, however often it occurs in them"""
        documents = [["x", "x", "x", "y"], ["y", "z"], ["z", "w"]]
        vocabulary = ["x", "y", "z", "w"]
        got = expect_array(call(tfidf, documents, vocabulary), shape=(3, 4), name="TF-IDF matrix")
        expect_close(
            got,
            _sklearn_tfidf(documents, vocabulary),
            name="TF-IDF matrix",
            hint="here 'x' occurs 3 times but in one document only, so n_x = 1",
        )

    def word_in_every_document_keeps_a_weight():
        """a word found in every document keeps a positive weight (the + 1)"""
        documents = [["the", "cat"], ["the", "dog"], ["the", "the", "end"]]
        got = expect_array(
            call(tfidf, documents, ["the", "cat", "dog", "end"]), shape=(3, 4), name="TF-IDF matrix"
        )
        expect_true(
            (got[:, 0] > 0.3).all(),
            f"'the' is in every document and gets {np.round(got[:, 0], 3).tolist()}; "
            "with idf = ln((1 + N) / (1 + n_w)) + 1 its idf is 1, not 0",
        )

    return [
        one_row_per_document,
        rows_have_length_one,
        matches_scikit_learn,
        counts_documents_not_occurrences,
        word_in_every_document_keeps_a_weight,
    ]


def score():
    """Print this lab's score table; returns (earned, maximum)."""
    return core.score(LAB)


def results():
    return core.results(LAB)
