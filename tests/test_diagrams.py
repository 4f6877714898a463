"""The book's diagrams (attention_course.diagrams): each draws, names its parts, fits the
column, keeps the book's fonts, and a chapter shows it."""

import io
import itertools
import time

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest
from matplotlib.mathtext import MathTextParser
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.transforms import Bbox

from attention_course import diagrams
from attention_course.plotting import BOOK_STYLE, ROLE_COLORS
from tools.book_paths import ROOT

matplotlib.use("Agg")

ALL = [getattr(diagrams, name) for name in diagrams.__all__]

# What each diagram must show, in its own words: the parts the chapter's text names.
EXPECTED_TEXT = {
    "draw_encoder_decoder": ["$h_1$", "$x_1$", "$c = h_n$", "$l_1$", "$y_1$", "BOS", "encoder"],
    "draw_soft_lookup": ["$q$ = 360", "$k_1$ = 300", "$k_2$ = 400", "1/60", "2/5", "36.0"],
    "draw_attention_step": ["$s_{i-1}$", "$h_1$", "$e_{i1}$", "0.61", "$c_i$", "decoder GRU"],
    "draw_score_functions": ["dot", "general", "additive", "scaled dot", "$W$", "$v^\\top$"],
    "draw_qkv_projections": ["$W_q$", "$W_k$", "$W_v$", "$Q$", "$K$", "$V$", "softmax", "bird"],
    "draw_multi_head": ["head 0", "head 1", "$W^O$", "Concat", "split", "merge", "23"],
    "draw_transformer_blocks": [
        "encoder block",
        "decoder block",
        "LN",
        "multi-head self-attention",
        "causal self-attention",
        "cross-attention",
        "feed-forward",
        "keys and values",
    ],
    "draw_vision_transformer": ["class\ntoken", "position", "patch", "$E$", "16", "class scores"],
    "draw_forecast_window": ["origin $t$", "$t+h$", "$M = 96$", "$H = 48$", "lag 48", "lag 96"],
}


@pytest.fixture(scope="module")
def drawn():
    """Every diagram drawn once (and rendered, as the book does), then closed."""
    figures = {}
    for draw in ALL:
        fig = draw()
        fig.canvas.draw()
        figures[draw.__name__] = fig
    yield figures
    for fig in figures.values():
        plt.close(fig)


def texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]


def test_every_diagram_is_expected_and_named_after_its_function(drawn):
    assert set(EXPECTED_TEXT) == set(diagrams.__all__)
    assert all(fig.get_label() == name for name, fig in drawn.items())


@pytest.mark.parametrize("name", diagrams.__all__)
def test_a_diagram_shows_its_labelled_parts(drawn, name):
    shown = "\n".join(t.get_text() for t in texts(drawn[name]))
    missing = [part for part in EXPECTED_TEXT[name] if part not in shown]
    assert not missing, f"{name} lacks {missing}"


@pytest.mark.parametrize("name", diagrams.__all__)
def test_a_diagram_fits_the_column_and_cuts_no_text(drawn, name):
    fig = drawn[name]
    renderer = fig.canvas.get_renderer()
    # The picture on the page: what is drawn, and the margin the notebook adds round it.
    shown = fig.get_tightbbox(renderer).width + 2 * diagrams.PAD
    assert shown <= diagrams.MAX_WIDTH and fig.dpi == BOOK_STYLE["figure.dpi"]
    frame = fig.bbox
    for t in texts(fig):
        box = t.get_window_extent(renderer)
        inside = (
            box.x0 >= frame.x0 - 1
            and box.x1 <= frame.x1 + 1
            and box.y0 >= frame.y0 - 1
            and box.y1 <= frame.y1 + 1
        )
        assert inside, f"{t.get_text()!r} is cut at the edge of {name}"


def label_boxes(fig):
    """Each text's box on the page, less a pixel all round (touching is not overlapping)."""
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in texts(fig):
        box = t.get_window_extent(renderer)
        boxes.append(
            (t.get_text(), Bbox.from_extents(box.x0 + 1, box.y0 + 1, box.x1 - 1, box.y1 - 1))
        )
    return boxes


def overlapping_labels(fig):
    return [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(label_boxes(fig), 2)
        if box_a.overlaps(box_b)
    ]


def test_overlapping_labels_are_found():
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.text(0.1, 0.5, "one label")
    ax.text(0.2, 0.5, "another")
    ax.text(0.1, 0.1, "apart")
    fig.canvas.draw()
    assert overlapping_labels(fig) == [("one label", "another")]
    plt.close(fig)


@pytest.mark.parametrize("name", diagrams.__all__)
def test_no_two_labels_of_a_diagram_overlap(drawn, name):
    assert not overlapping_labels(drawn[name])


@pytest.mark.parametrize("name", diagrams.__all__)
def test_a_diagram_keeps_the_books_fonts_and_colours(drawn, name):
    fig = drawn[name]
    sizes = {t.get_fontsize() for t in texts(fig)}
    assert min(sizes) >= diagrams.SMALL_FONT_SIZE, "no text smaller than the book's figures"
    assert sizes <= {diagrams.SMALL_FONT_SIZE, diagrams.FONT_SIZE, diagrams.FONT_SIZE + 1}
    assert {tuple(t.get_fontfamily()) for t in texts(fig)} == {("sans-serif",)}
    # Boxes are edged in the colours of the roles they stand for (or in grey).
    palette = {matplotlib.colors.to_rgba(c) for c in ROLE_COLORS.values()}
    edges = {
        p.get_edgecolor()
        for p in fig.findobj(lambda a: isinstance(a, (FancyBboxPatch, Rectangle)))
        if p.get_edgecolor()[3] > 0 and p.axes is not None and p is not p.axes.patch
    }
    greys = {e for e in edges if e[0] == e[1] == e[2]}
    assert edges - greys <= palette


@pytest.mark.parametrize("name", diagrams.__all__)
def test_a_diagram_is_shown_by_a_chapter_with_its_input_hidden_and_alt_text(name):
    showing = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and f"{name}(" in cell.source:
                showing.append(cell)
    assert len(showing) == 1, f"{name} should be drawn by one chapter cell"
    (cell,) = showing
    assert "remove-input" in cell.metadata.get("tags", [])
    alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
    assert len(alt) >= 40, "the picture needs a description for readers who cannot see it"


def shown_by_chapter():
    """{chapter: the diagrams it draws}, read from the chapters' cells."""
    chapters = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        chapters[path.stem] = [draw for draw in ALL if f"{draw.__name__}(" in code]
    return chapters


def render_cold(draws):
    """CPU seconds to draw and render the diagrams as a notebook does, formulas unparsed."""
    clear_parsed_formulas = getattr(MathTextParser._parse_cached, "cache_clear", lambda: None)
    clear_parsed_formulas()
    start = time.process_time()
    for draw in draws:
        fig = draw()
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close(fig)
    return time.process_time() - start


def test_a_chapters_diagrams_draw_in_under_a_second():
    # A chapter has 60 s in all; its diagrams must cost little of it. CPU time (a busy
    # machine stretches wall time), the fastest of three tries (it also shifts CPU time).
    render_cold([diagrams.draw_encoder_decoder])  # matplotlib's first figure: fonts, caches
    for chapter, draws in shown_by_chapter().items():
        seconds = min(render_cold(draws) for _ in range(3))
        assert seconds < 1.0, f"{chapter}: {seconds:.2f} s"
