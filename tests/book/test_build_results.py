"""What the two executions of every notebook (nbval, then the book build) must agree on."""

import json

import pytest
from jupyter_cache import get_cache

from tools.book_paths import METRICS, NOTEBOOK_BAR_SECONDS, NOTEBOOK_LIMIT_SECONDS, ROOT

CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


def recorded(run):
    return {path.stem: json.loads(path.read_text()) for path in (METRICS / run).glob("*.json")}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_reports_the_metrics_it_asserts(chapter):
    assert chapter in recorded("nbval"), (
        f"{chapter} called no report_metrics(...): every chapter reports the numbers its "
        "quality bars are asserted on"
    )


def test_two_runs_print_the_same_metrics():
    first, second = recorded("nbval"), recorded("book")
    assert first, "the nbval run recorded no metrics"
    assert first == second


def test_every_notebook_ran_within_the_time_limit(built_book, capsys):
    records = get_cache(built_book / ".jupyter_cache").list_cache_records()
    seconds = {
        record.uri.split(str(ROOT) + "/", 1)[-1]: record.data["execution_seconds"]
        for record in records
    }
    expected = {
        f"{folder}/{p.name}"
        for folder in ("chapters", "solutions")
        for p in (ROOT / folder).glob("*.ipynb")
    }
    assert set(seconds) == expected
    with capsys.disabled():
        print(
            f"\nexecution time in the book build (bar {NOTEBOOK_BAR_SECONDS} s, "
            f"limit {NOTEBOOK_LIMIT_SECONDS} s)"
        )
        for name, value in sorted(seconds.items()):
            print(f"{value:7.1f} s  {name}")
        print(f"{sum(seconds.values()):7.1f} s  in all")
    assert all(value <= NOTEBOOK_LIMIT_SECONDS for value in seconds.values()), seconds
