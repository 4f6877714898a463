"""Labelled anomalies injected into a copy of a series (attention_course.data.anomalies)."""

import numpy as np
import pytest

from attention_course.data.anomalies import KINDS, inject_anomalies


def test_injected_anomalies_are_labelled_apart_and_only_change_their_steps():
    series = 5 + np.sin(np.arange(48 * 40) * 2 * np.pi / 48)
    injected = inject_anomalies(series, start=48 * 5, end=48 * 35, per_kind=2, seed=3)
    assert [a.kind for a in injected.anomalies].count("noise") == 2
    assert sorted({a.kind for a in injected.anomalies}) == sorted(KINDS)
    starts = [a.start for a in injected.anomalies]
    assert starts == sorted(starts)
    expected = np.zeros(len(series), dtype=bool)
    for a, b in zip(injected.anomalies, injected.anomalies[1:]):
        assert b.start - (a.start + a.length) >= 24  # the gap
    for a in injected.anomalies:
        expected[a.start : a.start + a.length] = True
        assert 48 * 5 + 48 <= a.start and a.start + a.length <= 48 * 35 - 48
        if a.kind == "time_shift":
            assert a.start % 48 == 0 and a.length == 48
        changed = (
            injected.values[a.start : a.start + a.length] != series[a.start : a.start + a.length]
        )
        assert changed.any(), a
    assert (injected.labels == expected).all()
    assert (injected.values[~expected] == series[~expected]).all()
    assert (
        injected.values is not series
        and (series == 5 + np.sin(np.arange(48 * 40) * 2 * np.pi / 48)).all()
    )


def test_injection_is_reproducible_and_seeds_differ():
    series = np.linspace(3, 6, 48 * 30)
    first = inject_anomalies(series, 0, len(series), 1, seed=7)
    again = inject_anomalies(series, 0, len(series), 1, seed=7)
    other = inject_anomalies(series, 0, len(series), 1, seed=8)
    assert (first.values == again.values).all() and first.anomalies == again.anomalies
    assert first.anomalies != other.anomalies


def test_too_many_anomalies_is_a_clear_error():
    with pytest.raises(ValueError, match="no room for another"):
        inject_anomalies(np.zeros(48 * 4), 0, 48 * 4, per_kind=5, seed=0)


def test_each_kind_of_anomaly_does_what_its_documentation_says():
    rng = np.random.default_rng(0)
    series = 5 + np.sin(np.arange(48 * 60) * 2 * np.pi / 48) + rng.normal(0, 0.05, 48 * 60)
    injected = inject_anomalies(series, 0, len(series), per_kind=3, seed=11)
    for a in injected.anomalies:
        span = slice(a.start, a.start + a.length)
        change = injected.values[span] - series[span]
        if a.kind == "spike":
            assert a.length in (1, 2) and np.allclose(change, change[0])
            assert 0.8 <= abs(change[0]) <= 1.5
        elif a.kind == "level_shift":
            assert 12 <= a.length <= 24 and np.allclose(change, change[0])
            assert 0.4 <= abs(change[0]) <= 0.8
        elif a.kind == "flatline":
            assert 12 <= a.length <= 24
            assert (injected.values[span] == series[a.start]).all()
        elif a.kind == "time_shift":
            delays = [
                d
                for d in range(6, 11)
                if np.array_equal(
                    injected.values[span], series[a.start - d : a.start + a.length - d]
                )
            ]
            assert a.length == 48 and len(delays) == 1
        else:
            assert a.kind == "noise" and 12 <= a.length <= 24 and change.std() > 0.05
