"""Jupyter kernels that talk over Unix sockets in a folder of their own, not TCP ports.

When notebooks run side by side (:mod:`tools.run_notebooks`, :mod:`tools.execute_book`,
and :mod:`tools.profile` in the parallel tests), two kernel launchers that each pick "free"
TCP ports can pick the same one, and one kernel then fails with "Address already in use"
(it failed a CI run here). Socket files in a folder of each process's own cannot collide
with anything.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from jupyter_client.manager import KernelManager
from traitlets import CaselessStrEnum, default

SOCKETS = Path(tempfile.mkdtemp(prefix="kernels-"))
atexit.register(shutil.rmtree, SOCKETS, ignore_errors=True)  # by the process that made it


class UnixSocketKernelManager(KernelManager):
    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("ip")
    def _ip_default(self):
        # One folder per process: launchers in two processes number their sockets
        # kernel-1, kernel-2, ... independently, and would otherwise take the same names.
        folder = SOCKETS / str(os.getpid())
        folder.mkdir(exist_ok=True)
        return str(folder / "kernel")
