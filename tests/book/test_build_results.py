"""What the two executions of every notebook (nbval, then the book build) must agree on."""

import json
import re

import pytest

from attention_course.reporting import format_metric
from tests.book.pages import book_build_seconds, read
from tools.book_paths import METRICS, NOTEBOOK_LIMIT_SECONDS, ROOT

CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


def recorded(run):
    return {path.stem: json.loads(path.read_text()) for path in (METRICS / run).glob("*.json")}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_reports_the_metrics_it_asserts(chapter):
    assert chapter in recorded("nbval"), (
        f"{chapter} called no report_metrics(...): every chapter reports the numbers its "
        "quality bars are asserted on"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_statistics_page_shows_each_chapters_run_time_and_metrics(chapter):
    page = read("execution_statistics.html")
    table = page[page.index("<table") : page.index("</table>")]
    row = table[table.index(f'href="chapters/{chapter}.html"') :]
    row = row[: row.index("</tr>")]
    assert re.search(r"<td><p>\d+</p></td>", row), "no run time in the row"
    row = re.sub(r"<[^>]+>", "", row)  # the text a reader sees
    for name, value in recorded("book")[chapter].items():
        shown = f"{name} = {format_metric(value)}"
        assert shown in row, f"{shown} is missing from the statistics page"


def test_two_runs_print_the_same_metrics():
    first, second = recorded("nbval"), recorded("book")
    assert first, "the nbval run recorded no metrics"
    assert first == second


def test_every_notebook_ran_within_the_time_limit(built_book):
    seconds = book_build_seconds()  # printed at the end of the run (conftest.py)
    expected = {
        f"{folder}/{p.name}"
        for folder in ("chapters", "solutions")
        for p in (ROOT / folder).glob("*.ipynb")
    }
    assert set(seconds) == expected
    assert all(value <= NOTEBOOK_LIMIT_SECONDS for value in seconds.values()), seconds
