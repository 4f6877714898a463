"""Print a notebook's headline metrics and, during tests, record them for comparison.

The test suite executes every notebook twice (once under nbval, once in the book
build) with ``ATTENTION_COURSE_METRICS_DIR`` pointing at a different folder each time,
then asserts the two runs recorded identical metrics: the determinism bar.

In the book build (``ATTENTION_COURSE_BOOK`` set, by the Makefile), each metric is also
handed to the book as hidden myst-nb "glue" data under the key ``metric:<name>``; the
book's execution statistics page lists them (``book_assets/execution_statistics.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

METRICS_DIR_VARIABLE = "ATTENTION_COURSE_METRICS_DIR"
BOOK_VARIABLE = "ATTENTION_COURSE_BOOK"
METRIC_KEY_PREFIX = "metric:"
# What myst-nb's glue() puts before a hidden output's MIME types.
GLUE_PREFIX = "application/papermill.record/"


def report_metrics(notebook: str, **metrics: float) -> None:
    """Print ``name = value`` lines; also merge them into ``<dir>/<notebook>.json`` when asked."""
    metrics = {name: _plain(value) for name, value in metrics.items()}
    width = max(map(len, metrics))
    for name, value in metrics.items():
        print(f"{name:<{width}} = {format_metric(value)}")
    if os.environ.get(BOOK_VARIABLE):
        _glue_for_the_book(metrics)
    folder = os.environ.get(METRICS_DIR_VARIABLE)
    if folder:
        path = Path(folder) / f"{notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        recorded = json.loads(path.read_text()) if path.exists() else {}
        recorded.update(metrics)
        path.write_text(json.dumps(recorded, indent=1, sort_keys=True))


def format_metric(value) -> str:
    """How a metric is printed, and shown on the execution statistics page."""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _glue_for_the_book(metrics: dict) -> None:
    # The output myst-nb's glue(name, value, display=False) makes, without importing
    # myst-nb (a notebook in Colab does not have it): the page never shows it.
    from IPython.display import display

    for name, value in metrics.items():
        key = METRIC_KEY_PREFIX + name
        display(
            {GLUE_PREFIX + "text/plain": format_metric(value)},
            raw=True,
            metadata={"scrapbook": {"name": key, "mime_prefix": GLUE_PREFIX}},
        )


def _plain(value):
    if hasattr(value, "item"):  # NumPy or torch scalars
        value = value.item()
    return value
