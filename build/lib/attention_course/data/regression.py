"""One-dimensional regression data: a real curve to smooth with kernel regression."""

from __future__ import annotations

import numpy as np

from .r_datasets import load_r_dataset


def load_motorcycle_crash() -> tuple[np.ndarray, np.ndarray]:
    """Head acceleration in a simulated motorcycle crash (R's ``MASS::mcycle``, 133 rows).

    Returns ``(times, acceleration)``: milliseconds after impact, sorted, and the
    acceleration of the rider's head in g. Some times repeat (several measurements).
    Silverman (1985) used it to show spline smoothing; it is the classic test curve of
    kernel regression: flat, a sharp dip, a rebound, and noise that grows with time.
    """
    frame = load_r_dataset("MASS", "mcycle").sort_values("times", kind="stable")
    return frame["times"].to_numpy(dtype=float), frame["accel"].to_numpy(dtype=float)
