"""Run a notebook in a fresh kernel with limits, noting every problem instead of raising."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import resource  # the kernel's memory limit; POSIX only
except ImportError:  # Windows: grade without a memory limit
    resource = None

import nbformat
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from ..checks.calling import format_exception
from .gradebook import GRADER_ERROR, KERNEL_DIED, MEMORY_LIMIT, OUTPUT_LIMIT, TIME_LIMIT
from .plan import STARTUP_TAG
from .sandbox import Box

# nbclient logs each timeout and dead kernel as an error; the grader reports them itself.
_NBCLIENT_LOG = logging.getLogger("attention_course.grading.nbclient")
_NBCLIENT_LOG.addHandler(logging.NullHandler())
_NBCLIENT_LOG.propagate = False


@dataclass
class Limits:
    cell_seconds: float = 60
    notebook_seconds: float = 300
    memory_bytes: int | None = 4 * 2**30  # per kernel (see the README); None: no limit
    threads: int | None = None  # torch/OpenMP threads per kernel; None: the environment's
    output_bytes: int = 16 * 2**20  # output collected from one notebook, records included


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
# ZMQ's own limits on what a kernel sends: a larger message is dropped (and its sender
# disconnected, then reconnected), and at most this many wait to be read. They bound
# what a kernel can make the grader hold before the output limit stops it.
MAX_MESSAGE_BYTES = 4 * 2**20
MAX_QUEUED_MESSAGES = 128
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _OutOfTime(Exception):
    pass


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the run; ``partial`` is what the coroutine returned
    once every kernel was shut down (None when it did not catch the cancellation)."""

    def __init__(self, signum: int, partial=None):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.partial = partial


class _GradingLoop(asyncio.SelectorEventLoop):
    """An event loop whose SIGINT and SIGTERM handlers only the grader sets.

    nbclient installs its own for each notebook, which shut down that notebook's kernel
    only, and removes them when that notebook ends, which would leave the notebooks still
    running with no handler at all (a SIGTERM would then end the grader on the spot).
    """

    def add_signal_handler(self, sig, callback, *args):
        if sig in STOP_SIGNALS and not getattr(callback, "from_grader", False):
            return
        super().add_signal_handler(sig, callback, *args)

    def remove_signal_handler(self, sig):
        if sig in STOP_SIGNALS and not getattr(self, "closing_run", False):
            return False
        return super().remove_signal_handler(sig)


def run_coroutine(coroutine):
    """Run ``coroutine`` on a fresh event loop.

    The first SIGINT or SIGTERM cancels every task (each notebook's kernel and sandbox are
    shut down on the way out; a coroutine may catch the cancellation and return what it
    has); :class:`Stopped` is then raised with what it returned. Later signals are ignored
    while that happens.
    """
    loop = _GradingLoop()
    stopped: list[int] = []

    def stop(signum):
        if not stopped:
            stopped.append(signum)
            loop.stopped_by = signum
            for task in asyncio.all_tasks(loop):
                task.cancel()

    stop.from_grader = True
    asyncio.set_event_loop(loop)
    try:
        for signum in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop, signum)  # main thread, POSIX only
        main = loop.create_task(coroutine)
        try:
            result = loop.run_until_complete(main)
        except asyncio.CancelledError:
            result = None
            if not stopped:
                raise
        if stopped:
            raise Stopped(stopped[0], result)
        return result
    finally:
        try:
            leftover = asyncio.all_tasks(loop)
            for task in leftover:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.closing_run = True
            for signum in STOP_SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
            asyncio.set_event_loop(None)
            loop.close()


def raise_if_stopping() -> None:
    """Raise CancelledError when a signal is stopping the run (see :func:`run_coroutine`)."""
    if getattr(asyncio.get_running_loop(), "stopped_by", None) is not None:
        raise asyncio.CancelledError()


class _BoundedClient(AsyncKernelClient):
    """A kernel client whose sockets refuse oversized messages and queue few."""

    def _context_default(self):
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        context.setsockopt(zmq.RCVHWM, MAX_QUEUED_MESSAGES)
        return context


class _BoundedKernelManager(AsyncKernelManager):
    def client(self, **kwargs):
        return _BoundedClient(**{**self._client_settings(), **kwargs})

    def _client_settings(self) -> dict:
        settings = dict(self.get_connection_info(session=True))
        settings.update(connection_file=self.connection_file, parent=self)
        for key in ("curve_publickey", "curve_secretkey"):
            if isinstance(settings.get(key), str):
                settings[key] = settings[key].encode("ascii")
        return settings


class _SandboxedKernelManager(_BoundedKernelManager):
    """Starts its kernel in ``box`` (see :mod:`.sandbox`), talking over Unix sockets."""

    def __init__(self, box: Box, **kwargs):
        super().__init__(
            kernel_name="python3",
            transport="ipc",
            ip=box.ip,
            connection_file=str(box.connection_file),
            **kwargs,
        )
        self.box = box

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (sandboxed)",
            language="python",
            # An interrupt is a message: a signal would reach bwrap, not the kernel.
            interrupt_mode="message",
            env={},
            metadata={},
        )

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        return self.box.command(super().format_kernel_cmd(extra_arguments))

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self.box.process = self.provisioner.process

    _launch_kernel = _async_launch_kernel


class _LimitedClient(NotebookClient):
    """An nbclient that interrupts a cell at its time limit, stops the notebook at its own
    or when its output is over the limit, and notes what happened instead of raising."""

    def __init__(self, notebook, limits: Limits, box: Box | None = None, **kwargs):
        super().__init__(
            notebook,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            timeout_func=self._cell_timeout,
            store_widget_state=False,
            log=_NBCLIENT_LOG,
            **kwargs,
        )
        self.limits = limits
        self.box = box
        self.sockets: tempfile.TemporaryDirectory | None = None  # an unsandboxed kernel's
        # The notebook's clock starts once its kernel is ready (a slow start is not the
        # submission's fault); starting has a limit of its own.
        self.deadline = math.inf
        self.startup_timeout = STARTUP_SECONDS
        self.problems: list[Problem] = []
        self.current: int | None = None
        self.interrupted: set[int] = set()
        self.exit_code: int | None = None
        self.output_bytes = 0
        self.over_output = False
        self.stopped_early = False  # by the output or CPU-time limit: the kernel was killed
        self.watch: asyncio.Task | None = None

    def create_kernel_manager(self):
        if self.box is not None:
            self.km = _SandboxedKernelManager(self.box, config=self.config)
        else:
            # Unix sockets in a folder of this kernel's own, not TCP ports: two processes
            # that each pick "free" ports can pick the same one, and a kernel then fails
            # with "Address already in use" (as when tests or graders run side by side).
            self.sockets = tempfile.TemporaryDirectory(prefix="kernel-")
            self.km = _BoundedKernelManager(
                kernel_name=self.kernel_name,
                transport="ipc",
                ip=os.path.join(self.sockets.name, "k"),
                config=self.config,
            )
        return self.km

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
        if self.box is not None:
            self.box.seal()
            if self.box.group is not None and self.box.group.cpu_seconds() is not None:
                self.watch = asyncio.ensure_future(self._watch_cpu_time())
        self.deadline = time.monotonic() + self.limits.notebook_seconds
        return client

    async def _watch_cpu_time(self) -> None:
        """Stop the notebook once its whole sandbox has used its CPU time."""
        limit = self.box.sandbox.limits.cpu_seconds
        while True:
            await asyncio.sleep(1)
            used = self.box.group.cpu_seconds()
            if used is not None and used > limit:
                self._stop_early(
                    TIME_LIMIT,
                    f"used more than {limit:g} s of CPU time (all its processes together); "
                    "the notebook was stopped",
                    self.current,
                )
                return

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        if self.box is None and self.limits.memory_bytes and hasattr(resource, "prlimit"):
            limit = int(self.limits.memory_bytes)  # (in a sandbox, set before it starts)
            resource.prlimit(self.km.provisioner.pid, resource.RLIMIT_AS, (limit, limit))

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self.current = cell_index
        if cell.cell_type == "code" and time.monotonic() >= self.deadline:
            self._stop(
                f"the notebook ran over its limit of {self.limits.notebook_seconds:g} s "
                "and was stopped before this cell"
            )
        if self.stopped_early:
            raise _OutOfTime()
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    def process_message(self, msg, cell, cell_index):
        """Every message of the running cell counts towards the output limit; over it,
        the kernel is killed and nothing more is kept."""
        if self.over_output:
            return None
        try:
            size = len(json.dumps(msg.get("content"), default=repr))
        except (TypeError, ValueError, RecursionError):
            size = self.limits.output_bytes + 1
        self.output_bytes += size
        if self.output_bytes > self.limits.output_bytes:
            self.over_output = True
            self._stop_early(
                OUTPUT_LIMIT,
                f"its output went over {self.limits.output_bytes / 2**20:g} MiB; "
                "the notebook was stopped",
                cell_index,
            )
            return None
        return super().process_message(msg, cell, cell_index)

    def _stop_early(self, status: str, detail: str, cell: int | None) -> None:
        """Note why, and kill the kernel at once (the running cell then ends as if the
        kernel had died, which is not reported)."""
        if not self.stopped_early:
            self.stopped_early = True
            self.problems.append(Problem(status, detail, cell))
            self._kill_kernel()

    def _kill_kernel(self) -> None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: it and its children
            with contextlib.suppress(OSError):
                process.kill()

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
        if self.watch is not None:
            self.watch.cancel()
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


async def run_notebook_async(notebook, cwd: Path, limits: Limits, box: Box | None = None) -> Run:
    """Run ``notebook`` (changed in place) in a fresh kernel: in ``box`` (a sandbox, see
    :mod:`.sandbox`) when given, else as a plain process started in ``cwd``.

    Every problem -- a cell over its time limit, the notebook over its own, the kernel
    dying, a cell out of memory, output over its limit -- is returned in ``Run.problems``;
    nothing is raised for them. The kernel process's own output (not the cells') is
    discarded: its start-up warnings would only garble the progress bar.
    """
    start = time.monotonic()
    client = _LimitedClient(notebook, limits, box, resources={"metadata": {"path": str(cwd)}})
    env = _kernel_environment(limits)
    if box is not None:  # the kernel's own variables are set inside the sandbox
        box.env = {k: v for k, v in env.items() if k in box.KERNEL_VARIABLES}
        env = box.outer_env()
    try:
        await client.async_execute(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except _OutOfTime:
        pass  # recorded by the client
    except DeadKernelError:
        # nbclient takes any cancellation of a cell for its kernel's death: a signal's too.
        raise_if_stopping()
        if not client.stopped_early:
            client.problems.append(
                Problem(
                    KERNEL_DIED, f"the kernel died{_how(client.exit_code, box)}", client.current
                )
            )
    except Exception as error:  # e.g. the kernel did not start: keep what did run
        raise_if_stopping()
        client.problems.append(
            Problem(
                GRADER_ERROR,
                f"could not run the notebook: {format_exception(error)}",
                client.current,
            )
        )
    finally:
        if client.sockets is not None:
            client.sockets.cleanup()
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


def _how(exit_code: int | None, box: Box | None) -> str:
    """How the kernel ended; in a sandbox, bwrap reports a signal as 128 + its number."""
    if exit_code is not None and box is not None and exit_code > 128:
        exit_code = 128 - exit_code
    if exit_code is None:
        return ""
    if exit_code < 0:
        return f" (killed by signal {-exit_code}" + (
            ": out of memory?)" if exit_code == -9 else ")"
        )
    return f" (exit code {exit_code})"


def run_notebook(notebook, cwd: Path, limits: Limits | None = None) -> Run:
    """Synchronous :func:`run_notebook_async`, not sandboxed: for notebooks that are
    trusted (the tests run the book's notebooks with it)."""
    return run_coroutine(run_notebook_async(notebook, cwd, limits or Limits()))
