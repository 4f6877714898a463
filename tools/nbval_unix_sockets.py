"""pytest plugin for the nbval run: its kernels talk over Unix sockets, not TCP ports.

The book build executes the same notebooks at the same time (:mod:`tools.run_notebooks`),
so the two runs' kernels must not compete for TCP ports (:mod:`tools.unix_socket_kernels`).
"""

import nbval.kernel

from tools.unix_socket_kernels import UnixSocketKernelManager

nbval.kernel.KernelManager = UnixSocketKernelManager
