"""Print a notebook's headline metrics and, during tests, record them for comparison.

The test suite executes every notebook twice (once under nbval, once in the book
build) with ``ATTENTION_COURSE_METRICS_DIR`` pointing at a different folder each time,
then asserts the two runs recorded identical metrics: the determinism bar.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

METRICS_DIR_VARIABLE = "ATTENTION_COURSE_METRICS_DIR"


def report_metrics(notebook: str, **metrics: float) -> None:
    """Print ``name = value`` lines; also merge them into ``<dir>/<notebook>.json`` when asked."""
    metrics = {name: _plain(value) for name, value in metrics.items()}
    width = max(map(len, metrics))
    for name, value in metrics.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{name:<{width}} = {shown}")
    folder = os.environ.get(METRICS_DIR_VARIABLE)
    if folder:
        path = Path(folder) / f"{notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        recorded = json.loads(path.read_text()) if path.exists() else {}
        recorded.update(metrics)
        path.write_text(json.dumps(recorded, indent=1, sort_keys=True))


def _plain(value):
    if hasattr(value, "item"):  # NumPy or torch scalars
        value = value.item()
    return value
