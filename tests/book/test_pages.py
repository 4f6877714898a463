"""What the built pages must hold, read from their HTML (the browser test opens them)."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import yaml

from tests.book.pages import HTML, Anatomy, is_frame_demo, read, widget_states
from tools.book_paths import ROOT
from tools.notebooks import repository_url

STATE_BUDGET_BYTES = 300_000  # of widget state per demo (frames dominate)
PROGRESS_TEXT = re.compile(r"\d+%\|[^|\n]*\||\d+(\.\d+)?\s*it/s\]")


def test_every_internal_link_and_file_resolves(pages):
    """Links between pages and their anchors, and every script, style and image a page
    loads: a missing file here is a blank widget or raw LaTeX for the reader."""
    anatomies = {(HTML / page).resolve(): Anatomy(read(page)) for page in pages}
    broken = []
    for page in pages:
        here = (HTML / page).resolve()
        for tag, address in anatomies[here].references:
            parts = urlsplit(address)
            if parts.scheme or parts.netloc or address == "#":
                continue  # another site (the browser test makes sure none is loaded)
            target = (here.parent / unquote(parts.path)).resolve() if parts.path else here
            if not target.exists():
                broken.append(f"{page}: <{tag}> {address}: no such file")
            elif parts.fragment and target.suffix == ".html":
                if target not in anatomies:
                    anatomies[target] = Anatomy(target.read_text(encoding="utf-8"))
                if unquote(parts.fragment) not in anatomies[target].ids:
                    broken.append(f"{page}: <{tag}> {address}: no such anchor")
    assert not broken, "\n".join(broken)


def test_every_notebook_page_opens_in_colab_and_downloads(pages):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = repository_url(ROOT).removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    notebooks = [
        page for page in pages if (HTML / "_sources" / page).with_suffix(".ipynb").exists()
    ]
    assert notebooks, "no page of the book was built from a notebook"
    missing = []
    for page in notebooks:
        html = read(page)
        notebook = PurePosixPath(page).with_suffix(".ipynb").as_posix()
        colab = f"https://colab.research.google.com/github/{repository}/blob/{branch}/{notebook}"
        if f'href="{colab}"' not in html:
            missing.append(f"{page}: no Colab button for {colab}")
        download = re.search(r'href="([^"]+\.ipynb)"[^>]*btn-download-source-button', html)
        if download is None or not (HTML / page).parent.joinpath(download.group(1)).is_file():
            missing.append(f"{page}: no button to download the notebook")
    assert not missing, "\n".join(missing)


def test_no_progress_bar_is_left_in_the_pages(pages):
    """Training loops show progress in a live notebook, not in the book."""
    left = []
    for page in pages:
        html = read(page)
        models, _ = widget_states(html)
        if any(
            model["model_name"] in ("FloatProgressModel", "IntProgressModel")
            for model in models.values()
        ):
            left.append(f"{page}: a progress bar widget")
        for match in PROGRESS_TEXT.finditer(re.sub(r"<[^>]+>", "", html)):
            left.append(f"{page}: progress bar text {match.group(0)!r}")
    assert not left, "\n".join(left)


def embedded_bytes(models: dict, root: str) -> int:
    """Bytes of the models a view needs: those it refers to, and the links between them."""

    def references(model_id):
        return set(re.findall(r"IPY_MODEL_(\w+)", json.dumps(models[model_id]["state"])))

    reached, pending = set(), [root]
    while pending:
        model_id = pending.pop()
        if model_id in models and model_id not in reached:
            reached.add(model_id)
            pending += references(model_id)
    reached |= {
        model_id
        for model_id, model in models.items()
        if model["model_name"] == "LinkModel" and references(model_id) <= reached
    }
    return sum(len(json.dumps(models[model_id])) for model_id in reached)


def test_every_demo_embeds_less_than_its_budget_of_state(pages, capsys):
    sizes = []
    for page in pages:
        models, views = widget_states(read(page))
        for number, root in enumerate(views, start=1):
            kind = "demo" if is_frame_demo(models.get(root, {})) else "widget"
            sizes.append((page, f"{kind} {number}", embedded_bytes(models, root)))
    with capsys.disabled():
        print(f"\nwidget state each view embeds (budget {STATE_BUDGET_BYTES // 1000} KB a demo):")
        for page, label, size in sizes:
            print(f"{size / 1000:8.1f} KB  {page}, {label}")
    assert any(label.startswith("demo") for _, label, _ in sizes), "the book shows no demo"
    too_big = [
        f"{page}, {label}: {size / 1000:.0f} KB"
        for page, label, size in sizes
        if size > STATE_BUDGET_BYTES
    ]
    assert not too_big, (
        "over budget (use fewer values, a smaller figure, a lower dpi or "
        "fewer colours in frame_demo): " + "; ".join(too_big)
    )
