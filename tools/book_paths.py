"""Where the builds put their files, which notebooks they run, and how long a notebook may
run: said once, here.

The Makefile's test targets, the tools that run notebooks (:mod:`tools.run_notebooks`,
:mod:`tools.notebook_timing`, :mod:`tools.execute_book`, :mod:`tools.profile`,
:mod:`tools.colab`) and the tests of the built book (``tests/book/``) read these.
``_config.yml`` cannot import Python, so it repeats :data:`NOTEBOOK_LIMIT_SECONDS` as its
cell timeout, and a test checks that the two agree.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
BUILD = ROOT / "_build"  # everything built; `make book` writes the reader's book to html/

# `make test` builds a second book from scratch, with `jupyter-book build --path-output
# TEST_BOOK_OUTPUT`; jupyter-book writes its own _build folder inside that one.
TEST_BOOK_OUTPUT = BUILD / "test-book"
TEST_BOOK_BUILD = TEST_BOOK_OUTPUT / "_build"  # html/ and the execution cache
TEST_BOOK_HTML = TEST_BOOK_BUILD / "html"

# The metrics each execution of the notebooks records (METRICS / "nbval", METRICS / "book"),
# and the nbval run's time per notebook.
METRICS = BUILD / "metrics"
NBVAL_SECONDS = METRICS / "nbval-seconds.json"
SCREENSHOTS = BUILD / "screenshots"  # one per page of the test book, by the browser test

# A chapter or solution should run in NOTEBOOK_BAR_SECONDS on 2 cores (the book's bar);
# past NOTEBOOK_LIMIT_SECONDS the tests fail it (room for a slow machine), and so does the
# book build for a single cell.
NOTEBOOK_BAR_SECONDS = 60
NOTEBOOK_LIMIT_SECONDS = 120


def book_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks the book executes: every chapter and solution (labs are shown as is)."""
    return sorted((root / "chapters").glob("*.ipynb")) + sorted(
        (root / "solutions").glob("*.ipynb")
    )
