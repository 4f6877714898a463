"""Running a notebook with limits: problems are noted, never raised."""

import tempfile
from pathlib import Path

import nbformat

from attention_course.grading.gradebook import OUTPUT_LIMIT, TIME_LIMIT
from attention_course.grading.runner import Limits, _how, run_notebook


def test_notebook_time_limit_stops_a_notebook_of_slow_cells(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(2)") for _ in range(4)]
        + [nbformat.v4.new_code_cell("print('never')")]
    )
    run = run_notebook(
        notebook, tmp_path, Limits(cell_seconds=30, notebook_seconds=5, memory_bytes=None)
    )
    assert [p.status for p in run.problems] == [TIME_LIMIT]
    assert "ran over its limit of 5 s" in run.problems[0].detail
    assert not run.notebook.cells[-1].outputs
    assert run.seconds < 15


def test_output_over_its_limit_stops_the_notebook_and_is_not_kept(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("print('kept')"),
            nbformat.v4.new_code_cell("while True:\n    print('spam ' * 1000, flush=True)"),
            nbformat.v4.new_code_cell("print('never')"),
        ]
    )
    limits = Limits(cell_seconds=30, notebook_seconds=60, memory_bytes=None, output_bytes=2**20)
    run = run_notebook(notebook, tmp_path, limits)
    assert [(p.status, p.cell) for p in run.problems] == [(OUTPUT_LIMIT, 1)]
    assert "output went over 1 MiB" in run.problems[0].detail
    kept = sum(len(o.get("text", "")) for cell in run.notebook.cells for o in cell.outputs)
    assert kept <= 2**20 and run.notebook.cells[0].outputs[0].text == "kept\n"
    assert not run.notebook.cells[2].outputs
    assert run.seconds < 20  # stopped at once, not at the cell's time limit


def test_how_a_kernel_ended_reads_bwraps_exit_codes():
    assert _how(1, None) == " (exit code 1)"
    assert _how(-9, None) == " (killed by signal 9: out of memory?)"
    assert _how(137, object()) == " (killed by signal 9: out of memory?)"
    assert _how(None, None) == ""


def test_an_unsandboxed_kernel_talks_over_unix_sockets_it_removes(tmp_path, monkeypatch):
    # TCP ports picked as "free" by two processes at once can be the same port: tests and
    # graders running side by side must not depend on luck.
    sockets = tmp_path / "tmp"
    sockets.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sockets))
    code = (
        "import json, pathlib\n"
        "from ipykernel.connect import get_connection_file\n"
        "info = json.loads(pathlib.Path(get_connection_file()).read_text())\n"
        "print(info['transport'], info['ip'])"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    run = run_notebook(notebook, tmp_path, Limits(memory_bytes=None))
    assert not run.problems
    transport, address = run.notebook.cells[0].outputs[0].text.split()
    assert transport == "ipc", f"the kernel talked over {transport} at {address}"
    assert Path(address).parent.parent == sockets and Path(address).parent.name.startswith(
        "kernel-"
    )
    assert not list(sockets.iterdir()), "the sockets' folder is left behind"
