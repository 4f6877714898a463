"""One bubblewrap sandbox per kernel: what a submission's code can see, change and use.

A kernel runs as ``bwrap ... python -m ipykernel_launcher -f CONNECTION_FILE``. Inside:

* the system read-only, and only what a kernel needs: ``/usr``, ``/etc`` without the
  files every user may not read (``/etc/shadow``, keys), the Python environment the grader
  runs in, and a copy of this package's modules made for the run (never the folder they
  come from, never the solutions, the submissions or the gradebook);
* writable only its own folder (its home and working folder) and a private ``/tmp``, both
  in memory, each at most the memory limit;
* its own user, PID, IPC, network, UTS and cgroup namespaces: no network at all, no
  process of the machine to see or signal; the kernel talks to the grader over Unix
  sockets in a folder of its own, which stops being writable once the kernel is up (when
  the grader runs as root);
* no capabilities, a new terminal session, a clean environment (none of the grader's
  variables), and no nested user namespaces;
* it dies with the grader (``--die-with-parent``), and everything in it dies with the
  kernel's first process (the PID namespace).

A small launcher sets the limits before ``bwrap`` starts: it joins the kernel's control
groups (see :mod:`.cgroups`: memory, processes and CPU time of the whole sandbox) and sets
the per-process limits (address space, CPU seconds, file size, no core files).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups

BWRAP_MISSING = (
    "the grader runs each notebook in a bubblewrap sandbox, and bubblewrap (bwrap) is "
    "not installed. Install it (Debian, Ubuntu: sudo apt-get install bubblewrap; Fedora: "
    "sudo dnf install bubblewrap), or pass --unsafe-no-sandbox to run the notebooks with "
    "your own rights (only for notebooks you trust)"
)
PREFIX = "attention-course-grade-"
NOBODY = 65534  # owns a kernel's socket folder once the kernel is up (grader as root)
MAX_SOCKET_PATH = 100  # a Unix socket's path has at most 107 bytes

# Runs before bwrap, outside the sandbox, with the grader's Python (-I -S: nothing else
# imported): join the kernel's control groups, set the per-process limits, become bwrap.
_LAUNCHER = """\
import json, os, resource, sys
settings = json.loads(sys.argv[1])
for procs in settings["cgroups"]:
    with open(procs, "w") as group:
        group.write(str(os.getpid()))
for name, value in settings["rlimits"]:
    resource.setrlimit(getattr(resource, name), (value, value))
os.execv(sys.argv[2], sys.argv[2:])
"""


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine (no bubblewrap, or it fails to start)."""


@dataclass
class SandboxLimits:
    memory_bytes: int | None  # the whole sandbox (cgroup) and each process (address space)
    processes: int  # processes and threads in the whole sandbox (cgroup)
    cpu_seconds: int  # CPU time of the whole sandbox (cgroup, watched) and of each process


def _world_readable(mode: int) -> bool:
    if stat.S_ISDIR(mode):
        return mode & 0o005 == 0o005
    return bool(mode & 0o004)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _real(path) -> Path:
    return Path(os.path.realpath(path))


class Sandbox:
    """The sandboxes of one grading run: ``with Sandbox(limits, hidden) as sandbox:``, then
    ``with sandbox.box() as box:`` for each kernel.

    ``hidden``: folders and files no kernel may see even where they lie inside what it
    must see (the submissions, the solutions, the gradebook, the feedback folder). The
    package's own folder is always hidden: kernels import a copy.
    """

    def __init__(self, limits: SandboxLimits, hidden: Iterable[Path] = ()):
        self.limits = limits
        package = Path(__file__).resolve().parents[1]
        self.package_source = package
        self.hidden = [_real(p) for p in (*hidden, package)]
        self.folder: Path | None = None
        self.groups: cgroups.RunGroups | None = None
        self.bwrap = shutil.which("bwrap")
        self._count = 0

    # -- the run

    def __enter__(self) -> Sandbox:
        if not self.bwrap:
            raise SandboxUnavailable(BWRAP_MISSING)
        base = tempfile.gettempdir()
        if len(base) > MAX_SOCKET_PATH - 50:  # room for the sockets' names below it
            base = "/tmp"
        remove_stale_folders(base)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
        try:
            os.chmod(self.folder, 0o711)
            self.hidden.append(self.folder)
            self.staged = self._stage_package(self.folder / "python")
            self.empty = self.folder / "empty"  # shown in place of a hidden file
            self.empty.touch(mode=0o444)
            self.view = self._view()
            self.groups = cgroups.open_run(self.limits.memory_bytes, self.limits.processes)
            self._probe()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.groups is not None:
            self.groups.close()
            self.groups = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def describe(self) -> str:
        """What this run's sandboxes are, for the instructor."""
        if self.groups is not None:
            whole = "whole-sandbox limits: " + self.groups.describe(self.limits.cpu_seconds)
        else:
            whole = (
                "no whole-sandbox limits (the control groups cannot be written here): "
                "memory is limited per process only, the number of processes not at all"
            )
        return f"each notebook runs in a bubblewrap sandbox; {whole}"

    def _stage_package(self, target: Path) -> Path:
        """A read-only copy of the package's modules: kernels import it, never the source."""
        shutil.copytree(
            self.package_source,
            target / self.package_source.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        import compileall  # kernels would otherwise compile it afresh, each time

        compileall.compile_dir(target, quiet=2, workers=1)
        for root, _folders, files in os.walk(target):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        os.chmod(target, 0o755)
        return target

    def _python_paths(self) -> list[Path]:
        """What the grader's Python needs to run a kernel: its installation and
        environment, and the folders on its path (none holding something hidden)."""
        paths = {
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            sys.base_exec_prefix,
            os.path.dirname(os.path.realpath(sys.executable)),
            sysconfig.get_paths()["purelib"],
            sysconfig.get_paths()["platlib"],
            *[entry for entry in sys.path if entry],
        }
        with contextlib.suppress(Exception):
            import site

            paths.add(site.getusersitepackages())
        # A source checkout on the path (an editable install, PYTHONPATH=.) would show its
        # history and tests: only its package is needed, and kernels import a copy of it.
        secret = [hidden for hidden in self.hidden if hidden != self.package_source]
        checkout = self.package_source.parent
        if any((checkout / marker).exists() for marker in ("pyproject.toml", ".git")):
            secret.append(checkout)
        found = []
        for entry in sorted(paths):
            for path in {Path(entry), _real(entry)}:
                if (
                    path.is_absolute()
                    and path.exists()
                    and not any(_is_within(hidden, path) for hidden in secret)
                ):
                    found.append(path)
        return found

    def _view(self) -> list[str]:
        """bwrap's arguments for the file system every kernel of this run sees."""
        arguments = ["--proc", "/proc", "--dev", "/dev"]
        if self.limits.memory_bytes:
            arguments += ["--size", str(self.limits.memory_bytes)]
        arguments += ["--tmpfs", "/tmp"]
        exposed: list[Path] = []

        def expose(path: Path):
            if any(_is_within(path, outer) for outer in exposed):
                return
            exposed.append(path)
            arguments.extend(["--ro-bind", str(path), str(path)])

        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                arguments += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                expose(path)
        expose(Path("/usr"))
        expose(Path("/etc"))
        arguments += self._private_etc(self.empty)
        for path in self._python_paths():
            expose(path)
        expose(self.staged)
        data = self._data_cache()
        if data is not None:
            expose(data)
        # Hidden things inside what is shown: an empty folder or file in their place.
        for hidden in self.hidden:
            if hidden == self.folder or not any(_is_within(hidden, path) for path in exposed):
                continue
            if hidden.is_dir():
                arguments += ["--tmpfs", str(hidden)]
            elif hidden.exists():
                arguments += ["--ro-bind", str(self.empty), str(hidden)]
        return arguments

    @staticmethod
    def _private_etc(empty: Path) -> list[str]:
        """Hide what in /etc not every user of the machine may read (a kernel as root
        could read /etc/shadow; a kernel as a user could read that user's files)."""
        arguments = []
        for root, folders, files in os.walk("/etc"):
            for name in [*folders, *files]:
                path = os.path.join(root, name)
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    continue
                if stat.S_ISLNK(mode) or _world_readable(mode):
                    continue
                if stat.S_ISDIR(mode):
                    arguments += ["--tmpfs", path]
                    folders.remove(name)
                elif stat.S_ISREG(mode):
                    arguments += ["--ro-bind", str(empty), path]
        return arguments

    @staticmethod
    def _data_cache() -> Path | None:
        """The course's download cache (Fashion-MNIST), read-only, where it exists."""
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(base) / "attention_course"
        return folder if folder.is_dir() else None

    def _environment(self, home: str) -> dict[str, str]:
        data = self._data_cache()
        env = {
            "PATH": os.pathsep.join(
                [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
            ),
            "HOME": home,
            "TMPDIR": "/tmp",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONPATH": str(self.staged),
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "agg",
        }
        if data is not None:
            env["XDG_CACHE_HOME"] = str(data.parent)
        return env

    def _probe(self) -> None:
        """Start one sandbox before grading: a clear error now, not one per notebook."""
        check = (
            "import attention_course, sys; "
            f"assert attention_course.__file__.startswith({str(self.staged)!r}), "
            "attention_course.__file__"
        )
        with self.box() as box:
            command = box.command([sys.executable, "-c", check], probe=True)
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=60, env=_outer_env()
                )
            except subprocess.TimeoutExpired:
                raise SandboxUnavailable("the sandbox did not start within 60 s") from None
        if done.returncode != 0:
            raise SandboxUnavailable(
                "the sandbox does not start on this machine: "
                + (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            )

    # -- one kernel

    @contextlib.contextmanager
    def box(self) -> Iterator[Box]:
        """The sandbox of one kernel; leaving it kills whatever still runs in it and
        removes its folders."""
        assert self.folder is not None, "use the Sandbox as a context manager"
        self._count += 1
        folder = self.folder / f"{self._count}"
        folder.mkdir(mode=0o711)
        box = Box(self, folder, None)
        try:
            (folder / "ipc").mkdir(mode=0o700)
            if os.geteuid() == 0:  # a folder the kernel (root without rights) can write...
                os.chown(folder / "ipc", NOBODY, NOBODY)
                os.chmod(folder / "ipc", 0o777)
            if self.groups is not None:
                box.group = self.groups.new_group()
            yield box
        finally:
            box.close()


def run_folders(base: str, pid: int | None = None) -> list[Path]:
    """The run folders in ``base`` (of the grader with process id ``pid``, or of any)."""
    found = Path(base).glob(f"{PREFIX}{pid if pid is not None else '*'}-*")
    return [folder for folder in found if folder.name[len(PREFIX) :].split("-")[0].isdigit()]


def remove_stale_folders(base: str) -> None:
    """Remove the run folders of graders that are gone (killed outright, they could not)."""
    for folder in run_folders(base):
        pid = folder.name[len(PREFIX) :].split("-")[0]
        if not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _outer_env() -> dict[str, str]:
    """The launcher's and bwrap's environment (outside the sandbox)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


@dataclass
class Box:
    sandbox: Sandbox
    folder: Path  # on the grader's side only: the connection file and the socket folder
    group: cgroups.Group | None
    process: subprocess.Popen | None = None  # bwrap, once started
    env: dict[str, str] = field(default_factory=dict)  # more variables for the kernel

    # What the runner may set for a kernel (threads, progress bars); nothing else of the
    # grader's environment gets in.
    KERNEL_VARIABLES = (
        "OMP_WAIT_POLICY",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "TQDM_DISABLE",
    )

    @staticmethod
    def outer_env() -> dict[str, str]:
        return _outer_env()

    @property
    def connection_file(self) -> Path:
        return self.folder / "connection.json"

    @property
    def ip(self) -> str:
        """The sockets' path prefix (ipc transport): ``.../ipc/k-1``, ``.../ipc/k-2``, ..."""
        return str(self.folder / "ipc" / "k")

    @property
    def home(self) -> str:
        return str(self.folder / "home")

    def command(self, kernel: list[str], probe: bool = False) -> list[str]:
        """The command that starts ``kernel`` (its argv) in this sandbox."""
        sandbox, limits = self.sandbox, self.sandbox.limits
        env = {**sandbox._environment(self.home), **self.env}
        arguments = [
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "grader",
            "--clearenv",
        ]
        for name, value in env.items():
            arguments += ["--setenv", name, value]
        arguments += sandbox.view
        if limits.memory_bytes:
            arguments += ["--size", str(limits.memory_bytes)]
        arguments += ["--tmpfs", self.home, "--chdir", self.home]
        if not probe:
            arguments += ["--bind", str(self.folder / "ipc"), str(self.folder / "ipc")]
            arguments += ["--ro-bind", str(self.connection_file), str(self.connection_file)]
        arguments += ["--remount-ro", "/"]  # bwrap's root: the folders it made for the above
        rlimits = [("RLIMIT_CORE", 0), ("RLIMIT_CPU", limits.cpu_seconds)]
        if limits.memory_bytes:
            rlimits += [("RLIMIT_AS", limits.memory_bytes), ("RLIMIT_FSIZE", limits.memory_bytes)]
        settings = {
            "cgroups": self.group.procs_files if self.group else [],
            "rlimits": rlimits,
        }
        return [
            sys.executable,
            "-I",
            "-S",
            "-c",
            _LAUNCHER,
            json.dumps(settings),
            sandbox.bwrap,
            *arguments,
            "--",
            *kernel,
        ]

    def seal(self) -> None:
        """Once the kernel has made its sockets: the socket folder stops being writable."""
        if os.geteuid() == 0:
            with contextlib.suppress(OSError):
                os.chmod(self.folder / "ipc", 0o555)

    def close(self) -> None:
        """Kill whatever still runs in the sandbox and remove its folders."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.kill()  # bwrap: everything inside dies with it
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.group is not None:
            self.group.kill_all()
        shutil.rmtree(self.folder, ignore_errors=True)


def sandbox_limits(
    memory_bytes: int | None, threads: int | None, notebook_seconds: float, startup: float
) -> SandboxLimits:
    """The whole-sandbox limits for kernels with these per-kernel settings: CPU time for
    as many cores as the kernel has threads, busy from its start to its time limit."""
    cores = os.cpu_count() or 1
    busy = min(threads, cores) if threads else cores
    cpu_seconds = math.ceil((notebook_seconds + 2 * startup) * busy) + 10
    return SandboxLimits(memory_bytes, PROCESSES, cpu_seconds)


# A kernel of a lab runs about 20 threads (ipykernel's, PyTorch's); a fork bomb stops here.
PROCESSES = 256
