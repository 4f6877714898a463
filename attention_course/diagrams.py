"""Diagrams of the book's mechanisms, drawn by code in one style.

Each ``draw_...`` function draws one new figure and returns it; a chapter shows it with a
cell such as ``draw_attention_step();`` whose input the book hides. All diagrams share
the helpers below: the book's fonts (``BOOK_STYLE``), the colours of the roles
(``ROLE_COLORS``: a query is always orange, a key blue, a value green, what attention
returns purple, weights in the heatmaps' blues), rounded boxes, arrows and matrices drawn
as grids of cells. A diagram's coordinates are inches from its lower left corner, so a
size in the code is its size on the page (100 dpi, at most ``MAX_WIDTH`` wide: the
book's column).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.colors import to_rgb
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from attention_course.plotting import BOOK_STYLE, ROLE_COLORS, WEIGHTS_CMAP

__all__ = [  # in the order of the chapters that show them
    "draw_encoder_decoder",  # Chapter 1
    "draw_soft_lookup",  # Chapter 2
    "draw_attention_step",  # Chapter 3
    "draw_score_functions",  # Chapter 4
    "draw_qkv_projections",  # Chapter 5
    "draw_multi_head",  # Chapter 6
    "draw_transformer_blocks",  # Chapter 6
    "draw_vision_transformer",  # Chapter 7
    "draw_forecast_window",  # Chapter 8
]

MAX_WIDTH = 9.6  # inches: the book's column at its 100 dpi; wider figures get shrunk
PAD = 0.1  # inches the notebook adds round a figure it shows (bbox_inches="tight")
FONT_SIZE = BOOK_STYLE["font.size"]  # labels, as in every figure of the book
SMALL_FONT_SIZE = FONT_SIZE - 1  # notes and numbers inside cells, never smaller
INK = "0.15"  # arrows and text


# ---------------------------------------------------------------------------------------
# The shared helpers: a canvas in inches, boxes, arrows, grids of cells, labels.


def _diagram(draw):
    """Run a draw function in the book's style and give its figure a name to test by."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(BOOK_STYLE):
            fig = draw(*args, **kwargs)
        fig.set_label(draw.__name__)
        return fig

    return wrapper


def _canvas(width, height):
    """A figure of width × height inches whose one axis measures inches, with no frame."""
    fig = plt.figure(figsize=(width, height), layout="none")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _tint(color, strength=0.2):
    """The colour mixed with white: ``strength`` 1 is the colour, 0 white."""
    return tuple(strength * c + (1 - strength) for c in to_rgb(color))


def _role(role):
    return ROLE_COLORS.get(role, role)


def _text(ax, x, y, text, size=FONT_SIZE, color=INK, **kwargs):
    kwargs.setdefault("ha", "center")
    kwargs.setdefault("va", "center")
    return ax.text(x, y, text, fontsize=size, color=color, **kwargs)


def _box(
    ax,
    x,
    y,
    width,
    height,
    text="",
    role="neutral",
    size=FONT_SIZE,
    fill=0.2,
    face=None,
    zorder=2,
    **kwargs,
):
    """A rounded box centred at (x, y), edged in its role's colour and tinted with it
    (``fill`` of the colour; ``face`` replaces the tint), with its text in the middle."""
    color = _role(role)
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.07",
            facecolor=_tint(color, fill) if face is None else face,
            edgecolor=color,
            linewidth=1.3,
            zorder=zorder,
        )
    )
    if text:
        _text(ax, x, y, text, size=size, zorder=zorder + 0.5, **kwargs)


def _arrow(ax, start, end, color=INK, style="-|>", bend=0.0, width=1.2, dashed=False, halo=False):
    """An arrow from start to end (points in inches); ``bend`` curves it (+ to the left).

    ``halo`` outlines it in white, so that a line it crosses reads as passing under it.
    """
    arrow = ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=11,
            linewidth=width,
            color=_role(color),
            shrinkA=0,
            shrinkB=0,
            connectionstyle=f"arc3,rad={bend}",
            linestyle=(0, (4, 2)) if dashed else "-",
            zorder=3 if halo else 2,
        )
    )
    if halo:
        arrow.set_path_effects([patheffects.withStroke(linewidth=5, foreground="white")])


def _line(ax, xs, ys, color=INK, width=1.2, dashed=False):
    ax.plot(xs, ys, color=_role(color), linewidth=width, linestyle="--" if dashed else "-")


def _grid(ax, left, top, rows, cols, cell, role="neutral", colors=None, labels=None, size=None):
    """A matrix as rows × cols cells of ``cell`` inches below and right of (left, top).

    ``colors`` (rows, cols) overrides each cell's fill; ``labels`` writes in the cells.
    """
    color = _role(role)
    for r in range(rows):
        for c in range(cols):
            fill = _tint(color, 0.25) if colors is None else colors[r][c]
            ax.add_patch(
                Rectangle(
                    (left + c * cell, top - (r + 1) * cell),
                    cell,
                    cell,
                    facecolor=fill,
                    edgecolor=color,
                    linewidth=0.8,
                )
            )
            if labels is not None and labels[r][c] != "":
                _text(
                    ax,
                    left + (c + 0.5) * cell,
                    top - (r + 0.5) * cell,
                    labels[r][c],
                    size=size or SMALL_FONT_SIZE,
                )


def _weight_colors(weights):
    """Fills for weights in [0, 1] from the heatmaps' colour map, and the ink to write on them."""
    cmap = mpl.colormaps[WEIGHTS_CMAP]
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    fills = [[cmap(0.08 + 0.85 * w) for w in row] for row in weights]
    inks = [["white" if w > 0.45 else INK for w in row] for row in weights]
    return fills, inks


def _weight_cells(ax, centres, y, weights, cell):
    """Weights as shaded square cells centred at (centres[j], y), each with its value."""
    fills, inks = _weight_colors(weights)
    for j, (x, w) in enumerate(zip(centres, weights)):
        ax.add_patch(
            Rectangle(
                (x - cell / 2, y - cell / 2),
                cell,
                cell,
                facecolor=fills[0][j],
                edgecolor=_role("key"),
                linewidth=0.8,
            )
        )
        _text(ax, x, y, f"{w:.2f}", size=SMALL_FONT_SIZE, color=inks[0][j])


def _bracket(ax, x0, x1, y, text):
    """A square bracket under x0..x1 at height y, its ends turned up, with its text below."""
    _line(ax, [x0, x0, x1, x1], [y + 0.06, y, y, y + 0.06], width=1.0)
    _text(ax, (x0 + x1) / 2, y - 0.16, text, size=SMALL_FONT_SIZE)


# ---------------------------------------------------------------------------------------
# Chapter 1: the encoder-decoder and its one context vector.


@_diagram
def draw_encoder_decoder():
    """The encoder reads x_1..x_n into c = h_n; the decoder starts from c and writes y_i."""
    fig, ax = _canvas(8.3, 2.9)
    source_length, target_length = 4, 3
    step, box_w, box_h = 0.85, 0.6, 0.46
    state_y, input_y, output_y, title_y = 1.25, 0.3, 2.2, 2.65
    enc_x = [0.45 + step * t for t in range(source_length)]
    for t, x in enumerate(enc_x):
        _box(ax, x, state_y, box_w, box_h, f"$h_{t + 1}$", role="key")
        _text(ax, x, input_y, f"$x_{t + 1}$")
        _arrow(ax, (x, input_y + 0.17), (x, state_y - box_h / 2))
        if t:
            _arrow(ax, (enc_x[t - 1] + box_w / 2, state_y), (x - box_w / 2, state_y))
    _text(ax, (enc_x[0] + enc_x[-1]) / 2, title_y, "encoder: $h_t = f(x_t, h_{t-1})$")

    c_x = enc_x[-1] + 1.35
    _box(ax, c_x, state_y, 0.9, 0.6, "$c = h_n$", role="highlight", fill=0.25)
    _arrow(ax, (enc_x[-1] + box_w / 2, state_y), (c_x - 0.45, state_y))
    _text(
        ax,
        c_x,
        state_y + 0.62,
        "the only link:\n$d$ numbers",
        color=_role("highlight"),
        size=SMALL_FONT_SIZE,
    )

    dec_x = [c_x + 1.35 + step * i for i in range(target_length)]
    _arrow(ax, (c_x + 0.45, state_y), (dec_x[0] - box_w / 2, state_y))
    _text(ax, (c_x + 0.45 + dec_x[0] - box_w / 2) / 2, state_y - 0.2, "$l_0$", size=SMALL_FONT_SIZE)
    previous = ["BOS"] + [f"$y_{i}$" for i in range(1, target_length)]
    for i, x in enumerate(dec_x):
        _box(ax, x, state_y, box_w, box_h, f"$l_{i + 1}$", role="neutral")
        _text(ax, x, input_y, previous[i], size=SMALL_FONT_SIZE if i == 0 else FONT_SIZE)
        _arrow(ax, (x, input_y + 0.17), (x, state_y - box_h / 2))
        _arrow(ax, (x, state_y + box_h / 2), (x, output_y - 0.17))
        _text(ax, x, output_y, f"$y_{i + 1}$")
        if i:
            _arrow(ax, (dec_x[i - 1] + box_w / 2, state_y), (x - box_w / 2, state_y))
    _arrow(ax, (dec_x[-1] + box_w / 2, state_y), (dec_x[-1] + box_w / 2 + 0.3, state_y))
    _text(ax, dec_x[-1] + box_w / 2 + 0.5, state_y, "…")
    _text(ax, (dec_x[0] + dec_x[-1]) / 2, title_y, "decoder: starts from $c$")
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 2: the soft lookup.


@_diagram
def draw_soft_lookup(query=360, keys=(300, 400), values=(30.0, 40.0)):
    """Inverse-distance attention over two keys: the query against each key, the weights,
    the weighted values and their sum (Chapter 2's box of 360 cubic inches by default)."""
    if len(keys) != 2 or len(values) != 2:
        raise ValueError("the diagram has room for two keys and their values")
    similarities = [Fraction(1, abs(query - key)) for key in keys]
    weights = [s / sum(similarities) for s in similarities]
    contributions = [float(w) * v for w, v in zip(weights, values)]
    rows = [1.5, 0.55]
    fig, ax = _canvas(9.4, rows[0] + 0.85)
    middle = sum(rows) / 2
    head_y = rows[0] + 0.62
    key_x, sim_x, weight_x, value_x, product_x, answer_x = 0.7, 2.7, 4.5, 5.9, 7.2, 8.75

    headers = [
        (key_x, "keys and the query"),
        (sim_x, "similarity $1/|q - k_i|$"),
        (weight_x, "weight $\\alpha_i$"),
        (value_x, "value $v_i$ (pounds)"),
        (product_x, "$\\alpha_i v_i$"),
        (answer_x, "answer ${\\sum}_i\\, \\alpha_i v_i$"),
    ]
    for x, text in headers:
        _text(ax, x, head_y, text, size=SMALL_FONT_SIZE)

    _box(ax, key_x, middle, 1.1, 0.4, f"$q$ = {query}", role="query")
    fills, inks = _weight_colors([float(w) for w in weights])
    for i, y in enumerate(rows):
        key_y = y + (0.22 if i == 0 else -0.22)  # apart, to make room for the query
        _box(ax, key_x, key_y, 1.1, 0.38, f"$k_{i + 1}$ = {keys[i]}", role="key")
        _arrow(ax, (key_x + 0.55, key_y), (sim_x - 0.7, y + 0.06))
        _arrow(ax, (key_x + 0.55, middle), (sim_x - 0.7, y - 0.06), color="query")
        _box(ax, sim_x, y, 1.4, 0.44, f"1/{abs(query - keys[i])}", role="neutral")
        _arrow(ax, (sim_x + 0.7, y), (weight_x - 0.45, y))
        _box(
            ax,
            weight_x,
            y,
            0.9,
            0.44,
            f"{weights[i]} = {float(weights[i]):.2f}",
            role="key",
            face=fills[0][i],
            size=SMALL_FONT_SIZE,
            color=inks[0][i],
        )
        _text(ax, weight_x + 0.63, y, "×")
        _box(ax, value_x, y, 0.8, 0.4, f"{values[i]:.1f}", role="value")
        _text(ax, value_x + 0.6, y, "=")
        _box(ax, product_x, y, 0.8, 0.4, f"{contributions[i]:.1f}", role="output", fill=0.12)
        _arrow(ax, (product_x + 0.4, y), (answer_x - 0.55, middle + 0.1 * (y - middle)))
    _box(ax, answer_x, middle, 1.1, 0.48, f"{sum(contributions):.1f}", role="output")
    _text(
        ax,
        (sim_x + weight_x) / 2,
        rows[-1] - 0.45,
        "normalised: the weights sum to 1",
        size=SMALL_FONT_SIZE,
    )
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 3: one decoder step with attention.


@_diagram
def draw_attention_step():
    """Query s_(i-1) against keys h_j: scores e_ij, weights a_ij, context c_i, new state s_i."""
    weights = (0.04, 0.08, 0.61, 0.22, 0.05)  # made up, to shade the cells
    fig, ax = _canvas(9.4, 4.4)
    col = [3.2 + 0.85 * j for j in range(len(weights))]
    key_y, score_y, weight_y, context_y = 0.75, 1.75, 2.75, 3.7
    box_w, cell = 0.6, 0.56

    rows = [
        (key_y, "key", "keys and values: the\nencoder states $h_j$"),
        (score_y, INK, "scores\n$e_{ij} = v^\\top \\tanh(W_1 h_j + W_2 s_{i-1})$"),
        (weight_y, INK, "weights\n$a_{ij} = \\mathrm{softmax}_j(e_{ij})$"),
        (context_y, "output", "context\n$c_i = {\\sum}_j\\, a_{ij} h_j$"),
    ]
    for y, role, label in rows:
        _text(ax, 0.1, y, label, ha="left", color=_role(role), linespacing=1.5)

    # The query comes from the decoder (right) and reaches every score along one line.
    query_x, bus_y = 7.8, score_y + 0.5
    _box(ax, query_x, score_y, 0.8, 0.46, "$s_{i-1}$", role="query")
    _text(
        ax,
        query_x,
        score_y - 0.48,
        "query: the\ndecoder state",
        size=SMALL_FONT_SIZE,
        color=_role("query"),
    )
    _line(ax, [col[0] - 0.15, query_x], [bus_y, bus_y], color="query")
    _line(ax, [query_x, query_x], [score_y + 0.23, bus_y], color="query")
    for j, x in enumerate(col):
        _box(ax, x, key_y, box_w, 0.46, f"$h_{j + 1}$", role="key")
        _text(ax, x, key_y - 0.5, f"$x_{j + 1}$")
        _arrow(ax, (x, key_y - 0.36), (x, key_y - 0.23))
        _box(ax, x, score_y, box_w, 0.42, f"$e_{{i{j + 1}}}$", role="neutral")
        _arrow(ax, (x, key_y + 0.23), (x, score_y - 0.21))
        _arrow(ax, (x - 0.15, bus_y), (x - 0.15, score_y + 0.21), color="query")
        _arrow(ax, (x + 0.1, score_y + 0.21), (x + 0.1, weight_y - cell / 2), halo=True)
    _weight_cells(ax, col, weight_y, weights, cell)

    context_x = (col[0] + col[-1]) / 2
    _box(ax, context_x, context_y, 1.0, 0.5, "$c_i$", role="output")
    for x in col:
        _arrow(ax, (x, weight_y + cell / 2), (context_x + 0.2 * (x - context_x), context_y - 0.25))

    # The decoder's step: c_i, the previous output and s_(i-1) make s_i, then y_i.
    _box(ax, query_x, context_y, 1.3, 0.5, "decoder GRU", role="learned", fill=0.12)
    _arrow(ax, (context_x + 0.5, context_y), (query_x - 0.65, context_y))
    _arrow(ax, (query_x, bus_y), (query_x, context_y - 0.25), color="query")
    _arrow(ax, (query_x, context_y + 0.25), (query_x, context_y + 0.42))
    _text(ax, query_x, context_y + 0.56, "$s_i$, then $y_i$")
    _text(ax, query_x + 0.95, context_y, "$E y_{i-1}$", ha="left", size=SMALL_FONT_SIZE)
    _arrow(ax, (query_x + 0.92, context_y), (query_x + 0.65, context_y))
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 4: four score functions side by side.


def _operation(ax, x, y, text, radius=0.17):
    """A small circle for an operation without parameters (a dot product, a sum)."""
    ax.add_patch(Circle((x, y), radius, facecolor="white", edgecolor=INK, linewidth=1.2))
    if text == "·":  # a dot product: a dot large enough to see
        ax.add_patch(Circle((x, y), 0.035, color=INK))
    else:
        _text(ax, x, y, text)


@_diagram
def draw_score_functions():
    """Dot, general, additive and scaled dot scores as small graphs from s and h_j to e_j."""
    fig, ax = _canvas(9.4, 3.75)
    panel = 9.4 / 4
    bottom, top = 0.75, 2.75
    titles = ["dot", "general", "additive", "scaled dot"]
    formulas = [
        "$s^\\top h_j$",
        "$s^\\top W h_j$",
        "$v^\\top \\tanh(W_1 h_j + W_2 s)$",
        "$s^\\top h_j \\,/\\, \\sqrt{d_k}$",
    ]
    notes = ["no parameters", "learned: $W$", "learned: $W_1$, $W_2$, $v$", "no parameters"]
    for k, (title, formula, note) in enumerate(zip(titles, formulas, notes)):
        centre = panel * (k + 0.5)
        left, right = centre - 0.45, centre + 0.45
        _text(ax, centre, 3.5, title, size=FONT_SIZE + 1)
        _text(ax, centre, 3.15, formula, size=SMALL_FONT_SIZE)
        _text(ax, centre, 0.2, note, size=SMALL_FONT_SIZE)
        _box(ax, left, bottom, 0.62, 0.38, "$s$", role="query")
        _box(ax, right, bottom, 0.62, 0.38, "$h_j$", role="key")
        _text(ax, centre, top, "$e_j$")
        out = (centre, top - 0.15)
        if title in ("dot", "scaled dot"):
            dot_y = 1.55
            _operation(ax, centre, dot_y, "·")
            _arrow(ax, (left, bottom + 0.19), (centre - 0.13, dot_y - 0.11))
            _arrow(ax, (right, bottom + 0.19), (centre + 0.13, dot_y - 0.11))
            if title == "dot":
                _arrow(ax, (centre, dot_y + 0.17), out)
            else:
                _box(
                    ax, centre, 2.15, 0.8, 0.36, "$\\div \\sqrt{d_k}$", role="neutral", face="white"
                )
                _arrow(ax, (centre, dot_y + 0.17), (centre, 2.15 - 0.18))
                _arrow(ax, (centre, 2.15 + 0.18), out)
        elif title == "general":
            _box(ax, right, 1.45, 0.55, 0.36, "$W$", role="learned", fill=0.3)
            _arrow(ax, (right, bottom + 0.19), (right, 1.45 - 0.18))
            dot_y = 2.15
            _operation(ax, centre, dot_y, "·")
            _arrow(ax, (left, bottom + 0.19), (centre - 0.14, dot_y - 0.1))
            _arrow(ax, (right, 1.45 + 0.18), (centre + 0.13, dot_y - 0.11))
            _arrow(ax, (centre, dot_y + 0.17), out)
        else:
            y = 1.3
            _box(ax, left, y, 0.55, 0.34, "$W_2$", role="learned", fill=0.3)
            _box(ax, right, y, 0.55, 0.34, "$W_1$", role="learned", fill=0.3)
            _arrow(ax, (left, bottom + 0.19), (left, y - 0.17))
            _arrow(ax, (right, bottom + 0.19), (right, y - 0.17))
            plus_y = 1.72
            _operation(ax, centre, plus_y, "+", radius=0.15)
            _arrow(ax, (left + 0.1, y + 0.17), (centre - 0.12, plus_y - 0.06))
            _arrow(ax, (right - 0.1, y + 0.17), (centre + 0.12, plus_y - 0.06))
            _box(
                ax,
                centre - 0.38,
                2.2,
                0.62,
                0.32,
                "tanh",
                role="neutral",
                face="white",
                size=SMALL_FONT_SIZE,
            )
            _box(ax, centre + 0.38, 2.2, 0.5, 0.32, "$v^\\top$", role="learned", fill=0.3)
            _arrow(ax, (centre - 0.1, plus_y + 0.14), (centre - 0.38, 2.2 - 0.16))
            _arrow(ax, (centre - 0.07, 2.2), (centre + 0.13, 2.2))
            _arrow(ax, (centre + 0.38, 2.2 + 0.16), (centre + 0.08, top - 0.14))
        if k:
            _line(ax, [panel * k] * 2, [0.1, 3.65], color="0.85", width=1.0)
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 5: queries, keys and values, and the score matrix.


def _toy_weights(n, seed=0, sharpness=2.0):
    """A made-up (n, n) weight matrix, rows summing to 1: shading for a schematic."""
    scores = np.random.default_rng(seed).normal(size=(n, n)) * sharpness
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


@_diagram
def draw_qkv_projections():
    """X -> Q, K, V by three learned maps; Q Kᵀ/√d_k -> weights (row softmax) -> weights V."""
    words, focus = ("the", "early", "bird", "catches", "the", "worm"), 2  # Chapter 5's sentence
    n = len(words)
    fig, ax = _canvas(9.4, 4.0)
    cell = 0.2
    x_left, x_top = 0.95, 2.95
    # X: one row per word.
    _text(ax, x_left + 2 * cell, x_top + 0.5, "input $X$\none row per word", size=SMALL_FONT_SIZE)
    _grid(ax, x_left, x_top, n, 4, cell, role="neutral")
    for r, word in enumerate(words):
        _text(
            ax,
            x_left - 0.08,
            x_top - (r + 0.5) * cell,
            word,
            size=SMALL_FONT_SIZE,
            ha="right",
            color=_role("highlight") if r == focus else INK,
        )
    # Q, K, V: three learned maps of the same rows.
    small = 0.15
    tops = {"query": 3.75, "key": 2.55, "value": 1.35}
    names = {"query": ("$W_q$", "$Q$"), "key": ("$W_k$", "$K$"), "value": ("$W_v$", "$V$")}
    grid_left = 2.95
    start = (x_left + 4 * cell + 0.05, x_top - n * cell / 2)
    for role, top in tops.items():
        w_name, m_name = names[role]
        mid = top - n * small / 2
        _arrow(ax, start, (grid_left - 0.08, mid))
        on_arrow = 0.55  # the map's name sits on its arrow
        _box(
            ax,
            start[0] + on_arrow * (grid_left - 0.08 - start[0]),
            start[1] + on_arrow * (mid - start[1]),
            0.46,
            0.3,
            w_name,
            role="learned",
            fill=0.15,
            zorder=4,
        )
        _grid(ax, grid_left, top, n, 3, small, role=role)
        _text(ax, grid_left + 3 * small + 0.18, mid, m_name, color=_role(role))
    # The scores: every query against every key.
    score_left, score_top = 4.1, 3.25
    size = n * cell
    _text(
        ax,
        score_left + size / 2,
        score_top + 0.45,
        "scores $QK^\\top / \\sqrt{d_k}$\nrows: queries, columns: keys",
        size=SMALL_FONT_SIZE,
    )
    raw = _toy_weights(n)
    greys = [[_tint(_role("neutral"), 0.15 + 0.6 * w) for w in row] for row in raw]
    _grid(ax, score_left, score_top, n, n, cell, role="neutral", colors=greys)
    q_mid = tops["query"] - n * small / 2
    k_mid = tops["key"] - n * small / 2
    _arrow(
        ax,
        (grid_left + 3 * small + 0.35, q_mid),
        (score_left - 0.05, score_top - 0.3),
        color="query",
    )
    _arrow(
        ax,
        (grid_left + 3 * small + 0.35, k_mid),
        (score_left - 0.05, score_top - size + 0.3),
        color="key",
    )
    # The weights: a softmax along each row.
    weight_left = 6.15
    _arrow(
        ax,
        (score_left + size + 0.05, score_top - size / 2),
        (weight_left - 0.05, score_top - size / 2),
    )
    _text(
        ax,
        (score_left + size + weight_left) / 2,
        score_top - size / 2 + 0.1,
        "softmax\nof each\nrow",
        size=SMALL_FONT_SIZE,
        va="bottom",
    )
    fills, _ = _weight_colors(raw)
    _grid(ax, weight_left, score_top, n, n, cell, role="key", colors=fills)
    _text(
        ax,
        weight_left + size / 2,
        score_top + 0.45,
        "weights\neach row sums to 1",
        size=SMALL_FONT_SIZE,
    )
    # The output: the weights times V.
    z_left = 8.25
    _arrow(
        ax, (weight_left + size + 0.05, score_top - size / 2), (z_left - 0.05, score_top - size / 2)
    )
    v_mid = tops["value"] - n * small / 2
    _line(
        ax,
        [grid_left + 3 * small + 0.35, (weight_left + size + z_left) / 2],
        [v_mid, v_mid],
        color="value",
    )
    _arrow(
        ax,
        ((weight_left + size + z_left) / 2, v_mid),
        ((weight_left + size + z_left) / 2, score_top - size / 2 - 0.04),
        color="value",
    )
    _text(
        ax,
        (weight_left + size + z_left) / 2 + 0.1,
        v_mid + 0.45,
        "times $V$",
        size=SMALL_FONT_SIZE,
        ha="left",
    )
    _grid(ax, z_left, score_top, n, 3, cell, role="output")
    _text(
        ax,
        z_left + 1.5 * cell,
        score_top + 0.45,
        "output $Z$\none row per word",
        size=SMALL_FONT_SIZE,
    )
    # The row of one word, followed through.
    for left, top, cols, c in [
        (x_left, x_top, 4, cell),
        (grid_left, tops["query"], 3, small),
        (score_left, score_top, n, cell),
        (weight_left, score_top, n, cell),
        (z_left, score_top, 3, cell),
    ]:
        ax.add_patch(
            Rectangle(
                (left, top - (focus + 1) * c),
                cols * c,
                c,
                facecolor="none",
                edgecolor=_role("highlight"),
                linewidth=2.0,
            )
        )
    _text(
        ax,
        weight_left + size / 2,
        score_top - size - 0.3,
        f'row "{words[focus]}": its query against every key',
        size=SMALL_FONT_SIZE,
        color=_role("highlight"),
    )
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 6: multi-head attention, and the Transformer's blocks.


def _head_fill(role, head):
    """Head 0 in a light tint of the role's colour, head 1 in a strong one."""
    return _tint(_role(role), 0.2 if head == 0 else 0.5)


@_diagram
def draw_multi_head():
    """Split each token's features into heads, attend in each head, merge, mix with W^O."""
    tokens, features, heads = 3, 4, 2  # Chapter 6's tiny example
    d_head = features // heads
    fig, ax = _canvas(9.4, 3.2)
    cell = 0.3
    top = 2.3
    names = [[f"{10 * t + f}" for f in range(features)] for t in range(tokens)]
    mid = top - tokens * cell / 2

    # All heads' queries come from one map; K and V go the same way.
    q_left = 0.3
    fills = [[_head_fill("query", f // d_head) for f in range(features)] for _ in range(tokens)]
    _grid(ax, q_left, top, tokens, features, cell, role="query", colors=fills, labels=names)
    _text(
        ax,
        q_left + features * cell / 2,
        top + 0.45,
        "queries of all heads\n(one map $W^Q$; $K$, $V$ alike)",
        size=SMALL_FONT_SIZE,
    )
    _text(
        ax,
        q_left + features * cell / 2,
        top - tokens * cell - 0.35,
        f"{tokens} tokens × {features} features,\nentry 10 · token + feature",
        size=SMALL_FONT_SIZE,
    )
    # Split: features i·d_head onwards go to head i; each head attends on its own.
    split_left, box_x, out_left, merge_left = 2.5, 4.3, 5.55, 6.85
    head_tops = [top + 0.5, top - 0.8]
    for h, head_top in enumerate(head_tops):
        head_mid = head_top - tokens * cell / 2
        labels = [row[h * d_head : (h + 1) * d_head] for row in names]
        fills = [[_head_fill("query", h)] * d_head for _ in range(tokens)]
        _grid(
            ax,
            split_left,
            head_top,
            tokens,
            d_head,
            cell,
            role="query",
            colors=fills,
            labels=labels,
        )
        _arrow(ax, (q_left + features * cell + 0.08, mid), (split_left - 0.08, head_mid))
        _box(
            ax,
            box_x,
            head_mid,
            1.6,
            0.55,
            f"head {h}: attention\n(its own $K$, $V$)",
            role="output",
            fill=0.1,
            size=SMALL_FONT_SIZE,
        )
        _arrow(ax, (split_left + d_head * cell + 0.08, head_mid), (box_x - 0.8, head_mid))
        fills = [[_head_fill("output", h)] * d_head for _ in range(tokens)]
        _grid(ax, out_left, head_top, tokens, d_head, cell, role="output", colors=fills)
        _arrow(ax, (box_x + 0.8, head_mid), (out_left - 0.08, head_mid))
        _arrow(ax, (out_left + d_head * cell + 0.08, head_mid), (merge_left - 0.08, mid))
    _text(
        ax,
        (q_left + features * cell + split_left) / 2,
        0.3,
        "split: reshape,\nthen transpose",
        size=SMALL_FONT_SIZE,
    )
    _text(
        ax,
        (out_left + d_head * cell + merge_left) / 2,
        0.3,
        "merge: transpose,\nthen reshape",
        size=SMALL_FONT_SIZE,
    )
    # Merge: the heads side by side again, then W^O mixes them.
    fills = [[_head_fill("output", f // d_head) for f in range(features)] for _ in range(tokens)]
    _grid(ax, merge_left, top, tokens, features, cell, role="output", colors=fills)
    _text(
        ax,
        merge_left + features * cell / 2,
        top + 0.3,
        "Concat(head 0, head 1)",
        size=SMALL_FONT_SIZE,
    )
    wo_x = merge_left + features * cell + 0.65
    _arrow(ax, (merge_left + features * cell + 0.08, mid), (wo_x - 0.28, mid))
    _box(ax, wo_x, mid, 0.56, 0.34, "$W^O$", role="learned", fill=0.15)
    _arrow(ax, (wo_x, mid - 0.17), (wo_x, mid - 0.55))
    _text(ax, wo_x, mid - 0.85, "output:\none vector\nper token", size=SMALL_FONT_SIZE)
    return fig


def _block_stack(ax, stream_x, y0, sublayers, direction=1):
    """A pre-norm block: the residual stream goes straight up; each sublayer branches off
    it (``direction`` 1: to the right, -1: to the left) through a layer norm and the
    sublayer, and its result comes back to be added (⊕) to the stream.

    Returns the stream's top and, for each sublayer, its row and its far end.
    """
    height, ln_width, width = 0.42, 0.44, 1.95
    y = y0
    rows = []
    for name, role in sublayers:
        y_box, y_plus = y + 0.4, y + 0.95
        ln_x = stream_x + direction * 0.55
        box_x = ln_x + direction * (ln_width / 2 + 0.25 + width / 2)
        _line(ax, [stream_x, stream_x], [y, y_plus - 0.12])
        ax.add_patch(Circle((stream_x, y_box), 0.035, color=INK))
        _arrow(ax, (stream_x, y_box), (ln_x - direction * ln_width / 2, y_box))
        _box(
            ax, ln_x, y_box, ln_width, height, "LN", role="learned", fill=0.1, size=SMALL_FONT_SIZE
        )
        _arrow(ax, (ln_x + direction * ln_width / 2, y_box), (box_x - direction * width / 2, y_box))
        _box(ax, box_x, y_box, width, height, name, role=role, fill=0.15, size=SMALL_FONT_SIZE)
        _line(ax, [box_x, box_x], [y_box + height / 2, y_plus])
        _arrow(ax, (box_x, y_plus), (stream_x + direction * 0.12, y_plus))
        ax.add_patch(
            Circle((stream_x, y_plus), 0.12, facecolor="white", edgecolor=INK, linewidth=1.2)
        )
        _text(ax, stream_x, y_plus, "+", size=SMALL_FONT_SIZE)
        rows.append((y_box, box_x + direction * width / 2))
        y = y_plus + 0.12
    return y, rows


@_diagram
def draw_transformer_blocks():
    """Pre-norm encoder block and decoder block; cross-attention reads the encoder's output."""
    fig, ax = _canvas(8.8, 4.85)
    enc_x, dec_x = 0.55, 8.25
    y0 = 0.45
    _text(ax, enc_x - 0.2, 0.22, "source: embeddings + positions", size=SMALL_FONT_SIZE, ha="left")
    _text(
        ax,
        dec_x + 0.2,
        0.22,
        "target so far: embeddings + positions",
        size=SMALL_FONT_SIZE,
        ha="right",
    )
    enc_top, _ = _block_stack(
        ax, enc_x, y0, [("multi-head self-attention", "output"), ("feed-forward", "neutral")]
    )
    dec_top, dec_rows = _block_stack(
        ax,
        dec_x,
        y0,
        [
            ("causal self-attention", "output"),
            ("cross-attention", "output"),
            ("feed-forward", "neutral"),
        ],
        direction=-1,
    )
    frames = [
        (enc_x - 0.3, enc_top, "encoder block, × N", "right"),
        (dec_x - 3.55, dec_top, "decoder block, × N", "left"),
    ]
    for left, top, label, side in frames:
        ax.add_patch(
            FancyBboxPatch(
                (left, y0 + 0.1),
                3.85,
                top - y0 - 0.05,
                boxstyle="round,pad=0,rounding_size=0.1",
                facecolor="none",
                edgecolor="0.7",
                linewidth=1.0,
                linestyle=(0, (4, 3)),
            )
        )
        label_x = left + 0.1 if side == "left" else left + 3.75
        _text(ax, label_x, top + 0.2, label, ha=side)
    # The encoder's output, the memory, gives the cross-attention its keys and values.
    memory_y = enc_top + 0.65
    cross_y, cross_end = dec_rows[1]
    route_x = 4.4
    _line(ax, [enc_x, enc_x, route_x, route_x], [enc_top, memory_y, memory_y, cross_y], color="key")
    _arrow(ax, (route_x, cross_y), (cross_end, cross_y), color="key")
    _text(
        ax,
        (enc_x + route_x) / 2,
        memory_y + 0.2,
        "memory (after a last LN): keys and values",
        size=SMALL_FONT_SIZE,
        color=_role("key"),
    )
    _text(
        ax,
        (enc_x + route_x) / 2,
        enc_top + 1.45,
        "LN: layer norm\n+: the residual connection",
        size=SMALL_FONT_SIZE,
    )
    _arrow(ax, (dec_x, dec_top), (dec_x, dec_top + 0.45))
    _text(
        ax,
        dec_x + 0.2,
        dec_top + 0.6,
        "LN, linear, softmax: the next symbol",
        ha="right",
        size=SMALL_FONT_SIZE,
    )
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 7: the Vision Transformer's input.


def _garment(size):
    """A schematic T-shirt: a (size, size) array of grey levels in [0, 1], drawn by code."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    body = (np.abs(x - 0.5) < 0.2) & (y > 0.18) & (y < 0.9)
    sleeves = (
        (np.abs(x - 0.5) < 0.36)
        & (y > 0.18)
        & (y < 0.42)
        & (y > 0.18 + 0.6 * np.abs(x - 0.5) - 0.12)
    )
    collar = ((x - 0.5) ** 2 + (y - 0.15) ** 2) < 0.008
    return np.where((body | sleeves) & ~collar, 0.75, 0.05)


@_diagram
def draw_vision_transformer():
    """Patches in reading order -> one linear map E -> tokens; a class token in front;
    positions added; encoder blocks; the head reads the class token's output."""
    grid, shown = 4, (1, 2, 3)  # Chapter 7's 28×28 pictures in 7×7 patches; tokens drawn
    patches = grid * grid
    fig, ax = _canvas(9.4, 4.2)
    # The picture and its patches, numbered in reading order.
    side, left, bottom = 1.9, 0.2, 1.0
    ax.imshow(
        _garment(56),
        cmap="gray_r",
        vmin=0,
        vmax=1,
        extent=(left, left + side, bottom, bottom + side),
        zorder=1,
    )
    step = side / grid
    for k in range(1, grid):
        _line(ax, [left + k * step] * 2, [bottom, bottom + side], color="key", width=1.0)
        _line(ax, [left, left + side], [bottom + k * step] * 2, color="key", width=1.0)
    ax.add_patch(Rectangle((left, bottom), side, side, facecolor="none", edgecolor=_role("key")))
    for j in range(patches):
        row, col = divmod(j, grid)
        _text(
            ax,
            left + (col + 0.22) * step,
            bottom + side - (row + 0.25) * step,
            str(j + 1),
            size=SMALL_FONT_SIZE,
            color=_role("key"),
            zorder=3,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
        )
    _text(
        ax,
        left + side / 2,
        bottom - 0.25,
        f"{grid}×{grid} patches, in reading order",
        size=SMALL_FONT_SIZE,
    )
    _text(ax, left + side / 2, bottom + side + 0.2, "the picture", size=SMALL_FONT_SIZE)

    # Tokens: the class token, then one per patch (a few shown), plus their positions.
    token_y, width, height = 1.2, 0.52, 0.62
    position_y, encoder_y, out_y = 1.85, 2.75, 3.55
    xs = [4.0 + 0.68 * k for k in range(len(shown) + 3)]
    labels = ["class"] + [str(j) for j in shown] + ["…", str(patches)]
    bracket_y = token_y - height / 2 - 0.14
    _bracket(
        ax,
        xs[1] - width / 2,
        xs[-1] + width / 2,
        bracket_y,
        "one token per patch: flattened, then one linear map $E$ for all",
    )
    _arrow(ax, (left + side + 0.1, bottom + 0.5), (xs[1] - width / 2, bracket_y - 0.03), bend=0.12)
    for k, (x, label) in enumerate(zip(xs, labels)):
        if label == "…":
            _text(ax, x, token_y, "…")
            _text(ax, x, position_y, "…")
            continue
        role = "highlight" if k == 0 else "key"
        _box(
            ax,
            x,
            token_y,
            width,
            height,
            label if k else "class\ntoken",
            role=role,
            size=SMALL_FONT_SIZE,
            fill=0.2,
        )
        _text(ax, x, (token_y + height / 2 + position_y - 0.16) / 2, "+", size=SMALL_FONT_SIZE)
        _box(
            ax,
            x,
            position_y,
            width,
            0.32,
            f"{0 if k == 0 else int(label)}",
            role="learned",
            fill=0.12,
            size=SMALL_FONT_SIZE,
        )
        _arrow(ax, (x, position_y + 0.16), (x, encoder_y - 0.25))
    _text(ax, xs[0] - 0.4, position_y, "position\nembeddings", size=SMALL_FONT_SIZE, ha="right")
    _text(
        ax,
        xs[0] - 0.4,
        token_y,
        "learned,\nin no patch",
        size=SMALL_FONT_SIZE,
        ha="right",
        color=_role("highlight"),
    )
    # The encoder, and the head on the class token's output.
    enc_left, enc_right = xs[0] - 0.35, xs[-1] + 0.35
    _box(
        ax,
        (enc_left + enc_right) / 2,
        encoder_y,
        enc_right - enc_left,
        0.5,
        "Chapter 6's encoder blocks:\nevery token attends to every token",
        role="output",
        fill=0.12,
        size=SMALL_FONT_SIZE,
    )
    for k, x in enumerate(xs):
        if labels[k] == "…":
            continue
        _arrow(ax, (x, encoder_y + 0.25), (x, out_y - 0.18), color=INK if k == 0 else "0.75")
        ax.add_patch(
            Rectangle(
                (x - 0.2, out_y - 0.18),
                0.4,
                0.36,
                facecolor=_tint(_role("highlight") if k == 0 else "0.6", 0.25),
                edgecolor=_role("highlight") if k == 0 else "0.75",
            )
        )
    head_x = xs[-1] + 1.2
    _line(ax, [xs[0], xs[0]], [out_y + 0.18, out_y + 0.4])
    _line(ax, [xs[0], head_x - 0.55], [out_y + 0.4, out_y + 0.4])
    _box(
        ax,
        head_x,
        out_y + 0.4,
        1.1,
        0.36,
        "LN, linear",
        role="learned",
        fill=0.12,
        size=SMALL_FONT_SIZE,
    )
    _arrow(ax, (head_x, out_y + 0.22), (head_x, out_y - 0.3))
    _text(ax, head_x, out_y - 0.5, "10 class scores", size=SMALL_FONT_SIZE)
    _text(
        ax,
        (xs[1] + xs[-1]) / 2,
        out_y + 0.52,
        "only the class token's output is read",
        size=SMALL_FONT_SIZE,
        color=_role("highlight"),
    )
    return fig


# ---------------------------------------------------------------------------------------
# Chapter 8: the forecaster's window, horizon and lags.


@_diagram
def draw_forecast_window(lookback=96, horizon=48, period=48, h=20):
    """Past window (keys, values) ending at the origin t; horizon (queries); the lag from a
    target time t+h back to a past step s is (t+h) - s, and lag = period is the same time
    one period (a day) earlier."""
    fig, ax = _canvas(9.4, 3.3)
    first, last = -lookback + 1, horizon
    x0, x1 = 0.45, 9.05

    def x_of(step):
        return x0 + (step - first) / (last - first) * (x1 - x0)

    axis_y, low, high = 0.75, 1.05, 2.05
    steps = np.arange(first, last + 1)
    # A schematic daily series: a peak in the day, a trough at night, drawn by code.
    phase = 2 * np.pi * steps / period
    series = 0.5 + 0.28 * np.sin(phase) + 0.12 * np.sin(2 * phase + 1.0)
    ys = low + (high - low) * series
    past, future = steps <= 0, steps >= 0
    ax.add_patch(
        Rectangle(
            (x_of(first), low - 0.12),
            x_of(0) - x_of(first),
            high - low + 0.28,
            facecolor=_tint(_role("key"), 0.1),
            edgecolor="none",
        )
    )
    ax.add_patch(
        Rectangle(
            (x_of(0), low - 0.12),
            x_of(last) - x_of(0),
            high - low + 0.28,
            facecolor=_tint(_role("query"), 0.12),
            edgecolor="none",
        )
    )
    ax.plot([x_of(t) for t in steps[past]], ys[past], color=_role("key"), linewidth=1.6)
    ax.plot(
        [x_of(t) for t in steps[future]],
        ys[future],
        color=_role("neutral"),
        linewidth=1.4,
        linestyle=(0, (3, 2)),
    )
    # The time axis, in steps relative to the origin t.
    _line(ax, [x0, x1], [axis_y, axis_y])
    for step, label in [
        (first, f"$t-{lookback - 1}$"),
        (-period + 1, f"$t-{period - 1}$"),
        (0, "origin $t$"),
        (h, "$t+h$"),
        (last, f"$t+{horizon}$"),
    ]:
        _line(ax, [x_of(step)] * 2, [axis_y - 0.06, axis_y + 0.06])
        _text(ax, x_of(step), axis_y - 0.22, label, size=SMALL_FONT_SIZE)
    _line(ax, [x_of(0)] * 2, [axis_y, high + 0.16], color="0.3", dashed=True)
    _text(
        ax,
        (x_of(first) + x_of(0)) / 2,
        0.22,
        f"window: the $M = {lookback}$ last observed steps, keys and values",
        size=SMALL_FONT_SIZE,
        color=_role("key"),
    )
    _text(
        ax,
        (x_of(0) + x_of(last)) / 2,
        0.22,
        f"horizon: $H = {horizon}$ target times, queries",
        size=SMALL_FONT_SIZE,
        color=_role("query"),
    )
    # One target time looks back; the lag of a past step s is (t + h) - s.
    target = (x_of(h), ys[steps == h][0])
    ax.add_patch(Circle(target, 0.07, color=_role("query"), zorder=4))
    _text(
        ax,
        x_of(h) - 0.1,
        target[1] - 0.32,
        "target $t+h$",
        size=SMALL_FONT_SIZE,
        ha="right",
        color=_role("query"),
    )
    bend = 0.35
    for lag in (period, 2 * period):
        s_step = h - lag
        if s_step < first:
            continue
        point = (x_of(s_step), ys[steps == s_step][0])
        ax.add_patch(Circle(point, 0.055, color=_role("key"), zorder=4))
        _arrow(ax, target, point, color="query", bend=bend, width=1.4)
        apex = max(target[1], point[1]) + bend * (target[0] - point[0]) / 2
        name = {period: "the same time\none period before", 2 * period: "two periods before"}
        if period == 48:  # half-hours: a day
            name = {period: "the same time\nyesterday", 2 * period: "two days before"}
        if lag == period:  # under the longer arc, beside its arrowhead
            _text(
                ax,
                point[0] - 0.12,
                point[1] + 0.3,
                f"lag {lag}: {name[lag]}",
                size=SMALL_FONT_SIZE,
                color=_role("query"),
                ha="right",
            )
        else:
            _text(
                ax,
                (target[0] + point[0]) / 2,
                apex + 0.1,
                f"lag {lag}: {name[lag]}",
                size=SMALL_FONT_SIZE,
                color=_role("query"),
                va="bottom",
            )
    return fig
