"""Where a notebook's time goes: seconds per cell, from a fresh kernel, median of runs.

``python -m tools.profile`` (``make profile``) runs every chapter and solution (or the
notebooks named) ``--runs`` times, one after the other, each in a fresh kernel on one
torch thread as the book runs them, and prints for each notebook its median wall time,
the kernel's start, and the cells that cost the most (median seconds, with the share of
the notebook and the cell's first line). The medians go to ``_build/profile.json``.
A run on a busy machine is slower: compare profiles taken under the same load. A notebook
that raises is named with its failing cell and error, the others are still profiled, and
the command exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools.book_paths import book_notebooks
from tools.unix_socket_kernels import UnixSocketKernelManager

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "profile.json"
CELL_SECONDS = 600


class NotebookFailed(Exception):
    """A cell raised: which one and what, in one line instead of the kernel's traceback."""


def _failure(notebook, error: CellExecutionError) -> str:
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        if any(output.output_type == "error" for output in cell.get("outputs", [])):
            where = f"code cell {index} ({_first_line(cell.source)})"
            break
    else:
        where = "a code cell"
    return f"{where} raised {error.ename}: {error.evalue}"


def _seconds(start: str, end: str) -> float:
    return (
        datetime.fromisoformat(end.replace("Z", "+00:00"))
        - datetime.fromisoformat(start.replace("Z", "+00:00"))
    ).total_seconds()


def run_once(path: Path) -> tuple[float, list[float]]:
    """(wall seconds of the whole notebook, seconds of each code cell) of one fresh run."""
    notebook = nbformat.read(path, as_version=4)
    env = dict(os.environ, TQDM_DISABLE="1", OMP_WAIT_POLICY="PASSIVE")
    start = time.monotonic()
    client = NotebookClient(
        notebook,
        timeout=CELL_SECONDS,
        kernel_name="python3",
        record_timing=True,
        kernel_manager_class=UnixSocketKernelManager,  # no TCP port to collide on
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env=env)
    except CellExecutionError as error:
        raise NotebookFailed(_failure(notebook, error)) from None
    wall = time.monotonic() - start
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        timing = cell.metadata.get("execution", {})
        begun, ended = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        cells.append(_seconds(begun, ended) if begun and ended else 0.0)
    return wall, cells


def profile(path: Path, runs: int) -> dict:
    walls, per_cell = [], []
    for _ in range(runs):
        wall, cells = run_once(path)
        walls.append(wall)
        per_cell.append(cells)
    sources = [
        cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
    ]
    medians = [statistics.median(column) for column in zip(*per_cell)]
    return {
        "wall": statistics.median(walls),
        "walls": walls,
        "start": statistics.median(walls) - sum(medians),
        "cells": [
            {"index": i, "seconds": s, "first_line": _first_line(sources[i])}
            for i, s in enumerate(medians)
        ],
    }


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _first_line(source: str) -> str:
    lines = [
        line.strip()
        for line in source.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    text = lines[0] if lines else "(comments only)"
    return text if len(text) <= 70 else text[:67] + "..."


def report(name: str, result: dict, top: int) -> str:
    wall = result["wall"]
    lines = [
        f"{name}: {wall:.1f} s median of {len(result['walls'])} "
        f"({', '.join(f'{w:.1f}' for w in result['walls'])}); kernel start and imports "
        f"outside cells {result['start']:.1f} s"
    ]
    for cell in sorted(result["cells"], key=lambda c: -c["seconds"])[:top]:
        lines.append(
            f"  {cell['seconds']:6.1f} s {cell['seconds'] / wall:4.0%}  "
            f"code cell {cell['index']:>2}: {cell['first_line']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to profile (default: every chapter and solution)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per notebook (default 3)")
    parser.add_argument("--top", type=int, default=8, help="cells listed per notebook")
    args = parser.parse_args(argv)
    paths = args.notebooks or book_notebooks()
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    results, failed = {}, []
    for path in paths:
        path = path.resolve()
        name = _shown(path)
        try:
            results[name] = profile(path, args.runs)
        except NotebookFailed as error:
            failed.append(name)
            print(f"{name}: FAILED, not profiled: {error}", flush=True)
            continue
        print(report(name, results[name], args.top), flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(f"medians written to {_shown(OUT)}")
    if failed:
        print(f"{len(failed)} notebook(s) raised: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
