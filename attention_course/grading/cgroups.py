"""Limits on a whole sandbox (every process in it together), through Linux control groups.

Resource limits (``setrlimit``) hold per process: four forked children each get the whole
address-space limit. A control group holds the sandbox's processes together. The grader
makes one group per kernel, below the group it runs in itself (so any limit set on the
grader still holds), in each hierarchy it may write:

* cgroup v1 (one hierarchy per controller): ``memory`` (a limit on the total), ``pids``
  (a limit on the number of processes and threads) and, where it is mounted on its own,
  ``cpuacct`` (the CPU time used, which the runner compares with its limit);
* cgroup v2 (one hierarchy): only when the grader's group already hands ``memory`` and
  ``pids`` down to its children (a delegated group); the grader does not rearrange groups
  it did not make. CPU time comes from ``cpu.stat``, there in every group.

No group of the ``cpu`` controller is made: measured on a busy 2-core machine, a kernel
in a group of its own (even without a quota) took twice as long to import PyTorch, for
the same CPU time. Where no hierarchy can be written (no permission, nothing delegated)
there are no whole-sandbox limits; :func:`open_run` returns None and the grader says so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "attention-course-grade-"
V1_HIERARCHIES = ("memory", "pids", "cpuacct")


def _own_groups() -> dict[str, tuple[str, str]]:
    """Hierarchy -> (its mount point, this process's group path): "memory", "pids" and
    "cpuacct" for v1 hierarchies ("cpuacct" only where no other controller shares its
    mount), "unified" for v2."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return {}
    paths = {}  # controller (or "unified") -> group path
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            paths["unified"] = path
        names = controllers.split(",")
        for controller in names:
            if controller in V1_HIERARCHIES and (controller != "cpuacct" or len(names) == 1):
                paths[controller] = path
    found = {}
    for line in mounts:
        before, _, after = line.partition(" - ")
        fields, rest = before.split(), after.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        root, mount_point, kind, options = fields[3], fields[4], rest[0], rest[2].split(",")
        names = ["unified"] if kind == "cgroup2" else [o for o in options if o in paths]
        for name in names:
            if name not in paths or name in found:
                continue
            path = paths[name]
            if root != "/" and (path == root or path.startswith(root + "/")):
                path = path[len(root) :]
            elif root != "/":
                continue
            found[name] = (mount_point, path)
    return found


@dataclass
class Group:
    """One kernel's control groups (one folder per hierarchy)."""

    folders: dict[str, Path]  # hierarchy -> folder
    version: int

    @property
    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders.values()]

    def pids(self) -> set[int]:
        found = set()
        for folder in self.folders.values():
            with contextlib.suppress(OSError, ValueError):
                found.update(int(n) for n in (folder / "cgroup.procs").read_text().split())
        return found

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process that was in the group; None where unknown."""
        try:
            if self.version == 2:
                for line in (self.folders["unified"] / "cpu.stat").read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "usage_usec":
                        return int(value) / 1e6
                return None
            if "cpuacct" in self.folders:
                return int((self.folders["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None
        return None

    def kill_all(self, patience: float = 10.0) -> bool:
        """SIGKILL every process in the groups, then remove them; True when all are gone."""
        deadline = time.monotonic() + patience
        for folder in self.folders.values():
            if self.version == 2:
                with contextlib.suppress(OSError):
                    (folder / "cgroup.kill").write_text("1")
        while True:
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            removed = True
            for folder in self.folders.values():
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as error:
                    if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        raise
                    removed = False
            if removed:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


@dataclass
class RunGroups:
    """The grader's parent groups for one run; each kernel gets a child of them."""

    parents: dict[str, Path]  # hierarchy -> folder
    version: int
    memory_bytes: int | None
    processes: int
    made: list[Group] = field(default_factory=list)
    count: int = 0

    @property
    def counts_cpu_time(self) -> bool:
        return self.version == 2 or "cpuacct" in self.parents

    def describe(self, cpu_seconds: float) -> str:
        memory = (
            f"memory {self.memory_bytes / 2**30:g} GiB"
            if self.memory_bytes
            else "memory not limited"
        )
        cpu = f", {cpu_seconds:g} s of CPU time" if self.counts_cpu_time else ""
        return (
            f"{memory}, at most {self.processes} processes and threads{cpu} "
            f"(cgroup v{self.version})"
        )

    def new_group(self) -> Group:
        """A child group with this run's limits, ready for a kernel's launcher to join."""
        self.count += 1
        group = Group({}, self.version)
        try:
            for hierarchy, parent in self.parents.items():
                folder = parent / f"k{self.count}"
                folder.mkdir()
                group.folders[hierarchy] = folder
                _write_limits(folder, hierarchy, self.version, self.memory_bytes, self.processes)
        except OSError:
            group.kill_all()
            raise
        self.made.append(group)
        return group

    def close(self) -> None:
        for group in self.made:
            group.kill_all()
        for parent in self.parents.values():
            with contextlib.suppress(OSError):
                parent.rmdir()


def _write_limits(folder: Path, hierarchy, version, memory_bytes, processes) -> None:
    def write(name, value):
        (folder / name).write_text(str(value))

    if version == 1:
        if hierarchy == "memory" and memory_bytes:
            write("memory.limit_in_bytes", memory_bytes)
            if (folder / "memory.memsw.limit_in_bytes").exists():  # no swapping past it
                write("memory.memsw.limit_in_bytes", memory_bytes)
        elif hierarchy == "pids":
            write("pids.max", processes)
        return
    if memory_bytes:
        write("memory.max", memory_bytes)
        if (folder / "memory.swap.max").exists():
            write("memory.swap.max", 0)
    write("pids.max", processes)


def open_run(memory_bytes: int | None, processes: int) -> RunGroups | None:
    """This run's parent groups, or None where whole-sandbox limits cannot be set."""
    own = _own_groups()
    _remove_stale(own)
    if "memory" in own and "pids" in own:  # cgroup v1
        wanted = {h: own[h] for h in V1_HIERARCHIES if h in own}
        version = 1
    elif "unified" in own:
        mount, path = own["unified"]
        try:
            delegated = set(Path(mount + path, "cgroup.subtree_control").read_text().split())
        except OSError:
            return None
        if not {"memory", "pids"} <= delegated:
            return None
        wanted = {"unified": own["unified"]}
        version = 2
    else:
        return None
    run = RunGroups({}, version, memory_bytes, processes)
    try:
        for hierarchy, (mount, path) in wanted.items():
            parent = Path(mount + path.rstrip("/")) / f"{PREFIX}{os.getpid()}"
            parent.mkdir()
            run.parents[hierarchy] = parent
        run.new_group().kill_all()  # the limits can be written, and the group removed
        run.made.clear()
    except OSError:
        run.close()
        return None
    return run


def _remove_stale(own: dict[str, tuple[str, str]]) -> None:
    """Remove the empty groups of earlier runs whose grader is gone (killed outright)."""
    for mount, path in own.values():
        with contextlib.suppress(OSError):
            for folder in Path(mount + path.rstrip("/")).glob(f"{PREFIX}*"):
                pid = folder.name.removeprefix(PREFIX)
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    for child in folder.glob("k*"):
                        with contextlib.suppress(OSError):
                            child.rmdir()
                    with contextlib.suppress(OSError):
                        folder.rmdir()
