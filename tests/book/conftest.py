"""Tests of the book built by `make test` (they run after the build, see the Makefile)."""

from pathlib import Path

import pytest

from tests.helpers import ROOT

TEST_BOOK = ROOT / "_build" / "test-book" / "_build"
METRICS = ROOT / "_build" / "metrics"


@pytest.fixture(scope="session")
def built_book() -> Path:
    html = TEST_BOOK / "html"
    if not (html / "index.html").exists():
        pytest.fail("no built book: `make test` builds it before these tests run")
    return TEST_BOOK


@pytest.fixture(scope="session")
def pages(built_book) -> list[str]:
    """Every page of the built book (found in the build, so new chapters are covered)."""
    from tests.book.pages import book_pages  # here, as pages.py imports this module

    found = book_pages()
    assert "intro.html" in found and any(page.startswith("chapters/") for page in found)
    return found
