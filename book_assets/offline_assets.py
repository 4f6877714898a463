"""Serve MathJax and the widget manager from the book itself, so that it works offline.

By default the pages load MathJax and ``@jupyter-widgets/html-manager`` from CDNs: with
no network a reader sees raw LaTeX and blank widgets. ``make assets`` installs the
versions pinned in ``package.json`` / ``package-lock.json`` from npm into
``book_assets/node_modules`` (git-ignored: third-party code is never committed). This
Sphinx extension (listed in ``_config.yml``) points the pages at local copies and, after
each HTML build, copies the files they load into ``_static/vendor/`` of the built book.

The files are copied after the build instead of being put on ``html_static_path``
because jupyter-book adds every ``.js`` file found on a static path to every page: every
MathJax component would load everywhere and the widgets would render twice.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
MATHJAX = NODE_MODULES / "mathjax"
HTML_MANAGER = NODE_MODULES / "@jupyter-widgets" / "html-manager"

# Where the files go, relative to the built book's _static/.
VENDOR = "vendor"
MATHJAX_ENTRY = "tex-mml-chtml.js"  # the bundle Sphinx loads from its CDN by default
# embed.js renders the standard widgets without RequireJS (embed-amd.js needs it only
# to fetch third-party widget modules from a CDN), and it finds its Font Awesome files
# next to itself; embed-amd.js looks for them next to the page, where they are not.
WIDGETS_ENTRY = "embed.js"
# Ours: lets the widget manager's MathJax 2 call work with MathJax 3 (see the file).
WIDGETS_MATHJAX3 = "widgets_mathjax3.js"
# Ours, on every page: names for the demos' sliders and the theme's buttons (see the file).
ACCESSIBILITY = "accessibility.js"
# Ours, on every page: code that fits the column, and a print stylesheet (see the file).
BOOK_CSS = "book.css"


def _check_installed(app: Sphinx, config: Config) -> None:
    needed = [MATHJAX / "es5" / MATHJAX_ENTRY, HTML_MANAGER / "dist" / WIDGETS_ENTRY]
    missing = [str(path.relative_to(HERE.parent)) for path in needed if not path.is_file()]
    if missing:
        raise ConfigError(
            f"The book's offline assets are not installed (missing {', '.join(missing)}). "
            "Run `make assets` (it runs `npm ci` in book_assets/; node and npm are needed)."
        )
    # Sphinx resolves relative script paths against _static/.
    config.mathjax_path = f"{VENDOR}/mathjax/{MATHJAX_ENTRY}"
    # myst-nb adds these scripts, in this order, to the pages that embed widget state.
    config.nb_ipywidgets_js = {WIDGETS_MATHJAX3: {}, f"{VENDOR}/html-manager/{WIDGETS_ENTRY}": {}}


def _copy_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    shutil.copy2(HERE / WIDGETS_MATHJAX3, static / WIDGETS_MATHJAX3)
    shutil.copy2(HERE / ACCESSIBILITY, static / ACCESSIBILITY)
    shutil.copy2(HERE / BOOK_CSS, static / BOOK_CSS)
    vendor = static / VENDOR
    # MathJax loads fonts and the TeX extensions a formula needs (autoload) relative to
    # its entry script: keep the es5 tree, minus the combined bundles the book does not use.
    es5 = MATHJAX / "es5"
    unused_bundles = {path.name for path in es5.glob("*.js")} - {MATHJAX_ENTRY}

    def unused(folder, names):
        return unused_bundles.intersection(names) if Path(folder) == es5 else set()

    shutil.copytree(es5, vendor / "mathjax", ignore=unused, dirs_exist_ok=True)
    shutil.copy2(MATHJAX / "LICENSE", vendor / "mathjax" / "LICENSE")
    widgets = vendor / "html-manager"
    widgets.mkdir(parents=True, exist_ok=True)
    dist = HTML_MANAGER / "dist"
    # The entry script, the licences of what it bundles, and the Font Awesome files its
    # stylesheet names (browsers take the woff2 or woff of each).
    for path in [
        dist / WIDGETS_ENTRY,
        dist / f"{WIDGETS_ENTRY}.LICENSE.txt",
        *dist.glob("*.woff2"),
        *dist.glob("*.woff"),
    ]:
        shutil.copy2(path, widgets / path.name)


def setup(app: Sphinx) -> dict:
    # After myst-nb and sphinx.ext.mathjax have registered their settings.
    app.connect("config-inited", _check_installed, priority=900)
    app.connect("build-finished", _copy_assets)
    app.add_js_file(ACCESSIBILITY, defer="defer")
    app.add_css_file(BOOK_CSS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
