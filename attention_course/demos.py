"""Widget demos that stay interactive in the static HTML book.

A demo is a function of one or two parameters that draws a matplotlib figure.
:func:`frame_demo` draws it once for every parameter value, keeps the frames as small
PNG images in an ``ipywidgets.Stack``, and links each control's ``index`` to the
stack's ``selected_index`` on the JavaScript side (``jslink``). Moving a control then
switches frames in the browser, with or without a running kernel: live in Jupyter or
Colab, and in the HTML book where there is no kernel at all.
"""

from __future__ import annotations

import io
import itertools
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
from PIL import Image

# One Layout shared by every frame: each widget a notebook creates is embedded in the
# page, and a Layout per frame would add about 1 KB each.
_FRAME_LAYOUT = widgets.Layout(width="auto")


def frame_demo(draw: Callable[..., plt.Figure], *, dpi: int = 72, colors: int = 32,
               default: dict | None = None, **parameters: Sequence) -> widgets.Widget:
    """Pre-render ``draw(**values)`` for every combination of one or two parameters.

    ``parameters`` maps each keyword of ``draw`` to the values it may take, e.g.
    ``frame_demo(draw, steps=[10, 20, 40])``. Numbers get a slider, text a menu.
    ``default`` picks the values shown first (otherwise the first of each).
    """
    if not 1 <= len(parameters) <= 2:
        raise ValueError("frame_demo takes one or two parameters, "
                         f"got {len(parameters)}: {', '.join(parameters) or 'none'}")
    names = list(parameters)
    value_lists = [list(parameters[name]) for name in names]
    for name, values in zip(names, value_lists):
        if not values:
            raise ValueError(f"parameter {name!r} has no values")
    default = default or {}
    unknown = set(default) - set(names)
    if unknown:
        raise ValueError(f"default names unknown parameters: {', '.join(sorted(unknown))}")
    start = [values.index(default[name]) if name in default else 0
             for name, values in zip(names, value_lists)]

    frames = {
        combination: _render(draw, dict(zip(names, combination)), dpi, colors)
        for combination in itertools.product(*value_lists)
    }
    controls = [_control(name, values, index)
                for name, values, index in zip(names, value_lists, start)]

    if len(names) == 1:
        stack = widgets.Stack([frames[(value,)] for value in value_lists[0]],
                              selected_index=start[0])
        # The control comes first: the first end of a jslink pushes its value on load.
        links = [widgets.jslink((controls[0], "index"), (stack, "selected_index"))]
    else:
        inner_stacks = [
            widgets.Stack([frames[(outer, inner)] for inner in value_lists[1]],
                          selected_index=start[1])
            for outer in value_lists[0]
        ]
        stack = widgets.Stack(inner_stacks, selected_index=start[0])
        links = [widgets.jslink((controls[0], "index"), (stack, "selected_index"))]
        links += [widgets.jslink((controls[1], "index"), (inner, "selected_index"))
                  for inner in inner_stacks]
    demo = widgets.VBox([*controls, stack])
    demo.links = links  # for tests and for readers who want to see the wiring
    return demo


def _render(draw, values: dict, dpi: int, colors: int) -> widgets.Image:
    figure = draw(**values)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)  # or the inline backend prints every frame under the cell
    buffer.seek(0)
    # A palette of a few dozen colours looks the same for line plots and heatmaps and
    # makes each frame about three times smaller.
    image = Image.open(buffer).convert("RGB").quantize(colors=colors)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return widgets.Image(value=out.getvalue(), format="png", layout=_FRAME_LAYOUT)


def _control(name: str, values: list, index: int) -> widgets.Widget:
    labels = [_label(value) for value in values]
    description = name.replace("_", " ")
    style = {"description_width": "initial"}
    if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        return widgets.SelectionSlider(options=labels, index=index, description=description,
                                       continuous_update=True, style=style,
                                       layout=widgets.Layout(width="420px"))
    if len(values) <= 4:
        return widgets.ToggleButtons(options=labels, index=index, description=description,
                                     style=style)
    return widgets.Dropdown(options=labels, index=index, description=description, style=style)


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def state_size(widget: widgets.Widget) -> int:
    """Bytes of widget state this demo embeds in a page (frames dominate)."""
    total = 0
    pending = [widget]
    seen = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, widgets.Image):
            total += len(current.value) * 4 // 3  # base64 in the page
        pending.extend(getattr(current, "children", ()))
    return total
