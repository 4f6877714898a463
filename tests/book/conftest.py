"""Tests of the book built by `make test` (they run after the build, see the Makefile)."""

import json
from pathlib import Path

import pytest

from tests.book.pages import IMPACTS, book_build_seconds, book_pages, page_record
from tools.book_paths import (
    NOTEBOOK_BAR_SECONDS,
    NOTEBOOK_LIMIT_SECONDS,
    ROOT,
    SCREENSHOTS,
    TEST_BOOK_BUILD,
    TEST_BOOK_HTML,
)


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


def pytest_terminal_summary(terminalreporter, config):
    """After the tests (on every core, so no test can print), what the build cost: each
    notebook's run time in the book build, and the browser test's time and accessibility
    findings page by page."""
    if hasattr(config, "workerinput") or not (TEST_BOOK_BUILD / ".jupyter_cache").exists():
        return  # a worker of the parallel run, or no build to report on
    write = terminalreporter.write_line
    seconds = book_build_seconds()
    write(
        f"execution time in the book build (bar {NOTEBOOK_BAR_SECONDS} s, "
        f"limit {NOTEBOOK_LIMIT_SECONDS} s)"
    )
    for name, value in sorted(seconds.items()):
        write(f"{value:7.1f} s  {name}")
    write(f"{sum(seconds.values()):7.1f} s  in all")
    records = [page_record(page) for page in book_pages()]
    found = [json.loads(record.read_text()) for record in records if record.exists()]
    if not found:
        return
    slowest = max(found, key=lambda record: record["seconds"])
    write(
        f"browser check: {len(found)} pages in {sum(r['seconds'] for r in found):.1f} s "
        f"(slowest {slowest['page']}: {slowest['seconds']:.1f} s); screenshots in "
        f"{SCREENSHOTS.relative_to(ROOT)}/"
    )
    write("accessibility audit (axe-core), findings by impact:")
    write(f"  {'page':<48}" + "".join(f"{impact:>10}" for impact in IMPACTS))
    for record in found:
        counts = record["audit"]
        write(f"  {record['page']:<48}" + "".join(f"{counts.get(i, 0):>10}" for i in IMPACTS))
