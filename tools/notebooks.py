"""Maintainers' tool: keep every notebook in its canonical form and generate the labs.

``python -m tools.notebooks sync`` (``make notebooks``)
    * puts the Colab set-up cell first in every notebook of ``chapters/``, ``solutions/``
      and ``labs/``: it installs the course at the tag ``v<version>`` (the version in
      ``pyproject.toml``) of the repository named in ``_config.yml``;
    * strips outputs from chapters and solutions (the book build executes them);
    * writes ``labs/NN_topic.ipynb`` from ``solutions/NN_topic.ipynb``: each body between
      ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub that raises
      ``NotImplementedError``, and the title "Solution N" becomes "Lab N".

``python -m tools.notebooks check`` changes nothing and exits with 1, naming
the files, when any notebook is not what ``sync`` would write. The tests run it.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

from attention_course.notebook_format import BEGIN_SOLUTION as BEGIN
from attention_course.notebook_format import END_SOLUTION as END
from attention_course.notebook_format import SETUP_TAG


class NotebookError(ValueError):
    """A notebook breaks one of the book's conventions; the message says which and where."""


def repository_url(root: Path) -> str:
    """The one place the repository URL lives: ``repository.url`` in ``_config.yml``."""
    import yaml  # in requirements.txt (jupyter-book needs it too); a maintainers' tool

    config = yaml.safe_load((root / "_config.yml").read_text())
    try:
        return config["repository"]["url"].rstrip("/")
    except (KeyError, TypeError, AttributeError):
        raise NotebookError("_config.yml has no repository: url: entry") from None


# Packages a notebook needs beyond the course's own dependencies, installed without their
# dependencies (only their data is read); the versions are those of requirements.txt.
NO_DEPS_PACKAGES = {"chapters/08_time_series.ipynb": ("traffic-anomaly",)}


def package_version(root: Path) -> str:
    """The course's version, from pyproject.toml: the tag the set-up cells install."""
    import tomllib

    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def pinned_version(root: Path, package: str) -> str:
    """``package``'s pin in requirements.txt (the versions the book is built with)."""
    wanted = package.lower().replace("_", "-")
    for line in (root / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower().replace("_", "-") == wanted:
            return version.strip()
    raise NotebookError(f"requirements.txt pins no {package}")


def setup_packages(root: Path, notebook: Path) -> tuple[str, list[str]]:
    """What a notebook's set-up cell installs: the course at this version's tag, and the
    packages it installs without their dependencies."""
    course = f"attention-course @ git+{repository_url(root)}@v{package_version(root)}"
    where = notebook.relative_to(root).as_posix()
    extra = [
        f"{package}=={pinned_version(root, package)}" for package in NO_DEPS_PACKAGES.get(where, ())
    ]
    return course, extra


def setup_cell_source(course: str, no_deps: list[str]) -> str:
    """The first cell of every notebook. In Colab it installs the course without changing
    any package Colab already has (pip gets them all as constraints: it may add packages,
    never upgrade one); where the course is installed it does nothing."""
    lines = [
        "# Colab set-up: installs this course's package, keeping every package Colab already",
        "# has at its version. Does nothing where the package is installed (locally).",
        "import importlib.metadata",
        "import importlib.util",
        "import subprocess",
        "import sys",
        "",
        'if importlib.util.find_spec("attention_course") is None:',
        "    installed = {}  # name -> version of the package in use (the first on the path)",
        "    for dist in importlib.metadata.distributions():",
        '        if dist.metadata["Name"]:',
        '            installed.setdefault(dist.metadata["Name"].lower(), dist.version)',
        '    with open("/tmp/colab-installed.txt", "w") as keep:',
        '        keep.writelines(f"{name}=={version}\\n" for name, version in installed.items())',
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--constraint", keep.name]',
        f"    course = {json.dumps(course)}",
        "    subprocess.check_call([*pip, course])",
    ]
    lines += [
        f'    subprocess.check_call([*pip, "--no-deps", {json.dumps(package)}])'
        for package in no_deps
    ]
    return "\n".join(lines)


def setup_cell(root: Path, notebook: Path) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(setup_cell_source(*setup_packages(root, notebook)))
    cell["id"] = SETUP_TAG  # a fixed id, so regenerating gives the same file
    # Hidden in the HTML book, where there is nothing to install.
    cell.metadata["tags"] = [SETUP_TAG, "remove-cell"]
    return cell


def with_setup_cell(
    notebook: nbformat.NotebookNode, cell: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """Return a copy whose first cell is the canonical set-up cell (replacing an old one)."""
    notebook = copy.deepcopy(notebook)
    cells = [
        cell for cell in notebook.cells if SETUP_TAG not in cell.get("metadata", {}).get("tags", [])
    ]
    notebook.cells = [cell, *cells]
    return notebook


def without_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        # Execution timing, collapsed state and editor hints are noise in a diff.
        for key in ("execution", "collapsed", "scrolled", "lines_to_next_cell"):
            cell.metadata.pop(key, None)
    for key in ("widgets", "jupytext"):
        notebook.metadata.pop(key, None)
    return notebook


def stub_source(source: str, where: str = "cell") -> str:
    """Replace each marked solution body by a stub that raises NotImplementedError."""
    lines = source.split("\n")
    out: list[str] = []
    inside = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise NotebookError(f"{where}, line {number}: {BEGIN} inside another one")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            name = _enclosing_function(lines[: number - 1], len(indent))
            what = f"{name}: " if name else ""
            out.append(f"{indent}# YOUR CODE HERE: replace the next line with your solution.")
            out.append(f'{indent}raise NotImplementedError("{what}not implemented yet")')
        elif stripped == END:
            if not inside:
                raise NotebookError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def _enclosing_function(previous_lines: list[str], indent: int) -> str | None:
    for line in reversed(previous_lines):
        match = re.match(r"(\s*)def (\w+)\(", line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
    return None


def lab_from_solution(
    solution: nbformat.NotebookNode, name: str = "solution"
) -> nbformat.NotebookNode:
    """The student version of a solution notebook: stubs in place of solutions, no outputs."""
    lab = without_outputs(solution)
    exercises = 0
    for index, cell in enumerate(lab.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = stub_source(cell.source, where=f"{name}, cell {index}")
            exercises += 1
        elif cell.cell_type == "code" and END in cell.source:
            raise NotebookError(f"{name}, cell {index}: {END} without {BEGIN}")
    if exercises == 0:
        raise NotebookError(f"{name}: no {BEGIN} ... {END} block, so there is nothing to do")
    for cell in lab.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"^# Solution (\d+)", r"# Lab \1", cell.source, count=1)
            break
    return lab


def expected_files(root: Path) -> dict[Path, str]:
    """Every notebook file as ``sync`` would write it."""
    expected: dict[Path, str] = {}
    for folder in ("chapters", "solutions"):
        for path in sorted((root / folder).glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            cell = setup_cell(root, path)
            expected[path] = _dumps(with_setup_cell(without_outputs(notebook), cell))
    for path in sorted((root / "solutions").glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        solution = with_setup_cell(solution, setup_cell(root, path))
        lab = lab_from_solution(solution, name=str(path.relative_to(root)))
        expected[root / "labs" / path.name] = _dumps(lab)
    return expected


def _dumps(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook, version=4) + "\n"


def stale_files(root: Path) -> list[str]:
    """Notebooks that differ from what ``sync`` would write, plus labs without a solution."""
    expected = expected_files(root)
    stale = [
        str(path.relative_to(root))
        for path, text in expected.items()
        if not path.exists() or path.read_text() != text
    ]
    orphans = [
        str(path.relative_to(root)) + " (no solution with this name)"
        for path in sorted((root / "labs").glob("*.ipynb"))
        if path not in expected
    ]
    return stale + orphans


def sync(root: Path) -> list[str]:
    written = []
    for path, text in expected_files(root).items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(str(path.relative_to(root)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.notebooks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=["sync", "check"])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="the book's folder (holds _config.yml); default: here",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "_config.yml").exists():
        print(
            f"{root} has no _config.yml: run this from the book's folder or pass --root",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command == "sync":
            written = sync(root)
            print("\n".join(f"wrote {name}" for name in written) or "all notebooks up to date")
            return 0
        stale = stale_files(root)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if stale:
        print("out of date (run `make notebooks`):\n  " + "\n  ".join(stale))
        return 1
    print("all notebooks up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
