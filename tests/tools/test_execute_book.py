"""make book: notebooks run side by side into jupyter-book's execution cache first."""

import nbformat
import pytest
from jupyter_cache import get_cache

from tools import execute_book


def _notebook(path, *sources):
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_notebooks_run_side_by_side_into_the_cache_the_build_reads(tmp_path):
    good = _notebook(tmp_path / "good.ipynb", "import os\nprint(os.getcwd())")
    other = _notebook(tmp_path / "other.ipynb", "print(6 * 7)")
    broken = _notebook(tmp_path / "broken.ipynb", "raise ValueError('on purpose')")
    cache_path = tmp_path / "cache"
    failed = execute_book.execute([good, other, broken], cache_path, timeout=60, workers=2)
    assert failed == [broken]  # left out of the cache: the build runs it and shows the error
    cache = get_cache(str(cache_path))
    with pytest.raises(KeyError):  # no cached run of the broken notebook
        cache.match_cache_notebook(nbformat.read(broken, as_version=4))
    record = cache.match_cache_notebook(nbformat.read(good, as_version=4))
    assert record.data["execution_seconds"] > 0  # the build's statistics page shows it
    _, executed = cache.merge_match_into_notebook(nbformat.read(good, as_version=4))
    assert executed.cells[0].outputs[0]["text"].strip() == str(tmp_path)  # its own folder
    _, executed = cache.merge_match_into_notebook(nbformat.read(other, as_version=4))
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    # A second run finds both in the cache and executes nothing.
    assert execute_book.execute([good, other], cache_path, timeout=60, workers=2) == []
    assert cache.match_cache_notebook(nbformat.read(good, as_version=4)).pk == record.pk
