"""make profile: a notebook's cells timed in a fresh kernel, medians over runs."""

import nbformat

from tools import profile


def test_a_profile_times_every_code_cell_and_names_the_slowest(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A notebook"),
            nbformat.v4.new_code_cell("# set-up\nx = 1"),
            nbformat.v4.new_code_cell("import time\ntime.sleep(0.3)"),
        ]
    )
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    result = profile.profile(path, runs=1)
    assert [cell["index"] for cell in result["cells"]] == [0, 1]
    assert result["cells"][1]["seconds"] >= 0.3 > result["cells"][0]["seconds"]
    assert result["cells"][0]["first_line"] == "x = 1"  # comments are skipped
    text = profile.report("tiny.ipynb", result, top=1)
    assert "code cell  1: import time" in text and "x = 1" not in text
