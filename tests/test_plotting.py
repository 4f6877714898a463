"""The book's figure style, its text alternatives, and the attention heatmap."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from attention_course import plotting  # noqa: E402


def test_the_palette_is_colour_blind_safe_and_is_the_default_cycle():
    plotting.use_book_style()
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == plotting.COLORBLIND_SAFE
    assert len(set(cycle)) == len(cycle)


def test_a_figure_is_described_by_its_titles_axes_and_legend():
    figure, (left, right) = plt.subplots(1, 2)
    left.plot([1, 2], label="attention")
    left.plot([2, 1], label="no attention")
    left.legend()
    left.set(title="Accuracy by length", xlabel="source length", ylabel="exact match")
    plotting.attention_heatmap(right, np.eye(3), title="Weights")
    text = plotting.describe_figure(figure)
    assert text.startswith("2 panels: Accuracy by length (plot of exact match against source")
    assert "lines: attention, no attention" in text
    assert "Weights (heatmap of query against key (attended to))" in text
    plt.close(figure)


def test_a_label_set_by_the_chapter_is_the_description():
    figure, ax = plt.subplots()
    ax.plot([0, 1])
    figure.set_label("Loss falls fastest for the scaled dot score.")
    assert plotting.describe_figure(figure) == "Loss falls fastest for the scaled dot score."
    plt.close(figure)


def test_shown_figures_carry_their_description_in_a_notebook():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    shell = InteractiveShell.instance()
    select_figure_formats(shell, {"png"})  # what the inline backend does in a kernel
    plotting.use_book_style()
    figure, ax = plt.subplots()
    ax.plot([0, 1])
    ax.set(title="A line", xlabel="x", ylabel="y")
    data, metadata = shell.display_formatter.format(figure)
    assert data["image/png"] and metadata["image/png"]["alt"] == "A line (plot of y against x)"
    plotting.use_book_style()  # a second call does not wrap twice
    assert shell.display_formatter.format(figure)[1]["image/png"]["alt"].startswith("A line")
    plt.close(figure)
