"""Random symbol sequences to copy or reverse: a task whose output grows with its input.

A fixed-size context vector must hold the whole input before the decoder writes a
single symbol, so accuracy falls as sequences get longer -- the bottleneck of Chapter 1,
and the length effect that attention removes in Chapter 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

PAD = 0  # padding, ignored by the loss
BOS = 1  # "begin" token fed to the decoder before its first output
FIRST_SYMBOL = 2


def length_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """(batch, max_length) boolean mask: True at the real positions of each sequence.

    Row ``b`` is True at positions ``0 .. lengths[b] - 1`` and False at the padding after
    them; ``max_length`` defaults to the longest length.
    """
    lengths = torch.as_tensor(lengths)
    max_length = int(lengths.max()) if max_length is None else max_length
    return torch.arange(max_length, device=lengths.device)[None, :] < lengths[:, None]


@dataclass
class SequenceBatch:
    source: torch.Tensor  # (batch, max_length) symbol ids, PAD after each length
    target: torch.Tensor  # (batch, target_length) what the decoder must write, PAD-padded
    lengths: torch.Tensor  # (batch,) true source lengths
    # (batch,) true target lengths, when they differ from the source's (as in translation)
    target_lengths: torch.Tensor | None = None

    @property
    def output_lengths(self) -> torch.Tensor:
        """How many symbols of each target count: its own length, else the source's."""
        return self.lengths if self.target_lengths is None else self.target_lengths

    @property
    def source_mask(self) -> torch.Tensor:
        """(batch, max_length) True at real source symbols, False at padding."""
        return length_mask(self.lengths, self.source.shape[1])

    @property
    def decoder_input(self) -> torch.Tensor:
        """The target shifted right behind BOS: what teacher forcing feeds the decoder."""
        bos = torch.full_like(self.target[:, :1], BOS)
        return torch.cat([bos, self.target[:, :-1]], dim=1)


def vocabulary_size(n_symbols: int) -> int:
    return FIRST_SYMBOL + n_symbols


def sequence_batch(
    batch_size: int,
    min_length: int,
    max_length: int,
    n_symbols: int = 10,
    task: str = "reverse",
    generator: torch.Generator | None = None,
    lengths: torch.Tensor | None = None,
) -> SequenceBatch:
    """Draw random sequences of ``n_symbols`` symbols and their copy or reversal.

    Lengths are uniform in ``[min_length, max_length]`` unless given.
    """
    if task not in {"copy", "reverse"}:
        raise ValueError(f"task must be 'copy' or 'reverse', got {task!r}")
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 <= min_length <= max_length, got {min_length}, {max_length}")
    if lengths is None:
        lengths = torch.randint(min_length, max_length + 1, (batch_size,), generator=generator)
    width = int(lengths.max())
    symbols = torch.randint(
        FIRST_SYMBOL, FIRST_SYMBOL + n_symbols, (batch_size, width), generator=generator
    )
    inside = length_mask(lengths, width)
    source = torch.where(inside, symbols, PAD)
    if task == "copy":
        target = source.clone()
    else:
        # Position i of the output reads position (length - 1 - i) of the input.
        positions = torch.arange(width)[None, :]
        read_from = (lengths[:, None] - 1 - positions).clamp(min=0)
        target = torch.where(inside, source.gather(1, read_from), PAD)
    return SequenceBatch(source, target, lengths)


def sequence_accuracy(predicted: torch.Tensor, batch: SequenceBatch):
    """Per sequence: the share of output symbols right, and whether all of them are.

    Only the first ``batch.output_lengths`` positions of each target count; ``predicted``
    may be longer or shorter than the padded target (missing positions count as wrong).
    """
    width = batch.target.shape[1]
    if predicted.shape[1] < width:
        filler = torch.full((predicted.shape[0], width - predicted.shape[1]), PAD)
        predicted = torch.cat([predicted, filler], dim=1)
    predicted = predicted[:, :width]
    lengths = batch.output_lengths
    inside = length_mask(lengths, width)
    right = (predicted == batch.target) & inside
    token_accuracy = right.sum(dim=1) / lengths
    exact_match = (right | ~inside).all(dim=1).float()
    return token_accuracy, exact_match


def mean_by_length(values: torch.Tensor, lengths: torch.Tensor, edges=None):
    """Average ``values`` (one per sequence) over sequences of each length, or length bin.

    Without ``edges``, one group per distinct length; with ``edges`` (increasing ints),
    group ``k`` holds lengths in ``[edges[k], edges[k + 1])``. Returns ``(groups, means,
    counts)``: each group as ``(first, last)`` length, and empty groups left out.
    """
    values, lengths = values.float(), lengths.long()
    if edges is None:
        bounds = [(length, length + 1) for length in torch.unique(lengths).tolist()]
    else:
        bounds = list(zip(edges[:-1], edges[1:]))
    groups, means, counts = [], [], []
    for low, high in bounds:
        inside = (lengths >= low) & (lengths < high)
        if inside.any():
            groups.append((int(low), int(high) - 1))
            means.append(values[inside].mean().item())
            counts.append(int(inside.sum()))
    return groups, means, counts
