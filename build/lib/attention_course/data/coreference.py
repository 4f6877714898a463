"""A small language of "The animal didn't cross the street because it was too tired".

Each sentence names one animal and one place, and says "it was too <adjective>". The
adjective decides what "it" refers to: an animal can be *tired*, a street can be *wide*.
The task is to name that noun. The word that decides (the adjective) and the word it
points to (the noun) sit many positions apart, in either order, so the task needs a
long-range match by meaning: what self-attention does in one step.

A quarter of all (animal, place) pairs never occur together in training (``split="test"``),
so a model that passes the test has learned which adjectives fit which kind of noun,
not which sentences it has seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ANIMALS = (
    "animal",
    "dog",
    "cat",
    "horse",
    "cow",
    "fox",
    "deer",
    "sheep",
    "goat",
    "rabbit",
    "duck",
    "mouse",
)
PLACES = (
    "street",
    "road",
    "river",
    "bridge",
    "field",
    "square",
    "highway",
    "yard",
    "track",
    "park",
    "lane",
    "path",
)
ANIMAL_ADJECTIVES = ("tired", "sleepy", "scared", "old", "hungry", "lazy", "weak", "slow")
PLACE_ADJECTIVES = ("wide", "busy", "wet", "icy", "dark", "crowded", "long", "muddy")
FILLERS = (
    "",
    "yesterday",
    "this morning",
    "at noon",
    "after the rain",
    "in the end",
    "again",
    "that day",
    "once more",
    "on monday",
    "last night",
)
TEMPLATES = (
    "the {animal} didn't cross the {place} {filler} because it was too {adjective}",
    "the {animal} did not walk across the {place} because it was too {adjective}",
    "the {animal} stayed off the {place} {filler} since it was so {adjective}",
    "because it was too {adjective} , the {animal} didn't cross the {place} {filler}",
    "the {animal} {filler} avoided the {place} because it was very {adjective}",
    "the {animal} never reached the {place} {filler} as it was too {adjective}",
)
PAD = "<pad>"
VOCABULARY = (PAD,) + tuple(
    sorted(
        {
            word
            for template in TEMPLATES
            for word in template.format(animal="", place="", filler="", adjective="").split()
        }
        | {word for filler in FILLERS for word in filler.split()}
        | set(ANIMALS)
        | set(PLACES)
        | set(ANIMAL_ADJECTIVES)
        | set(PLACE_ADJECTIVES)
    )
)
WORD_ID = {word: i for i, word in enumerate(VOCABULARY)}
ADJECTIVES = frozenset(ANIMAL_ADJECTIVES + PLACE_ADJECTIVES)


def noun_pairs(split: str) -> list[tuple[str, str]]:
    """The (animal, place) pairs of a split: a fixed quarter of all pairs is ``"test"``."""
    if split not in {"train", "test"}:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return [
        (animal, place)
        for i, animal in enumerate(ANIMALS)
        for j, place in enumerate(PLACES)
        if ((i + j) % 4 == 0) == (split == "test")
    ]


def encode(sentence: str | list[str]) -> torch.Tensor:
    """Word ids of one sentence (a string or a list of words) of this language."""
    words = sentence.split() if isinstance(sentence, str) else list(sentence)
    unknown = [word for word in words if word not in WORD_ID]
    if unknown:
        raise ValueError(f"not in this small language's vocabulary: {', '.join(unknown)}")
    return torch.tensor([WORD_ID[word] for word in words])


def adjective_position(words: list[str]) -> int:
    """Where the adjective that decides the referent stands."""
    return next(i for i, word in enumerate(words) if word in ADJECTIVES)


@dataclass
class ReferentBatch:
    tokens: torch.Tensor  # (batch, max_length) word ids, PAD (0) after each sentence
    lengths: torch.Tensor  # (batch,) words per sentence
    adjective: torch.Tensor  # (batch,) position of the deciding adjective
    target: torch.Tensor  # (batch,) word id of the noun "it" refers to
    target_position: torch.Tensor  # (batch,) where that noun stands
    sentences: list[list[str]]


def referent_batch(
    batch_size: int, split: str = "train", generator: torch.Generator | None = None
) -> ReferentBatch:
    """Random sentences of the language with the noun each one's "it" refers to."""
    pairs = noun_pairs(split)

    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=generator))]

    sentences, targets = [], []
    for _ in range(batch_size):
        animal, place = pick(pairs)
        about_animal = bool(torch.rand(1, generator=generator) < 0.5)
        adjective = pick(ANIMAL_ADJECTIVES if about_animal else PLACE_ADJECTIVES)
        words = (
            pick(TEMPLATES)
            .format(animal=animal, place=place, filler=pick(FILLERS), adjective=adjective)
            .split()
        )
        sentences.append(words)
        targets.append(animal if about_animal else place)
    lengths = torch.tensor([len(words) for words in sentences])
    tokens = torch.zeros(batch_size, int(lengths.max()), dtype=torch.long)
    for row, words in enumerate(sentences):
        tokens[row, : len(words)] = encode(words)
    return ReferentBatch(
        tokens=tokens,
        lengths=lengths,
        adjective=torch.tensor([adjective_position(words) for words in sentences]),
        target=torch.tensor([WORD_ID[noun] for noun in targets]),
        target_position=torch.tensor(
            [words.index(noun) for words, noun in zip(sentences, targets)]
        ),
        sentences=sentences,
    )
