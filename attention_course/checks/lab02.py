"""Checks for Lab 2: soft lookups.

The student's functions are compared with references written here from the formulas of
Chapter 2 (and, for TF-IDF, with scikit-learn's ``TfidfVectorizer``), which the judges
compute themselves. Where a wrong answer is a common one -- weights that do not sum to 1,
distance where a similarity is meant, the logarithm left out of the idf -- the message
names it.
"""

import numpy as np

from .calling import CaseFailed, StudentRaised
from .expect import (
    Mistake,
    expect_array,
    expect_close,
    expect_parts,
    expect_true,
    named_mistake,
)
from .framework import Case, Lab, calls

lab = Lab("02", "Soft lookups")
score = lab.score


def _softmax_rows(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def _expect_close_naming_the_mistake(got, expected, mistakes, name):
    """expect_close, but an answer matching a known mistake is shown next to the expected
    values with what the mistake is."""
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-6):
        mistake = named_mistake(got, mistakes, atol=1e-6)
        if mistake:
            raise CaseFailed(
                f"{name} is {np.round(got, 4).tolist()}, expected "
                f"{np.round(expected, 4).tolist()}: {mistake}"
            )
    expect_close(got, expected, name=name)


# How one lookup came out: a KeyError is an answer here, not a crash.
_RETURNED, _RAISED_KEY_ERROR = "returned", "raised KeyError"


def _lookups(keys, values, *queries):
    """The recipe looking up each query in turn: a tuple of (_RETURNED, value) or
    (_RAISED_KEY_ERROR, message), one per query. Any other exception is the student's
    function failing, reported as such."""

    def recipe(exact_lookup):
        outcomes = []
        for query in queries:
            try:
                outcomes.append((_RETURNED, exact_lookup(keys, values, query)))
            except StudentRaised as error:  # the guards' wrapper of the student's exception
                if "KeyError" not in error.kinds:
                    raise
                outcomes.append((_RAISED_KEY_ERROR, str(error)))
        return tuple(outcomes)

    return recipe


def _outcomes(result, count):
    """[(raised KeyError?, returned value)] of a lookups recipe's result."""
    expect_true(
        isinstance(result, tuple)
        and len(result) == count
        and all(isinstance(o, tuple) and len(o) == 2 for o in result),
        f"expected the outcomes of {count} lookups, got {result!r}"[:300],
    )
    return [
        (kind == _RAISED_KEY_ERROR, value if kind == _RETURNED else None) for kind, value in result
    ]


PHONE_BOOK = {
    "Alice Johnson": "555-1234",
    "Bob Smith": "555-5678",
    "Carol Davis": "555-8765",
    "Dave Martin": "555-4321",
    "Eve Clark": "555-3456",
}


@lab.check(points=1)
def check_exact_lookup():
    names, numbers = list(PHONE_BOOK), list(PHONE_BOOK.values())
    sizes = [300, 400, 500]
    values = [np.array([30.0, 1.0]), np.array([40.0, 2.0]), np.array([50.0, 3.0])]

    def finds_every_name(result):
        for (name, number), (raised, got) in zip(
            PHONE_BOOK.items(), _outcomes(result, len(PHONE_BOOK))
        ):
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

    def refuses_a_missing_name(result):
        ((raised, got),) = _outcomes(result, 1)
        expect_true(
            raised,
            f"looking up 'Rob Smith' returned {got!r}; an exact lookup with "
            "no matching key must raise KeyError('Rob Smith')",
        )

    def works_with_numbers_and_arrays(result):
        (raised, got), (raised_for_360, got_for_360) = _outcomes(result, 2)
        expect_true(not raised, "looking up 400 raised KeyError, but 400 is a key")
        expect_close(got, values[1], name="the value for key 400")
        expect_true(
            raised_for_360,
            f"looking up 360 returned {got_for_360!r}; no key equals 360, so an "
            "exact lookup must raise KeyError",
        )

    return [
        Case(
            "returns the number of every name in the phone book",
            _lookups(names, numbers, *names),
            finds_every_name,
        ),
        Case(
            "raises KeyError for a name that is not in the book",
            _lookups(names, numbers, "Rob Smith"),
            refuses_a_missing_name,
        ),
        Case(
            "works with numbers as keys and arrays as values, and does not interpolate",
            _lookups(sizes, values, 400, 360),
            works_with_numbers_and_arrays,
        ),
    ]


def _inverse_distance_reference(query, keys):
    distance = np.abs(query - keys)
    if (distance == 0).any():
        return (distance == 0) / (distance == 0).sum()
    return (1 / distance) / (1 / distance).sum()


def _weights_for_query(query, expected, hint):
    """The judge of a query equal to one or more keys: the weights must be ``expected``."""
    name = f"weights for query {query}"

    def judge(result):
        got = expect_array(result, shape=(len(expected),), name=name)
        expect_close(got, expected, name=name, hint=hint)

    return judge


@lab.check(points=2)
def check_inverse_distance_weights():
    keys = np.random.default_rng(20).uniform(-5, 5, size=7)
    query = 0.37
    box = calls(360, np.array([300.0, 400.0]))
    seven_keys = calls(query, keys)
    on_a_key = calls(300, np.array([300.0, 400.0]))
    on_two_keys = calls(2.0, np.array([1.0, 2.0, 5.0, 2.0]))

    def weights(result):
        return expect_array(result, shape=(7,), name="weights")

    def box_example(result):
        got = expect_array(result, shape=(2,), name="weights")
        mistakes = [
            Mistake(
                "the nearer key must get the larger weight: weight by the "
                "similarity 1/|q - k|, not by the distance |q - k|",
                [0.6, 0.4],
            ),
            Mistake(
                "the weights must sum to 1: divide each similarity by the sum of all of them",
                [1 / 60, 1 / 40],
            ),
            Mistake("use the similarity 1/|q - k|, and normalise it to sum to 1", [60, 40]),
        ]
        _expect_close_naming_the_mistake(got, np.array([0.4, 0.6]), mistakes, name="weights")

    def sum_to_one(result):
        got = weights(result)
        expect_true((got >= 0).all(), f"weights must not be negative, got {got.round(4)}")
        expect_true(
            abs(got.sum() - 1) < 1e-6,
            f"the weights must sum to 1, they sum to {got.sum():.4g}: divide each "
            "similarity by the sum of all of them",
        )

    def formula(result):
        expect_close(
            weights(result),
            _inverse_distance_reference(query, keys),
            name="weights",
            hint="alpha_i = (1/|q - k_i|) / sum_j (1/|q - k_j|): the nearest key "
            "gets the largest weight and the weights sum to 1",
        )

    all_on_the_key = _weights_for_query(
        300,
        [1.0, 0.0],
        "when the query equals a key, return the limit of the formula: "
        "weight 1 on that key, 0 on the others",
    )
    shared_by_two_keys = _weights_for_query(
        2, [0.0, 0.5, 0.0, 0.5], "two keys equal the query: each gets half of the weight"
    )

    return [
        Case("gives 2/5 and 3/5 for the box of 360 cubic inches", box, box_example),
        Case("weights are non-negative and sum to 1", seven_keys, sum_to_one),
        Case("matches (1/|q - k_i|) / sum_j (1/|q - k_j|) for seven keys", seven_keys, formula),
        Case(
            "a query equal to a key puts all the weight on that key (no 1/0)",
            on_a_key,
            all_on_the_key,
        ),
        Case(
            "a query equal to two keys shares the weight equally between them",
            on_two_keys,
            shared_by_two_keys,
        ),
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


@lab.check(points=3)
def check_attention_pool():
    rng = np.random.default_rng(30)
    queries = np.array([-1.0, 0.5, 2.0])
    keys = rng.uniform(-2, 3, size=5)
    vector_values = rng.normal(size=(5, 4))
    box = calls(
        np.array([360.0, 320.0]),
        np.array([300.0, 400.0]),
        np.array([30.0, 40.0]),
        _inverse_distance,
    )
    scalar_values = calls(queries, keys, vector_values[:, 0], _gaussian)
    vectors = calls(queries, keys, vector_values, _gaussian)
    constant = calls(queries, keys, np.full(5, 7.0), _one_over_one_plus_distance)

    def together_and_alone(attention_pool):
        return (
            attention_pool(queries, keys, vector_values, _gaussian),
            attention_pool(queries[:1], keys, vector_values, _gaussian),
        )

    def box_example(result):
        expect_close(
            expect_array(result, shape=(2,), name="estimates"),
            [36.0, 32.0],
            name="estimates",
            hint="normalise each query's similarities over the keys (axis 1 of "
            "the (queries, keys) matrix), then take the weighted sum of values",
        )

    def one_value_each(result):
        expect_array(result, shape=(3,), name="result")

    def one_vector_each(result):
        expect_array(result, shape=(3, 4), name="result")

    def weighted_means(result):
        expect_close(
            result,
            _pool_reference(queries, keys, vector_values, _gaussian),
            name="result",
            hint="row i is sum_j alpha_ij v_j with alpha_ij = "
            "kernel(q_i, k_j) / sum_j' kernel(q_i, k_j')",
        )

    def the_constant(result):
        got = expect_array(result, shape=(3,), name="result")
        expect_true(
            np.allclose(got, 7.0),
            f"every value is 7, so every weighted mean must be 7, got "
            f"{np.round(got, 3).tolist()}: each query's weights must sum to 1 "
            "over the keys",
        )

    def independent(result):
        together, alone = expect_parts(result, "together", "alone")
        together = expect_array(together, shape=(3, 4), name="result")
        alone = expect_array(alone, shape=(1, 4), name="result for one query")
        expect_close(
            together[0],
            alone[0],
            name="the first query's answer",
            hint="it changed when other queries were added: normalise within each "
            "query's row, over the keys, not over the queries or the whole matrix",
        )

    return [
        Case("queries 360 and 320 give 36.0 and 32.0 pounds (inverse distance)", box, box_example),
        Case("returns one number per query (3 queries, 5 keys)", scalar_values, one_value_each),
        Case("returns one vector per query for values of shape (n, d)", vectors, one_vector_each),
        Case(
            "matches the kernel-weighted means of the values (Gaussian kernel)",
            vectors,
            weighted_means,
        ),
        Case(
            "weights sum to 1 over the keys: constant values give that constant",
            constant,
            the_constant,
        ),
        Case(
            "each query's answer does not depend on the other queries",
            together_and_alone,
            independent,
        ),
    ]


def _nadaraya_watson_reference(x_query, x_train, y_train, bandwidth):
    scores = -((x_query[:, None] - x_train[None, :]) ** 2) / (2 * bandwidth**2)
    return _softmax_rows(scores) @ y_train


@lab.check(points=2)
def check_nadaraya_watson():
    x_train = np.linspace(0, 6, 25)
    y_train = np.sin(x_train) + 0.1 * x_train
    x_query = np.array([0.3, 1.7, 2.05, 4.4])
    plain = calls(x_query, x_train, y_train, 0.7)
    two_points = calls(np.array([0.0]), np.array([0.0, 1.0]), np.array([0.0, 1.0]), 2.0)
    wide = calls(x_query, x_train, y_train, 1e4)
    narrow_queries = x_train[[3, 10, 20]] + 0.05
    narrow = calls(narrow_queries, x_train, y_train, 1e-3)

    def predictions(result):
        return expect_array(result, shape=(4,), name="predictions")

    def gaussian_kernel_regression(result):
        expect_close(
            predictions(result),
            _nadaraya_watson_reference(x_query, x_train, y_train, 0.7),
            name="predictions",
            hint="weights exp(-(x - x_i)^2 / (2 h^2)), normalised "
            "to sum to 1 over the training points",
        )

    def bandwidth_squared(result):
        got = expect_array(result, shape=(1,), name="prediction")
        far = np.exp(-1 / 8)
        mistakes = [
            Mistake(
                "the score is -(x - x_i)^2 / (2 h^2): square the bandwidth and keep the 2",
                [np.exp(-1 / 4) / (1 + np.exp(-1 / 4))],
            ),
            Mistake(
                "the score is -(x - x_i)^2 / (2 h^2): divide by the bandwidth squared",
                [np.exp(-1 / 2) / (1 + np.exp(-1 / 2))],
            ),
            Mistake(
                "the score is minus the squared distance over 2h^2: "
                "with a plus sign, far points get more weight",
                [1 / (1 + np.exp(-1 / 8))],
            ),
            Mistake(
                "the weights must sum to 1: divide by their sum over the training points", [far]
            ),
        ]
        _expect_close_naming_the_mistake(
            got, np.array([far / (1 + far)]), mistakes, name="prediction"
        )

    def the_mean(result):
        expect_close(
            predictions(result),
            np.full(4, y_train.mean()),
            name="predictions",
            atol=1e-4,
            hint="with a huge bandwidth every weight is 1/n",
        )

    def the_nearest_value(result):
        try:
            numbers = np.asarray(result, dtype=float)
        except (TypeError, ValueError):
            numbers = None  # expect_close below says what is wrong with it
        if numbers is not None and np.isnan(numbers).any():
            raise CaseFailed(
                "got NaN: with bandwidth 0.001 every exp(score) underflows to 0 "
                "and 0/0 is NaN; subtract each row's largest score before exp"
            )
        expect_close(
            result,
            y_train[[3, 10, 20]],
            name="predictions",
            hint="with a tiny bandwidth the nearest training point takes all the weight",
        )

    return [
        Case("returns one prediction per query", plain, predictions),
        Case(
            "matches Gaussian kernel regression with bandwidth 0.7",
            plain,
            gaussian_kernel_regression,
        ),
        Case(
            "uses exp(-(x - x_i)^2 / 2h^2): two points, bandwidth 2", two_points, bandwidth_squared
        ),
        Case("a very wide bandwidth predicts the mean of y_train everywhere", wide, the_mean),
        Case(
            "a narrow bandwidth predicts the nearest training value, without NaN",
            narrow,
            the_nearest_value,
        ),
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


def _tfidf_mistake(description, **changed):
    return Mistake(description, lambda: _tfidf_without(CORPUS, VOCABULARY, **changed))


@lab.check(points=2)
def check_tfidf():
    corpus = calls(CORPUS, VOCABULARY)
    documents = [["x", "x", "x", "y"], ["y", "z"], ["z", "w"]]
    vocabulary = ["x", "y", "z", "w"]
    repeated_word = calls(documents, vocabulary)
    everywhere = calls(
        [["the", "cat"], ["the", "dog"], ["the", "the", "end"]], ["the", "cat", "dog", "end"]
    )

    def matrix(result, shape=(4, 7)):
        return expect_array(result, shape=shape, name="TF-IDF matrix")

    def rows_of_length_one(result):
        lengths = np.linalg.norm(matrix(result), axis=1)
        expect_true(
            np.allclose(lengths, 1),
            f"row lengths are {np.round(lengths, 3).tolist()}: divide each row by "
            "its Euclidean norm",
        )

    def scikit_learn(result):
        got, expected = matrix(result), _sklearn_tfidf(CORPUS, VOCABULARY)
        mistakes = [
            _tfidf_mistake(
                "idf is the natural logarithm ln((1 + N) / (1 + n_w)) + 1, not the ratio itself",
                log=False,
            ),
            _tfidf_mistake("divide each row by its Euclidean norm", normalise=False),
            _tfidf_mistake("use the smoothed idf ln((1 + N) / (1 + n_w)) + 1", smooth=False),
            _tfidf_mistake(
                "add 1 to the logarithm: idf = ln((1 + N) / (1 + n_w)) + 1", plus_one=False
            ),
            _tfidf_mistake(
                "n_w counts the documents that contain w, not how often w occurs",
                document_counts=False,
            ),
        ]
        if not np.allclose(got, expected, atol=1e-6) and (
            mistake := named_mistake(got, mistakes, atol=1e-6)
        ):
            raise CaseFailed(f"the TF-IDF matrix differs from scikit-learn's: {mistake}")
        expect_close(
            got,
            expected,
            name="TF-IDF matrix",
            hint="tf is the count of the word in the document; "
            "idf = ln((1 + N) / (1 + n_w)) + 1; then each row divided by its norm",
        )

    def document_counts(result):
        expect_close(
            matrix(result, shape=(3, 4)),
            _sklearn_tfidf(documents, vocabulary),
            name="TF-IDF matrix",
            hint="here 'x' occurs 3 times but in one document only, so n_x = 1",
        )

    def keeps_a_weight(result):
        got = matrix(result, shape=(3, 4))
        expect_true(
            (got[:, 0] > 0.3).all(),
            f"'the' is in every document and gets {np.round(got[:, 0], 3).tolist()}; "
            "with idf = ln((1 + N) / (1 + n_w)) + 1 its idf is 1, not 0",
        )

    return [
        Case("returns one row per document and one column per vocabulary word", corpus, matrix),
        Case("every row has length 1", corpus, rows_of_length_one),
        Case(
            "matches scikit-learn's TfidfVectorizer (smooth idf, L2-normalised rows)",
            corpus,
            scikit_learn,
        ),
        Case(
            "n_w counts the documents containing w, however often it occurs in them",
            repeated_word,
            document_counts,
        ),
        Case(
            "a word found in every document keeps a positive weight (the + 1)",
            everywhere,
            keeps_a_weight,
        ),
    ]
