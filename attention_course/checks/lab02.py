"""Checks for Lab 2: soft lookups.

The student's functions are compared with references written here from the formulas of
Chapter 2 (and, for TF-IDF, with scikit-learn's ``TfidfVectorizer``), which the judges
compute themselves. The experiment's leave-one-out errors are recomputed by the judge on
the same crash data, and the bandwidth the student's run chose is measured on held-out
points the student's function never sees. Where a wrong answer is a common one -- weights
that do not sum to 1, a point left among its own keys, the logarithm left out of the idf,
an unguarded 0/0 -- the message names it.
"""

import numpy as np

from ..data.regression import load_motorcycle_crash
from .calling import CaseFailed
from .expect import (
    Mistake,
    expect_answer,
    expect_array,
    expect_close,
    expect_number,
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


def _expect_close_naming_the_mistake(got, expected, mistakes, name, atol=1e-6, hint=""):
    """expect_close, but an answer matching a known mistake is shown next to the expected
    values (when they are few) with what the mistake is."""
    if not np.allclose(got, expected, rtol=1e-4, atol=atol):
        mistake = named_mistake(got, mistakes, atol=atol)
        if mistake and np.size(expected) <= 5:
            raise CaseFailed(
                f"{name} is {np.round(got, 4).tolist()}, expected "
                f"{np.round(expected, 4).tolist()}: {mistake}"[:600]
            )
        if mistake:
            raise CaseFailed(f"{name} is wrong: {mistake}")
    expect_close(got, expected, name=name, atol=atol, hint=hint)


def _no_nan(result, message):
    """A failed case with ``message`` when the result holds NaN (before other judging)."""
    try:
        numbers = np.asarray(result, dtype=float)
    except (TypeError, ValueError):
        return  # expect_array says what is wrong with it
    if np.isnan(numbers).any():
        raise CaseFailed(message)


# ---------------------------------------------------------------- exercise 1


def _inverse_distance_reference(query, keys):
    distance = np.abs(query - np.asarray(keys, dtype=float))
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
    integer_keys = calls(3, np.array([1, 3, 7]))
    float32_keys = calls(np.float32(0.37), keys.astype(np.float32))

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
    on_an_integer_key = _weights_for_query(
        3, [0.0, 1.0, 0.0], "integer keys: the query 3 equals the key 3"
    )

    def in_float32(result):
        expect_close(
            weights(result),
            _inverse_distance_reference(np.float64(np.float32(query)), keys.astype(np.float32)),
            name="weights",
            rtol=1e-3,
            hint="alpha_i = (1/|q - k_i|) / sum_j (1/|q - k_j|), from float32 keys as from "
            "float64 ones",
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
        Case("works with integer keys and query", integer_keys, on_an_integer_key),
        Case("works with float32 keys", float32_keys, in_float32),
    ]


# ---------------------------------------------------------------- exercise 2


def _pool_reference(queries, keys, values, kernel):
    similarity = kernel(queries[:, None], keys[None, :])
    return (similarity / similarity.sum(axis=1, keepdims=True)) @ values


def _gaussian(q, k):
    return np.exp(-((q - k) ** 2) / 2)


def _inverse_distance(q, k):
    return 1 / np.abs(q - k)


def _one_over_one_plus_distance(q, k):
    return 1 / (1 + np.abs(q - k))


def _towards_twice_the_key(q, k):
    """Not symmetric: largest where q = 2k, so kernel(q, k) != kernel(k, q)."""
    return np.exp(-((q - 2 * k) ** 2))


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
    one_query = calls(queries[1:2], keys, vector_values, _gaussian)
    asymmetric_queries = np.array([0.0, 1.5, 3.0])
    asymmetric = calls(asymmetric_queries, keys, vector_values, _towards_twice_the_key)

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

    def a_row_for_one_query(result):
        got = expect_array(result, shape=(1, 4), name="result for one query")
        expect_close(
            got, _pool_reference(queries[1:2], keys, vector_values, _gaussian), name="result"
        )

    def query_first(result):
        got = expect_array(result, shape=(3, 4), name="result")
        expected = _pool_reference(asymmetric_queries, keys, vector_values, _towards_twice_the_key)
        mistakes = [
            Mistake(
                "the kernel was called as kernel(key, query): its first argument is the "
                "query, kernel(q, k)",
                lambda: _pool_reference(
                    asymmetric_queries,
                    keys,
                    vector_values,
                    lambda q, k: _towards_twice_the_key(k, q),
                ),
            ),
        ]
        expect_close(got, expected, name="result", mistakes=mistakes)

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
        Case("a single query gives a (1, d) result", one_query, a_row_for_one_query),
        Case(
            "calls the kernel as kernel(query, key) (a kernel that is not symmetric)",
            asymmetric,
            query_first,
        ),
    ]


# ---------------------------------------------------------------- exercise 3


def _leave_one_out_reference(x, y, bandwidth, by_value=False, keep_self=False, zeroed_after=False):
    """Each point's Nadaraya-Watson prediction from the others; or a named mistake."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    scores = -((x[:, None] - x[None, :]) ** 2) / (2 * bandwidth**2)
    if by_value:
        scores[x[:, None] == x[None, :]] = -np.inf
    elif not (keep_self or zeroed_after):
        np.fill_diagonal(scores, -np.inf)
    weights = _softmax_rows(scores)
    if zeroed_after:
        np.fill_diagonal(weights, 0)
    return weights @ y


def _leave_one_out_mistakes(x, y, bandwidth):
    return [
        Mistake(
            "each point is still among its own keys: leave it out, so that it is predicted "
            "from the other points only",
            lambda: _leave_one_out_reference(x, y, bandwidth, keep_self=True),
        ),
        Mistake(
            "the point's own weight was set to 0 after the weights were normalised, so "
            "the others' weights no longer sum to 1: leave it out *before* the softmax "
            "(a score of minus infinity)",
            lambda: _leave_one_out_reference(x, y, bandwidth, zeroed_after=True),
        ),
        Mistake(
            "the score is -(x - x_i)^2 / (2 h^2): square the bandwidth and keep the 2",
            lambda: _leave_one_out_reference(x, y, np.sqrt(bandwidth / 2)),
        ),
        Mistake(
            "the score is -(x - x_i)^2 / (2 h^2): keep the 2",
            lambda: _leave_one_out_reference(x, y, bandwidth / np.sqrt(2)),
        ),
    ]


SINE_X = np.linspace(0, 6, 25)
SINE_Y = np.sin(SINE_X) + 0.1 * SINE_X


@lab.check(points=3)
def check_leave_one_out_predictions():
    plain = calls(SINE_X, SINE_Y, 0.7)
    wide = calls(SINE_X, SINE_Y, 1e4)
    twins_x, twins_y = np.array([0.0, 0.0, 1.0, 5.0]), np.array([1.0, 3.0, 10.0, 20.0])
    twins = calls(twins_x, twins_y, 0.1)
    # Uneven gaps: each row's largest score differs, and all are far below 0.
    uneven_x = np.array([0.0, 0.3, 1.0, 1.1, 2.5])
    uneven_y = np.array([4.0, -2.0, 7.0, 1.0, 3.0])
    narrow = calls(uneven_x, uneven_y, 1e-3)
    pair_x, pair_y = np.array([0.0, 1.0]), np.array([5.0, 7.0])
    pair = calls(pair_x, pair_y, 0.8)
    in_float32 = calls(SINE_X.astype(np.float32), SINE_Y.astype(np.float32), np.float32(0.7))

    def like_the_reference(x, y, bandwidth, expected=None, hint="", mistakes=()):
        """A judge: the predictions equal the reference's (or ``expected``)."""

        def judge(result):
            _no_nan(
                result,
                "got NaN: where a bandwidth is small, every exp(score) of a row can "
                "underflow to 0, and 0/0 is NaN. Subtract each row's largest score among "
                "the *other* points: not the largest of the whole matrix, nor the point's "
                "own score of 0",
            )
            got = expect_array(result, shape=(len(x),), name="predictions")
            reference = _leave_one_out_reference(x, y, bandwidth)
            _expect_close_naming_the_mistake(
                got,
                reference if expected is None else np.asarray(expected),
                [*mistakes, *_leave_one_out_mistakes(x, y, bandwidth)],
                name="predictions",
                atol=1e-4,
                hint=hint
                or "prediction i is the mean of the other y_j weighted by "
                "exp(-(x_i - x_j)^2 / (2 h^2)), normalised over j != i",
            )

        return judge

    return [
        Case(
            "returns one prediction per point",
            plain,
            lambda result: expect_array(result, shape=(25,), name="predictions"),
        ),
        Case(
            "predicts each point from the others (Gaussian kernel, bandwidth 0.7)",
            plain,
            like_the_reference(SINE_X, SINE_Y, 0.7),
        ),
        Case(
            "a huge bandwidth predicts the mean of the other points",
            wide,
            like_the_reference(
                SINE_X,
                SINE_Y,
                1e4,
                expected=(SINE_Y.sum() - SINE_Y) / (len(SINE_Y) - 1),
                hint="with a huge bandwidth every other point weighs 1/(n - 1)",
            ),
        ),
        Case(
            "two points: each is predicted by the other",
            pair,
            like_the_reference(
                pair_x,
                pair_y,
                0.8,
                expected=[7.0, 5.0],
                hint="with two points, each one's only other point is the other one",
            ),
        ),
        Case(
            "a point is left out by its position: its twin at the same x still counts",
            twins,
            like_the_reference(
                twins_x,
                twins_y,
                0.1,
                expected=[3.0, 1.0, 2.0, 10.0],
                mistakes=[
                    Mistake(
                        "every point with the same x was left out: leave out the point "
                        "itself (its position), and let its twin at the same x predict it",
                        lambda: _leave_one_out_reference(twins_x, twins_y, 0.1, by_value=True),
                    )
                ],
            ),
        ),
        Case(
            "a tiny bandwidth predicts each point by its nearest other point, without NaN",
            narrow,
            like_the_reference(
                uneven_x,
                uneven_y,
                1e-3,
                expected=[-2.0, 4.0, 1.0, 7.0, 1.0],
                hint="with a tiny bandwidth each point takes the value of its nearest other point",
            ),
        ),
        Case(
            "works with float32 inputs",
            in_float32,
            like_the_reference(SINE_X, SINE_Y, 0.7),
        ),
    ]


# ---------------------------------------------------------------- experiment


def _crash_split():
    """The crash data split as Chapter 2 splits it: 100 points to fit, 33 held out."""
    times, acceleration = load_motorcycle_crash()
    held_out = np.zeros(len(times), dtype=bool)
    held_out[np.random.default_rng(0).permutation(len(times))[:33]] = True
    return (
        (times[~held_out], acceleration[~held_out]),
        (times[held_out], acceleration[held_out]),
    )


def _rmse(predicted, observed):
    return float(np.sqrt(np.mean((predicted - observed) ** 2)))


def _leave_one_out_errors(x, y, bandwidths, keep_self=False, squared=False):
    errors = []
    for bandwidth in bandwidths:
        predicted = _leave_one_out_reference(x, y, bandwidth, keep_self=keep_self)
        error = _rmse(predicted, y)
        errors.append(error**2 if squared else error)
    return np.array(errors)


def _nadaraya_watson(queries, x, y, bandwidth):
    scores = -((queries[:, None] - x[None, :]) ** 2) / (2 * bandwidth**2)
    return _softmax_rows(scores) @ y


CRASH_BANDWIDTHS = np.geomspace(0.1, 10, 21)  # ms
SINE_BANDWIDTHS = np.geomspace(0.05, 5, 15)


def _noisy_sine():
    rng = np.random.default_rng(40)
    x = np.sort(np.concatenate([rng.uniform(0, 6, 30), np.repeat([1.0, 2.5, 4.0], 2)]))
    return x, np.sin(x) + rng.normal(0, 0.3, size=len(x))


@lab.check(points=3)
def check_choose_bandwidth():
    (x, y), (x_held_out, y_held_out) = _crash_split()
    sine_x, sine_y = _noisy_sine()
    crash = calls(x, y, CRASH_BANDWIDTHS)
    sine = calls(sine_x, sine_y, SINE_BANDWIDTHS)

    def parts(result, bandwidths=CRASH_BANDWIDTHS):
        best, errors = expect_parts(result, "best bandwidth", "errors")
        best = expect_number(best, name="the best bandwidth")
        errors = expect_array(errors, shape=(len(bandwidths),), name="errors")
        return best, errors

    def error_mistakes(x, y, bandwidths):
        return [
            Mistake(
                "these are mean squared errors: the error is their square root, the RMSE",
                lambda: _leave_one_out_errors(x, y, bandwidths, squared=True),
            ),
            Mistake(
                "these are training errors: each point was predicted with itself among "
                "the keys. Use your leave-one-out predictions",
                lambda: _leave_one_out_errors(x, y, bandwidths, keep_self=True),
            ),
        ]

    def crash_errors(result):
        expect_close(
            parts(result)[1],
            _leave_one_out_errors(x, y, CRASH_BANDWIDTHS),
            name="errors",
            atol=1e-4,
            mistakes=error_mistakes(x, y, CRASH_BANDWIDTHS),
            hint="errors[j] = sqrt(mean((leave-one-out prediction - y)^2)) at bandwidths[j]",
        )

    def smallest_error(result):
        best, errors = parts(result)
        chosen = CRASH_BANDWIDTHS[int(np.argmin(errors))]
        expect_true(
            np.isclose(best, chosen),
            f"your smallest error is at bandwidth {chosen:.3g}, but you returned {best:.3g}: "
            "return the bandwidth itself (not its index) with the smallest error",
        )

    def u_shaped(result):
        _, errors = parts(result)
        lowest = int(np.argmin(errors))
        expect_true(
            0 < lowest < len(errors) - 1,
            "the leave-one-out error should be lowest inside the grid, rising towards both "
            f"the narrowest and the widest bandwidth; yours is lowest at position {lowest}",
        )

    def good_on_held_out(result):
        best, _ = parts(result)
        held_out = _rmse(_nadaraya_watson(x_held_out, x, y, best), y_held_out)
        hindsight = min(
            _rmse(_nadaraya_watson(x_held_out, x, y, h), y_held_out) for h in CRASH_BANDWIDTHS
        )
        expect_true(
            held_out <= 1.05 * hindsight,
            f"with your bandwidth {best:.3g} ms the held-out RMSE is {held_out:.1f} g, more "
            f"than 5% above the best of the grid in hindsight ({hindsight:.1f} g)",
        )

    def sine_errors(result):
        expect_close(
            parts(result, SINE_BANDWIDTHS)[1],
            _leave_one_out_errors(sine_x, sine_y, SINE_BANDWIDTHS),
            name="errors",
            atol=1e-4,
            mistakes=error_mistakes(sine_x, sine_y, SINE_BANDWIDTHS),
        )

    return [
        Case("returns (best bandwidth, one error per bandwidth)", crash, parts),
        Case(
            "errors are the leave-one-out RMSE of each bandwidth on the crash data",
            crash,
            crash_errors,
        ),
        Case("the best bandwidth is the one with the smallest error", crash, smallest_error),
        Case("the error is U-shaped: lowest inside the grid", crash, u_shaped),
        Case(
            "the chosen bandwidth predicts the 33 held-out points within 5% of the best in "
            "hindsight",
            crash,
            good_on_held_out,
        ),
        Case(
            "the same on another data set (a noisy sine, some x repeated)",
            sine,
            sine_errors,
        ),
    ]


# ---------------------------------------------------------------- question

# Why each wrong choice does not fit the measurement: the evidence, not the answer.
NARROW_END_CHOICES = {
    "a": "your predictions are finite at every bandwidth (the check of "
    "leave_one_out_predictions made sure of it, down to a bandwidth of 0.001), and so are "
    "your errors",
    "c": "you left each point out: no point is among its own keys. That is what happens to "
    "the training error, which keeps falling as the bandwidth shrinks",
    "d": "averaging over many points is what a *wide* kernel does; it explains the rise at "
    "the other end of your grid",
}


@lab.check(points=1)
def check_the_narrow_end():
    def judge(result):
        expect_answer(result, "b", NARROW_END_CHOICES)

    return [Case("picks the explanation that fits the measurement", calls(), judge)]


# ---------------------------------------------------------------- exercise 5: TF-IDF

TFIDF_SHORTCUTS = (
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
)


def _sklearn_tfidf(documents, vocabulary, sublinear_tf=False):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=lambda document: document, vocabulary=vocabulary, sublinear_tf=sublinear_tf
    )
    return vectorizer.fit_transform(documents).toarray()


CORPUS = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "sat"],
    ["a", "cat", "and", "a", "dog", "and", "a", "bird"],
    ["the", "end"],
]
VOCABULARY = ["cat", "dog", "the", "sat", "mat", "a", "fish"]


def _counts(documents, vocabulary):
    return np.array(
        [[document.count(word) for word in vocabulary] for document in documents], dtype=float
    )


def _log_or_zero(counts):
    return np.log(np.maximum(counts, 1))  # ln(count) where the word occurs, 0 elsewhere


def _sublinear(counts):
    return np.where(counts > 0, 1 + _log_or_zero(counts), 0.0)


def _tfidf_without(
    documents,
    vocabulary,
    log=True,
    smooth=True,
    plus_one=True,
    normalise=True,
    document_counts=True,
    tf=lambda counts: counts,
):
    """TF-IDF with one ingredient changed: the wrong answers students write.
    ``normalise`` is True (the Euclidean norm), False, or "sum"."""
    counts = _counts(documents, vocabulary)
    containing = (counts > 0).sum(axis=0) if document_counts else counts.sum(axis=0)
    n = len(documents)
    ratio = (1 + n) / (1 + containing) if smooth else n / np.maximum(containing, 1)
    idf = (np.log(ratio) if log else ratio) + (1 if plus_one else 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weighted = tf(counts) * idf
        if normalise == "sum":
            weighted = weighted / weighted.sum(axis=1, keepdims=True)
        elif normalise:
            weighted = weighted / np.linalg.norm(weighted, axis=1, keepdims=True)
    return weighted


def _tfidf_mistakes(documents, vocabulary, sublinear_tf):
    """The plausible wrong TF-IDF matrices for these documents, each with what it gets
    wrong."""
    tf = _sublinear if sublinear_tf else (lambda counts: counts)

    def mistake(description, **changed):
        changed.setdefault("tf", tf)
        return Mistake(description, lambda: _tfidf_without(documents, vocabulary, **changed))

    mistakes = [
        mistake(
            "idf is the natural logarithm ln((1 + N) / (1 + n_w)) + 1, not the ratio itself",
            log=False,
        ),
        mistake("divide each row by its Euclidean norm", normalise=False),
        mistake(
            "divide each row by its Euclidean norm (the square root of the sum of "
            "squares), not by its sum",
            normalise="sum",
        ),
        mistake(
            "scikit-learn's idf is ln((1 + N) / (1 + n_w)) + 1, not the textbook ln(N / n_w)",
            smooth=False,
            plus_one=False,
        ),
        mistake("use the smoothed idf ln((1 + N) / (1 + n_w)) + 1", smooth=False),
        mistake("add 1 to the logarithm: idf = ln((1 + N) / (1 + n_w)) + 1", plus_one=False),
        mistake(
            "n_w counts the documents that contain w, not how often w occurs",
            document_counts=False,
        ),
    ]
    if not sublinear_tf:
        mistakes.append(
            mistake(
                "tf counts how many times the word occurs, not only whether it does",
                tf=lambda counts: (counts > 0).astype(float),
            )
        )
    if sublinear_tf:
        return mistakes + [
            mistake(
                "sublinear tf is 1 + ln(tf): without the 1, a word seen once gets ln 1 = 0",
                tf=_log_or_zero,
            ),
            mistake("sublinear tf is 1 + ln(tf), not ln(1 + tf)", tf=np.log1p),
            mistake(
                "with sublinear_tf=True, tf is 1 + ln(tf) for the words present (and 0 "
                "for the others), not the plain count",
                tf=lambda counts: counts,
            ),
        ]
    return mistakes + [
        mistake(
            "tf is the plain count here: 1 + ln(tf) is only for sublinear_tf=True",
            tf=_sublinear,
        )
    ]


UNGUARDED_DIVISION = (
    "got NaN: a document with no vocabulary word has a row of weights that is all 0, and "
    "so is its length, and 0/0 is NaN. Leave such a row at 0 (divide by 1 where a row's "
    "length is 0)"
)


LOG_OF_ZERO = (
    "got NaN: ln(0) is minus infinity, and it spreads to the whole row: take 1 + ln(tf) "
    "only where the word occurs, and leave tf at 0 elsewhere"
)


def _tfidf_judge(documents, vocabulary, sublinear_tf=False, hint=""):
    """A judge: the result equals scikit-learn's TF-IDF of these documents, or the message
    says which known mistake it matches."""
    shape = (len(documents), len(vocabulary))
    empty_document = any(not set(document) & set(vocabulary) for document in documents)

    def judge(result):
        if sublinear_tf:
            _no_nan(result, LOG_OF_ZERO)
        if empty_document:
            _no_nan(result, UNGUARDED_DIVISION)
        got = expect_array(result, shape=shape, name="TF-IDF matrix")
        expected = _sklearn_tfidf(documents, vocabulary, sublinear_tf=sublinear_tf)
        if not np.allclose(got, expected, atol=1e-6) and (
            mistake := named_mistake(
                got, _tfidf_mistakes(documents, vocabulary, sublinear_tf), atol=1e-6
            )
        ):
            raise CaseFailed(f"the TF-IDF matrix differs from scikit-learn's: {mistake}")
        expect_close(
            got,
            expected,
            name="TF-IDF matrix",
            hint=hint
            or "tf is the count of the word in the document (1 + ln(count) with "
            "sublinear_tf=True); idf = ln((1 + N) / (1 + n_w)) + 1; then each row divided "
            "by its norm",
        )

    return judge


@lab.check(points=3, forbid=TFIDF_SHORTCUTS)
def check_tfidf():
    corpus = calls(CORPUS, VOCABULARY)
    sublinear = calls(CORPUS, VOCABULARY, sublinear_tf=True)
    documents = [["x", "x", "x", "y"], ["y", "z"], ["z", "w"]]
    vocabulary = ["x", "y", "z", "w"]
    repeated_word = calls(documents, vocabulary)
    everywhere_documents = [["the", "cat"], ["the", "dog"], ["the", "the", "end"]]
    everywhere = calls(everywhere_documents, ["the", "cat", "dog", "end"])
    unknown_words = [["the", "cat"], ["zebra", "quagga"], ["cat", "dog", "dog"]]
    no_vocabulary_word = calls(unknown_words, ["the", "cat", "dog"])

    def matrix(result, shape=(4, 7)):
        return expect_array(result, shape=shape, name="TF-IDF matrix")

    def rows_of_length_one(result):
        lengths = np.linalg.norm(matrix(result), axis=1)
        expect_true(
            np.allclose(lengths, 1),
            f"row lengths are {np.round(lengths, 3).tolist()}: divide each row by "
            "its Euclidean norm",
        )

    def keeps_a_weight(result):
        got = matrix(result, shape=(3, 4))
        expect_true(
            (got[:, 0] > 0.3).all(),
            f"'the' is in every document and gets {np.round(got[:, 0], 3).tolist()}; "
            "with idf = ln((1 + N) / (1 + n_w)) + 1 its idf is 1, not 0",
        )
        _tfidf_judge(everywhere_documents, ["the", "cat", "dog", "end"])(result)

    def zero_row(result):
        _no_nan(result, UNGUARDED_DIVISION)
        got = matrix(result, shape=(3, 3))
        expect_true(
            np.all(got[1] == 0),
            "the second document has no vocabulary word: its row must be all 0, got "
            f"{np.round(got[1], 4).tolist()}",
        )
        _tfidf_judge(unknown_words, ["the", "cat", "dog"])(result)

    return [
        Case("returns one row per document and one column per vocabulary word", corpus, matrix),
        Case("every row has length 1", corpus, rows_of_length_one),
        Case(
            "matches scikit-learn's TfidfVectorizer (smooth idf, L2-normalised rows)",
            corpus,
            _tfidf_judge(CORPUS, VOCABULARY),
        ),
        Case(
            "n_w counts the documents containing w, however often it occurs in them",
            repeated_word,
            _tfidf_judge(documents, vocabulary),
        ),
        Case(
            "a word found in every document keeps a positive weight (the + 1)",
            everywhere,
            keeps_a_weight,
        ),
        Case(
            "sublinear_tf=True matches TfidfVectorizer(sublinear_tf=True)",
            sublinear,
            _tfidf_judge(CORPUS, VOCABULARY, sublinear_tf=True),
        ),
        Case(
            "a document with no vocabulary word gets a row of zeros, not NaN",
            no_vocabulary_word,
            zero_row,
        ),
    ]
