"""Running a notebook with limits: problems are noted, never raised."""

import nbformat

from attention_course.grading.gradebook import TIME_LIMIT
from attention_course.grading.runner import Limits, run_notebook


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
