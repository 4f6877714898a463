"""Widget demos of pre-rendered frames (attention_course.demos)."""

import base64

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

from attention_course.demos import frame_demo, state_size

matplotlib.use("Agg")


def draw(scale, kind="line"):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, scale], "-" if kind == "line" else "o")
    return fig


def test_one_parameter_demo_links_its_slider_to_the_frames():
    before = len(plt.get_fignums())
    demo = frame_demo(draw, scale=[1, 2, 3], default={"scale": 2})
    slider, pages, style = demo.children
    assert isinstance(slider, widgets.SelectionSlider) and slider.index == 1
    assert isinstance(pages, widgets.Tab) and len(pages.children) == 3
    assert pages.selected_index == 1
    assert "frame-demo-pages" in pages._dom_classes and "display: none" in style.value
    frames = [child.value for child in pages.children]
    assert len(set(frames)) == 3, "each value must draw a different frame"
    assert len(plt.get_fignums()) == before, "frames must be closed after rendering"
    assert any(
        link.source == (slider, "index") and link.target == (pages, "selected_index")
        for link in demo.links
    )
    assert 0 < state_size(demo) < 30_000


def test_two_parameter_demo_nests_pages_and_uses_a_menu_for_text():
    demo = frame_demo(draw, scale=[1, 2], kind=["line", "dots"], default={"kind": "dots"})
    slider, buttons, pages, _ = demo.children
    assert isinstance(buttons, widgets.ToggleButtons)
    assert [len(inner.children) for inner in pages.children] == [2, 2]
    assert [inner.selected_index for inner in pages.children] == [1, 1]
    assert {link.source[0] for link in demo.links} == {slider, buttons}
    assert len(demo.links) == 3  # the slider picks the row; the buttons, the frame in each


def test_a_viewer_without_widgets_shows_the_frame_the_demo_starts_on():
    demo = frame_demo(draw, scale=[1, 2, 3], default={"scale": 3})
    bundle = demo._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    shown = demo.children[1].children[2].value
    assert base64.b64decode(bundle["image/png"]) == shown


def test_state_size_counts_what_the_page_embeds():
    demo = frame_demo(draw, scale=[1, 2, 3])
    frames = sum(len(frame.value) for frame in demo.children[1].children)
    # base64 makes the images a third bigger; the rest is the widgets' JSON.
    assert frames * 4 / 3 < state_size(demo) < frames * 4 / 3 + 15_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "one or two parameters"),
        ({"scale": []}, "has no values"),
        ({"scale": [1], "default": {"size": 1}}, "unknown parameters"),
    ],
)
def test_demo_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        frame_demo(draw, **kwargs)


def test_every_frame_says_what_it_shows_and_at_which_value():
    def draw(bandwidth):
        figure, ax = plt.subplots()
        ax.plot([0, 1], [0, bandwidth])
        ax.set(title="Kernel regression", xlabel="time", ylabel="acceleration")
        return figure

    demo = frame_demo(draw, bandwidth=[0.5, 2.0])
    pages = demo.children[1]
    assert [pages.get_title(i) for i in range(2)] == [
        "Kernel regression (plot of acceleration against time) (at bandwidth = 0.5)",
        "Kernel regression (plot of acceleration against time) (at bandwidth = 2)",
    ]
