"""Reading the pages of the book that `make test` builds (see tools/book_paths.py)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from tools.book_paths import TEST_BOOK_HTML as HTML

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
