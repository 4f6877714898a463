"""Run the book as Colab runs it: Colab's Python and versions, and the set-up cell's install.

``python -m tools.colab`` (``make colab``)
    1. builds ``.venv-colab`` with the Python and the exact versions of ``colab/runtime.txt``
       (Google Colab's CPU runtime, as published);
    2. asks pip what installing the course there would do (``--dry-run --report``) and
       fails, naming them, if it would change any package of the runtime;
    3. installs the course by running the set-up cell itself, with the clone in place of
       the repository's URL;
    4. runs every chapter and every solution in that environment, two at a time, and fails
       on the first cell that raises.

``python -m tools.colab refresh`` (``make colab-refresh``) rewrites ``colab/runtime.txt``
from the list Colab publishes (it needs the network), keeping the packages it lists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tools import notebooks
from tools.book_paths import book_notebooks

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "colab" / "runtime.txt"
VENV = ROOT / ".venv-colab"
PUBLISHED = "https://raw.githubusercontent.com/googlecolab/backend-info/main/pip-freeze.txt"
# The notebook whose set-up cell installs the most (the course and a package without its
# dependencies): the check runs that cell.
FULLEST_SETUP = ROOT / "chapters" / "08_time_series.ipynb"
CELL_SECONDS = 300
JOBS = 2


def read_runtime(path: Path = RUNTIME) -> tuple[str, dict[str, str]]:
    """(Python version, {package: version}) of the runtime file."""
    python, packages = None, {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        if name == "python":
            python = version
        else:
            packages[canonical_name(name)] = version
    if python is None:
        raise SystemExit(f"{path} names no python==X.Y line")
    return python, packages


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_python(version: str) -> str:
    """A python of that version on this machine, or an exit that says how to get one."""
    candidates = [os.environ.get("COLAB_PYTHON"), shutil.which(f"python{version}")]
    candidates += sorted(
        str(p) for p in Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}")
    )
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        if out.split()[-1].startswith(version):
            return candidate
    raise SystemExit(
        f"Colab runs Python {version}, which this machine lacks. Install it (e.g. "
        f"`pyenv install {version}`, `uv python install {version}`, or your system's "
        f"python{version} package) or point COLAB_PYTHON at one, then run `make colab` again."
    )


def environment() -> dict[str, str]:
    """For every process of the environment: its own install of the course, nothing else."""
    env = dict(os.environ, TQDM_DISABLE="1", OMP_WAIT_POLICY="PASSIVE")
    for name in ("PYTHONPATH", "ATTENTION_COURSE_METRICS_DIR", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", *args], check=True, env=environment()
    )


def build_environment(python_version: str, packages: dict[str, str]) -> None:
    """``.venv-colab`` with exactly the runtime's versions; reused while the file is unchanged."""
    stamp = VENV / ".runtime-sha256"
    digest = hashlib.sha256(RUNTIME.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        print(f"{VENV.name}: up to date with {RUNTIME.relative_to(ROOT)}")
        return
    shutil.rmtree(VENV, ignore_errors=True)
    start = time.monotonic()
    subprocess.run(
        [find_python(python_version), "-m", "venv", str(VENV)], check=True, env=environment()
    )
    pip("install", "--quiet", "--upgrade", "pip")
    pip("install", "--quiet", *(f"{name}=={version}" for name, version in packages.items()))
    stamp.write_text(digest)
    print(
        f"{VENV.name}: Python {python_version} and {len(packages)} pinned packages "
        f"in {time.monotonic() - start:.0f} s"
    )


def course_from_clone(spec: str) -> str:
    """The set-up cell's ``attention-course @ git+URL@vX`` with this clone in place of the URL."""
    name, _, _ = spec.partition(" @ ")
    return f"{name} @ {ROOT.as_uri()}"


def changes_to_runtime(course: str, packages: dict[str, str]) -> list[str]:
    """What installing the course would change among the runtime's packages (pip's report)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        pip("install", "--quiet", "--dry-run", "--report", str(report), course)
        installs = json.loads(report.read_text())["install"]
    changes = []
    for item in installs:
        name = canonical_name(item["metadata"]["name"])
        version = item["metadata"]["version"]
        if name in packages and version != packages[name]:
            changes.append(f"{name} {packages[name]} -> {version}")
    return changes


def install_like_the_setup_cell() -> float:
    """Run the set-up cell (the clone in place of the URL) in the environment; its seconds."""
    # A course installed by an earlier run would make the cell do nothing: start without.
    pip("uninstall", "--quiet", "--yes", "attention-course", "traffic-anomaly")
    cell = nbformat_cell(FULLEST_SETUP)
    course, _ = notebooks.setup_packages(ROOT, FULLEST_SETUP)
    source = cell.replace(json.dumps(course), json.dumps(course_from_clone(course)))
    assert source != cell, "the set-up cell no longer names the course as setup_packages does"
    start = time.monotonic()
    subprocess.run(
        [str(VENV / "bin" / "python"), "-c", source],
        check=True,
        cwd=tempfile.gettempdir(),
        env=environment(),
    )
    seconds = time.monotonic() - start
    # The notebooks must import the course the cell installed, not this clone's source.
    where = subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-c",
            "import attention_course; print(attention_course.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=environment(),
    ).stdout.strip()
    if not where.startswith(str(VENV)):
        raise SystemExit(f"the notebooks would import the course from {where}, not from {VENV}")
    return seconds


def nbformat_cell(path: Path) -> str:
    first = json.loads(path.read_text())["cells"][0]
    return "".join(first["source"])


RUN_ONE = """
import sys, time, nbformat
from nbclient import NotebookClient
path, seconds = sys.argv[1], float(sys.argv[2])
notebook = nbformat.read(path, as_version=4)
start = time.monotonic()
try:
    NotebookClient(notebook, timeout=seconds, kernel_name="python3",
                   resources={"metadata": {"path": sys.argv[3]}}).execute()
except Exception as error:
    print(f"FAILED {path}: {type(error).__name__}: {str(error)[-2000:]}")
    sys.exit(1)
print(f"ok {time.monotonic() - start:6.1f} s  {path}")
"""


def run_notebooks(paths: list[Path]) -> list[str]:
    """Run each notebook in a fresh kernel of the environment, ``JOBS`` at a time."""
    env = environment()
    waiting, running, failures = list(paths), [], []
    while waiting or running:
        while waiting and len(running) < JOBS:
            path = waiting.pop(0)
            running.append(
                subprocess.Popen(
                    [
                        str(VENV / "bin" / "python"),
                        "-c",
                        RUN_ONE,
                        str(path),
                        str(CELL_SECONDS),
                        str(path.parent),
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        time.sleep(0.5)
        for process in [p for p in running if p.poll() is not None]:
            running.remove(process)
            out = process.stdout.read().strip()
            print(out, flush=True)
            if process.returncode:
                failures.append(out)
    return failures


def check() -> int:
    python_version, packages = read_runtime()
    build_environment(python_version, packages)
    course, _ = notebooks.setup_packages(ROOT, FULLEST_SETUP)
    changes = changes_to_runtime(course_from_clone(course), packages)
    if changes:
        print(
            "Installing the course would change packages Colab already has:\n  "
            + "\n  ".join(changes)
            + "\nLower the floors in pyproject.toml's dependencies."
        )
        return 1
    print("pip's report: installing the course changes none of Colab's packages")
    seconds = install_like_the_setup_cell()
    print(f"the set-up cell installed the course in {seconds:.0f} s")
    paths = book_notebooks()
    start = time.monotonic()
    failures = run_notebooks(paths)
    print(
        f"{len(paths) - len(failures)} of {len(paths)} notebooks ran under Colab's versions "
        f"in {time.monotonic() - start:.0f} s"
    )
    return 1 if failures else 0


def refresh() -> int:
    """Rewrite the runtime file's versions from Colab's published list (needs the network)."""
    with urllib.request.urlopen(PUBLISHED, timeout=60) as response:
        published = {}
        for line in response.read().decode().splitlines():
            name, _, version = line.partition("==")
            if version and not line.startswith("#"):
                published[canonical_name(name)] = version.strip()
    lines, missing = [], []
    for line in RUNTIME.read_text().splitlines():
        name, _, _ = line.partition("==")
        key = canonical_name(name)
        if line.startswith("#") or key == "python" or not line.strip():
            lines.append(line)
        elif key in published:
            lines.append(f"{name}=={published[key]}")
        else:
            missing.append(name)
            lines.append(line)
    RUNTIME.write_text("\n".join(lines) + "\n")
    print(
        f"{RUNTIME.relative_to(ROOT)} rewritten from {PUBLISHED}; check the python== line "
        "and the date in its header by hand" + (f"; not in the list: {missing}" if missing else "")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.colab", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", nargs="?", default="check", choices=["check", "refresh"])
    args = parser.parse_args(argv)
    return check() if args.command == "check" else refresh()


if __name__ == "__main__":
    sys.exit(main())
