"""make profile: a notebook's cells timed in a fresh kernel, medians over runs."""

import nbformat
import pytest

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


def test_a_notebook_that_raises_is_named_in_one_line_and_the_others_still_run(
    tmp_path, monkeypatch, capsys
):
    broken, fine = tmp_path / "broken.ipynb", tmp_path / "fine.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("read_pictures()  # a missing package, say"),
            ]
        ),
        broken,
    )
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("y = 2")]), fine)
    monkeypatch.setattr(profile, "OUT", tmp_path / "profile.json")
    assert profile.main([str(broken), str(fine), "--runs", "1"]) == 1
    printed = capsys.readouterr().out
    assert (
        f"{broken}: FAILED, not profiled: code cell 1 (read_pictures()  # a missing "
        "package, say) raised NameError: name 'read_pictures' is not defined"
    ) in printed
    assert f"{fine}: " in printed and "Traceback" not in printed
    assert "1 notebook(s) raised" in printed


def test_a_path_that_is_no_notebook_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        profile.main([str(tmp_path / "chapter_10.ipynb")])
    assert stopped.value.code == 2
    assert "no such notebook" in capsys.readouterr().err
