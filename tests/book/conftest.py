"""Tests of the book built by `make test` (they run after the build, see the Makefile)."""

from pathlib import Path

import pytest

from tests.book.pages import book_pages
from tools.book_paths import TEST_BOOK_BUILD, TEST_BOOK_HTML


@pytest.fixture(scope="session")
def built_book() -> Path:
    if not (TEST_BOOK_HTML / "index.html").exists():
        pytest.fail("no built book: `make test` builds it before these tests run")
    return TEST_BOOK_BUILD


@pytest.fixture(scope="session")
def pages(built_book) -> list[str]:
    """Every page of the built book (found in the build, so new chapters are covered)."""
    found = book_pages()
    assert "intro.html" in found and any(page.startswith("chapters/") for page in found)
    return found
