"""Dates written in many languages and formats, to translate into ISO ``YYYY-MM-DD``.

No parallel corpus ships offline, so the book's translation task is generated, but its
words are real: Babel carries the month and day names of the Unicode CLDR for every
locale. A source is a date as people write it ("mercredi 3 mars 2021", "March 3, 2021",
"3.3.2021"); its target is the same date in ISO form ("2021-03-03"). Models read and
write characters.

Usage::

    from attention_course.data.dates import date_task

    task = date_task(seed=0)                 # 50,000 training and 2,000 held-out pairs
    task.test[0]                             # DateExample(source='...', target='...', ...)
    batch = task.sample_batch(128, generator)  # a SequenceBatch of training pairs
    test = task.batch(task.test)               # all held-out pairs, padded
    task.source_vocab.decode(test.source[0])   # back to text

The held-out split is by calendar day: a day drawn for the test set never appears in
training, in any language or format. Numeric formats always put the day first; years
always have four digits (a two-digit year is ambiguous, so Babel's ``short`` formats,
which use them in several locales, are replaced by ``dd/MM/y``, ``d.M.y`` and ``d/M/y``).
"""

from __future__ import annotations

import datetime
import functools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .sequences import BOS, PAD, SequenceBatch

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT")
# Babel's named formats follow each locale's own conventions (word order, "de", commas);
# the patterns add a spelled-out weekday and month, and day-first numeric dates.
FORMATS = ("medium", "long", "full", "d MMM y", "EEEE d MMMM y", "dd/MM/y", "d.M.y", "d/M/y")
FIRST_DAY = datetime.date(1950, 1, 1)
LAST_DAY = datetime.date(2049, 12, 31)
TARGET_LENGTH = len("YYYY-MM-DD")
UNK = 2  # a source character the vocabulary has not seen (e.g. typed by a reader)


def _babel():
    try:
        import babel
        import babel.dates
    except ImportError:  # pragma: no cover - babel is a dependency of the package
        raise ImportError("the date task needs Babel's CLDR data: pip install babel") from None
    return babel


@functools.cache
def _locale_and_pattern(format: str, locale: str):
    # Looking up the locale and its named format once, not once per date, makes
    # generating 50,000 pairs several times faster.
    babel = _babel()
    parsed = babel.Locale.parse(locale)
    if format in ("short", "medium", "long", "full"):
        format = babel.dates.get_date_format(format, locale=parsed).pattern
    return parsed, format


def format_date(day: datetime.date, format: str, locale: str) -> str:
    """``day`` as Babel writes it, with every kind of space made a plain space.

    ``format`` is one of Babel's named formats (short, medium, long, full) or a CLDR
    pattern such as ``"EEEE d MMMM y"``; ``locale`` a name such as ``"fr_FR"``.
    """
    parsed, pattern = _locale_and_pattern(format, locale)
    text = _babel().dates.format_date(day, format=pattern, locale=parsed)
    # Some CLDR versions use no-break or narrow spaces; one space character is enough.
    return " ".join(text.split())


def iso(day: datetime.date) -> str:
    return day.isoformat()


class CharVocabulary:
    """Characters <-> ids, with PAD = 0, BOS = 1 and UNK = 2 before the characters."""

    specials = ("<pad>", "<bos>", "<unk>")

    def __init__(self, characters: Iterable[str]):
        self.characters = sorted(set(characters))
        self.symbols = list(self.specials) + self.characters  # id -> printable symbol
        self._ids = {
            character: index
            for index, character in enumerate(self.characters, start=len(self.specials))
        }

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def size(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        return [self._ids.get(character, UNK) for character in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the ids up to the first PAD; BOS is skipped and UNK shown as '?'."""
        text = []
        for index in (int(i) for i in ids):
            if index == PAD:
                break
            if index == BOS:
                continue
            text.append("?" if index == UNK else self.symbols[index])
        return "".join(text)


@dataclass(frozen=True)
class DateExample:
    source: str  # e.g. "mercredi 3 mars 2021"
    target: str  # e.g. "2021-03-03"
    locale: str  # e.g. "fr_FR"
    format: str  # e.g. "full"


def date_examples(
    days: Sequence[datetime.date],
    count: int,
    rng: random.Random,
    locales: Sequence[str] = LOCALES,
    formats: Sequence[str] = FORMATS,
) -> list[DateExample]:
    """``count`` examples, each a random day of ``days`` in a random locale and format."""
    examples = []
    for _ in range(count):
        day, locale, form = rng.choice(days), rng.choice(locales), rng.choice(formats)
        examples.append(DateExample(format_date(day, form, locale), iso(day), locale, form))
    return examples


def source_characters(
    locales: Sequence[str] = LOCALES, formats: Sequence[str] = FORMATS
) -> set[str]:
    """Every character the generator can write: all months and weekdays, every format."""
    characters = set("0123456789")
    # 2021-03-01 is a Monday: seven consecutive days give every weekday name, the first of
    # each month every month name.
    days = [datetime.date(2021, month, 1) for month in range(1, 13)]
    days += [datetime.date(2021, 3, day) for day in range(1, 8)]
    for locale in locales:
        for form in formats:
            for day in days:
                characters.update(format_date(day, form, locale))
    return characters


@dataclass
class DateTask:
    """Training and held-out date pairs, their vocabularies, and padded batches of them."""

    train: list[DateExample]
    test: list[DateExample]
    source_vocab: CharVocabulary
    target_vocab: CharVocabulary

    def __post_init__(self):
        # Encode the training set once; sampling a batch is then indexing and trimming.
        self._train_source, self._train_lengths = self._encode_sources(
            [example.source for example in self.train]
        )
        self._train_target = self._encode_targets([example.target for example in self.train])

    def _encode_sources(self, texts: Sequence[str]):
        encoded = [self.source_vocab.encode(text) for text in texts]
        lengths = [len(ids) for ids in encoded]
        if not encoded or min(lengths) == 0:
            raise ValueError("need at least one source text, and no empty one")
        width = max(lengths)
        source = torch.tensor([ids + [PAD] * (width - len(ids)) for ids in encoded])
        return source, torch.tensor(lengths)

    def _encode_targets(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.tensor([self.target_vocab.encode(text) for text in texts], dtype=torch.long)

    def batch(self, examples: Sequence[DateExample | str]) -> SequenceBatch:
        """Pad examples into a batch. Plain strings are sources without a target (PAD)."""
        texts = [e if isinstance(e, str) else e.source for e in examples]
        source, lengths = self._encode_sources(texts)
        if all(isinstance(e, DateExample) for e in examples):
            target = self._encode_targets([e.target for e in examples])
        else:
            target = torch.full((len(texts), TARGET_LENGTH), PAD, dtype=torch.long)
        return SequenceBatch(
            source, target, lengths, target_lengths=torch.full((len(texts),), TARGET_LENGTH)
        )

    def sample_batch(self, batch_size: int, generator: torch.Generator) -> SequenceBatch:
        """Training pairs drawn at random (with replacement) by ``generator``."""
        rows = torch.randint(len(self.train), (batch_size,), generator=generator)
        lengths = self._train_lengths[rows]
        source = self._train_source[rows, : int(lengths.max())]
        return SequenceBatch(
            source,
            self._train_target[rows],
            lengths,
            target_lengths=torch.full((batch_size,), TARGET_LENGTH),
        )

    def decode_targets(self, ids: torch.Tensor) -> list[str]:
        """Model outputs (batch, steps) as strings."""
        return [self.target_vocab.decode(row) for row in ids]


def date_task(
    n_train: int = 50_000,
    n_test: int = 2_000,
    seed: int = 0,
    test_share: float = 0.1,
    locales: Sequence[str] = LOCALES,
    formats: Sequence[str] = FORMATS,
    first_day: datetime.date = FIRST_DAY,
    last_day: datetime.date = LAST_DAY,
) -> DateTask:
    """The date-translation task: pairs from disjoint sets of days, fixed by ``seed``.

    ``test_share`` of the days between ``first_day`` and ``last_day`` are held out;
    training pairs use only the other days, held-out pairs only those.
    """
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be between 0 and 1, got {test_share}")
    rng = random.Random(seed)
    days = [first_day + datetime.timedelta(n) for n in range((last_day - first_day).days + 1)]
    rng.shuffle(days)
    cut = round(len(days) * test_share)
    test_days, train_days = sorted(days[:cut]), sorted(days[cut:])
    train = date_examples(train_days, n_train, rng, locales, formats)
    test = date_examples(test_days, n_test, rng, locales, formats)
    return DateTask(
        train,
        test,
        CharVocabulary(source_characters(locales, formats)),
        CharVocabulary("0123456789-"),
    )
