"""Time and peak memory of a computation, as Chapter 6 and Lab 6 measure them."""

import math

import pytest
import torch

from attention_course.measure import cpu_seconds, peak_memory


def test_peak_memory_counts_the_tensors_alive_at_the_same_time():
    def two_at_once():
        a = torch.ones(1000, 250)  # 1,000,000 bytes
        b = torch.ones(500, 250)  # 500,000 bytes, while a is alive
        return a.sum() + b.sum()

    def one_after_the_other():
        first = torch.ones(1000, 250).sum()
        second = torch.ones(500, 250).sum()  # the first big tensor is gone by now
        return first + second

    assert 1_500_000 <= peak_memory(two_at_once) < 1_510_000
    assert 1_000_000 <= peak_memory(one_after_the_other) < 1_010_000


def test_peak_memory_sees_temporaries_inside_one_operation_and_not_the_inputs():
    q = k = v = torch.randn(1, 512, 16)

    def attention(q, k, v):
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(16), dim=-1) @ v

    peak = peak_memory(attention, q, k, v)
    scores = 512 * 512 * 4
    assert 2 * scores <= peak < 2 * scores + 100_000  # scores and scaled scores coexist
    assert peak_memory(lambda: None) == 0


def test_cpu_seconds_grows_with_the_work():
    small, large = torch.randn(64, 64), torch.randn(256, 256)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the chapter measures: spinning threads would count
    try:
        fast = cpu_seconds(torch.mm, small, small, repeats=3)
        slow = cpu_seconds(torch.mm, large, large, repeats=3)
    finally:
        torch.set_num_threads(threads)
    assert 0 < fast < slow  # 64 times the multiply-adds
    with pytest.raises(ValueError, match="repeats"):
        cpu_seconds(torch.mm, small, small, repeats=0)


def test_peak_memory_leaves_no_profiler_chatter_on_stderr(capfd):
    peak_memory(lambda: torch.ones(10))
    captured = capfd.readouterr()
    assert "profiler" not in captured.err and "profiler" not in captured.out
