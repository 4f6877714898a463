"""Chapter 2's motorcycle crash data (attention_course.data.regression)."""

import numpy as np

from attention_course.data.regression import load_motorcycle_crash


def test_motorcycle_crash_is_sorted_by_time():
    times, acceleration = load_motorcycle_crash()
    assert times.shape == acceleration.shape == (133,)
    assert np.all(np.diff(times) >= 0)
    assert (times[0], acceleration[0]) == (2.4, 0.0)
    assert acceleration.min() == -134.0 and times.max() == 57.6
