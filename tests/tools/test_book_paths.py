"""The build's paths and time limit, said once in tools/book_paths.py."""

import yaml

from tools.book_paths import (
    BUILD,
    NOTEBOOK_BAR_SECONDS,
    NOTEBOOK_LIMIT_SECONDS,
    ROOT,
    TEST_BOOK_BUILD,
    TEST_BOOK_OUTPUT,
)


def test_the_book_build_stops_a_cell_at_the_notebook_limit():
    # _config.yml cannot import the constant, so it repeats it.
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["timeout"] == NOTEBOOK_LIMIT_SECONDS


def test_the_limit_leaves_room_above_the_bar():
    assert 0 < NOTEBOOK_BAR_SECONDS < NOTEBOOK_LIMIT_SECONDS


def test_every_build_folder_is_inside_the_ignored_build_folder():
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "_config.yml").is_file()
    assert "_build/" in (ROOT / ".gitignore").read_text().split()
    assert TEST_BOOK_BUILD.parent == TEST_BOOK_OUTPUT and TEST_BOOK_OUTPUT.parent == BUILD
