"""pytest plugin for the nbval run: its kernels talk over Unix sockets, not TCP ports.

The book build executes the same notebooks at the same time (:mod:`tools.run_notebooks`).
Two kernel launchers that each pick "free" TCP ports can pick the same one, and one kernel
then fails with "Address already in use" (it failed a CI run here). Socket files in a
folder of this run's own cannot collide with anything.
"""

import shutil
import tempfile
from pathlib import Path

import nbval.kernel
from jupyter_client.manager import KernelManager
from traitlets import CaselessStrEnum, default

_SOCKETS = Path(tempfile.mkdtemp(prefix="nbval-kernels-"))


class UnixSocketKernelManager(KernelManager):
    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("ip")
    def _ip_default(self):
        return str(_SOCKETS / "kernel")  # the sockets are kernel-1, kernel-2, ... in there


nbval.kernel.KernelManager = UnixSocketKernelManager


def pytest_unconfigure(config):
    shutil.rmtree(_SOCKETS, ignore_errors=True)
