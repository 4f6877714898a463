"""One kernel's sandbox: what it sees, what it may change, what it may use, what remains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from attention_course.grading import cgroups, sandbox
from attention_course.grading.gradebook import TIME_LIMIT
from attention_course.grading.runner import Limits, run_coroutine, run_notebook_async
from attention_course.grading.sandbox import Sandbox, SandboxUnavailable, sandbox_limits
from tests.helpers import ROOT

LIMITS = Limits(cell_seconds=60, notebook_seconds=120, memory_bytes=2**30, threads=1)

# Runs in the kernel: what it can see and do, as JSON on its last line.
LOOK_AROUND = """
import json, os, socket, subprocess, sys
found = {}
def attempt(name, action):
    try:
        action()
        found[name] = "yes"
    except Exception as error:
        found[name] = type(error).__name__
for name, path in PATHS.items():
    found["sees " + name] = os.path.exists(path)
for name, path in WRITES.items():
    attempt("writes " + name, lambda: open(path, "w").write("x"))
attempt("connects", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
found["interfaces"] = [name for _, name in socket.if_nameindex()]
found["parent"] = os.getppid()
found["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
found["variables"] = sorted(os.environ)
found["capabilities"] = [line.split()[1] for line in open("/proc/self/status")
                         if line.startswith("CapEff")]
found["nested user namespace"] = subprocess.run(["unshare", "-U", "true"],
                                                capture_output=True).returncode
found["shadow"] = open("/etc/shadow").read() if os.path.exists("/etc/shadow") else None
connection = json.load(open(sys.argv[sys.argv.index("-f") + 1]))
attempt("writes beside its sockets",
        lambda: open(os.path.dirname(connection["ip"]) + "/planted", "w").write("x"))
import attention_course
found["package"] = attention_course.__file__
print(json.dumps(found))
"""


def run_in_box(source: str, limits: Limits = LIMITS, hidden=(), cpu_seconds=None):
    """Run one cell in a fresh sandbox; return the run, and what the box's folder was."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    settings = sandbox_limits(limits.memory_bytes, limits.threads, limits.notebook_seconds, 60)
    if cpu_seconds is not None:
        settings.cpu_seconds = cpu_seconds
    with Sandbox(settings, hidden) as run:

        async def go():
            with run.box() as box:
                found = await run_notebook_async(notebook, box.folder, limits, box)
                return found, box

        result, box = run_coroutine(go())
        assert not box.folder.exists()  # removed as soon as its kernel is done
        assert box.process is not None and box.process.poll() is not None
        assert box.group is None or not any(
            folder.exists() for folder in box.group.folders.values()
        )
        folder = run.folder
    assert not folder.exists()
    return result, box


def printed(run) -> str:
    return "".join(o.get("text", "") for o in run.notebook.cells[0].outputs)


def test_a_kernel_sees_only_the_system_and_changes_only_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "do not leak")
    submitted, gradebook = tmp_path / "submitted", tmp_path / "grades.csv"
    submitted.mkdir()
    (submitted / "other.ipynb").write_text("{}")
    gradebook.write_text("file\n")
    paths = {
        "submissions": submitted / "other.ipynb",
        "gradebook": gradebook,
        "solutions": ROOT / "solutions",
        "package source": ROOT / "attention_course" / "checks" / "lab01.py",
        "the repository": ROOT / "pyproject.toml",
    }
    home_files = [p for p in Path.home().iterdir() if p.is_file()]
    if home_files:
        paths["the grader's home"] = home_files[0]
    writes = {
        "the system": "/usr/planted",
        "/etc": "/etc/planted",
        "the root": "/planted",
        "its package": "PACKAGE",
        "its home": "planted",
        "its /tmp": "/tmp/planted",
    }
    source = (
        f"PATHS = {json.dumps({k: str(v) for k, v in paths.items()})}\n"
        f"WRITES = {json.dumps(writes)}\n"
        "import attention_course\n"
        "WRITES['its package'] = attention_course.__file__\n" + LOOK_AROUND
    )
    run, box = run_in_box(source, hidden=[submitted, gradebook])
    assert not run.problems, run.problems
    assert printed(run), run.notebook.cells[0].outputs
    found = json.loads(printed(run).strip().splitlines()[-1])
    for name in paths:
        assert found[f"sees {name}"] is False, name
    for name in ("the system", "/etc", "the root", "its package"):
        assert found[f"writes {name}"] in ("OSError", "PermissionError"), (name, found)
    assert found["writes its home"] == found["writes its /tmp"] == "yes"
    assert found["connects"] == "OSError" and found["interfaces"] == ["lo"]
    assert found["parent"] == 1 and len(found["processes"]) <= 3  # bwrap's init, the kernel
    assert "GRADER_SECRET_TOKEN" not in found["variables"]
    assert found["capabilities"] == ["0000000000000000"]
    assert found["nested user namespace"] != 0
    assert not found["shadow"]  # hidden, or empty where it would be readable
    if os.geteuid() == 0:
        assert found["writes beside its sockets"] == "PermissionError"
    assert found["package"].startswith(str(box.folder.parent))  # a copy made for the run


def has_whole_sandbox_limits(cpu_time: bool = False) -> bool:
    run = cgroups.open_run(2**30, 64)
    if run is None:
        return False
    run.close()
    return run.counts_cpu_time or not cpu_time


whole_sandbox = pytest.mark.skipif(
    not has_whole_sandbox_limits(), reason="no writable control groups on this machine"
)

# Four children of 400 MiB each: all four fit without a whole-sandbox limit of 1 GiB.
FORK_HOGS = """
import os, time
size = 400 * 2**20
children, ready = [], os.pipe()
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(size)
            for i in range(0, size, 4096):
                block[i] = 1
            os.write(ready[1], b"x")
            time.sleep(30)
        finally:
            os._exit(0)
    children.append(pid)
os.close(ready[1])
time.sleep(5)
alive = [pid for pid in children if os.waitpid(pid, os.WNOHANG) == (0, 0)]
os.set_blocking(ready[0], False)
print("holding at once:", min(len(os.read(ready[0], 16)), len(alive)))
"""


@whole_sandbox
def test_memory_is_limited_for_the_whole_sandbox():
    run, _ = run_in_box(FORK_HOGS)
    held = int(printed(run).split("holding at once:")[1])
    assert held <= 2, printed(run)  # 1 GiB for the kernel and its children together


@whole_sandbox
def test_processes_are_limited_for_the_whole_sandbox():
    run, _ = run_in_box(
        "import os, time\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(1000):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(10)\n"
        "            os._exit(0)\n"
        "        started += 1\n"
        "except OSError as error:\n"
        "    print('stopped after', started, type(error).__name__)\n"
    )
    stopped = printed(run).split()
    assert stopped[0] == "stopped" and int(stopped[2]) < sandbox.PROCESSES, stopped


@pytest.mark.skipif(
    not has_whole_sandbox_limits(cpu_time=True), reason="no CPU-time accounting on this machine"
)
def test_cpu_time_is_limited_for_the_whole_sandbox():
    """Three children busy at once use the sandbox's CPU time before any one uses its own."""
    run, _ = run_in_box(
        "import os, time\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        while True:\n"
        "            pass\n"
        "time.sleep(50)",
        cpu_seconds=6,
    )
    assert [p.status for p in run.problems] == [TIME_LIMIT], run.problems
    assert "used more than 6 s of CPU time (all its processes together)" in run.problems[0].detail
    assert run.seconds < 30


def test_without_bubblewrap_the_sandbox_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="sudo apt-get install bubblewrap"):
        with Sandbox(sandbox_limits(None, 1, 10, 10)):
            pass


@whole_sandbox
def test_a_group_holds_what_joins_it_and_is_removed_with_everything_in_it():
    run = cgroups.open_run(2**30, 32)
    try:
        group = run.new_group()
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", sandbox._LAUNCHER]
            + [json.dumps({"cgroups": group.procs_files, "rlimits": []})]
            + ["/bin/sh", "-c", "sleep 60 & sleep 60"]
        )
        for _ in range(100):
            if len(group.pids()) >= 2:
                break
            os.sched_yield()
            subprocess.run(["sleep", "0.05"])
        assert len(group.pids()) >= 2  # the shell and its children
        assert group.kill_all()
        assert process.wait(timeout=10) == -9
        assert not any(folder.exists() for folder in group.folders.values())
    finally:
        run.close()
    assert not any(parent.exists() for parent in run.parents.values())
