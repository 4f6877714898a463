"""Conventions every notebook of the book keeps."""

import nbformat
import pytest

from attention_course.notebook_format import NOTEBOOK_FOLDERS, is_setup_cell
from tools import notebooks
from tools.book_paths import ROOT

ALL = sorted(p for folder in NOTEBOOK_FOLDERS for p in (ROOT / folder).glob("*.ipynb"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT)))
def test_first_cell_installs_the_package_in_colab(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert is_setup_cell(first)
    assert first.source == notebooks.setup_cell(ROOT, path).source


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_without_outputs(path):
    cells = nbformat.read(path, as_version=4).cells
    assert not [i for i, c in enumerate(cells) if c.cell_type == "code" and c.outputs]


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT)))
def test_listed_in_the_table_of_contents(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"file: {path.parent.name}/{path.stem}\n" in toc


def test_chapters_labs_and_solutions_pair_up():
    def stems(folder):
        return {p.stem for p in (ROOT / folder).glob("*.ipynb")}

    assert stems("solutions") == stems("labs")
    assert stems("solutions") <= stems("chapters")


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.name)
def test_chapters_run_torch_on_one_thread(path):
    # The same numbers on every machine whatever its cores (the order of a sum split over
    # threads changes its last bits), and the small models here are no slower for it.
    code = "\n".join(
        c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
    )
    assert "torch.set_num_threads(1)" in code


def _title(path) -> str:
    first_markdown = next(
        c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"
    )
    return first_markdown.source.splitlines()[0].lstrip("# ").split(": ", 1)[-1]


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_the_preface_names_each_lab_by_its_title(path):
    # The preface's table of chapters and labs links each lab under the title it has.
    assert f"[{_title(path)}](labs/{path.name})" in (ROOT / "intro.md").read_text()
