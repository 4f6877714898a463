"""The food reviews as one stream of characters, for a character-level language model.

Chapter 9 trains a language model on the 5,000 reviews of :mod:`.text`: each review
lower-cased, its HTML line breaks turned into spaces, and the reviews joined by newlines.
The 4,000 training reviews give the training characters, the 1,000 test reviews the
held-out ones, so no review is split between the two.

Typical use::

    corpus = load_review_characters()
    inputs, targets = corpus.batch("train", batch=32, length=64, generator=generator)
    corpus.decode(inputs[0])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from .text import load_food_reviews

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean_review(text: str) -> str:
    """Lower case, and the HTML line breaks the reviews contain as spaces."""
    return _HTML_BREAK.sub(" ", text).lower()


@dataclass(frozen=True)
class CharacterCorpus:
    """Training and held-out characters as token ids, and the symbols they stand for."""

    symbols: str  # the symbol of id i is symbols[i]
    train: torch.Tensor  # (characters,) int64
    test: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text``; a symbol the training text never had raises a KeyError."""
        index = {symbol: i for i, symbol in enumerate(self.symbols)}
        return torch.tensor([index[symbol] for symbol in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.symbols[int(i)] for i in ids)

    def batch(
        self, split: str, batch: int, length: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` windows of ``length`` characters at random places of a split, and the
        same windows moved on by one character: the next character at every position."""
        ids = self._split(split)
        starts = torch.randint(len(ids) - length, (batch,), generator=generator)
        windows = ids[starts[:, None] + torch.arange(length + 1)]
        return windows[:, :-1], windows[:, 1:]

    def windows(self, split: str, length: int, count: int | None = None) -> torch.Tensor:
        """Non-overlapping windows of ``length + 1`` characters from the start of a split
        (all of them, or the first ``count``): inputs ``[:, :-1]``, targets ``[:, 1:]``."""
        ids = self._split(split)
        available = (len(ids) - 1) // length
        count = available if count is None else min(count, available)
        starts = torch.arange(count) * length
        return ids[starts[:, None] + torch.arange(length + 1)]

    def _split(self, split: str) -> torch.Tensor:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return self.train if split == "train" else self.test


def load_review_characters() -> CharacterCorpus:
    """The training and test reviews, cleaned and joined by newlines, as character ids.

    The symbols are those of the training text, in sorted order; a held-out symbol the
    training text never had (none, in these reviews) becomes a space.
    """
    train_text = "\n".join(clean_review(text) for text in load_food_reviews("train").texts)
    test_text = "\n".join(clean_review(text) for text in load_food_reviews("test").texts)
    symbols = "".join(sorted(set(train_text)))
    index = {symbol: i for i, symbol in enumerate(symbols)}
    space = index[" "]

    def ids(text: str) -> torch.Tensor:
        return torch.tensor([index.get(symbol, space) for symbol in text], dtype=torch.long)

    return CharacterCorpus(symbols, ids(train_text), ids(test_text))
