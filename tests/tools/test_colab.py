"""Colab's runtime as stored (colab/runtime.txt) against what the package asks for.

`make colab` proves the whole thing in a Python 3.13 environment (pip's report, every
notebook run there); these tests are its fast part, run by `make test`: a dependency floor
raised above Colab's version fails here first.
"""

import pytest
import tomllib
from packaging.requirements import Requirement

from tools import colab
from tools.book_paths import ROOT

PYTHON, RUNTIME = colab.read_runtime()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_runtime_names_colabs_python_and_its_widget_generation():
    assert PYTHON.startswith("3.")
    assert RUNTIME["ipywidgets"].startswith("7."), "Colab's front end speaks ipywidgets 7"
    assert {"torch", "numpy", "ipykernel", "jupyter-client"} <= set(RUNTIME)


@pytest.mark.parametrize("requirement", PROJECT["dependencies"], ids=lambda r: Requirement(r).name)
def test_every_dependency_accepts_the_version_colab_has(requirement):
    wanted = Requirement(requirement)
    have = RUNTIME.get(colab.canonical_name(wanted.name))
    if have is None:
        pytest.skip(f"{wanted.name} is not in Colab's runtime: the set-up cell installs it")
    assert wanted.specifier.contains(have, prereleases=True), (
        f"{requirement} would upgrade Colab's {wanted.name} {have}: lower the floor"
    )


def test_what_only_the_grader_needs_is_an_extra():
    grader_only = {"nbclient", "nbformat", "ipykernel", "jupyter-client"}
    names = {colab.canonical_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    assert not names & grader_only
    extra = {
        colab.canonical_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["grade"]
    }
    assert {"nbclient", "nbformat", "ipykernel"} <= extra
