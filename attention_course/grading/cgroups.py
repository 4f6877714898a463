"""Limits on a whole sandbox (every process in it together), through Linux control groups.

Resource limits (``setrlimit``) hold per process: four forked children each get the whole
address-space limit. A control group holds the sandbox's processes together: their memory
in total, how many there are, and how much CPU they get at once. The grader makes one
group per kernel, below the group it runs in itself (so any limit set on the grader still
holds), in each hierarchy it may write:

* cgroup v1 (one hierarchy per controller): ``memory``, ``pids`` and ``cpu``, each
  wherever it is mounted;
* cgroup v2 (one hierarchy): only when the grader's group already hands ``memory`` and
  ``pids`` down to its children (a delegated group); the grader does not move itself.

Where neither is possible (no permission, controllers not delegated) there are no
whole-sandbox limits; :func:`open_run` returns None and the grader says so.
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
CPU_PERIOD_US = 100_000


def _own_groups() -> dict[str, tuple[str, str]]:
    """Hierarchy -> (its mount point, this process's group path): "memory", "pids", "cpu"
    for v1 hierarchies, "unified" for v2."""
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
        for controller in controllers.split(","):
            if controller in ("memory", "pids", "cpu"):
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
    """One kernel's control groups (one folder per hierarchy) and their limits."""

    folders: list[Path]
    version: int

    @property
    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def pids(self) -> set[int]:
        found = set()
        for folder in self.folders:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(n) for n in (folder / "cgroup.procs").read_text().split())
        return found

    def kill_all(self, patience: float = 10.0) -> bool:
        """SIGKILL every process in the groups, then remove them; True when all are gone."""
        deadline = time.monotonic() + patience
        for folder in self.folders:
            if self.version == 2:
                with contextlib.suppress(OSError):
                    (folder / "cgroup.kill").write_text("1")
        while True:
            alive = self.pids()
            for pid in alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            removed = True
            for folder in self.folders:
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
    cpus: float | None
    made: list[Group] = field(default_factory=list)
    count: int = 0

    def describe(self) -> str:
        memory = (
            f"memory {self.memory_bytes / 2**30:g} GiB"
            if self.memory_bytes
            else "memory not limited"
        )
        cpus = f", at most {self.cpus:g} CPU" if self.cpus else ""
        return (
            f"{memory}, at most {self.processes} processes and threads{cpus} "
            f"(cgroup v{self.version})"
        )

    def new_group(self) -> Group:
        """A child group with this run's limits, ready for a kernel's launcher to join."""
        self.count += 1
        folders = []
        try:
            for hierarchy, parent in self.parents.items():
                folder = parent / f"k{self.count}"
                folder.mkdir()
                folders.append(folder)
                _write_limits(
                    folder, hierarchy, self.version, self.memory_bytes, self.processes, self.cpus
                )
        except OSError:
            Group(folders, self.version).kill_all()
            raise
        group = Group(folders, self.version)
        self.made.append(group)
        return group

    def close(self) -> None:
        for group in self.made:
            group.kill_all()
        for parent in self.parents.values():
            with contextlib.suppress(OSError):
                parent.rmdir()


def _write_limits(folder: Path, hierarchy, version, memory_bytes, processes, cpus) -> None:
    def write(name, value):
        (folder / name).write_text(str(value))

    if version == 1:
        if hierarchy == "memory" and memory_bytes:
            write("memory.limit_in_bytes", memory_bytes)
            if (folder / "memory.memsw.limit_in_bytes").exists():  # no swapping past it
                write("memory.memsw.limit_in_bytes", memory_bytes)
        elif hierarchy == "pids":
            write("pids.max", processes)
        elif hierarchy == "cpu" and cpus:
            write("cpu.cfs_period_us", CPU_PERIOD_US)
            write("cpu.cfs_quota_us", int(cpus * CPU_PERIOD_US))
        return
    if memory_bytes:
        write("memory.max", memory_bytes)
        if (folder / "memory.swap.max").exists():
            write("memory.swap.max", 0)
    write("pids.max", processes)
    if cpus and (folder / "cpu.max").exists():
        write("cpu.max", f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")


def open_run(memory_bytes: int | None, processes: int, cpus: float | None) -> RunGroups | None:
    """This run's parent groups, or None where whole-sandbox limits cannot be set."""
    own = _own_groups()
    name = f"{PREFIX}{os.getpid()}"
    _remove_stale(own)
    if "memory" in own and "pids" in own:  # cgroup v1
        wanted = {h: own[h] for h in ("memory", "pids", "cpu") if h in own}
        version = 1
    elif "unified" in own:
        mount, path = own["unified"]
        folder = Path(mount + path)
        try:
            delegated = set((folder / "cgroup.subtree_control").read_text().split())
        except OSError:
            return None
        if not {"memory", "pids"} <= delegated:
            return None
        wanted = {"unified": own["unified"]}
        version = 2
        if "cpu" not in delegated:
            cpus = None
    else:
        return None
    if version == 1 and "cpu" not in wanted:
        cpus = None
    parents: dict[str, Path] = {}
    run = RunGroups(parents, version, memory_bytes, processes, cpus)
    try:
        for hierarchy, (mount, path) in wanted.items():
            parent = Path(mount + path.rstrip("/")) / name
            parent.mkdir()
            parents[hierarchy] = parent
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
