"""Documented, labelled anomalies injected into a copy of a real series (Chapter 8).

Real energy data come without anomaly labels. Injecting anomalies of known kinds at known
places into a copy of the real series gives labels to score a detector against, while
everything else about the series stays real. Five kinds, modelled on faults of metered
demand data:

* ``spike``: 1–2 steps pushed up or down by 0.8–1.5 (a bad reading);
* ``level_shift``: 12–24 steps (6–12 hours of half-hours) shifted up or down by 0.4–0.8
  (a load switched on or off, a meter offset);
* ``flatline``: 12–24 steps frozen at the first one's value (a stuck sensor);
* ``time_shift``: one whole day (48 steps) replaced by the same day 6–10 steps earlier,
  i.e. the day's profile arrives 3–5 hours late (a clock error);
* ``noise``: 12–24 steps with Gaussian noise of standard deviation 0.15–0.3 added.

Sizes are in the series' units (GW for the electricity demand, whose mean is about 4.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("spike", "level_shift", "flatline", "time_shift", "noise")
STEPS_PER_DAY = 48


@dataclass(frozen=True)
class Anomaly:
    kind: str
    start: int  # position of its first step in the series
    length: int  # number of steps


@dataclass
class InjectedSeries:
    values: np.ndarray  # a copy of the series with the anomalies in it
    labels: np.ndarray  # True at every step of an anomaly
    anomalies: list[Anomaly]  # in time order


def inject_anomalies(
    series: np.ndarray,
    start: int,
    end: int,
    per_kind: int,
    seed: int,
    gap: int = 24,
    margin: int = 48,
) -> InjectedSeries:
    """Put ``per_kind`` anomalies of each kind into a copy of ``series[start:end]``.

    Anomalies never overlap and are at least ``gap`` steps apart; none starts within
    ``margin`` steps of either end of the period; time shifts cover whole days (steps
    ``48 k .. 48 k + 47``, the series starting at midnight). The same ``seed`` gives the
    same anomalies. ``series`` itself is not changed.
    """
    series = np.asarray(series, dtype=float)
    if not 0 <= start < end <= len(series):
        raise ValueError(f"need 0 <= start < end <= {len(series)}, got {start} and {end}")
    rng = np.random.default_rng(seed)
    values, labels = series.copy(), np.zeros(len(series), dtype=bool)
    kinds = [kind for kind in KINDS for _ in range(per_kind)]
    rng.shuffle(kinds)  # so that no kind always gets the first pick of the places
    anomalies = []
    for kind in kinds:
        first, length = _place(kind, labels, start, end, gap, margin, rng)
        span = slice(first, first + length)
        if kind == "spike":
            values[span] += rng.choice([-1, 1]) * rng.uniform(0.8, 1.5)
        elif kind == "level_shift":
            values[span] += rng.choice([-1, 1]) * rng.uniform(0.4, 0.8)
        elif kind == "flatline":
            values[span] = values[first]
        elif kind == "time_shift":
            delay = int(rng.integers(6, 11))
            values[span] = series[first - delay : first + length - delay]
        else:  # noise
            values[span] += rng.normal(0.0, rng.uniform(0.15, 0.3), length)
        labels[span] = True
        anomalies.append(Anomaly(kind, first, length))
    anomalies.sort(key=lambda anomaly: anomaly.start)
    return InjectedSeries(values, labels, anomalies)


def _place(kind, taken, start, end, gap, margin, rng, tries=1000):
    """A random free place for one anomaly: (first step, length)."""
    if kind == "spike":
        length = int(rng.integers(1, 3))
    elif kind == "time_shift":
        length = STEPS_PER_DAY
    else:
        length = int(rng.integers(12, 25))
    for _ in range(tries):
        if kind == "time_shift":  # a whole calendar day inside the margins
            first_day = -(-(start + margin) // STEPS_PER_DAY)
            last_day = (end - margin - length) // STEPS_PER_DAY
            if last_day < first_day:
                break
            first = int(rng.integers(first_day, last_day + 1)) * STEPS_PER_DAY
        else:
            if end - margin - length < start + margin:
                break
            first = int(rng.integers(start + margin, end - margin - length + 1))
        if not taken[max(0, first - gap) : first + length + gap].any():
            return first, length
    raise ValueError(
        f"no room for another {kind} between steps {start} and {end}: "
        "ask for fewer anomalies or a longer period"
    )
