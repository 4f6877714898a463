"""Give each figure of the book the text alternative its notebook wrote for it.

A notebook that uses the book's style (``attention_course.plotting.use_book_style``) shows
each figure with its description in the output's metadata, ``{"image/png": {"alt": ...}}``.
myst-nb copies only width and height from there, so the image in the page would have no
``alt``: this extension puts it back. It reads the executed notebook that myst-nb writes to
its output folder, matches each image by its content (myst-nb names image files by the
SHA-256 of their bytes), and sets ``alt`` on images that have none (a cell's own
``mystnb: image: alt`` wins).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform


def _descriptions(notebook_path: Path) -> dict[str, str]:
    """SHA-256 of each PNG output of the notebook -> its alt text."""
    if not notebook_path.is_file():
        return {}
    found = {}
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            alt = output.get("metadata", {}).get("image/png", {}).get("alt")
            png = output.get("data", {}).get("image/png")
            if alt and png:
                found[hashlib.sha256(base64.b64decode(png)).hexdigest()] = alt
    return found


class FigureAlt(SphinxPostTransform):
    default_priority = 100

    def run(self, **kwargs) -> None:
        images = [node for node in self.document.findall(nodes.image) if not node.get("alt")]
        if not images:
            return
        folder = Path(self.env.mystnb_config.output_folder)
        described = _descriptions(folder / (self.env.docname + ".ipynb"))
        for image in images:
            digest = Path(image["uri"]).stem
            if digest in described:
                image["alt"] = described[digest]


def setup(app: Sphinx) -> dict:
    app.add_post_transform(FigureAlt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
