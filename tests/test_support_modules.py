"""Seeding, metrics, training loop and demos."""

import base64
import json

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from attention_course.demos import frame_demo, state_size
from attention_course.reporting import METRICS_DIR_VARIABLE, report_metrics
from attention_course.reproducibility import set_seed
from attention_course.training import count_parameters, train, warmup_cosine

matplotlib.use("Agg")


def test_report_prints_and_records_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(METRICS_DIR_VARIABLE, str(tmp_path))
    report_metrics("nb", accuracy=torch.tensor(0.5), steps=3)
    report_metrics("nb", loss=0.25)
    assert "accuracy = 0.5000" in capsys.readouterr().out
    assert json.loads((tmp_path / "nb.json").read_text()) == {
        "accuracy": 0.5,
        "loss": 0.25,
        "steps": 3,
    }


def test_report_writes_nothing_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv(METRICS_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    report_metrics("nb", accuracy=1.0)
    assert list(tmp_path.iterdir()) == []


def fit_line(seed):
    set_seed(seed)
    model = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 32)[:, None]

    def loss(step):
        return ((model(x) - 3 * x) ** 2).mean()

    return train(model, loss, steps=200, lr=0.05), model


def test_training_is_deterministic_and_learns():
    log_a, model_a = fit_line(0)
    log_b, _ = fit_line(0)
    assert log_a.losses == log_b.losses
    assert log_a.final_loss < 1e-3 and abs(model_a.weight.item() - 3) < 0.05
    assert not model_a.training


def test_the_log_records_wall_and_cpu_seconds():
    log, _ = fit_line(0)
    assert log.seconds > 0 and log.cpu_seconds > 0


def test_count_parameters_adds_up_every_parameter():
    assert count_parameters(torch.nn.Linear(3, 4)) == 3 * 4 + 4
    gru = torch.nn.GRUCell(32, 128)
    assert count_parameters(gru) == 3 * (128 * 32 + 128 * 128 + 2 * 128)
    assert count_parameters(torch.nn.Sequential(torch.nn.ReLU())) == 0


def test_warmup_cosine_rises_then_falls_to_zero():
    multiplier = warmup_cosine(steps=10, warmup=4)
    values = [multiplier(step) for step in range(10)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0]
    assert (
        values[4] == 1.0 and all(a > b for a, b in zip(values[4:], values[5:])) and values[-1] > 0
    )
    assert multiplier(10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="warmup"):
        warmup_cosine(steps=5, warmup=5)


def test_training_follows_the_schedule():
    model = torch.nn.Linear(1, 1)

    def loss(step):
        return model(torch.ones(1, 1)).sum()

    before = model.weight.detach().clone()
    train(model, loss, steps=3, lr=0.1, schedule=lambda step: 0.0)
    assert torch.equal(model.weight, before), "a multiplier of 0 must freeze the weights"
    train(model, loss, steps=3, lr=0.1, schedule=lambda step: 1.0 if step == 2 else 0.0)
    assert not torch.equal(model.weight, before), "the multiplier of step 2 is 1"


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
