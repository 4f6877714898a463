"""Run a notebook in a fresh kernel with limits, noting every problem instead of raising."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import resource  # the kernel's memory limit; POSIX only
except ImportError:  # Windows: grade without a memory limit
    resource = None

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from ..checks.calling import format_exception
from .gradebook import GRADER_ERROR, KERNEL_DIED, MEMORY_LIMIT, TIME_LIMIT
from .plan import STARTUP_TAG

# nbclient logs each timeout and dead kernel as an error; the grader reports them itself.
_NBCLIENT_LOG = logging.getLogger("attention_course.grading.nbclient")
_NBCLIENT_LOG.addHandler(logging.NullHandler())
_NBCLIENT_LOG.propagate = False


@dataclass
class Limits:
    cell_seconds: float = 60
    notebook_seconds: float = 300
    memory_bytes: int | None = 4 * 2**30  # address space of the kernel; None: no limit
    threads: int | None = None  # torch/OpenMP threads per kernel; None: the environment's


@dataclass
class Problem:
    status: str
    detail: str
    cell: int | None = None  # index in the executed notebook


@dataclass
class Run:
    notebook: nbformat.NotebookNode
    problems: list[Problem]
    seconds: float


STARTUP_SECONDS = 60  # for the kernel to start, and for the grader's first cell (torch)


class _OutOfTime(Exception):
    pass


def _stop_everything() -> None:
    """Ctrl-C: cancel every notebook; each one's kernel is shut down on the way out."""
    for task in asyncio.all_tasks():
        task.cancel()


def run_coroutine(coroutine):
    """``asyncio.run``, where Ctrl-C ends as a KeyboardInterrupt (not a cancelled task)."""
    try:
        return asyncio.run(coroutine)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


class _LimitedClient(NotebookClient):
    """An nbclient that interrupts a cell at its time limit, stops the notebook at its own,
    and notes what happened instead of raising."""

    def __init__(self, notebook, limits: Limits, **kwargs):
        super().__init__(
            notebook,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            timeout_func=self._cell_timeout,
            log=_NBCLIENT_LOG,
            **kwargs,
        )
        self.limits = limits
        # The notebook's clock starts once its kernel is ready (a slow start is not the
        # submission's fault); starting has a limit of its own.
        self.deadline = math.inf
        self.startup_timeout = STARTUP_SECONDS
        self.problems: list[Problem] = []
        self.current: int | None = None
        self.interrupted: set[int] = set()
        self.exit_code: int | None = None

    def _cell_timeout(self, cell) -> int:
        remaining = self.deadline - time.monotonic()
        limit = (
            self.startup_timeout
            if STARTUP_TAG in cell.metadata.get("tags", [])
            else self.limits.cell_seconds
        )
        return max(1, math.ceil(min(limit, remaining)))

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        self.deadline = time.monotonic() + self.limits.notebook_seconds
        # nbclient's own Ctrl-C handler shuts down this notebook's kernel and lets the
        # others go on; the grader stops everything instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows, threads
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, _stop_everything)
        return client

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        if self.limits.memory_bytes and hasattr(resource, "prlimit"):  # Linux
            limit = int(self.limits.memory_bytes)
            resource.prlimit(self.km.provisioner.pid, resource.RLIMIT_AS, (limit, limit))

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self.current = cell_index
        if cell.cell_type == "code" and time.monotonic() >= self.deadline:
            self._stop(
                f"the notebook ran over its limit of {self.limits.notebook_seconds:g} s "
                "and was stopped before this cell"
            )
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    async def _async_handle_timeout(self, timeout, cell=None):
        if time.monotonic() >= self.deadline - 0.5:  # the notebook's time, not the cell's
            self._stop(
                f"the notebook ran over its limit of {self.limits.notebook_seconds:g} s "
                "and was stopped"
            )
        if self.current in self.interrupted:
            self._stop("did not stop when interrupted; the notebook was stopped")
        self.interrupted.add(self.current)
        self.problems.append(
            Problem(
                TIME_LIMIT, f"did not finish within {timeout:g} s and was interrupted", self.current
            )
        )
        return await super()._async_handle_timeout(timeout, cell)

    def _stop(self, detail: str):
        """Give up on the notebook; leaving nbclient's context kills the kernel."""
        self.problems.append(Problem(TIME_LIMIT, detail, self.current))
        raise _OutOfTime()

    async def _async_cleanup_kernel(self):
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and self.exit_code is None:
            self.exit_code = process.poll()
        await super()._async_cleanup_kernel()


def _kernel_environment(limits: Limits) -> dict[str, str]:
    env = dict(os.environ)
    # Idle threads sleep instead of spinning (spinning made training 30 times slower on a
    # busy 2-core machine), and parallel kernels share the cores instead of each taking all.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if limits.threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(name, str(limits.threads))
    env.setdefault("TQDM_DISABLE", "1")  # progress bars of student code would fill outputs
    return env


_OUT_OF_MEMORY = re.compile(r"MemoryError|can't allocate memory|bad_alloc|Cannot allocate memory")


async def run_notebook_async(notebook, cwd: Path, limits: Limits) -> Run:
    """Run ``notebook`` (changed in place) in a fresh kernel started in ``cwd``.

    Every problem -- a cell over its time limit, the notebook over its own, the kernel
    dying, a cell out of memory -- is returned in ``Run.problems``; nothing is raised for
    them. The kernel process's own output (not the cells') is discarded: its start-up
    warnings would only garble the progress bar.
    """
    start = time.monotonic()
    client = _LimitedClient(notebook, limits, resources={"metadata": {"path": str(cwd)}})
    try:
        await client.async_execute(
            env=_kernel_environment(limits), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except _OutOfTime:
        pass  # recorded by the client
    except DeadKernelError:
        how = ""
        if client.exit_code is not None and client.exit_code < 0:
            how = f" (killed by signal {-client.exit_code}"
            how += ": out of memory?)" if client.exit_code == -9 else ")"
        elif client.exit_code is not None:
            how = f" (exit code {client.exit_code})"
        client.problems.append(Problem(KERNEL_DIED, f"the kernel died{how}", client.current))
    except Exception as error:  # e.g. the kernel did not start: keep what did run
        client.problems.append(
            Problem(
                GRADER_ERROR,
                f"could not run the notebook: {format_exception(error)}",
                client.current,
            )
        )
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and _OUT_OF_MEMORY.search(
                f"{output.get('ename', '')}: {output.get('evalue', '')}"
            ):
                limit = (
                    f" (limit {limits.memory_bytes / 2**30:g} GiB)" if limits.memory_bytes else ""
                )
                client.problems.append(Problem(MEMORY_LIMIT, f"ran out of memory{limit}", index))
    return Run(notebook, client.problems, time.monotonic() - start)


def run_notebook(notebook, cwd: Path, limits: Limits | None = None) -> Run:
    """Synchronous :func:`run_notebook_async` (the tests run the labs with it)."""
    return run_coroutine(run_notebook_async(notebook, cwd, limits or Limits()))
