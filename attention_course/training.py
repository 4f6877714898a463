"""A plain training loop for a fixed number of steps (never a time budget).

Fixed steps keep results identical from run to run on machines whose speed varies
twofold. A progress bar shows in a live notebook; the book build and the tests set
``TQDM_DISABLE=1`` so no bar is left in the HTML. The log records the wall time and the
CPU time of the training, so a chapter never times it by hand; :func:`count_parameters`
gives a model's size.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm


@dataclass
class TrainingLog:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the training
    # CPU time of this process during the training (time.process_time): unlike the wall
    # time, it leaves out the time spent waiting for a core that another program holds.
    cpu_seconds: float = 0.0

    @property
    def final_loss(self) -> float:
        """Mean of the last tenth of the losses (a single step is noisy)."""
        tail = self.losses[-max(1, len(self.losses) // 10) :]
        return sum(tail) / len(tail)


def train(
    model: torch.nn.Module,
    loss_on_batch: Callable[[int], torch.Tensor],
    steps: int,
    lr: float = 3e-3,
    clip: float | None = 1.0,
    weight_decay: float = 0.0,
    description: str = "training",
    schedule: Callable[[int], float] | None = None,
) -> TrainingLog:
    """Adam for ``steps`` steps; ``loss_on_batch(step)`` draws a batch and returns its loss.

    ``schedule(step)``, when given, multiplies ``lr`` at each step (e.g.
    :func:`warmup_cosine`); without it the learning rate stays ``lr``.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = None if schedule is None else torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    log = TrainingLog()
    model.train()
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(range(steps), desc=description, disable=_progress_disabled(), leave=False)
    for step in bar:
        loss = loss_on_batch(step)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        log.losses.append(loss.item())
        if step % 20 == 0:
            bar.set_postfix(loss=f"{log.losses[-1]:.3f}")
    log.seconds = time.perf_counter() - start
    log.cpu_seconds = time.process_time() - cpu_start
    model.eval()
    return log


def count_parameters(model: torch.nn.Module) -> int:
    """How many numbers a model's parameters hold: their sizes, added up."""
    return sum(parameter.numel() for parameter in model.parameters())


def warmup_cosine(steps: int, warmup: int) -> Callable[[int], float]:
    """Learning-rate multiplier: linear from 1/warmup up to 1 over ``warmup`` steps, then
    half a cosine down to 0 at ``steps``. Large early steps of Adam can wreck attention
    weights before they have found anything; small late steps let the model settle.
    """
    if not 0 <= warmup < steps:
        raise ValueError(f"need 0 <= warmup < steps, got warmup={warmup}, steps={steps}")

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))

    return multiplier


def _progress_disabled() -> bool:
    return os.environ.get("TQDM_DISABLE", "").lower() in {"1", "true", "yes"}
