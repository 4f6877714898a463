"""One look for every figure in the book, its text alternative, and the attention heatmap.

The look: sizes legible at the HTML book's width, and colours that stay apart for readers
with the common colour-vision deficiencies (the Okabe-Ito palette for lines; single-hue
or perceptually uniform maps for heatmaps).

The text alternative: :func:`describe_figure` says in words what a figure shows (its
title, axes and legend, or what the chapter set with ``figure.set_label(...)``). Once a
notebook has called :func:`use_book_style`, every figure it shows carries that text in
its output's metadata (``{"image/png": {"alt": ...}}``), which the HTML book turns into
the image's ``alt`` (``book_assets/figure_alt.py``).
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from cycler import cycler

# Okabe & Ito's palette, ordered so that the first colours differ in lightness as well as hue.
COLORBLIND_SAFE = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: faint on white)
]

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "axes.prop_cycle": cycler(color=COLORBLIND_SAFE),
}

# What each part of attention is, told by its colour the same way in every diagram
# (attention_course.diagrams): the colours of the book's cycle that the figures draw
# with (fixed here, not "C0", so a diagram looks the same whatever the current style),
# and the heatmaps' blues for attention weights.
ROLE_COLORS = {
    "query": COLORBLIND_SAFE[1],  # orange: what looks
    "key": COLORBLIND_SAFE[0],  # blue: what is looked at (and scored)
    "value": COLORBLIND_SAFE[2],  # bluish green: what is handed over
    "output": COLORBLIND_SAFE[4],  # reddish purple: what attention returns
    "learned": "0.35",  # dark grey: a learned map (W, an MLP, a norm)
    "neutral": "0.6",  # grey: inputs, outputs and the rest of the model
    "highlight": COLORBLIND_SAFE[3],  # vermillion: the one thing a diagram points at
}
WEIGHTS_CMAP = "Blues"  # attention weights, as attention_heatmap draws them


def use_book_style() -> None:
    """Apply the book's figure style; in a notebook, shown figures also carry alt text."""
    mpl.rcParams.update(BOOK_STYLE)
    _describe_shown_figures()


def describe_figure(figure) -> str:
    """A text alternative for a figure: what it shows, from its own titles, axes and legends.

    A chapter that wants to say more (the figure's message) sets it with
    ``figure.set_label("...")``; that text is used as it is.
    """
    label = figure.get_label()
    if label and not label.startswith("_"):  # matplotlib's own labels start with "_"
        return label
    panels = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    described = [_describe_axes(ax) for ax in panels]
    suptitle = figure._suptitle.get_text() if figure._suptitle is not None else ""
    if len(described) == 1:
        text = described[0]
    else:
        text = f"{len(described)} panels: " + "; ".join(described)
    return f"{suptitle}. {text}" if suptitle else text


def _describe_axes(ax) -> str:
    kind = "heatmap" if ax.images else "plot"
    title = ax.get_title()
    what = f"{title} ({kind}" if title else f"A {kind}"
    y, x = ax.get_ylabel(), ax.get_xlabel()
    if y and x:
        what += f" of {y} against {x}"
    elif y or x:
        what += f" of {y or x}"
    legend = ax.get_legend()
    if legend is not None:
        entries = [text.get_text() for text in legend.get_texts() if text.get_text()]
        if entries:
            what += "; lines: " + ", ".join(entries)
    return what + ")" if title else what


def _describe_shown_figures() -> None:
    # Wrap the PNG formatter the inline backend registered for figures, so that each shown
    # figure's output carries its description as metadata. Outside IPython: nothing to do.
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    # The inline backend registers its PNG formatter when pyplot first loads a backend,
    # which may not have happened yet: load it now, so that there is something to wrap.
    import matplotlib.pyplot as plt

    plt.switch_backend(mpl.get_backend())
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        draw_png = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(draw_png, "describes_figures", False):
        return  # already wrapped by an earlier call

    def png_with_alt(figure):
        data = draw_png(figure)
        return (data, {"alt": describe_figure(figure)}) if data is not None else None

    png_with_alt.describes_figures = True
    formatter.for_type(Figure, png_with_alt)


def attention_heatmap(
    ax,
    weights,
    query_labels=None,
    key_labels=None,
    title=None,
    xlabel="key (attended to)",
    ylabel="query",
    annotate=False,
    vmax=None,
):
    """Draw a (queries x keys) weight matrix; rows are what attends, columns what is attended."""
    weights = np.asarray(weights, dtype=float)
    image = ax.imshow(
        weights, cmap=WEIGHTS_CMAP, vmin=0, vmax=vmax or max(weights.max(), 1e-9), aspect="auto"
    )
    ax.grid(False)
    if key_labels is not None:
        ax.set_xticks(
            range(len(key_labels)),
            key_labels,
            rotation=90 if max(map(len, map(str, key_labels))) > 2 else 0,
        )
    if query_labels is not None:
        ax.set_yticks(range(len(query_labels)), query_labels)
    if annotate:
        for (row, col), value in np.ndenumerate(weights):
            color = "white" if value > 0.6 * weights.max() else "black"
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8, color=color)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return image
