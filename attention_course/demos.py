"""Widget demos that stay interactive in the static HTML book.

A demo is a function of one or two parameters that draws a matplotlib figure.
:func:`frame_demo` draws it once for every parameter value, keeps the frames as small
PNG images, one page each in an ``ipywidgets.Tab`` whose tab bar is hidden, and links
each control's ``index`` to the pages' ``selected_index`` on the JavaScript side
(``jslink``). Moving a control then switches frames in the browser, with or without a
running kernel: live in Jupyter or Colab, and in the HTML book where there is no kernel.

Why a Tab and not a ``Stack``: a Stack view keeps only the selected frame in the page and
builds a new view at every move, so a fast drag or key repeat threw errors
(``processLuminoMessage``) while views were torn down, and the page jumped while each new
image decoded. A Tab builds every frame once and only shows one.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
from ipywidgets.embed import dependency_state
from PIL import Image

from .plotting import describe_figure

# One Layout shared by every frame: each widget a notebook creates is embedded in the
# page, and a Layout per frame would add about 1 KB each.
_FRAME_LAYOUT = widgets.Layout(width="auto")

# The pages are a Tab used without its tab bar (the controls choose the page). The rule
# travels with every demo, so it applies in Jupyter and Colab as well as in the book.
_PAGES_CLASS = "frame-demo-pages"
# (.p-TabBar is the tab bar of ipywidgets 7 front ends.)
_HIDE_TAB_BAR = widgets.HTML(
    "<style>"
    f".jupyter-widgets.widget-tab.{_PAGES_CLASS} > .lm-TabBar,"
    f".jupyter-widgets.widget-tab.{_PAGES_CLASS} > .p-TabBar {{display: none;}}"
    f".jupyter-widgets.widget-tab.{_PAGES_CLASS} > .widget-tab-contents "
    "{border: none; padding: 0;}"
    "</style>"
)


class FrameDemo(widgets.VBox):
    """What :func:`frame_demo` returns: the controls, then the pages of frames.

    A notebook viewer without widgets (GitHub, nbviewer) shows the frame the controls
    start on, as a PNG, instead of the widget's one-line text summary.
    """

    def __init__(self, children, links, static_frame: bytes):
        super().__init__(children)
        self.add_class("frame-demo")  # what the book's browser test looks for
        self.links = links  # for tests and for readers who want to see the wiring
        self._static_frame = static_frame

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self._static_frame).decode("ascii")
        return bundle


def frame_demo(
    draw: Callable[..., plt.Figure],
    *,
    dpi: int = 72,
    colors: int = 32,
    default: dict | None = None,
    **parameters: Sequence,
) -> FrameDemo:
    """Pre-render ``draw(**values)`` for every combination of one or two parameters.

    ``parameters`` maps each keyword of ``draw`` to the values it may take, e.g.
    ``frame_demo(draw, steps=[10, 20, 40])``. Numbers get a slider, text a menu.
    ``default`` picks the values shown first (otherwise the first of each).
    At the default 72 dpi a frame is 0.72 times the size of the book's other figures
    (drawn at ``BOOK_STYLE["savefig.dpi"]``, 100): every frame is embedded in the page,
    and 100 dpi costs about 1.4 times the bytes. A demo with few frames can afford
    ``dpi=100``; fewer ``colors`` also make frames lighter, at the cost of smooth shades.
    """
    if not 1 <= len(parameters) <= 2:
        raise ValueError(
            "frame_demo takes one or two parameters, "
            f"got {len(parameters)}: {', '.join(parameters) or 'none'}"
        )
    names = list(parameters)
    value_lists = [list(parameters[name]) for name in names]
    for name, values in zip(names, value_lists):
        if not values:
            raise ValueError(f"parameter {name!r} has no values")
    default = default or {}
    unknown = set(default) - set(names)
    if unknown:
        raise ValueError(f"default names unknown parameters: {', '.join(sorted(unknown))}")
    start = [
        values.index(default[name]) if name in default else 0
        for name, values in zip(names, value_lists)
    ]

    frames, descriptions = {}, {}
    for combination in itertools.product(*value_lists):
        frames[combination], descriptions[combination] = _render(
            draw, dict(zip(names, combination)), dpi, colors
        )
    controls = [
        _control(name, values, index) for name, values, index in zip(names, value_lists, start)
    ]

    if len(names) == 1:
        pages = _pages(
            [frames[(value,)] for value in value_lists[0]],
            start[0],
            [descriptions[(value,)] for value in value_lists[0]],
        )
        # The control comes first: the first end of a jslink pushes its value on load.
        links = [widgets.jslink((controls[0], "index"), (pages, "selected_index"))]
    else:
        inner_pages = [
            _pages(
                [frames[(outer, inner)] for inner in value_lists[1]],
                start[1],
                [descriptions[(outer, inner)] for inner in value_lists[1]],
            )
            for outer in value_lists[0]
        ]
        pages = _pages(inner_pages, start[0], [_label(outer) for outer in value_lists[0]])
        links = [widgets.jslink((controls[0], "index"), (pages, "selected_index"))]
        links += [
            widgets.jslink((controls[1], "index"), (inner, "selected_index"))
            for inner in inner_pages
        ]
    shown = frames[tuple(values[index] for values, index in zip(value_lists, start))]
    return FrameDemo([*controls, pages, _HIDE_TAB_BAR], links, shown.value)


def _pages(children: list, selected_index: int, titles: list[str]) -> widgets.Tab:
    pages = widgets.Tab(children, selected_index=selected_index)
    pages.add_class(_PAGES_CLASS)
    # The tab bar is hidden, but its titles name the pages for screen readers (each page
    # is a tabpanel labelled by its tab); the book also copies them into each frame's
    # alt text (book_assets/accessibility.js). set_title works on ipywidgets 7 and 8.
    for index, title in enumerate(titles):
        pages.set_title(index, title)
    return pages


def _render(draw, values: dict, dpi: int, colors: int) -> tuple[widgets.Image, str]:
    """The frame for these values, and a text alternative that says what it shows."""
    figure = draw(**values)
    shown_at = ", ".join(f"{name.replace('_', ' ')} = {_label(v)}" for name, v in values.items())
    description = f"{describe_figure(figure)} (at {shown_at})"
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)  # or the inline backend prints every frame under the cell
    buffer.seek(0)
    # A palette of a few dozen colours looks the same for line plots and heatmaps and
    # makes each frame about three times smaller.
    image = Image.open(buffer).convert("RGB").quantize(colors=colors)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return widgets.Image(value=out.getvalue(), format="png", layout=_FRAME_LAYOUT), description


def _control(name: str, values: list, index: int) -> widgets.Widget:
    labels = [_label(value) for value in values]
    description = name.replace("_", " ")
    style = {"description_width": "initial"}
    if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        return widgets.SelectionSlider(
            options=labels,
            index=index,
            description=description,
            continuous_update=True,
            style=style,
            layout=widgets.Layout(width="420px"),
        )
    if len(values) <= 4:
        # Buttons as wide as their labels: the fixed default width cut long ones short.
        return widgets.ToggleButtons(
            options=labels,
            index=index,
            description=description,
            style={**style, "button_width": "auto"},
        )
    return widgets.Dropdown(options=labels, index=index, description=description, style=style)


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def state_size(widget: widgets.Widget) -> int:
    """Bytes of widget state this demo embeds in a page (frames dominate).

    The state of the widget and of every widget it refers to, links included, as JSON
    with the images in base64: what jupyter-book writes into the page for it.
    """
    return len(json.dumps(dependency_state(widget, drop_defaults=False)))
