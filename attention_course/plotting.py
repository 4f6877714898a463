"""One look for every figure in the book, and the attention heatmap most chapters draw."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

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
}

# What each part of attention is, told by its colour the same way in every diagram
# (attention_course.diagrams): colours of the default cycle the figures draw with, and
# the heatmaps' blues for attention weights.
ROLE_COLORS = {
    "query": "C1",  # orange: what looks
    "key": "C0",  # blue: what is looked at (and scored)
    "value": "C2",  # green: what is handed over
    "output": "C4",  # purple: what attention returns (a context, a head's output)
    "learned": "0.35",  # dark grey: a learned map (W, an MLP, a norm)
    "neutral": "0.6",  # grey: inputs, outputs and the rest of the model
    "highlight": "C3",  # red: the one thing a diagram points at
}
WEIGHTS_CMAP = "Blues"  # attention weights, as attention_heatmap draws them


def use_book_style() -> None:
    """Apply the book's figure style (sizes legible at the HTML book's width)."""
    mpl.rcParams.update(BOOK_STYLE)


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
