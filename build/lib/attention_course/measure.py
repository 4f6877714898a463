"""What a computation costs on the CPU: its time and the peak memory of its tensors.

Both are written for a shared, noisy machine (Chapter 6 measures attention with them, and
Lab 6's checks use :func:`peak_memory` to see whether attention was computed in chunks).

* :func:`cpu_seconds` measures CPU time (``time.process_time``), not wall time: time the
  process spends waiting for a busy core does not count. It repeats the call and keeps
  the *fastest* repeat, since disturbances (other programs, cache misses) only ever add
  time. Use it with ``torch.set_num_threads(1)``: it is then about what an idle core
  would take (with several threads, time that waiting threads spend spinning counts too).
* :func:`peak_memory` counts the bytes PyTorch's CPU allocator hands out and takes back
  during the call, in order, as recorded by PyTorch's profiler with ``profile_memory``,
  and returns the highest total reached above the starting point. It sees every tensor,
  including temporaries that live only inside one operation, and nothing else (Python
  objects, the allocator's own slack). It does not depend on the machine's load.
  (``tracemalloc`` would see none of it: PyTorch allocates outside Python's allocator.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable

from torch.autograd import profiler

MEMORY_EVENT = "[memory]"


def cpu_seconds(fn: Callable, *args, repeats: int = 5, min_seconds: float = 0.01) -> float:
    """CPU seconds of one call of ``fn(*args)``: the fastest of ``repeats`` measurements.

    One warm-up call first; each measurement then runs the call as many times as it
    takes to last at least ``min_seconds`` (short calls are below the clock's resolution
    and overheads otherwise), and divides.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    fn(*args)
    number, elapsed = 1, _cpu_time_of(fn, args, 1)
    while elapsed < min_seconds:
        number *= 2 if elapsed == 0 else max(2, min(100, int(1.5 * min_seconds / elapsed)))
        elapsed = _cpu_time_of(fn, args, number)
    best = elapsed / number
    for _ in range(repeats - 1):
        best = min(best, _cpu_time_of(fn, args, number) / number)
    return best


def _cpu_time_of(fn, args, number: int) -> float:
    start = time.process_time()
    for _ in range(number):
        fn(*args)
    return time.process_time() - start


def peak_memory(fn: Callable, *args) -> int:
    """Peak bytes of PyTorch tensors allocated during ``fn(*args)``, above what existed before.

    Tensors that exist before the call (the inputs) do not count; the output does, while
    it is alive inside the call.
    """
    # The autograd profiler, not torch.profiler.profile: the latter imports the compiler
    # stack (torch._inductor, torch._dynamo) on first use, seconds of CPU for nothing here.
    recording = profiler.profile(use_cpu=True, profile_memory=True)
    with _quiet_native_stderr():  # the profiler's C++ side logs its start and stop there
        recording.__enter__()
    try:
        result = fn(*args)
        del result  # its memory counts up to here, then is given back
    finally:
        with _quiet_native_stderr():
            recording.__exit__(None, None, None)
    # Each allocation (+bytes) and release (-bytes) is one event; replay them in order.
    events = [event for event in recording.kineto_results.events() if event.name() == MEMORY_EVENT]
    events.sort(key=lambda event: event.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return peak


@contextlib.contextmanager
def _quiet_native_stderr():
    """Send what C++ code writes to file descriptor 2 to the null device, for a moment.

    PyTorch's profiler prints "profiler_start" and "profiler_stop" lines there whatever its
    log level; in a notebook they would end up under the cell. Python's own ``sys.stderr``
    in a notebook is not this descriptor, so warnings still show.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no such descriptor (an unusual embedding): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
