"""Reading the book that `make test` builds (see tools/book_paths.py): its pages, the
seconds each notebook ran in its execution cache, and what the browser test found."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tools.book_paths import ROOT, SCREENSHOTS, TEST_BOOK_BUILD
from tools.book_paths import TEST_BOOK_HTML as HTML

# axe-core's impacts of an accessibility finding, most severe first.
IMPACTS = ("critical", "serious", "moderate", "minor")
STATE_SCRIPT = re.compile(
    r'(<script type="application/vnd.jupyter.widget-state\+json">)(.*?)(</script>)', re.S
)
VIEW_SCRIPT = re.compile(
    r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', re.S
)


def book_pages() -> list[str]:
    """Every HTML page of the build, relative to its root (not _static/ or _sources/)."""
    return sorted(
        path.relative_to(HTML).as_posix()
        for path in HTML.rglob("*.html")
        if not path.relative_to(HTML).parts[0].startswith("_")
    )


def book_build_seconds() -> dict[str, float]:
    """Seconds each notebook ran in the book build, by path ("chapters/01_....ipynb")."""
    from jupyter_cache import get_cache  # jupyter-book's own cache of executed notebooks

    records = get_cache(TEST_BOOK_BUILD / ".jupyter_cache").list_cache_records()
    return {
        record.uri.split(str(ROOT) + "/", 1)[-1]: record.data["execution_seconds"]
        for record in records
    }


def page_record(page_path: str) -> Path:
    """Where the browser test keeps what it found on a page (its screenshot beside it, .jpg)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / (page_path.replace("/", "__") + ".json")


def read(page_path: str) -> str:
    return (HTML / page_path).read_text(encoding="utf-8")


def redirect_target(html: str) -> str | None:
    """Where a page that only redirects (the build's index.html) sends the reader."""
    match = re.search(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', html)
    return match.group(1) if match else None


def widget_states(html: str) -> tuple[dict, list[str]]:
    """The widget models a page embeds, and the model shown by each view, in page order."""
    state = STATE_SCRIPT.search(html)
    models = json.loads(state.group(2))["state"] if state else {}
    return models, [json.loads(view)["model_id"] for view in VIEW_SCRIPT.findall(html)]


def is_frame_demo(model: dict) -> bool:
    """Whether a widget model is the box `attention_course.demos.frame_demo` returns."""
    return "frame-demo" in model.get("state", {}).get("_dom_classes", [])


class Anatomy(HTMLParser):
    """What a page refers to (links, scripts, styles, images) and the ids it defines."""

    REFERENCES = {"a": "href", "link": "href", "script": "src", "img": "src"}

    def __init__(self, html: str):
        super().__init__()
        self.references: list[tuple[str, str]] = []  # (tag, address)
        self.ids: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        address = attributes.get(self.REFERENCES.get(tag, ""))
        if address:
            self.references.append((tag, address))
